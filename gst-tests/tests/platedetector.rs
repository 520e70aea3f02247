// SPDX-License-Identifier: MPL-2.0
//! platedetector on the synthetic plate clip and still (plate `2843 KLM`).

use std::sync::Once;

use gst_tests::indexed::{IndexedRun, run_indexed};

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstplatedetector::plugin_register_static().unwrap();
    });
}

/// (index of the frame being processed when posted, plate) of every `plate-detected`.
fn plates(r: &IndexedRun) -> Vec<(u64, String)> {
    r.named("plate-detected")
        .map(|(f, s)| (*f, s.get::<String>("plate").unwrap()))
        .collect()
}

fn run(description: &str) -> IndexedRun {
    init();
    run_indexed(description, "pd", |_| {})
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
    let plates = plates(&r);
    let first = plates.first().expect("a plate-detected message");
    println!("plates: {plates:?}");
    assert_eq!(normalised(&first.1), "2843KLM");
    assert_eq!(first.1.len(), 9, "Kurento's 9-position plate string");
    assert!(
        first.0 < first_wide_frame + 30,
        "announced at frame {}, later than one second after the plate is 120 px wide",
        first.0
    );
    // Never the same plate twice in a row.
    for w in plates.windows(2) {
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
    let plates: Vec<String> = plates(&r).iter().map(|(_, p)| normalised(p)).collect();
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
    assert!(plates(&r).is_empty(), "{:?}", plates(&r));
    let r = run(
        "videotestsrc num-buffers=60 pattern=smpte ! video/x-raw,width=640,height=480,framerate=25/1 ! videoconvert ! platedetector name=pd ! fakesink sync=true",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(plates(&r).is_empty(), "{:?}", plates(&r));
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
