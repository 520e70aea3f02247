// SPDX-License-Identifier: MPL-2.0
//! Helpers shared by this crate's element tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, Instant};

use gst::prelude::*;
use opencv::core::{CV_8UC4, Mat, Scalar};
use opencv::imgcodecs;

/// A harness whose element has a bus of its own, so its warnings can be read.
pub fn harness_with_bus(factory: &str) -> gst_check::Harness {
    init();
    kms_plugin_common::testing::harness_with_bus(factory)
}

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstkmsfilters::plugin_register_static().expect("kmsfilters registers");
    });
}

/// Writes a solid BGRA PNG of the given size into a fresh temporary directory.
pub fn solid_png(name: &str, width: i32, height: i32, bgra: [u8; 4]) -> PathBuf {
    init();
    let dir = std::env::temp_dir().join(format!("kmsfilters-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    let [b, g, r, a] = bgra.map(f64::from);
    let mat =
        Mat::new_rows_cols_with_default(height, width, CV_8UC4, Scalar::new(b, g, r, a)).unwrap();
    assert!(imgcodecs::imwrite_def(path.to_str().unwrap(), &mat).unwrap());
    path
}

/// A BGR frame of one colour.
pub fn bgr_frame(width: usize, height: usize, bgr: [u8; 3], pts_ms: u64) -> gst::Buffer {
    let data: Vec<u8> = bgr
        .iter()
        .copied()
        .cycle()
        .take(width * height * 3)
        .collect();
    let mut buffer = gst::Buffer::from_mut_slice(data);
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(pts_ms));
    buffer
}

pub fn bgr_at(buffer: &gst::Buffer, width: usize, x: usize, y: usize) -> [u8; 3] {
    let map = buffer.map_readable().unwrap();
    let i = (y * width + x) * 3;
    [map[i], map[i + 1], map[i + 2]]
}

/// Runs `step` (which pushes one frame and returns the output) until `done` holds for an
/// output frame. Images load asynchronously, so the first frames may come out unchanged.
pub fn repeat_until(
    h: &mut gst_check::Harness,
    mut step: impl FnMut(&mut gst_check::Harness, u64) -> gst::Buffer,
    mut done: impl FnMut(&mut gst_check::Harness, &gst::Buffer) -> bool,
) -> (u64, gst::Buffer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        let out = step(h, n);
        if done(h, &out) {
            return (n, out);
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached after {n} frames"
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every warning message the harness's element posted so far.
pub fn warnings(h: &gst_check::Harness) -> Vec<String> {
    let bus = h.element().unwrap().bus();
    let mut out = Vec::new();
    if let Some(bus) = bus {
        while let Some(msg) = bus.pop() {
            if let gst::MessageView::Warning(w) = msg.view() {
                out.push(format!("{} {}", w.error(), w.debug().unwrap_or_default()));
            }
        }
    }
    out
}
