// SPDX-License-Identifier: MPL-2.0
//! kmsfacedetector on synthetic and degenerate input: formats, tiny and odd frames, caps
//! changes, a missing cascade. Detection quality on real footage is in gst-tests.

mod common;

use common::*;
use gst::prelude::*;

/// A frame of the right byte size for any format, filled with mid grey.
fn frame(caps: &str, pts_ms: u64) -> gst::Buffer {
    let info = gst_video::VideoInfo::from_caps(&gst::Caps::from_str(caps).unwrap()).unwrap();
    let mut buffer = gst::Buffer::from_mut_slice(vec![128u8; info.size()]);
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(pts_ms));
    buffer
}

use std::str::FromStr;

#[test]
fn degenerate_sizes_and_formats_pass_through() {
    for format in ["BGR", "BGRx", "RGBA", "I420", "NV12", "GRAY8"] {
        for (w, h_) in [(1, 1), (2, 2), (321, 241), (23, 500), (641, 17)] {
            let caps = format!("video/x-raw,format={format},width={w},height={h_},framerate=30/1");
            let mut h = harness_with_bus("kmsfacedetector");
            h.set_src_caps_str(&caps);
            for n in 0..3 {
                let input = frame(&caps, n * 33);
                let out = h.push_and_pull(input.clone()).expect("frame flows");
                assert_eq!(out.size(), input.size(), "{caps}");
            }
        }
    }
}

#[test]
fn caps_change_mid_stream() {
    let mut h = harness_with_bus("kmsfacedetector");
    let mut pts = 0;
    for caps in [
        "video/x-raw,format=BGR,width=640,height=480,framerate=30/1",
        "video/x-raw,format=I420,width=321,height=241,framerate=30/1",
        "video/x-raw,format=BGR,width=2,height=2,framerate=30/1",
        "video/x-raw,format=NV12,width=1280,height=720,framerate=30/1",
    ] {
        h.set_src_caps_str(caps);
        for _ in 0..3 {
            pts += 33;
            h.push_and_pull(frame(caps, pts)).expect("frame flows");
        }
    }
}

#[test]
fn missing_cascade_warns_once_and_video_flows() {
    for haar in [true, false] {
        init();
        let element = gst::ElementFactory::make("kmsfacedetector")
            .property("filter-version", haar)
            .property("haar-cascade", "/nonexistent/haar.xml")
            .property("lbp-cascade", "/nonexistent/lbp.xml")
            .build()
            .unwrap();
        element.set_bus(Some(&gst::Bus::new()));
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        let caps = "video/x-raw,format=BGR,width=320,height=240,framerate=30/1";
        h.set_src_caps_str(caps);
        for n in 0..5 {
            h.push_and_pull(frame(caps, n * 33)).expect("frame flows");
        }
        let warned = warnings(&h);
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("/nonexistent/"), "{warned:?}");
    }
}

#[test]
fn inspectable_properties() {
    init();
    let element = gst::ElementFactory::make("kmsfacedetector")
        .build()
        .unwrap();
    assert!(element.property::<bool>("filter-version"));
    assert!(!element.property::<bool>("show-debug-region"));
    assert_eq!(element.property::<u32>("full-scan-interval"), 5);
    let factory = element.factory().unwrap();
    assert_eq!(factory.metadata("long-name"), Some("Face Detector element"));
    assert_eq!(factory.metadata("klass"), Some("Video/Filter"));
}

#[test]
fn every_element_survives_degenerate_sizes() {
    init();
    let hat = solid_png("tiny-sizes", 6, 4, [0, 0, 255, 200]);
    let overlay = gst::Structure::builder("image")
        .field("offsetXPercent", -0.5f64)
        .field("offsetYPercent", -0.5f64)
        .field("widthPercent", 2.0f64)
        .field("heightPercent", 2.0f64)
        .field("url", hat.to_str().unwrap())
        .build();
    let logo = gst::Structure::builder("images")
        .field(
            "l",
            gst::Structure::builder("image_position")
                .field("id", "l")
                .field("uri", hat.to_str().unwrap())
                .field("offsetXPercent", 0.9f32)
                .field("offsetYPercent", -0.1f32)
                .field("widthPercent", 0.5f32)
                .field("heightPercent", 0.5f32)
                .field("keepAspectRatio", true)
                .field("center", true)
                .build(),
        )
        .build();
    for factory in ["kmsfaceoverlay", "kmsimageoverlay", "kmslogooverlay"] {
        for format in ["BGR", "RGBx", "BGRA"] {
            let mut h = harness_with_bus(factory);
            let element = h.element().unwrap();
            if factory == "kmslogooverlay" {
                element.set_property("images-to-overlay", &logo);
            } else {
                element.set_property("image-to-overlay", &overlay);
            }
            let mut pts = 0;
            for (w, h_) in [(1, 1), (2, 2), (321, 241), (3, 700), (700, 3)] {
                let caps =
                    format!("video/x-raw,format={format},width={w},height={h_},framerate=30/1");
                h.set_src_caps_str(&caps);
                for _ in 0..4 {
                    pts += 33;
                    let input = frame(&caps, pts);
                    let out = h.push_and_pull(input.clone()).expect("frame flows");
                    assert_eq!(out.size(), input.size(), "{factory} {caps}");
                }
            }
            assert!(warnings(&h).is_empty(), "{factory}: {:?}", warnings(&h));
        }
    }
}
