// SPDX-License-Identifier: MPL-2.0
//! The face elements on real footage: the bundled faces clip (astronaut portrait over a
//! panning background, truth CSV per frame) and the astronaut photo.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once};

use gst::prelude::*;
use gst_tests::{BoxXywh, faces_truth, frame_index, media, run_to_end, solid_png};
use gstkmsfilters::FacesEvent;

const CLIP: &str = "faces_640x480.webm";
const TRUTH: &str = "faces_640x480_truth.csv";
const FRAMES: u64 = 360;
const FPS: u64 = 30;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstkmsfilters::plugin_register_static().unwrap();
    });
}

fn pipeline(description: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

fn clip_source() -> String {
    format!(
        "filesrc location=\"{}\" ! matroskademux ! vp8dec ! videoconvert",
        media(CLIP).display()
    )
}

/// Runs the detector over the clip and returns its detections per frame.
fn detect_on_clip(format: &str, detector_props: &str) -> HashMap<u64, Vec<BoxXywh>> {
    let p = pipeline(&format!(
        "{} ! video/x-raw,format={format} ! kmsfacedetector {detector_props} ! fakesink sync=false",
        clip_source()
    ));
    let run = run_to_end(&p, gst::ClockTime::from_seconds(120));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let mut by_frame = HashMap::new();
    for s in run.messages_named("faces") {
        let faces = FacesEvent::from_structure(s).expect("well-formed faces message");
        let frame = frame_index(faces.pts.expect("timestamped"), FPS);
        let boxes = faces
            .faces
            .iter()
            .map(|f| BoxXywh {
                x: f.x as f64,
                y: f.y as f64,
                w: f.width as f64,
                h: f.height as f64,
            })
            .collect();
        by_frame.insert(frame, boxes);
    }
    by_frame
}

/// Frames in which some detection overlaps the truth's main face with IoU ≥ 0.5.
fn main_face_hits(detections: &HashMap<u64, Vec<BoxXywh>>) -> usize {
    let truth = faces_truth(TRUTH);
    let hits = (0..FRAMES)
        .filter(|frame| {
            let main = truth[frame]
                .iter()
                .find(|(label, _)| label == "main")
                .expect("main face in every frame")
                .1;
            detections
                .get(frame)
                .is_some_and(|boxes| boxes.iter().any(|b| b.iou(&main) >= 0.5))
        })
        .count();
    eprintln!("main face matched in {hits}/{FRAMES} frames");
    hits
}

#[test]
fn haar_on_bgr_finds_the_main_face() {
    let hits = main_face_hits(&detect_on_clip("BGR", ""));
    assert!(hits >= 320, "main face matched in {hits}/360 frames");
}

#[test]
fn haar_on_i420_luma_finds_the_main_face() {
    let hits = main_face_hits(&detect_on_clip("I420", ""));
    assert!(hits >= 320, "main face matched in {hits}/360 frames");
}

#[test]
fn scanning_every_frame_like_kurento_finds_the_main_face() {
    let hits = main_face_hits(&detect_on_clip("NV12", "full-scan-interval=1"));
    assert!(hits >= 320, "main face matched in {hits}/360 frames");
}

#[test]
fn lbp_mode_finds_faces_too() {
    let detections = detect_on_clip("BGR", "filter-version=false");
    let hits = main_face_hits(&detections);
    assert!(
        hits >= 200,
        "LBP matched the main face in {hits}/360 frames"
    );
}

#[test]
fn faces_events_travel_just_before_their_frame() {
    let p = pipeline(&format!(
        "{} ! video/x-raw,format=BGR ! kmsfacedetector ! fakesink name=sink sync=false",
        clip_source()
    ));
    let sink_pad = p.by_name("sink").unwrap().static_pad("sink").unwrap();
    // Sequence of (is_event, pts) as seen by the sink.
    let seen: Arc<Mutex<Vec<(bool, gst::ClockTime)>>> = Arc::default();
    let log = seen.clone();
    sink_pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => {
                    log.lock().unwrap().push((false, b.pts().unwrap()))
                }
                Some(gst::PadProbeData::Event(e)) => {
                    if let Some(faces) = e.structure().and_then(FacesEvent::from_structure) {
                        log.lock().unwrap().push((true, faces.pts.unwrap()));
                    }
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    let run = run_to_end(&p, gst::ClockTime::from_seconds(120));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let seen = seen.lock().unwrap();
    let events = seen.iter().filter(|(is_event, _)| *is_event).count();
    assert!(events >= 320, "only {events} faces events");
    assert_eq!(
        events,
        run.messages_named("faces").count(),
        "one bus message per event"
    );
    for pair in seen.windows(2) {
        if pair[0].0 {
            assert_eq!(
                pair[1],
                (false, pair[0].1),
                "an event is followed by its own frame"
            );
        }
    }
}

fn decode_bgr(p: &gst::Pipeline) -> Vec<gst::Sample> {
    let sink = p
        .by_name("out")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let samples: Arc<Mutex<Vec<gst::Sample>>> = Arc::default();
    let store = samples.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                store
                    .lock()
                    .unwrap()
                    .push(s.pull_sample().map_err(|_| gst::FlowError::Eos)?);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let run = run_to_end(p, gst::ClockTime::from_seconds(60));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    std::mem::take(&mut *samples.lock().unwrap())
}

#[test]
fn face_overlay_covers_the_face_and_nothing_else() {
    let dir = std::env::temp_dir().join(format!("gst-tests-faces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let red = dir.join("red.png");
    solid_png(&red, "red", 32, 32);
    let photo = media("astronaut.png");
    let still = format!(
        "filesrc location=\"{}\" ! pngdec ! videoconvert ! video/x-raw,format=BGR",
        photo.display()
    );
    let original = decode_bgr(&pipeline(&format!("{still} ! appsink name=out")));
    let (ox, oy, ow, oh) = (-0.1, -0.25, 1.2, 0.5);
    let p = pipeline(&format!(
        "{still} ! imagefreeze num-buffers=40 ! kmsfaceoverlay name=fo ! appsink name=out"
    ));
    let overlay = gst::Structure::builder("image")
        .field("offsetXPercent", ox)
        .field("offsetYPercent", oy)
        .field("widthPercent", ow)
        .field("heightPercent", oh)
        .field("url", red.to_str().unwrap())
        .build();
    p.by_name("fo")
        .unwrap()
        .set_property("image-to-overlay", &overlay);
    let frames = decode_bgr(&p);
    assert_eq!(frames.len(), 40);

    let original = original[0].buffer().unwrap().map_readable().unwrap();
    let last = frames
        .last()
        .unwrap()
        .buffer()
        .unwrap()
        .map_readable()
        .unwrap();
    let (w, h) = (512usize, 512usize);
    let px = |data: &[u8], x: usize, y: usize| {
        let i = (y * w + x) * 3;
        [data[i], data[i + 1], data[i + 2]]
    };
    // The Haar cascade puts the astronaut's face near (177, 67) 93×93 at full resolution.
    let face = BoxXywh {
        x: 177.0,
        y: 67.0,
        w: 93.0,
        h: 93.0,
    };
    let expected = BoxXywh {
        x: face.x + face.w * ox,
        y: face.y + face.h * oy,
        w: face.w * ow,
        h: face.h * oh,
    };
    let (mut inside, mut red_inside) = (0, 0);
    let mut changed_far = 0;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f64, y as f64);
            let margin = 12.0;
            let in_core = fx >= expected.x + margin
                && fx < expected.x + expected.w - margin
                && fy >= expected.y + margin
                && fy < expected.y + expected.h - margin;
            let near = fx >= expected.x - margin
                && fx < expected.x + expected.w + margin
                && fy >= expected.y - margin
                && fy < expected.y + expected.h + margin;
            if in_core {
                inside += 1;
                if px(&last, x, y) == [0, 0, 255] {
                    red_inside += 1;
                }
            } else if !near && px(&last, x, y) != px(&original, x, y) {
                changed_far += 1;
            }
        }
    }
    assert!(inside > 1000);
    assert_eq!(
        red_inside, inside,
        "the overlay covers the expected rectangle"
    );
    assert_eq!(changed_far, 0, "pixels away from the face are untouched");
}

#[test]
fn face_overlay_plays_the_clip_to_the_end_without_warnings() {
    let dir = std::env::temp_dir().join(format!("gst-tests-hat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hat = dir.join("hat.png");
    solid_png(&hat, "blue", 40, 30);
    let p = pipeline(&format!(
        "{} ! kmsfaceoverlay name=fo ! videoconvert ! fakesink name=sink sync=false",
        clip_source()
    ));
    let overlay = gst::Structure::builder("image")
        .field("offsetXPercent", -0.35f64)
        .field("offsetYPercent", -1.2f64)
        .field("widthPercent", 1.6f64)
        .field("heightPercent", 1.6f64)
        .field("url", hat.to_str().unwrap())
        .build();
    let fo = p.by_name("fo").unwrap();
    fo.set_property("image-to-overlay", &overlay);
    let read: gst::Structure = fo.property("image-to-overlay");
    assert_eq!(read.get::<f64>("widthPercent").unwrap(), 1.6);
    let frames = Arc::new(Mutex::new(0u64));
    let count = frames.clone();
    p.by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            *count.lock().unwrap() += 1;
            gst::PadProbeReturn::Ok
        });
    let run = run_to_end(&p, gst::ClockTime::from_seconds(120));
    assert!(run.errors.is_empty() && run.warnings.is_empty(), "{run:?}");
    assert_eq!(*frames.lock().unwrap(), FRAMES);
    assert!(
        run.messages_named("faces").count() >= 320,
        "faces messages leave the bin"
    );
}

#[test]
fn logo_overlay_survives_layout_changes_during_playback() {
    let dir = std::env::temp_dir().join(format!("gst-tests-logo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let logo = dir.join("logo.png");
    solid_png(&logo, "green", 50, 20);
    let p = pipeline(&format!(
        "{} ! kmslogooverlay name=lo ! videoconvert ! fakesink name=sink sync=false",
        clip_source()
    ));
    let lo = p.by_name("lo").unwrap();
    let frames = Arc::new(Mutex::new(0u64));
    let count = frames.clone();
    let uri = gst::glib::filename_to_uri(&logo, None).unwrap().to_string();
    p.by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            let mut n = count.lock().unwrap();
            *n += 1;
            if *n % 30 == 1 {
                let x = (*n % 7) as f32 / 10.0;
                let entry = gst::Structure::builder("image_position")
                    .field("id", "logo")
                    .field("uri", uri.as_str())
                    .field("offsetXPercent", x)
                    .field("offsetYPercent", 0.1f32)
                    .field("widthPercent", 0.2f32)
                    .field("heightPercent", 0.2f32)
                    .field("keepAspectRatio", true)
                    .field("center", true)
                    .build();
                lo.set_property(
                    "images-to-overlay",
                    gst::Structure::builder("images")
                        .field("logo", entry)
                        .build(),
                );
            }
            gst::PadProbeReturn::Ok
        });
    let run = run_to_end(&p, gst::ClockTime::from_seconds(120));
    assert!(run.errors.is_empty() && run.warnings.is_empty(), "{run:?}");
    assert_eq!(*frames.lock().unwrap(), FRAMES);
}
