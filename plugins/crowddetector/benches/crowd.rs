// SPDX-License-Identifier: MPL-2.0
//! CPU per frame of crowddetector at 640x480 against OpenCV's pyramidal Lucas–Kanade alone
//! with Kurento's parameters, measured in the same run on the same decoded frames.
//!
//! cargo bench -p gst-plugin-crowddetector --bench crowd

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstcrowddetector::crowddetector::{Roi, RoiConfig, build_rois, kurento_flow};
use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;

const W: i32 = 640;
const H: i32 = 480;

fn element(frames: &[gst::Buffer]) -> Duration {
    let mut h = gst_check::Harness::new("crowddetector");
    h.set_src_caps_str(&format!(
        "video/x-raw,format=BGR,width={W},height={H},framerate=15/1"
    ));
    let mut c = RoiConfig::new("all");
    c.send_optical_flow_event = true;
    h.element().unwrap().set_property(
        "rois",
        build_rois(&[Roi {
            points: vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)],
            config: c,
        }]),
    );
    let start = Instant::now();
    for f in frames {
        h.push(f.copy()).unwrap();
        h.pull().unwrap();
    }
    start.elapsed()
}

fn lk_alone(frames: &[gst::Buffer]) -> Duration {
    let mut prev = Mat::default();
    let start = Instant::now();
    for f in frames {
        let map = f.map_readable().unwrap();
        let step = (W as usize * 3).div_ceil(4) * 4;
        let bgr = Mat::new_rows_cols_with_data(H, W * 3, map.as_slice()).unwrap();
        let bgr = bgr.reshape(3, H).unwrap();
        assert_eq!(step, W as usize * 3);
        let mut grey = Mat::default();
        imgproc::cvt_color_def(&bgr, &mut grey, imgproc::COLOR_BGR2GRAY).unwrap();
        if !prev.empty() {
            kurento_flow(&prev, &grey).unwrap();
        }
        prev = grey;
    }
    start.elapsed()
}

fn main() {
    gst::init().unwrap();
    gstcrowddetector::plugin_register_static().unwrap();
    let frames = gst_tests::indexed::decode_bgr("crowd_synth_640x480.webm");
    let n = frames.len() as f64;
    let (mut best_e, mut best_lk) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        best_e = best_e.min(element(&frames));
        best_lk = best_lk.min(lk_alone(&frames));
    }
    let e = best_e.as_secs_f64() * 1000.0 / n;
    let lk = best_lk.as_secs_f64() * 1000.0 / n;
    println!("frames: {n} at {W}x{H} (best of 5 rounds, interleaved)");
    println!("crowddetector (one full-frame region, direction on): {e:.2} ms/frame");
    println!(
        "OpenCV goodFeaturesToTrack + calcOpticalFlowPyrLK alone (Kurento's parameters, full frame): {lk:.2} ms/frame"
    );
    println!(
        "ratio crowddetector / LK alone: {:.2} (target <= 1.5)",
        e / lk
    );
}
