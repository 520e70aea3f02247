// SPDX-License-Identifier: MPL-2.0
//! `pointerdetector` on synthetic frames: an orange disc over grey, moved between windows.

use std::sync::Once;

use gst::prelude::*;
use gst_video::VideoFormat;
use kms_plugin_common::testing::VideoHarness;

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstpointerdetector::plugin_register_static().unwrap();
    });
}

const GREY: [u8; 3] = [128, 128, 128];
const ORANGE: [u8; 3] = [0, 110, 255];
const RED: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];
const GREEN: [u8; 3] = [0, 255, 0];
const RADIUS: i64 = 15;

type Stream = VideoHarness;

fn stream(format: VideoFormat, w: u32, h: u32) -> Stream {
    init();
    VideoHarness::new("pointerdetector", format, w, h)
}

/// What these tests do with a `pointerdetector` harness.
trait PointerStream {
    fn run(&mut self, disc: (i64, i64)) -> Vec<Vec<[u8; 3]>>;
    fn set_area(&self, x: i32, y: i32, w: i32, h: i32);
    fn set_windows(&self, windows: &[gst::Structure]);
    fn calibrate(&self);
    fn events(&self) -> Vec<(String, String)>;
}

impl PointerStream for Stream {
    /// Pushes grey with the disc centred at `disc` and returns the output as BGR rows.
    fn run(&mut self, disc: (i64, i64)) -> Vec<Vec<[u8; 3]>> {
        let out = self.push_frame(|x, y| {
            let (dx, dy) = (x as i64 - disc.0, y as i64 - disc.1);
            if dx * dx + dy * dy <= RADIUS * RADIUS {
                ORANGE
            } else {
                GREY
            }
        });
        out.into_iter()
            .map(|row| row.into_iter().map(|[b, g, r, _]| [b, g, r]).collect())
            .collect()
    }

    fn set_area(&self, x: i32, y: i32, w: i32, h: i32) {
        self.set_calibration_area(x, y, w, h);
    }

    fn set_windows(&self, windows: &[gst::Structure]) {
        let mut layout = gst::Structure::new_empty("windowsLayout");
        for w in windows {
            layout.set(w.name().as_str(), w.clone());
        }
        self.element().set_property("windows-layout", layout);
    }

    fn calibrate(&self) {
        self.element().emit_by_name::<()>("calibrate-color", &[]);
    }

    /// `(name, window)` of the element messages posted so far.
    fn events(&self) -> Vec<(String, String)> {
        std::iter::from_fn(|| self.bus.pop_filtered(&[gst::MessageType::Element]))
            .filter_map(|m| {
                let s = m.structure()?.to_owned();
                Some((s.name().to_string(), s.get::<String>("window").unwrap()))
            })
            .collect()
    }
}

fn window(id: &str, x: i32, y: i32, w: i32, h: i32) -> gst::Structure {
    gst::Structure::builder(id)
        .field("upRightCornerX", x)
        .field("upRightCornerY", y)
        .field("width", w)
        .field("height", h)
        .field("id", id)
        .build()
}

fn ev(name: &str, id: &str) -> (String, String) {
    (name.to_string(), id.to_string())
}

const HOME: (i64, i64) = (80, 60);
const IN_A: (i64, i64) = (35, 35);
const IN_B: (i64, i64) = (125, 85);

/// 160x120, calibrated on the disc at HOME, windows a (10,10 50x50) and b (100,60 50x50).
fn tracking_stream(format: VideoFormat) -> Stream {
    let mut s = stream(format, 160, 120);
    s.set_area(75, 55, 10, 10);
    s.set_windows(&[window("a", 10, 10, 50, 50), window("b", 100, 60, 50, 50)]);
    // the request is served by the next frame.
    s.calibrate();
    s.run(HOME);
    s
}

#[test]
fn tracks_the_disc_and_reports_windows_in_every_format() {
    for format in [
        VideoFormat::Bgr,
        VideoFormat::Rgbx,
        VideoFormat::Bgra,
        VideoFormat::Rgb,
    ] {
        let mut s = tracking_stream(format);
        let out = s.run(HOME);
        assert_eq!(
            out[HOME.1 as usize][HOME.0 as usize], RED,
            "{format:?}: pointer drawn"
        );
        assert_eq!(out[10][30], WHITE, "{format:?}: inactive window outline");
        assert!(s.events().is_empty());

        let out = s.run(IN_A);
        assert_eq!(out[IN_A.1 as usize][IN_A.0 as usize], RED);
        assert_eq!(out[55][75], WHITE, "{format:?}: calibration outline");
        assert_eq!(out[10][12], GREEN, "{format:?}: active window outline");
        s.run(IN_A);
        assert_eq!(s.events(), vec![ev("window-in", "a")], "{format:?}");
        s.run(HOME);
        assert_eq!(s.events(), vec![ev("window-out", "a")]);
        s.run(IN_B);
        // Q-26 kept: a direct move from b to a gives only window-in(a).
        s.run(IN_A);
        assert_eq!(s.events(), vec![ev("window-in", "b"), ev("window-in", "a")]);
        assert!(s.warnings().is_empty());
    }
}

#[test]
fn no_detection_keeps_the_last_position() {
    let mut s = tracking_stream(VideoFormat::Bgr);
    let range = s.element().property::<gst::Structure>("color-range");
    assert!(range.get::<bool>("calibrated").unwrap());
    // Orange BGR (0, 110, 255) is H 13, S 255, widened by 5.
    assert_eq!(range.get::<i32>("h_min").unwrap(), 8);
    assert_eq!(range.get::<i32>("s_max").unwrap(), 260);
    s.run(IN_A);
    // Disc leaves the frame: the pointer stays where it was last seen, still in window a.
    let out = s.run((-100, -100));
    assert_eq!(out[IN_A.1 as usize][IN_A.0 as usize], RED);
    assert_eq!(s.events(), vec![ev("window-in", "a")]);
}

#[test]
fn removing_windows_while_flowing_stops_their_events() {
    let mut s = tracking_stream(VideoFormat::Bgr);
    s.run(IN_B);
    assert_eq!(s.events(), vec![ev("window-in", "b")]);
    // b disappears while the pointer is in it: one window-out (as Kurento), then silence.
    s.set_windows(&[window("a", 10, 10, 50, 50)]);
    s.run(IN_B);
    assert_eq!(s.events(), vec![ev("window-out", "b")]);
    for _ in 0..3 {
        s.run(HOME);
        s.run(IN_B);
    }
    assert!(s.events().is_empty());
    // Clearing, re-adding and removing at every frame never fails.
    let positions = [HOME, IN_A, IN_B, IN_A, HOME, IN_B];
    for (i, p) in positions.iter().cycle().take(36).enumerate() {
        match i % 4 {
            0 => s
                .element()
                .set_property("windows-layout", gst::Structure::new_empty("buttonsLayout")),
            1 => s.set_windows(&[window("a", 10, 10, 50, 50), window("b", 100, 60, 50, 50)]),
            2 => s.set_windows(&[window("b", 100, 60, 50, 50)]),
            _ => s
                .element()
                .set_property("windows-layout", None::<gst::Structure>),
        }
        s.run(*p);
    }
    let events = s.events();
    assert!(
        events.iter().all(|(_, w)| w == "a" || w == "b"),
        "{events:?}"
    );
    assert!(s.warnings().is_empty());
}

#[test]
fn invalid_windows_are_rejected_with_clear_warnings() {
    let mut s = stream(VideoFormat::Bgr, 160, 120);
    s.set_area(75, 55, 10, 10);
    let mut no_id = window("noid", 10, 10, 50, 50);
    no_id.remove_field("id");
    let mut empty_id = window("empty", 10, 10, 50, 50);
    empty_id.set("id", "");
    let mut bad_type = window("badtype", 10, 10, 50, 50);
    bad_type.set("width", "fifty");
    let mut dup = window("dup", 100, 60, 50, 50);
    dup.set("id", "a");
    s.set_windows(&[
        window("a", 10, 10, 50, 50),
        no_id,
        empty_id,
        bad_type,
        window("flat", 10, 10, 50, 0),
        dup,
    ]);
    let warnings = s.warnings();
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    for (name, reason) in [
        ("noid", "missing 'id'"),
        ("empty", "empty 'id'"),
        ("badtype", "'width'"),
        ("flat", "not positive"),
        ("dup", "duplicate id 'a'"),
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("'{name}'")) && w.contains(reason)),
            "{name}: {warnings:?}"
        );
    }
    // The valid window still works, and the layout reads back as set.
    s.calibrate();
    s.run(HOME);
    s.run(IN_A);
    assert_eq!(s.events(), vec![ev("window-in", "a")]);
    s.run(IN_B);
    assert_eq!(
        s.events(),
        vec![ev("window-out", "a")],
        "the duplicate 'a' at b's place was skipped"
    );
    let layout = s.element().property::<gst::Structure>("windows-layout");
    assert_eq!(layout.n_fields(), 6);
}

#[test]
fn bad_calibration_is_reported_and_frames_flow() {
    let mut s = stream(VideoFormat::Bgr, 33, 17);
    // Outside the odd-sized frame: fitted to the corner, with a warning.
    s.set_area(500, 500, 10, 10);
    s.calibrate();
    let out = s.run((-50, -50));
    assert_eq!(out[7][23], WHITE, "outline of the fitted area");
    let warnings = s.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("does not fit the 33x17 frame")),
        "{warnings:?}"
    );
    // The area is plain grey, so grey is tracked: the whole frame matches, which is no
    // pointer. Frames keep flowing, also across size and format changes.
    s.set_format(VideoFormat::Rgbx, 64, 48);
    s.run((30, 20));
    s.set_format(VideoFormat::Bgr, 31, 31);
    s.run((15, 15));

    // All-zero area: disabled, the frame passes untouched.
    let mut s = stream(VideoFormat::Bgr, 40, 30);
    s.calibrate();
    let out = s.run((20, 15));
    assert!(out.iter().flatten().all(|p| *p == GREY || *p == ORANGE));
}

#[test]
fn calibration_on_a_colourless_area_warns() {
    let mut s = stream(VideoFormat::Bgr, 64, 48);
    // Too small for any bin to reach 20 samples.
    s.set_area(2, 2, 3, 3);
    s.calibrate();
    s.run((40, 30));
    let warnings = s.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("No colour dominates")),
        "{warnings:?}"
    );
    let out = s.run((40, 30));
    assert_eq!(out[30][40], ORANGE, "no tracking without a colour");
}

#[test]
fn icons_are_drawn_and_broken_ones_warn() {
    use opencv::core::{CV_8UC4, Mat, Scalar, Vector};
    let dir = std::env::temp_dir().join(format!("pointer-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let icon = |name: &str, bgra: [f64; 4]| {
        let mat = Mat::new_rows_cols_with_default(
            10,
            10,
            CV_8UC4,
            Scalar::new(bgra[0], bgra[1], bgra[2], bgra[3]),
        )
        .unwrap();
        let mut buf = Vector::<u8>::new();
        opencv::imgcodecs::imencode_def(".png", &mat, &mut buf).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, buf.as_slice()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let blue = icon("blue.png", [255.0, 0.0, 0.0, 255.0]);
    let yellow = icon("yellow.png", [0.0, 255.0, 255.0, 255.0]);
    let mut s = stream(VideoFormat::Bgr, 160, 120);
    s.set_area(75, 55, 10, 10);
    let mut a = window("a", 10, 10, 50, 50);
    a.set("inactive_uri", &blue);
    a.set("active_uri", &yellow);
    let mut b = window("b", 100, 60, 50, 50);
    b.set("inactive_uri", &blue);
    b.set("transparency", 0.5);
    let mut c = window("c", 100, 0, 40, 40);
    c.set("inactive_uri", "/nonexistent/icon.png");
    s.set_windows(&[a, b, c]);
    let warning = s
        .bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Warning],
        )
        .expect("warning for the missing icon");
    let gst::MessageView::Warning(w) = warning.view() else {
        unreachable!()
    };
    assert!(
        w.error().to_string().contains("/nonexistent/icon.png"),
        "{w:?}"
    );
    s.calibrate();
    // Icons arrive asynchronously: wait until the inactive icon shows.
    let start = std::time::Instant::now();
    let out = loop {
        let out = s.run(HOME);
        if out[30][30] == [255, 0, 0] {
            break out;
        }
        assert!(start.elapsed().as_secs() < 10, "icon never drawn");
    };
    assert_eq!(
        out[80][120],
        [191, 64, 64],
        "half transparent icon over grey"
    );
    assert_eq!(out[0][100], WHITE, "missing icon: outline instead");
    let out = s.run(IN_A);
    assert_eq!(out[15][15], [0, 255, 255], "active icon");
    // b active without an active icon: the inactive icon with green saturated.
    let out = s.run(IN_B);
    assert_eq!(out[62][102], [191, 191, 64]);
}

#[test]
fn properties_round_trip() {
    let s = stream(VideoFormat::Bgr, 16, 16);
    let e = s.element();
    assert!(!e.property::<bool>("show-debug-region"));
    assert!(e.property::<bool>("message"));
    assert!(e.property::<bool>("show-windows-layout"));
    assert_eq!(
        e.property::<gst::Structure>("windows-layout").name(),
        "windows"
    );
    e.set_property("show-debug-region", true);
    assert!(e.property::<bool>("show-debug-region"));
    e.set_property("show-windows-layout", false);
    assert!(!e.property::<bool>("show-windows-layout"));
    s.set_area(1, 2, 3, 3);
    let area = e.property::<gst::Structure>("calibration-area");
    assert_eq!(area.name(), "calibration_area");
    assert_eq!(area.get::<i32>("y").unwrap(), 2);
    let w = window("w1", 1, 2, 3, 4);
    s.set_windows(std::slice::from_ref(&w));
    let layout = e.property::<gst::Structure>("windows-layout");
    assert_eq!(layout.get::<gst::Structure>("w1").unwrap(), w);
}
