// SPDX-License-Identifier: MPL-2.0
//! platedetector on the synthetic plate clip and still (plate `2843 KLM`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

use gst::prelude::*;

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstplatedetector::plugin_register_static().unwrap();
    });
}

struct Run {
    /// (index of the frame being processed when posted, plate)
    plates: Vec<(u64, String)>,
    frames: u64,
    errors: Vec<String>,
}

fn run(description: &str) -> Run {
    init();
    let pipeline = gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let pd = pipeline.by_name("pd").unwrap();
    let frame = Arc::new(AtomicU64::new(0));
    let f = frame.clone();
    pd.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            f.fetch_add(1, Ordering::SeqCst);
            gst::PadProbeReturn::Ok
        });
    let plates = Arc::new(Mutex::new(Vec::new()));
    let p = plates.clone();
    let fr = frame.clone();
    pipeline.bus().unwrap().set_sync_handler(move |_, msg| {
        if let gst::MessageView::Element(e) = msg.view()
            && let Some(s) = e.structure()
            && s.name() == "plate-detected"
        {
            let index = fr.load(Ordering::SeqCst).saturating_sub(1);
            p.lock()
                .unwrap()
                .push((index, s.get::<String>("plate").unwrap()));
        }
        gst::BusSyncReply::Pass
    });
    let mut errors = Vec::new();
    if pipeline.set_state(gst::State::Playing).is_ok() {
        let bus = pipeline.bus().unwrap();
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(120)) {
            match msg.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => {
                    errors.push(e.error().to_string());
                    break;
                }
                gst::MessageView::Warning(w) => errors.push(w.error().to_string()),
                _ => {}
            }
        }
    } else {
        let bus = pipeline.bus().unwrap();
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                errors.push(format!("{} ({:?})", e.error(), e.debug()));
            }
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let plates = plates.lock().unwrap().clone();
    Run {
        plates,
        frames: frame.load(Ordering::SeqCst),
        errors,
    }
}

/// Spaces and separators may be dropped, characters not.
fn normalised(plate: &str) -> String {
    plate
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

#[test]
fn reads_the_plate_in_the_clip_in_time() {
    // Played in real time, as a camera would deliver it: OCR works beside the stream and
    // only ever reads the latest candidate, so a faster-than-real-time run reads fewer.
    // 30 fps; the plate is 0.30 × the car width, the car 0.25 → 0.65 × 640 px over 10 s, so
    // it is 120 px wide from t = 9.375 s (frame 282) on.
    let first_wide_frame = 282;
    let r = run(&format!(
        "filesrc location={} ! matroskademux ! vp8dec ! videoconvert ! platedetector name=pd ! fakesink sync=true",
        gst_tests::media("plate_640x480.webm").display()
    ));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.frames, 300);
    let first = r.plates.first().expect("a plate-detected message");
    println!("plates: {:?}", r.plates);
    assert_eq!(normalised(&first.1), "2843KLM");
    assert_eq!(first.1.len(), 9, "Kurento's 9-position plate string");
    assert!(
        first.0 < first_wide_frame + 30,
        "announced at frame {}, later than one second after the plate is 120 px wide",
        first.0
    );
    // Never the same plate twice in a row.
    for w in r.plates.windows(2) {
        assert_ne!(w[0].1, w[1].1);
    }
}

#[test]
fn reads_the_plate_in_the_still() {
    let r = run(&format!(
        "filesrc location={} ! pngdec ! imagefreeze num-buffers=100 ! video/x-raw,framerate=25/1 ! videoconvert ! platedetector name=pd ! fakesink sync=true",
        gst_tests::media("plate_still_1280x720.png").display()
    ));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let plates: Vec<String> = r.plates.iter().map(|(_, p)| normalised(p)).collect();
    assert_eq!(plates, ["2843KLM"]);
}

#[test]
fn nothing_on_frames_without_a_plate() {
    // The top of the still: sky, road and car roof, no plate.
    let r = run(&format!(
        "filesrc location={} ! pngdec ! imagefreeze num-buffers=60 ! video/x-raw,framerate=25/1 ! videocrop bottom=360 ! videoconvert ! platedetector name=pd ! fakesink sync=true",
        gst_tests::media("plate_still_1280x720.png").display()
    ));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.frames, 60);
    assert!(r.plates.is_empty(), "{:?}", r.plates);
    let r = run(
        "videotestsrc num-buffers=60 pattern=smpte ! video/x-raw,width=640,height=480,framerate=25/1 ! videoconvert ! platedetector name=pd ! fakesink sync=true",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.plates.is_empty(), "{:?}", r.plates);
}

#[test]
fn missing_ocr_data_is_a_clear_error() {
    let r = run(
        "videotestsrc num-buffers=10 ! videoconvert ! platedetector name=pd tessdata=/nonexistent/tessdata ! fakesink",
    );
    assert!(
        r.errors.iter().any(|e| e.contains("not found")),
        "{:?}",
        r.errors
    );
}
