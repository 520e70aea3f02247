// SPDX-License-Identifier: MPL-2.0
//! CPU per frame of `pointerdetector` while tracking, on the decoded frames of
//! `gst-tests/media/pointer_640x480.webm` (two windows on the disc's path), and, in the same
//! run on the same frames, Kurento's per-frame algorithm written with OpenCV calls (BGR→HSV,
//! `inRange`, 21×21 close, 11×11 open, 15×15 Gaussian blur, Hough circles) as the peer.
//!
//! Run: `cargo bench -p gst-plugin-pointerdetector` (optional argument: rounds, default 4).

use std::path::PathBuf;

use gst::prelude::*;
use gst_check::Harness;
use kms_plugin_common::bench::{CpuMeter, decode_webm_bgr};
use opencv::core::{CV_8UC3, Mat, Point, Scalar, Size, Vec3f, Vector};
use opencv::prelude::*;
use opencv::{core, imgproc};

const FRAMES: usize = 160;
const CALIBRATE_AT: usize = 10;
/// The disc is still at the centre for the first 60 frames; time the moving part.
const TIMED_FROM: usize = 60;

fn media(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../gst-tests/media")
        .join(name)
}

fn window(id: &str, x: i32, y: i32, size: i32) -> gst::Structure {
    gst::Structure::builder(id)
        .field("upRightCornerX", x)
        .field("upRightCornerY", y)
        .field("width", size)
        .field("height", size)
        .field("id", id)
        .build()
}

fn main() {
    gst::init().unwrap();
    gstpointerdetector::plugin_register_static().unwrap();
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let clip = decode_webm_bgr(&media("pointer_640x480.webm"), FRAMES).unwrap();
    let (w, h) = (clip.width, clip.height);
    let moving = &clip.frames[TIMED_FROM..];
    println!(
        "pointerdetector benchmark: {w}x{h} BGR, {} frames x {rounds} rounds (process CPU time)",
        moving.len()
    );

    let mut harness = Harness::new("pointerdetector");
    harness.set_src_caps(
        gst::Caps::builder("video/x-raw")
            .field("format", "BGR")
            .field("width", w as i32)
            .field("height", h as i32)
            .field("framerate", gst::Fraction::new(30, 1))
            .build(),
    );
    let element = harness.element().unwrap();
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    element.set_property(
        "calibration-area",
        gst::Structure::builder("calibration_area")
            .field("x", 310)
            .field("y", 230)
            .field("width", 20)
            .field("height", 20)
            .build(),
    );
    let mut layout = gst::Structure::new_empty("windowsLayout");
    layout.set("a", window("a", 440, 100, 120));
    layout.set("b", window("b", 80, 260, 120));
    element.set_property("windows-layout", layout);
    for (i, f) in clip.frames[..TIMED_FROM].iter().enumerate() {
        if i == CALIBRATE_AT {
            element.emit_by_name::<()>("calibrate-color", &[]);
        }
        harness
            .push_and_pull(gst::Buffer::from_slice(f.clone()))
            .unwrap();
    }
    let range = element.property::<gst::Structure>("color-range");
    assert!(
        range.get::<bool>("calibrated").unwrap(),
        "calibrated on the disc"
    );
    let get = |f: &str| range.get::<i32>(f).unwrap() as f64;

    let mut ours = CpuMeter::default();
    for _ in 0..rounds {
        for f in moving {
            let buffer = gst::Buffer::from_slice(f.clone());
            ours.measure(|| harness.push_and_pull(buffer).unwrap());
        }
    }
    let events = std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Element])).count();

    let lower = Scalar::new(get("h_min"), get("s_min"), get("v_min"), 0.0);
    let upper = Scalar::new(get("h_max"), get("s_max"), get("v_max"), 0.0);
    let rect =
        |n| imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(n, n)).unwrap();
    let (close, open) = (rect(21), rect(11));
    let (mut hsv, mut mask, mut tmp, mut blurred) = (
        Mat::default(),
        Mat::default(),
        Mat::default(),
        Mat::default(),
    );
    let mut circles = Vector::<Vec3f>::new();
    let mut frame = Mat::new_rows_cols_with_default(h as i32, w as i32, CV_8UC3, 0.into()).unwrap();
    let mut kurento = CpuMeter::default();
    let mut found = 0usize;
    for _ in 0..rounds {
        for f in moving {
            frame.data_bytes_mut().unwrap().copy_from_slice(f);
            found += kurento.measure(|| {
                imgproc::cvt_color_def(&frame, &mut hsv, imgproc::COLOR_BGR2HSV).unwrap();
                core::in_range(&hsv, &lower, &upper, &mut mask).unwrap();
                imgproc::morphology_ex_def(&mask, &mut tmp, imgproc::MORPH_CLOSE, &close).unwrap();
                imgproc::morphology_ex_def(&tmp, &mut mask, imgproc::MORPH_OPEN, &open).unwrap();
                imgproc::gaussian_blur_def(&mask, &mut blurred, Size::new(15, 15), 0.0).unwrap();
                imgproc::hough_circles(
                    &blurred,
                    &mut circles,
                    imgproc::HOUGH_GRADIENT,
                    2.0,
                    h as f64 / 10.0,
                    100.0,
                    40.0,
                    0,
                    0,
                )
                .unwrap();
                if let Some(c) = circles.iter().next_back() {
                    let centre = Point::new(c[0].round() as i32, c[1].round() as i32);
                    imgproc::circle(
                        &mut frame,
                        centre,
                        10,
                        Scalar::new(0., 0., 255., 0.),
                        -1,
                        imgproc::LINE_8,
                        0,
                    )
                    .unwrap();
                }
                circles.len().min(1)
            });
        }
    }

    let (o, k) = (ours.ms_per_step(), kurento.ms_per_step());
    let n = moving.len() * rounds;
    println!(
        "  pointerdetector (this crate)   {o:7.3} ms CPU/frame (target <= 1 ms), {events} window events"
    );
    println!(
        "  Kurento algorithm (OpenCV)     {k:7.3} ms CPU/frame, circle found in {found}/{n} frames"
    );
    println!("  pointerdetector / Kurento      {:7.3}", o / k);
}
