// SPDX-License-Identifier: MPL-2.0
//! `kmssenddata`: a QR code drawn into generated frames comes out of the data pad as text;
//! the video passes unchanged; frames without a code and odd sizes send nothing and break
//! nothing.

mod common;

use common::{Bench, warnings_and_errors};

struct Harness {
    bench: Bench,
    width: usize,
    height: usize,
}

impl Harness {
    fn new(width: usize, height: usize) -> Harness {
        let bench = Bench::new("kmssenddata", gst_video::VideoFormat::Gray8, width, height);
        assert!(bench.data_in.is_none(), "no data input");
        Harness {
            bench,
            width,
            height,
        }
    }

    /// Pushes `frame` and checks that it comes out unchanged.
    fn pass(&mut self, frame: &[u8]) {
        let out = self.bench.push(frame);
        assert!(out == frame, "video passes unchanged");
    }

    fn data(&self, timeout_ms: u64) -> Option<String> {
        let b = self.bench.data(timeout_ms)?;
        assert!(b.pts().is_some(), "data buffers carry a timestamp");
        Some(String::from_utf8(b.map_readable().unwrap().to_vec()).expect("UTF-8 text"))
    }

    fn errors(&self) -> Vec<String> {
        warnings_and_errors(&self.bench.messages())
    }

    fn barcode_messages(&self) -> usize {
        self.bench
            .messages()
            .iter()
            .filter(|m| m.structure().is_some_and(|s| s.name() == "barcode"))
            .count()
    }

    /// GStreamer's GRAY8 rows are padded to 4 bytes.
    fn stride(&self) -> usize {
        (self.width + 3) & !3
    }

    /// A white frame with the QR code of `text` at (`x`, `y`), 4 pixels per module.
    fn qr_frame(&self, text: &str, x: usize, y: usize) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let n = code.width();
        let colors = code.to_colors();
        let stride = self.stride();
        let mut f = vec![255u8; stride * self.height];
        for my in 0..n {
            for mx in 0..n {
                if colors[my * n + mx] == qrcode::Color::Dark {
                    for dy in 0..4 {
                        let row = (y + my * 4 + dy) * stride;
                        let col = x + mx * 4;
                        f[row + col..row + col + 4].fill(0);
                    }
                }
            }
        }
        f
    }
}

#[test]
fn qr_code_text_is_sent() {
    let mut h = Harness::new(320, 240);
    let frame = h.qr_frame("kurento-rs data", 100, 60);
    // The scanner runs behind a leaky queue: push frames until one has been scanned.
    let mut text = None;
    for _ in 0..60 {
        h.pass(&frame);
        text = h.data(50);
        if text.is_some() {
            break;
        }
    }
    let text = text.expect("the code is sent on the data pad");
    assert!(
        text.starts_with("Code detected in time ")
            && text.ends_with(", type QR-Code, symbol kurento-rs data"),
        "Kurento's wording: {text}"
    );
    assert!(
        h.barcode_messages() > 0,
        "zbar's messages still reach the bus"
    );
    assert!(h.errors().is_empty());
}

#[test]
fn frames_without_code_send_nothing() {
    let mut h = Harness::new(320, 240);
    let mut frame = vec![255u8; 320 * 240];
    // Some structure, but no code.
    for (i, p) in frame.iter_mut().enumerate() {
        if (i / 320 / 16 + i % 320 / 16) % 2 == 0 {
            *p = 0;
        }
    }
    for _ in 0..20 {
        h.pass(&frame);
    }
    assert_eq!(h.data(300), None);
    assert!(h.errors().is_empty());
}

#[test]
fn odd_frame_sizes() {
    let mut h = Harness::new(331, 247);
    assert_eq!(h.stride(), 332);
    let frame = h.qr_frame("odd", 101, 53);
    let mut text = None;
    for _ in 0..60 {
        h.pass(&frame);
        text = h.data(50);
        if text.is_some() {
            break;
        }
    }
    assert!(text.expect("code found at 331x247").ends_with("symbol odd"));
    let mut tiny = Harness::new(3, 1);
    for _ in 0..5 {
        tiny.pass(&[0, 255, 0, 0]);
    }
    assert_eq!(tiny.data(100), None);
    assert!(h.errors().is_empty() && tiny.errors().is_empty());
}
