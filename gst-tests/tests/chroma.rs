// SPDX-License-Identifier: MPL-2.0
//! `chroma` on the green-screen clip (screen BGR ≈ 40,175,60 with uneven light; a portrait in
//! an ellipse and a red card move over it), keyed onto `chroma_background_1280x720.jpg`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_tests::{decode_webm, run_to_end};

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstchroma::plugin_register_static().unwrap();
    });
}

const W: usize = 640;
const H: usize = 480;
/// Frames whose input and output are compared (all after the 61 calibration frames).
const SAMPLED: [usize; 5] = [70, 120, 170, 220, 290];

type Frames = HashMap<usize, Vec<u8>>;

fn packed_bgr(buffer: &gst::BufferRef, caps_stride: usize) -> Vec<u8> {
    let map = buffer.map_readable().unwrap();
    let mut out = Vec::with_capacity(W * H * 3);
    for y in 0..H {
        out.extend_from_slice(&map[y * caps_stride..y * caps_stride + W * 3]);
    }
    out
}

/// Runs the clip through `chroma` (BGR); returns the sampled inputs and outputs and the
/// pipeline's warnings.
fn run_clip(background: Option<&str>) -> (Frames, Frames, Vec<String>) {
    init();
    let pipeline = gst::parse::launch(&format!(
        "{} ! video/x-raw,format=BGR ! chroma name=chroma ! fakesink sync=false",
        decode_webm("chroma_640x480.webm")
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let chroma = pipeline.by_name("chroma").unwrap();
    chroma.set_property(
        "calibration-area",
        gst::Structure::builder("calibration_area")
            .field("x", 5)
            .field("y", 5)
            .field("width", 40)
            .field("height", 40)
            .build(),
    );
    if let Some(uri) = background {
        chroma.set_property("image-background", uri);
        let start = Instant::now();
        while !chroma.property::<bool>("background-loaded") {
            assert!(start.elapsed() < Duration::from_secs(10), "background load");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let stride = (W * 3).next_multiple_of(4);
    let inputs = Arc::new(Mutex::new(Frames::new()));
    let outputs = Arc::new(Mutex::new(Frames::new()));
    let index = Arc::new(AtomicUsize::new(0));
    let (sink_in, counter) = (inputs.clone(), index.clone());
    chroma
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let i = counter.fetch_add(1, Ordering::SeqCst);
            if let Some(buffer) = info.buffer()
                && SAMPLED.contains(&i)
            {
                sink_in
                    .lock()
                    .unwrap()
                    .insert(i, packed_bgr(buffer, stride));
            }
            gst::PadProbeReturn::Ok
        });
    let (sink_out, counter) = (outputs.clone(), index.clone());
    chroma
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let i = counter.load(Ordering::SeqCst) - 1;
            if let Some(buffer) = info.buffer()
                && SAMPLED.contains(&i)
            {
                sink_out
                    .lock()
                    .unwrap()
                    .insert(i, packed_bgr(buffer, stride));
            }
            gst::PadProbeReturn::Ok
        });
    let run = run_to_end(&pipeline, gst::ClockTime::from_seconds(120));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let warnings = run.warnings;
    assert_eq!(index.load(Ordering::SeqCst), 300);
    let inputs = inputs.lock().unwrap().clone();
    let outputs = outputs.lock().unwrap().clone();
    (inputs, outputs, warnings)
}

/// The background scaled to 640x480 by GStreamer (an implementation independent of the
/// element's), as packed BGR.
fn scaled_background() -> Vec<u8> {
    init();
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! jpegdec ! videoconvert ! videoscale ! \
         video/x-raw,format=BGR,width={W},height={H} ! appsink name=sink",
        gst_tests::media("chroma_background_1280x720.jpg").display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().unwrap();
    let out = packed_bgr(sample.buffer().unwrap(), (W * 3).next_multiple_of(4));
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

fn px(frame: &[u8], x: usize, y: usize) -> [i32; 3] {
    let i = (y * W + x) * 3;
    [frame[i] as i32, frame[i + 1] as i32, frame[i + 2] as i32]
}

/// Plain screen green: green well above red and blue (the screen is ≈ 40,175,60 ± light).
fn is_green([b, g, r]: [i32; 3]) -> bool {
    g >= r + 60 && g >= b + 60
}

/// Pixels of the subject: nothing green-ish within 4 pixels (edges are blended and noisy).
fn foreground(input: &[u8]) -> Vec<bool> {
    let greenish: Vec<bool> = (0..W * H)
        .map(|i| {
            let [b, g, r] = px(input, i % W, i / W);
            g > r && g > b
        })
        .collect();
    let mut fg = vec![false; W * H];
    for y in 4..H - 4 {
        for x in 4..W - 4 {
            fg[y * W + x] =
                (y - 4..=y + 4).all(|yy| (x - 4..=x + 4).all(|xx| !greenish[yy * W + xx]));
        }
    }
    fg
}

#[test]
fn green_screen_is_replaced_and_the_subject_kept() {
    let uri = gst_tests::media("chroma_background_1280x720.jpg");
    let (inputs, outputs, warnings) = run_clip(Some(uri.to_str().unwrap()));
    assert!(warnings.is_empty(), "{warnings:?}");
    let background = scaled_background();
    for frame in SAMPLED {
        let (input, output) = (&inputs[&frame], &outputs[&frame]);
        let (mut green, mut replaced) = (0usize, 0usize);
        for y in 0..H {
            for x in 0..W {
                if !is_green(px(input, x, y)) {
                    continue;
                }
                green += 1;
                let (o, bg) = (px(output, x, y), px(&background, x, y));
                if (0..3).all(|c| (o[c] - bg[c]).abs() <= 24) {
                    replaced += 1;
                }
            }
        }
        assert!(
            green > W * H / 3,
            "frame {frame}: the screen is most of the frame"
        );
        let share = replaced as f64 / green as f64;
        assert!(
            share >= 0.95,
            "frame {frame}: {replaced} of {green} green pixels show the background ({share:.3})"
        );

        let fg = foreground(input);
        let subject = fg.iter().filter(|&&f| f).count();
        let kept = (0..W * H)
            .filter(|&i| fg[i] && input[i * 3..i * 3 + 3] == output[i * 3..i * 3 + 3])
            .count();
        assert!(
            subject > W * H / 10,
            "frame {frame}: the subject is visible"
        );
        let kept_share = kept as f64 / subject as f64;
        assert!(
            kept_share >= 0.995,
            "frame {frame}: {kept} of {subject} subject pixels unchanged ({kept_share:.4})"
        );
    }
}

#[test]
fn without_background_the_video_is_unchanged_after_calibration() {
    let (inputs, outputs, warnings) = run_clip(None);
    assert!(warnings.is_empty(), "{warnings:?}");
    for frame in SAMPLED {
        assert!(
            inputs[&frame] == outputs[&frame],
            "frame {frame} was modified without a background"
        );
    }
}
