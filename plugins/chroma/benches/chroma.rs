// SPDX-License-Identifier: MPL-2.0
//! CPU per frame of `chroma` against two peers, in one run on the same decoded frames of
//! `gst-tests/media/chroma_640x480.webm` with the same background:
//!
//! * Kurento's chroma algorithm written with OpenCV calls (BGR→HSV, `inRange`, 3×3 close and
//!   open, masked copy of the background), using the range our element learnt;
//! * GStreamer's `alpha method=green` + `compositor` over the background (key and replace;
//!   BGR in, BGRA out, the cheapest output format the compositor negotiates here).
//!
//! Run: `cargo bench -p gst-plugin-chroma` (optional argument: rounds over the clip, default 4).

use std::path::PathBuf;

use gst::prelude::*;
use gst_check::Harness;
use kms_plugin_common::bench::{CpuMeter, decode_webm_bgr};
use opencv::core::{CV_8UC3, Mat, Scalar, Size};
use opencv::prelude::*;
use opencv::{core, imgproc};

const CALIBRATION_FRAMES: usize = 61;
const FRAMES: usize = 150;

fn media(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../gst-tests/media")
        .join(name)
}

fn bgr_caps(w: usize, h: usize, format: &str) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", format)
        .field("width", w as i32)
        .field("height", h as i32)
        .field("framerate", gst::Fraction::new(30, 1))
        .build()
}

/// The background scaled to the frame, as packed BGR (what both peers paste).
fn background_bgr(w: usize, h: usize) -> Vec<u8> {
    let img =
        kms_plugin_common::load_image(media("chroma_background_1280x720.jpg").to_str().unwrap())
            .unwrap()
            .resized(w, h)
            .unwrap();
    img.data
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn main() {
    gst::init().unwrap();
    gstchroma::plugin_register_static().unwrap();
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let clip = decode_webm_bgr(&media("chroma_640x480.webm"), FRAMES).unwrap();
    let (w, h) = (clip.width, clip.height);
    let keyed = &clip.frames[CALIBRATION_FRAMES..];
    println!(
        "chroma benchmark: {w}x{h} BGR, {} frames x {rounds} rounds per contender (process CPU time)",
        keyed.len()
    );

    // Ours: calibrate on the first 61 frames (not timed), then time push+pull per frame.
    let mut harness = Harness::new("chroma");
    harness.set_src_caps(bgr_caps(w, h, "BGR"));
    let element = harness.element().unwrap();
    element.set_property(
        "calibration-area",
        gst::Structure::builder("calibration_area")
            .field("x", 5)
            .field("y", 5)
            .field("width", 40)
            .field("height", 40)
            .build(),
    );
    element.set_property(
        "image-background",
        media("chroma_background_1280x720.jpg").to_str(),
    );
    while !element.property::<bool>("background-loaded") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for f in &clip.frames[..CALIBRATION_FRAMES] {
        harness
            .push_and_pull(gst::Buffer::from_slice(f.clone()))
            .unwrap();
    }
    let range = element.property::<gst::Structure>("color-range");
    let get = |f: &str| range.get::<i32>(f).unwrap() as f64;
    let mut ours = CpuMeter::default();
    for _ in 0..rounds {
        for f in keyed {
            let buffer = gst::Buffer::from_slice(f.clone());
            ours.measure(|| harness.push_and_pull(buffer).unwrap());
        }
    }

    // Kurento's algorithm with OpenCV, same range and background.
    let bg_data = background_bgr(w, h);
    let bg = Mat::new_rows_cols_with_data(h as i32, (w * 3) as i32, &bg_data)
        .unwrap()
        .reshape(3, h as i32)
        .unwrap()
        .try_clone()
        .unwrap();
    let lower = Scalar::new(get("h_min"), get("s_min"), get("v_min"), 0.0);
    let upper = Scalar::new(get("h_max"), get("s_max"), get("v_max"), 0.0);
    let kernel =
        imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(3, 3)).unwrap();
    let (mut hsv, mut mask, mut tmp) = (Mat::default(), Mat::default(), Mat::default());
    let mut frame = Mat::new_rows_cols_with_default(h as i32, w as i32, CV_8UC3, 0.into()).unwrap();
    let mut kurento = CpuMeter::default();
    for _ in 0..rounds {
        for f in keyed {
            frame.data_bytes_mut().unwrap().copy_from_slice(f);
            kurento.measure(|| {
                imgproc::cvt_color_def(&frame, &mut hsv, imgproc::COLOR_BGR2HSV).unwrap();
                core::in_range(&hsv, &lower, &upper, &mut mask).unwrap();
                imgproc::morphology_ex_def(&mask, &mut tmp, imgproc::MORPH_CLOSE, &kernel).unwrap();
                imgproc::morphology_ex_def(&tmp, &mut mask, imgproc::MORPH_OPEN, &kernel).unwrap();
                bg.copy_to_masked(&mut frame, &mask).unwrap();
            });
        }
    }

    // GStreamer: alpha keys the green, compositor puts the result over the background.
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=bg format=time caps=\"{bg_caps}\" ! mix.sink_0 \
         appsrc name=fg format=time caps=\"{fg_caps}\" ! alpha method=green ! mix.sink_1 \
         compositor name=mix sink_0::zorder=0 sink_1::zorder=1 ! video/x-raw,format=BGRA ! \
         appsink name=out sync=false",
        bg_caps = bgr_caps(w, h, "BGR"),
        fg_caps = bgr_caps(w, h, "BGR"),
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = |name: &str| {
        pipeline
            .by_name(name)
            .unwrap()
            .downcast::<gst_app::AppSrc>()
            .unwrap()
    };
    let (bg_src, fg_src) = (src("bg"), src("fg"));
    let sink = pipeline
        .by_name("out")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bg_buffer = gst::Buffer::from_slice(bg_data.clone());
    let frame_time = gst::ClockTime::from_nseconds(1_000_000_000 / 30);
    let mut gst_peer = CpuMeter::default();
    let mut n = 0u64;
    for _ in 0..rounds {
        for f in keyed {
            let pts = frame_time * n;
            let mut fg = gst::Buffer::from_slice(f.clone());
            {
                let fg = fg.get_mut().unwrap();
                fg.set_pts(pts);
                fg.set_duration(frame_time);
            }
            let mut bgb = bg_buffer.copy();
            {
                let bgb = bgb.get_mut().unwrap();
                bgb.set_pts(pts);
                bgb.set_duration(frame_time);
            }
            gst_peer.measure(|| {
                bg_src.push_buffer(bgb).unwrap();
                fg_src.push_buffer(fg).unwrap();
                sink.try_pull_sample(gst::ClockTime::from_seconds(10))
                    .expect("alpha + compositor produced no frame")
            });
            n += 1;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();

    let (o, k, g) = (
        ours.ms_per_step(),
        kurento.ms_per_step(),
        gst_peer.ms_per_step(),
    );
    println!("  chroma (this crate)            {o:7.3} ms CPU/frame");
    println!("  Kurento algorithm (OpenCV)     {k:7.3} ms CPU/frame");
    println!("  alpha + compositor (GStreamer) {g:7.3} ms CPU/frame");
    println!(
        "  chroma / Kurento               {:7.3}  (target <= 0.5)",
        o / k
    );
    println!(
        "  (alpha + compositor) / chroma  {:7.1}x (target >= 10)",
        g / o
    );
}
