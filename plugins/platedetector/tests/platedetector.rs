// SPDX-License-Identifier: MPL-2.0

use std::sync::Once;

use gst::prelude::*;
use gstplatedetector::platedetector::{DEFAULT_TESSDATA, Plate, Stabiliser, validate};

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstplatedetector::plugin_register_static().unwrap();
    });
}

fn p(s: &str) -> Plate {
    s.as_bytes().try_into().unwrap()
}

#[test]
fn validation() {
    assert_eq!(validate(&p("XX2843KLM")), Some(p("--2843KLM")));
    assert_eq!(validate(&p("-M1234AB-")), Some(p("-M1234AB-")));
    assert_eq!(validate(&p("--28-3KLM")), None);
    assert_eq!(validate(&p("--2843K1M")), None);
}

#[test]
fn stabilisation_announces_once_after_four_agreeing_readings() {
    let mut s = Stabiliser::default();
    let good = p("--2843KLM");
    assert_eq!(s.push(&good), None);
    assert_eq!(s.push(&p("---------")), None);
    assert_eq!(s.push(&good), None);
    assert_eq!(s.push(&good), Some(good));
    for _ in 0..10 {
        assert_eq!(s.push(&good), None, "never the same plate twice in a row");
    }
    // A different plate replaces it after its own confirmations.
    let other = p("--1111BBB");
    let mut announced = None;
    for _ in 0..6 {
        announced = announced.or(s.push(&other));
    }
    assert_eq!(announced, Some(other));
}

#[test]
fn properties() {
    init();
    let e = gst::ElementFactory::make("platedetector").build().unwrap();
    assert_eq!(e.property::<f32>("plate-width-percentage"), 0.25);
    assert_eq!(e.property::<String>("tessdata"), DEFAULT_TESSDATA);
    e.set_property("plate-width-percentage", 0.4f32);
    assert_eq!(e.property::<f32>("plate-width-percentage"), 0.4);
}

#[test]
fn missing_ocr_data_fails_at_start() {
    init();
    let e = gst::ElementFactory::make("platedetector")
        .property("tessdata", "/nonexistent")
        .build()
        .unwrap();
    let bus = gst::Bus::new();
    e.set_bus(Some(&bus));
    assert!(e.set_state(gst::State::Paused).is_err());
    let msg = bus
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(err) = msg.view() else {
        unreachable!()
    };
    let text = format!("{} {:?}", err.error(), err.debug());
    assert!(text.contains("/nonexistent/eng.traineddata"), "{text}");
    e.set_state(gst::State::Null).unwrap();
}

#[test]
fn odd_sizes_and_caps_changes_pass_frames() {
    init();
    let mut h = gst_check::Harness::new("platedetector");
    for (w, hgt) in [(333usize, 177usize), (2, 2), (640, 480)] {
        h.set_src_caps_str(&format!(
            "video/x-raw,format=BGR,width={w},height={hgt},framerate=25/1"
        ));
        let stride = (w * 3).div_ceil(4) * 4;
        for t in 0..4 {
            let data: Vec<u8> = (0..stride * hgt)
                .map(|i| ((i * 7 + t) % 251) as u8)
                .collect();
            h.push(gst::Buffer::from_mut_slice(data)).unwrap();
            let out = h.pull().unwrap();
            assert_eq!(out.size(), stride * hgt);
        }
    }
}
