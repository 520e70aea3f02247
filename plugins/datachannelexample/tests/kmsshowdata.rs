// SPDX-License-Identifier: MPL-2.0
//! `kmsshowdata`: text received on the data pad is drawn on the following frames (pixels
//! compared with the frames of an empty message), data is forwarded, bad data is handled.

mod common;

use common::{Bench, warnings_and_errors};

const GREY: u8 = 64;

struct Harness {
    bench: Bench,
    width: usize,
    height: usize,
}

impl Harness {
    fn new(width: usize, height: usize) -> Harness {
        let bench = Bench::new("kmsshowdata", gst_video::VideoFormat::Bgrx, width, height);
        Harness {
            bench,
            width,
            height,
        }
    }

    /// Sends a data message and waits until it has passed the element.
    fn send(&self, bytes: &[u8]) -> Vec<u8> {
        self.bench
            .data_in
            .as_ref()
            .unwrap()
            .push_buffer(gst::Buffer::from_slice(bytes.to_vec()))
            .unwrap();
        let b = self.bench.data(5000).expect("data message forwarded");
        b.map_readable().unwrap().to_vec()
    }

    /// Pushes one uniform grey frame and returns the output frame.
    fn frame(&mut self) -> Vec<u8> {
        let frame = vec![GREY; self.width * self.height * 4];
        self.bench.push(&frame)
    }

    /// Rows where the frame differs from the plain grey input.
    fn changed_rows(&self, frame: &[u8]) -> Vec<usize> {
        (0..self.height)
            .filter(|y| {
                frame[y * self.width * 4..(y + 1) * self.width * 4]
                    .chunks(4)
                    .any(|p| p[..3] != [GREY; 3])
            })
            .collect()
    }

    fn messages(&self) -> Vec<gst::Message> {
        self.bench.messages()
    }
}

#[test]
fn text_is_drawn_until_cleared() {
    let mut h = Harness::new(320, 240);
    let before = h.frame();
    assert!(h.changed_rows(&before).is_empty(), "no text yet");

    assert_eq!(h.send(b"hello"), b"hello", "data forwarded unchanged");
    let with_text = h.frame();
    let rows = h.changed_rows(&with_text);
    assert!(rows.len() >= 15, "text drawn: {} rows changed", rows.len());
    // Kurento's layout: centred, on the baseline near the bottom.
    assert!(
        rows.iter().all(|y| *y >= 120),
        "text in the lower half: {rows:?}"
    );
    let again = h.frame();
    assert_eq!(with_text, again, "text stays until the next message");

    let wider = {
        h.send(b"hello hello hello");
        h.frame()
    };
    let cols = |f: &[u8]| {
        (0..h.width)
            .filter(|x| (0..h.height).any(|y| f[(y * h.width + x) * 4] != GREY))
            .count()
    };
    assert!(
        cols(&wider) > 2 * cols(&with_text),
        "the new text replaced the old one"
    );

    assert_eq!(h.send(b""), b"", "empty buffer forwarded");
    let cleared = h.frame();
    assert!(
        h.changed_rows(&cleared).is_empty(),
        "an empty message clears the text"
    );
    assert!(warnings_and_errors(&h.messages()).is_empty());
}

#[test]
fn markup_characters_are_shown_as_text() {
    let mut h = Harness::new(320, 240);
    h.send(b"a < b & c");
    let f = h.frame();
    assert!(
        !h.changed_rows(&f).is_empty(),
        "text with markup characters is drawn"
    );
    assert!(warnings_and_errors(&h.messages()).is_empty());
}

#[test]
fn bad_data_is_shown_and_reported() {
    let mut h = Harness::new(320, 240);
    h.send(b"ab\xff\xfecd");
    let f = h.frame();
    assert!(
        !h.changed_rows(&f).is_empty(),
        "non-UTF-8 text drawn with replacements"
    );
    let msgs = warnings_and_errors(&h.messages());
    assert!(
        msgs.iter().any(|m| m.contains("not valid UTF-8")),
        "a warning tells: {msgs:?}"
    );
    // Text after a NUL is not shown: the message is the part before it.
    h.send(b"\0hidden");
    let f = h.frame();
    assert!(h.changed_rows(&f).is_empty(), "nothing before the NUL");
    // Frames kept flowing all along.
    h.frame();
}

#[test]
fn odd_frame_sizes() {
    for (w, ht) in [(321, 241), (17, 9), (1, 1)] {
        let mut h = Harness::new(w, ht);
        h.send(b"odd");
        let f = h.frame();
        assert_eq!(f.len(), w * ht * 4);
        if w > 100 {
            assert!(!h.changed_rows(&f).is_empty(), "text drawn at {w}x{ht}");
        }
        assert!(warnings_and_errors(&h.messages()).is_empty(), "{w}x{ht}");
    }
}
