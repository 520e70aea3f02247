// SPDX-License-Identifier: MPL-2.0
//! kmsimageoverlay: faces from events, overlay placement, bad settings.

mod common;

use common::*;
use gst::prelude::*;
use gstkmsfilters::{Face, FacesEvent};

const W: usize = 160;
const H: usize = 120;
const GREY: [u8; 3] = [90, 90, 90];
const RED: [u8; 3] = [0, 0, 255];

fn harness(structure: Option<gst::Structure>) -> gst_check::Harness {
    let mut h = harness_with_bus("kmsimageoverlay");
    h.element()
        .unwrap()
        .set_property("image-to-overlay", structure);
    h.set_src_caps_str(&format!(
        "video/x-raw,format=BGR,width={W},height={H},framerate=30/1"
    ));
    h
}

fn overlay(url: &str, ox: f64, oy: f64, w: f64, hgt: f64) -> gst::Structure {
    init();
    gst::Structure::builder("image")
        .field("offsetXPercent", ox)
        .field("offsetYPercent", oy)
        .field("widthPercent", w)
        .field("heightPercent", hgt)
        .field("url", url)
        .build()
}

fn faces_event(pts_ms: u64, faces: Vec<Face>) -> gst::Event {
    let ev = FacesEvent {
        pts: Some(gst::ClockTime::from_mseconds(pts_ms)),
        dts: None,
        faces,
    };
    gst::event::CustomDownstream::new(ev.to_structure())
}

/// Pushes a faces event for frame `n` and the frame itself; returns the output frame.
fn frame_with_face(h: &mut gst_check::Harness, n: u64, face: Face) -> gst::Buffer {
    let pts = n * 33;
    assert!(h.push_event(faces_event(pts, vec![face])));
    h.push_and_pull(bgr_frame(W, H, GREY, pts))
        .expect("frame flows")
}

#[test]
fn draws_the_image_where_the_face_ratios_say() {
    let red = solid_png("red", 8, 8, [0, 0, 255, 255]);
    let mut h = harness(Some(overlay(red.to_str().unwrap(), 0.5, -0.5, 1.0, 0.5)));
    let face = Face {
        x: 40,
        y: 60,
        width: 40,
        height: 40,
    };
    let (_, out) = repeat_until(
        &mut h,
        |h, n| frame_with_face(h, n, face),
        |_, out| bgr_at(out, W, 70, 50) == RED,
    );
    // Expected rectangle: x = 40 + 0.5·40 = 60, y = 60 − 0.5·40 = 40, 40×20.
    for (x, y) in [(60, 40), (99, 40), (60, 59), (99, 59)] {
        assert_eq!(bgr_at(&out, W, x, y), RED, "inside at {x},{y}");
    }
    for (x, y) in [(59, 40), (100, 45), (70, 39), (70, 60), (5, 5), (150, 110)] {
        assert_eq!(bgr_at(&out, W, x, y), GREY, "outside at {x},{y}");
    }
}

#[test]
fn faces_are_matched_to_frames_by_pts() {
    let red = solid_png("red-pts", 4, 4, [0, 0, 255, 255]);
    let mut h = harness(Some(overlay(red.to_str().unwrap(), 0.0, 0.0, 1.0, 1.0)));
    let face = Face {
        x: 10,
        y: 10,
        width: 20,
        height: 20,
    };
    let (n, _) = repeat_until(
        &mut h,
        |h, n| frame_with_face(h, n, face),
        |_, out| bgr_at(out, W, 15, 15) == RED,
    );
    // An event for a later frame must wait for that frame.
    let base = (n + 1) * 33;
    assert!(h.push_event(faces_event(base + 33, vec![face])));
    let early = h.push_and_pull(bgr_frame(W, H, GREY, base)).unwrap();
    assert_eq!(
        bgr_at(&early, W, 15, 15),
        GREY,
        "frame without its own faces is untouched"
    );
    let on_time = h.push_and_pull(bgr_frame(W, H, GREY, base + 33)).unwrap();
    assert_eq!(bgr_at(&on_time, W, 15, 15), RED);
    // A stale event (older than the frame) is dropped, not drawn on a later frame.
    assert!(h.push_event(faces_event(base + 40, vec![face])));
    let later = h.push_and_pull(bgr_frame(W, H, GREY, base + 66)).unwrap();
    assert_eq!(bgr_at(&later, W, 15, 15), GREY);
}

#[test]
fn tiny_faces_and_zero_ratios_are_skipped_without_crashing() {
    let red = solid_png("red-tiny", 4, 4, [0, 0, 255, 255]);
    let mut h = harness(Some(overlay(red.to_str().unwrap(), 0.0, 0.0, 0.01, 0.01)));
    let tiny = Face {
        x: 3,
        y: 3,
        width: 2,
        height: 2,
    };
    for n in 0..20 {
        let out = frame_with_face(&mut h, n, tiny);
        assert_eq!(bgr_at(&out, W, 3, 3), GREY);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // Faces partly outside the frame are clipped.
    let mut h = harness(Some(overlay(red.to_str().unwrap(), 0.0, 0.0, 1.0, 1.0)));
    let edge = Face {
        x: W as u32 - 5,
        y: H as u32 - 5,
        width: 30,
        height: 30,
    };
    repeat_until(
        &mut h,
        |h, n| frame_with_face(h, n, edge),
        |_, out| bgr_at(out, W, W - 1, H - 1) == RED,
    );
}

#[test]
fn unset_and_invalid_settings() {
    let red = solid_png("red-unset", 4, 4, [0, 0, 255, 255]);
    let mut h = harness(Some(overlay(red.to_str().unwrap(), 0.0, 0.0, 1.0, 1.0)));
    let face = Face {
        x: 10,
        y: 10,
        width: 20,
        height: 20,
    };
    repeat_until(
        &mut h,
        |h, n| frame_with_face(h, n, face),
        |_, out| bgr_at(out, W, 15, 15) == RED,
    );

    // Kurento's unset: zeros and a NULL url.
    let element = h.element().unwrap();
    let unset = gst::Structure::builder("image")
        .field("offsetXPercent", 0.0f64)
        .field("offsetYPercent", 0.0f64)
        .field("widthPercent", 0.0f64)
        .field("heightPercent", 0.0f64)
        .field("url", None::<String>)
        .build();
    element.set_property("image-to-overlay", &unset);
    let out = frame_with_face(&mut h, 1000, face);
    assert_eq!(bgr_at(&out, W, 15, 15), GREY);

    // A structure missing a field is rejected with a warning and draws nothing.
    let broken = gst::Structure::builder("image")
        .field("url", red.to_str().unwrap())
        .build();
    element.set_property("image-to-overlay", &broken);
    let out = frame_with_face(&mut h, 1001, face);
    assert_eq!(bgr_at(&out, W, 15, 15), GREY);
    let warned = warnings(&h);
    assert!(
        warned.iter().any(|w| w.contains("offsetXPercent")),
        "warnings: {warned:?}"
    );
    let empty: gst::Structure = gst_check::Harness::new("kmsimageoverlay")
        .element()
        .unwrap()
        .property("image-to-overlay");
    assert_eq!(empty.name(), "image_to_overlay");
}

#[test]
fn unreadable_image_warns_with_the_uri_and_video_flows() {
    let dir = std::env::temp_dir().join(format!("kmsfilters-{}-bad", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_an_image = dir.join("notes.png");
    std::fs::write(&not_an_image, b"just text").unwrap();
    for url in [
        not_an_image.to_str().unwrap().to_owned(),
        "/nonexistent/hat.png".to_owned(),
    ] {
        let mut h = harness(Some(overlay(&url, 0.0, 0.0, 1.0, 1.0)));
        let face = Face {
            x: 10,
            y: 10,
            width: 20,
            height: 20,
        };
        let mut warned = Vec::new();
        repeat_until(
            &mut h,
            |h, n| frame_with_face(h, n, face),
            |h, _| {
                warned.extend(warnings(h));
                !warned.is_empty()
            },
        );
        assert!(warned[0].contains(&url), "{warned:?}");
    }
}
