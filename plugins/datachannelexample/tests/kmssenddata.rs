// SPDX-License-Identifier: MPL-2.0
//! `kmssenddata`: a QR code drawn into generated frames comes out of the data pad as text;
//! the video passes unchanged; frames without a code and odd sizes send nothing and break
//! nothing.

use std::sync::Once;

use gst::prelude::*;

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstdatachannelexample::plugin_register_static().unwrap();
    });
}

struct Harness {
    pipeline: gst::Pipeline,
    video_in: gst_app::AppSrc,
    video_out: gst_app::AppSink,
    data_out: gst_app::AppSink,
    width: usize,
    height: usize,
    pts: u64,
}

impl Harness {
    fn new(width: usize, height: usize) -> Harness {
        init();
        let pipeline = gst::Pipeline::new();
        let send = gst::ElementFactory::make("kmssenddata").build().unwrap();
        let caps = gst_video::VideoCapsBuilder::new()
            .format(gst_video::VideoFormat::Gray8)
            .width(width as i32)
            .height(height as i32)
            .framerate(gst::Fraction::new(30, 1))
            .build();
        let video_in = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .build();
        let video_out = gst_app::AppSink::builder().caps(&caps).sync(false).build();
        let data_out = gst_app::AppSink::builder()
            .caps(&gst::Caps::new_empty_simple("application/data"))
            .sync(false)
            .build();
        video_out.set_property("async", false);
        data_out.set_property("async", false);
        pipeline
            .add_many([
                video_in.upcast_ref(),
                &send,
                video_out.upcast_ref(),
                data_out.upcast_ref(),
            ])
            .unwrap();
        video_in.link(&send).unwrap();
        send.link_pads(Some("src"), &video_out, None).unwrap();
        send.link_pads(Some("data_src"), &data_out, None).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        Harness {
            pipeline,
            video_in,
            video_out,
            data_out,
            width,
            height,
            pts: 0,
        }
    }

    /// Pushes `frame` and checks that it comes out unchanged.
    fn pass(&mut self, frame: &[u8]) {
        let mut b = gst::Buffer::from_slice(frame.to_vec());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_nseconds(self.pts));
        self.pts += 33_333_333;
        self.video_in.push_buffer(b).unwrap();
        let s = self
            .video_out
            .try_pull_sample(gst::ClockTime::from_seconds(5))
            .expect("a frame comes out");
        let out = s.buffer().unwrap().map_readable().unwrap().to_vec();
        assert!(out == frame, "video passes unchanged");
    }

    fn data(&self, timeout_ms: u64) -> Option<String> {
        let s = self
            .data_out
            .try_pull_sample(gst::ClockTime::from_mseconds(timeout_ms))?;
        let b = s.buffer().unwrap();
        assert!(b.pts().is_some(), "data buffers carry a timestamp");
        Some(String::from_utf8(b.map_readable().unwrap().to_vec()).expect("UTF-8 text"))
    }

    fn errors(&self) -> Vec<String> {
        let bus = self.pipeline.bus().unwrap();
        std::iter::from_fn(|| bus.pop())
            .filter_map(|m| match m.view() {
                gst::MessageView::Warning(w) => Some(format!("warning: {}", w.error())),
                gst::MessageView::Error(e) => Some(format!("error: {}", e.error())),
                _ => None,
            })
            .collect()
    }

    fn barcode_messages(&self) -> usize {
        let bus = self.pipeline.bus().unwrap();
        std::iter::from_fn(|| bus.pop())
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

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
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
