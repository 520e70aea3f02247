// SPDX-License-Identifier: MPL-2.0
//! `pointerdetector` on the pointer clip (an orange disc, still at the centre for 2 s, then on
//! a Lissajous path; its centre per frame is in `pointer_640x480_truth.csv`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use gst::prelude::*;
use gst_tests::{decode_webm, run_to_end};

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstpointerdetector::plugin_register_static().unwrap();
    });
}

/// `(frame, cx, cy)` of the disc's centre.
fn truth() -> Vec<(usize, i64, i64)> {
    let text = std::fs::read_to_string(gst_tests::media("pointer_640x480_truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<i64> = l.split(',').map(|f| f.parse().unwrap()).collect();
            (v[0] as usize, v[1], v[2])
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Win {
    id: &'static str,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

impl Win {
    fn contains(&self, (cx, cy): (i64, i64)) -> bool {
        let (x, y) = (self.x as i64, self.y as i64);
        cx > x && cy > y && cx < x + self.w as i64 && cy < y + self.h as i64
    }

    fn structure(&self) -> gst::Structure {
        gst::Structure::builder(self.id)
            .field("upRightCornerX", self.x)
            .field("upRightCornerY", self.y)
            .field("width", self.w)
            .field("height", self.h)
            .field("id", self.id)
            .build()
    }
}

fn layout(windows: &[Win]) -> gst::Structure {
    let mut s = gst::Structure::new_empty("windowsLayout");
    for w in windows {
        s.set(w.id, w.structure());
    }
    s
}

/// Windows on the disc's path (each entered and left several times after frame 60).
const A: Win = Win {
    id: "top_right",
    x: 440,
    y: 100,
    w: 120,
    h: 120,
};
const B: Win = Win {
    id: "bottom_left",
    x: 80,
    y: 260,
    w: 120,
    h: 120,
};
const C: Win = Win {
    id: "top_left",
    x: 100,
    y: 60,
    w: 120,
    h: 100,
};
const CALIBRATE_AT: usize = 10;
const REMOVE_C_AT: usize = 200;

type Event = (usize, String, String);

/// Runs the clip through the element; calibrates at frame `CALIBRATE_AT`, drops window C at
/// `REMOVE_C_AT`; returns `(frame, message name, window)` and the pipeline's warnings.
fn run_clip(element_setup: impl Fn(&gst::Element)) -> (Vec<Event>, Vec<String>) {
    init();
    let pipeline = gst::parse::launch(&format!(
        "{} ! video/x-raw,format=BGR ! pointerdetector name=pd ! fakesink sync=false",
        decode_webm("pointer_640x480.webm")
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let pd = pipeline.by_name("pd").unwrap();
    pd.set_property(
        "calibration-area",
        gst::Structure::builder("calibration_area")
            .field("x", 310)
            .field("y", 230)
            .field("width", 20)
            .field("height", 20)
            .build(),
    );
    pd.set_property("windows-layout", layout(&[A, B, C]));
    element_setup(&pd);

    let frames = Arc::new(AtomicUsize::new(0));
    let counter = frames.clone();
    pd.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
            let index = counter.fetch_add(1, Ordering::SeqCst);
            let element = pad.parent_element().unwrap();
            if index == CALIBRATE_AT {
                element.emit_by_name::<()>("calibrate-color", &[]);
            }
            if index == REMOVE_C_AT {
                element.set_property("windows-layout", layout(&[A, B]));
            }
            gst::PadProbeReturn::Ok
        });

    // Frames (after calibration) whose output shows the red pointer dot at the disc's centre.
    let dot_on_disc = Arc::new(AtomicUsize::new(0));
    let (dots, counter, centres) = (dot_on_disc.clone(), frames.clone(), truth());
    pd.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let index = counter.load(Ordering::SeqCst) - 1;
            let caps = pad.current_caps().unwrap();
            let video = gst_video::VideoInfo::from_caps(&caps).unwrap();
            if let Some(buffer) = info.buffer()
                && index > CALIBRATE_AT
            {
                let (_, cx, cy) = centres[index];
                let map = buffer.map_readable().unwrap();
                let i = cy as usize * video.stride()[0] as usize + cx as usize * 3;
                if map[i..i + 3] == [0, 0, 255] {
                    dots.fetch_add(1, Ordering::SeqCst);
                }
            }
            gst::PadProbeReturn::Ok
        });

    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let counter = frames.clone();
    pipeline.bus().unwrap().set_sync_handler(move |_, msg| {
        if let gst::MessageView::Element(e) = msg.view()
            && let Some(s) = e.structure()
            && matches!(s.name().as_str(), "window-in" | "window-out")
        {
            // Posted from the streaming thread while it processes the last counted frame.
            let frame = counter.load(Ordering::SeqCst) - 1;
            let window = s.get::<String>("window").expect("string field 'window'");
            sink.lock()
                .unwrap()
                .push((frame, s.name().to_string(), window));
        }
        gst::BusSyncReply::Pass
    });
    let run = run_to_end(&pipeline, gst::ClockTime::from_seconds(120));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let warnings = run.warnings;
    assert_eq!(
        frames.load(Ordering::SeqCst),
        300,
        "every frame went through"
    );
    let events = events.lock().unwrap().clone();
    let tracked = dot_on_disc.load(Ordering::SeqCst);
    assert_eq!(
        tracked,
        300 - CALIBRATE_AT - 1,
        "the pointer is drawn on the disc in every frame after calibration"
    );
    (events, warnings)
}

/// The events the truth predicts: the centre's first frame inside / outside each window.
fn expected_events() -> Vec<Event> {
    let mut out = Vec::new();
    for w in [A, B, C] {
        let mut inside = false;
        for (frame, cx, cy) in truth() {
            if w.id == C.id && frame >= REMOVE_C_AT {
                break;
            }
            let now = w.contains((cx, cy));
            if now != inside {
                let name = if now { "window-in" } else { "window-out" };
                out.push((frame, name.to_string(), w.id.to_string()));
            }
            inside = now;
        }
    }
    out.sort();
    out
}

#[test]
fn window_events_follow_the_disc_within_two_frames() {
    let (events, warnings) = run_clip(|_| {});
    assert!(warnings.is_empty(), "{warnings:?}");
    let expected = expected_events();
    assert!(expected.len() >= 14, "{expected:?}");
    for (frame, name, window) in &expected {
        let found = events
            .iter()
            .any(|(f, n, w)| n == name && w == window && f.abs_diff(*frame) <= 2);
        assert!(
            found,
            "no {name} for {window} near frame {frame}\nexpected {expected:?}\ngot {events:?}"
        );
    }
    assert_eq!(
        events.len(),
        expected.len(),
        "no extra events\nexpected {expected:?}\ngot {events:?}"
    );
    assert!(
        events.iter().all(|(f, _, _)| *f > CALIBRATE_AT),
        "nothing before calibration"
    );
    let after_removal: Vec<_> = events
        .iter()
        .filter(|(f, _, w)| *f >= REMOVE_C_AT && w == C.id)
        .collect();
    assert!(
        after_removal.is_empty(),
        "removed window still reports: {after_removal:?}"
    );
}

#[test]
fn message_property_silences_events() {
    let (events, warnings) = run_clip(|pd| pd.set_property("message", false));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(events.is_empty(), "{events:?}");
}
