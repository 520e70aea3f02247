// SPDX-License-Identifier: MPL-2.0
//! kmslogooverlay: placement from the layout, aspect fit, resolution changes, bad layouts.

mod common;

use common::*;
use gst::prelude::*;

const BLACK: [u8; 3] = [0, 0, 0];
const RED: [u8; 3] = [0, 0, 255];

fn entry(id: &str, uri: &str, rect: [f32; 4], keep: bool, center: bool) -> gst::Structure {
    gst::Structure::builder("image_position")
        .field("id", id)
        .field("uri", uri)
        .field("offsetXPercent", rect[0])
        .field("offsetYPercent", rect[1])
        .field("widthPercent", rect[2])
        .field("heightPercent", rect[3])
        .field("keepAspectRatio", keep)
        .field("center", center)
        .build()
}

fn layout(entries: Vec<gst::Structure>) -> gst::Structure {
    let mut s = gst::Structure::new_empty("images");
    for e in entries {
        let id = e.get::<String>("id").unwrap();
        s.set(id.as_str(), e);
    }
    s
}

fn harness(width: usize, height: usize, layout: gst::Structure) -> gst_check::Harness {
    let mut h = harness_with_bus("kmslogooverlay");
    h.element()
        .unwrap()
        .set_property("images-to-overlay", layout);
    h.set_src_caps_str(&format!(
        "video/x-raw,format=BGR,width={width},height={height},framerate=30/1"
    ));
    h
}

#[test]
fn image_goes_where_the_ratios_say() {
    let red = solid_png("logo-red", 10, 10, [0, 0, 255, 255]);
    let (w, h_) = (320, 240);
    let mut h = harness(
        w,
        h_,
        layout(vec![entry(
            "logo",
            red.to_str().unwrap(),
            [0.25, 0.5, 0.25, 0.25],
            false,
            false,
        )]),
    );
    let (_, out) = repeat_until(
        &mut h,
        |h, n| h.push_and_pull(bgr_frame(w, h_, BLACK, n * 33)).unwrap(),
        |_, out| bgr_at(out, w, 100, 150) == RED,
    );
    // Box: x 80..160, y 120..180.
    for (x, y) in [(80, 120), (159, 120), (80, 179), (159, 179)] {
        assert_eq!(bgr_at(&out, w, x, y), RED, "inside {x},{y}");
    }
    for (x, y) in [
        (79, 130),
        (160, 130),
        (100, 119),
        (100, 180),
        (0, 0),
        (319, 239),
    ] {
        assert_eq!(bgr_at(&out, w, x, y), BLACK, "outside {x},{y}");
    }
}

#[test]
fn keep_aspect_ratio_fits_and_centres_and_follows_resolution_changes() {
    // A 2:1 image in a square box: 40x20 centred vertically in a 40x40 box at (40, 40).
    let wide = solid_png("logo-wide", 20, 10, [0, 0, 255, 255]);
    let mut h = harness(
        160,
        160,
        layout(vec![entry(
            "wide",
            wide.to_str().unwrap(),
            [0.25, 0.25, 0.25, 0.25],
            true,
            true,
        )]),
    );
    let (_, out) = repeat_until(
        &mut h,
        |h, n| h.push_and_pull(bgr_frame(160, 160, BLACK, n * 33)).unwrap(),
        |_, out| bgr_at(out, 160, 60, 60) == RED,
    );
    assert_eq!(bgr_at(&out, 160, 40, 50), RED);
    assert_eq!(bgr_at(&out, 160, 79, 69), RED);
    assert_eq!(bgr_at(&out, 160, 60, 49), BLACK, "above the centred image");
    assert_eq!(bgr_at(&out, 160, 60, 70), BLACK, "below the centred image");

    // Resolution change: the layout is recomputed for the new size (Kurento's Q-06).
    h.set_src_caps_str("video/x-raw,format=BGR,width=320,height=320,framerate=30/1");
    let out = h
        .push_and_pull(bgr_frame(320, 320, BLACK, 100_000))
        .unwrap();
    assert_eq!(bgr_at(&out, 320, 80, 100), RED);
    assert_eq!(bgr_at(&out, 320, 159, 139), RED);
    assert_eq!(bgr_at(&out, 320, 120, 99), BLACK);
}

#[test]
fn later_images_are_on_top_and_removal_works() {
    let red = solid_png("logo-a", 4, 4, [0, 0, 255, 255]);
    let green = solid_png("logo-b", 4, 4, [0, 255, 0, 255]);
    let both = layout(vec![
        entry(
            "a",
            red.to_str().unwrap(),
            [0.0, 0.0, 0.5, 0.5],
            false,
            false,
        ),
        entry(
            "b",
            green.to_str().unwrap(),
            [0.25, 0.25, 0.5, 0.5],
            false,
            false,
        ),
    ]);
    let mut h = harness(100, 100, both);
    let (_, out) = repeat_until(
        &mut h,
        |h, n| h.push_and_pull(bgr_frame(100, 100, BLACK, n * 33)).unwrap(),
        |_, out| bgr_at(out, 100, 10, 10) == RED && bgr_at(out, 100, 70, 70) == [0, 255, 0],
    );
    assert_eq!(bgr_at(&out, 100, 30, 30), [0, 255, 0], "b is drawn over a");

    // Kurento's removal: set the layout again without the entry, or NULL to clear.
    let element = h.element().unwrap();
    element.set_property("images-to-overlay", None::<gst::Structure>);
    let out = h
        .push_and_pull(bgr_frame(100, 100, BLACK, 1_000_000))
        .unwrap();
    assert_eq!(bgr_at(&out, 100, 10, 10), BLACK);
    let read: gst::Structure = element.property("images-to-overlay");
    assert_eq!((read.name().as_str(), read.n_fields()), ("images", 0));
}

#[test]
fn bad_layouts_warn_and_video_flows() {
    init();
    let mut no_uri = gst::Structure::new_empty("images");
    no_uri.set(
        "x",
        gst::Structure::builder("image_position")
            .field("widthPercent", 0.5f32)
            .field("heightPercent", 0.5f32)
            .build(),
    );
    let mut h = harness(64, 48, no_uri);
    let out = h.push_and_pull(bgr_frame(64, 48, BLACK, 0)).unwrap();
    assert_eq!(bgr_at(&out, 64, 10, 10), BLACK);
    assert!(warnings(&h).iter().any(|w| w.contains("uri")));

    let missing = layout(vec![entry(
        "gone",
        "/nonexistent/logo.png",
        [0.0, 0.0, 0.5, 0.5],
        false,
        false,
    )]);
    h.element()
        .unwrap()
        .set_property("images-to-overlay", missing);
    let mut warned = Vec::new();
    repeat_until(
        &mut h,
        |h, n| h.push_and_pull(bgr_frame(64, 48, BLACK, 1000 + n)).unwrap(),
        |h, _| {
            warned.extend(warnings(h));
            !warned.is_empty()
        },
    );
    assert!(warned[0].contains("/nonexistent/logo.png"), "{warned:?}");
}

#[test]
fn layout_changes_while_streaming_never_stall() {
    let red = solid_png("logo-many", 16, 16, [0, 0, 255, 128]);
    let mut h = harness(64, 48, gst::Structure::new_empty("images"));
    let element = h.element().unwrap();
    for n in 0..200u64 {
        if n % 5 == 0 {
            let x = (n % 40) as f32 / 100.0;
            element.set_property(
                "images-to-overlay",
                layout(vec![entry(
                    "m",
                    red.to_str().unwrap(),
                    [x, x, 0.3, 0.3],
                    n % 2 == 0,
                    true,
                )]),
            );
        }
        h.push_and_pull(bgr_frame(64, 48, BLACK, n * 33))
            .expect("frame flows");
    }
}
