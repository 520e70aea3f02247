// SPDX-License-Identifier: MPL-2.0
//! CPU time per frame of `kmsfacedetector` against Kurento's algorithm (run here with OpenCV
//! directly) and GStreamer's `facedetect`, on the same decoded frames of the bundled faces
//! clip, in one run. Also prints each detector's recall of the clip's main face.
//!
//! Run: `cargo bench -p gst-plugin-kmsfilters --bench facedetector`
//!
//! 1280x720 frames are the 640x480 clip scaled up (the 720p clip is not bundled); recall is
//! only measured at 640x480, where the truth applies.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use opencv::core::{CV_8UC3, Mat, Rect, Size, Vector};
use opencv::imgproc;
use opencv::objdetect::CascadeClassifier;
use opencv::prelude::*;

const HAAR: &str = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
const FPS: u64 = 30;

type Boxes = HashMap<u64, Vec<[f64; 4]>>;
/// A detector's bus message read as (frame number, boxes), or `None` for other messages.
type ParseMessage = fn(&gst::StructureRef) -> Option<(u64, Vec<[f64; 4]>)>;

fn media(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../gst-tests/media")
        .join(name)
}

/// Process CPU time (all threads), in seconds.
fn cpu_seconds() -> f64 {
    kms_plugin_common::bench::process_cpu_time().as_secs_f64()
}

/// Decodes the clip once into memory at the given size and format.
fn decode(
    format: &str,
    width: u32,
    height: u32,
    max_frames: usize,
) -> (gst::Caps, Vec<gst::Buffer>) {
    kms_plugin_common::bench::decode_webm(
        &media("faces_640x480.webm"),
        &format!("video/x-raw,format={format},width={width},height={height}"),
        max_frames,
    )
    .unwrap()
}

fn frame_of(pts: Option<gst::ClockTime>) -> u64 {
    (pts.unwrap().nseconds() * FPS + 500_000_000) / 1_000_000_000
}

/// Kurento's per-frame algorithm, straight on OpenCV.
fn kurento_algorithm(frames: &[gst::Buffer], width: i32, height: i32) -> (f64, Boxes) {
    let mut classifier = CascadeClassifier::new(HAAR).unwrap();
    let working_width = width.min(320);
    let factor = width as f64 / working_width as f64;
    let working = Size::new(working_width, (height as f64 / factor) as i32);
    let mut small = Mat::default();
    let mut boxes = Boxes::new();
    let start = cpu_seconds();
    for buffer in frames {
        let map = buffer.map_readable().unwrap();
        // SAFETY: the header lives only while `map` is alive and is only read.
        let full = unsafe {
            Mat::new_rows_cols_with_data_unsafe(
                height,
                width,
                CV_8UC3,
                map.as_ptr() as *mut _,
                width as usize * 3,
            )
            .unwrap()
        };
        imgproc::resize(&full, &mut small, working, 0.0, 0.0, imgproc::INTER_LINEAR).unwrap();
        let mut faces = Vector::<Rect>::new();
        classifier
            .detect_multi_scale(
                &small,
                &mut faces,
                1.2,
                3,
                0,
                Size::new(working.width / 20, working.height / 20),
                Size::new(working.width / 2, working.height / 2),
            )
            .unwrap();
        let found = faces
            .iter()
            .map(|r| {
                [
                    r.x as f64 * factor,
                    r.y as f64 * factor,
                    r.width as f64 * factor,
                    r.height as f64 * factor,
                ]
            })
            .collect();
        boxes.insert(frame_of(buffer.pts()), found);
    }
    ((cpu_seconds() - start) / frames.len() as f64, boxes)
}

/// Pushes the frames through `appsrc ! <element> ! fakesink` and collects the element's
/// messages with `parse`.
fn through_element(
    caps: &gst::Caps,
    frames: &[gst::Buffer],
    element: &str,
    parse: ParseMessage,
) -> (f64, Boxes) {
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time ! {element} ! fakesink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    src.set_caps(Some(caps));
    src.set_max_bytes(0);
    let boxes: Arc<Mutex<Boxes>> = Arc::default();
    let sink = boxes.clone();
    let bus = pipeline.bus().unwrap();
    bus.set_sync_handler(move |_, msg| {
        if let Some((frame, found)) = msg.structure().and_then(parse) {
            sink.lock().unwrap().insert(frame, found);
        }
        gst::BusSyncReply::Pass
    });
    let start = cpu_seconds();
    pipeline.set_state(gst::State::Playing).unwrap();
    for buffer in frames {
        src.push_buffer(buffer.clone()).unwrap();
    }
    src.end_of_stream().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::NONE,
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .unwrap();
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    let cpu = cpu_seconds() - start;
    pipeline.set_state(gst::State::Null).unwrap();
    let boxes = std::mem::take(&mut *boxes.lock().unwrap());
    (cpu / frames.len() as f64, boxes)
}

fn parse_kms(s: &gst::StructureRef) -> Option<(u64, Vec<[f64; 4]>)> {
    let faces = gstkmsfilters::FacesEvent::from_structure(s).filter(|_| s.name() == "faces")?;
    let boxes = faces
        .faces
        .iter()
        .map(|f| [f.x as f64, f.y as f64, f.width as f64, f.height as f64])
        .collect();
    Some((frame_of(faces.pts), boxes))
}

fn parse_facedetect(s: &gst::StructureRef) -> Option<(u64, Vec<[f64; 4]>)> {
    if s.name() != "facedetect" {
        return None;
    }
    let pts = s.get::<gst::ClockTime>("timestamp").ok()?;
    let list = s.get::<gst::List>("faces").ok()?;
    let boxes = list
        .iter()
        .filter_map(|v| v.get::<gst::Structure>().ok())
        .map(|f| {
            let n = |k: &str| f.get::<u32>(k).unwrap_or(0) as f64;
            [n("x"), n("y"), n("width"), n("height")]
        })
        .collect();
    Some((frame_of(Some(pts)), boxes))
}

fn main_face_recall(boxes: &Boxes) -> usize {
    let text = std::fs::read_to_string(media("faces_640x480_truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[1] == "main")
        .filter(|c| {
            let t: Vec<f64> = c[2..6].iter().map(|v| v.parse().unwrap()).collect();
            let frame: u64 = c[0].parse().unwrap();
            boxes
                .get(&frame)
                .is_some_and(|found| found.iter().any(|b| iou(b, &t) >= 0.5))
        })
        .count()
}

fn iou(a: &[f64], b: &[f64]) -> f64 {
    let ix = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let iy = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)
}

fn main() {
    gst::init().unwrap();
    gstkmsfilters::plugin_register_static().unwrap();
    let have_facedetect = gst::ElementFactory::find("facedetect").is_some();

    for (width, height, max_frames) in [(640u32, 480u32, 360usize), (1280, 720, 120)] {
        let (bgr_caps, bgr) = decode("BGR", width, height, max_frames);
        let (i420_caps, i420) = decode("I420", width, height, max_frames);
        let (rgb_caps, rgb) = decode("RGB", width, height, max_frames);
        let n = bgr.len();
        println!("\n{width}x{height}, {n} frames (CPU time per frame, all threads)");

        let (kurento, kurento_boxes) = kurento_algorithm(&bgr, width as i32, height as i32);
        let mut rows = vec![(
            "Kurento's algorithm (OpenCV, every frame)",
            kurento,
            kurento_boxes,
        )];
        let (t, b) = through_element(&bgr_caps, &bgr, "kmsfacedetector", parse_kms);
        rows.push(("kmsfacedetector, BGR input", t, b));
        let (t, b) = through_element(&i420_caps, &i420, "kmsfacedetector", parse_kms);
        rows.push(("kmsfacedetector, I420 input (luma)", t, b));
        let (t, b) = through_element(
            &i420_caps,
            &i420,
            "kmsfacedetector full-scan-interval=1",
            parse_kms,
        );
        rows.push(("kmsfacedetector full-scan-interval=1, I420", t, b));
        if have_facedetect {
            let (t, b) = through_element(
                &rgb_caps,
                &rgb,
                "facedetect display=false",
                parse_facedetect,
            );
            rows.push(("GStreamer facedetect (defaults), RGB input", t, b));
        } else {
            println!(
                "(GStreamer's facedetect is not installed: apt-get install gstreamer1.0-opencv)"
            );
        }

        println!(
            "{:<46} {:>10} {:>14} {:>16}",
            "detector", "ms/frame", "vs Kurento", "main-face recall"
        );
        for (name, seconds, boxes) in &rows {
            let recall = if width == 640 {
                format!("{}/{}", main_face_recall(boxes), n)
            } else {
                "-".into()
            };
            println!(
                "{:<46} {:>10.2} {:>13.2}x {:>16}",
                name,
                seconds * 1e3,
                seconds / kurento,
                recall
            );
        }
    }
}
