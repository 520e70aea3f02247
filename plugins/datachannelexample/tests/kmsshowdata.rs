// SPDX-License-Identifier: MPL-2.0
//! `kmsshowdata`: text received on the data pad is drawn on the following frames (pixels
//! compared with the frames of an empty message), data is forwarded, bad data is handled.

use std::sync::Once;
use std::time::Duration;

use gst::prelude::*;

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstdatachannelexample::plugin_register_static().unwrap();
    });
}

const GREY: u8 = 64;

struct Harness {
    pipeline: gst::Pipeline,
    video_in: gst_app::AppSrc,
    video_out: gst_app::AppSink,
    data_in: gst_app::AppSrc,
    data_out: gst_app::AppSink,
    width: usize,
    height: usize,
    pts: u64,
}

impl Harness {
    fn new(width: usize, height: usize) -> Harness {
        init();
        let pipeline = gst::Pipeline::new();
        let show = gst::ElementFactory::make("kmsshowdata").build().unwrap();
        let caps = gst_video::VideoCapsBuilder::new()
            .format(gst_video::VideoFormat::Bgrx)
            .width(width as i32)
            .height(height as i32)
            .framerate(gst::Fraction::new(30, 1))
            .build();
        let video_in = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .build();
        let video_out = gst_app::AppSink::builder().caps(&caps).sync(false).build();
        let data_in = gst_app::AppSrc::builder()
            .caps(&gst::Caps::new_empty_simple("application/data"))
            .format(gst::Format::Time)
            .build();
        let data_out = gst_app::AppSink::builder().sync(false).build();
        // Neither sink waits for a preroll buffer: the two streams are independent.
        video_out.set_property("async", false);
        data_out.set_property("async", false);
        pipeline
            .add_many([
                video_in.upcast_ref(),
                &show,
                video_out.upcast_ref(),
                data_in.upcast_ref(),
                data_out.upcast_ref(),
            ])
            .unwrap();
        video_in.link(&show).unwrap();
        show.link_pads(Some("src"), &video_out, None).unwrap();
        data_in.link_pads(None, &show, Some("data_sink")).unwrap();
        show.link_pads(Some("data_src"), &data_out, None).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        Harness {
            pipeline,
            video_in,
            video_out,
            data_in,
            data_out,
            width,
            height,
            pts: 0,
        }
    }

    /// Sends a data message and waits until it has passed the element.
    fn send(&self, bytes: &[u8]) -> Vec<u8> {
        self.data_in
            .push_buffer(gst::Buffer::from_slice(bytes.to_vec()))
            .unwrap();
        let s = self
            .data_out
            .try_pull_sample(gst::ClockTime::from_seconds(5))
            .expect("data message forwarded");
        s.buffer().unwrap().map_readable().unwrap().to_vec()
    }

    /// Pushes one uniform grey frame and returns the output frame.
    fn frame(&mut self) -> Vec<u8> {
        let mut b = gst::Buffer::from_slice(vec![GREY; self.width * self.height * 4]);
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_nseconds(self.pts));
        self.pts += 33_333_333;
        self.video_in.push_buffer(b).unwrap();
        let s = self
            .video_out
            .try_pull_sample(gst::ClockTime::from_seconds(5))
            .expect("a frame comes out");
        s.buffer().unwrap().map_readable().unwrap().to_vec()
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
        let bus = self.pipeline.bus().unwrap();
        std::iter::from_fn(|| bus.pop()).collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn warnings_and_errors(msgs: &[gst::Message]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(format!("warning: {}", w.error())),
            gst::MessageView::Error(e) => Some(format!("error: {}", e.error())),
            _ => None,
        })
        .collect()
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
    std::thread::sleep(Duration::from_millis(10));
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
