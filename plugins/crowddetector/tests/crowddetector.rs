// SPDX-License-Identifier: MPL-2.0

use std::sync::Once;

use gst::prelude::*;
use gstcrowddetector::crowddetector::{
    Roi, RoiConfig, build_rois, displacement_angle, level, parse_rois, processing_size,
    quantise_angle,
};

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstcrowddetector::plugin_register_static().unwrap();
    });
}

fn square(id: &str, x0: f32, y0: f32, x1: f32, y1: f32) -> Roi {
    Roi {
        points: vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        config: RoiConfig::new(id),
    }
}

fn harness(width: i32, height: i32) -> gst_check::Harness {
    let mut h = gst_check::Harness::new("crowddetector");
    h.set_src_caps_str(&format!(
        "video/x-raw,format=BGR,width={width},height={height},framerate=25/1"
    ));
    h
}

/// A frame with a moving bright square on a textured background.
fn frame(width: usize, height: usize, t: usize) -> gst::Buffer {
    let stride = (width * 3).div_ceil(4) * 4;
    let mut data = vec![0u8; stride * height];
    for y in 0..height {
        for x in 0..width {
            let v = (((x / 4) ^ (y / 4)) % 7 * 20 + 40) as u8;
            let moving = x.abs_diff(20 + t * 6 % width.max(1)) < 15 && y.abs_diff(height / 2) < 20;
            let px = if moving { [250, 250, 250] } else { [v, v, v] };
            data[y * stride + x * 3..y * stride + x * 3 + 3].copy_from_slice(&px);
        }
    }
    let mut b = gst::Buffer::from_mut_slice(data);
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(40 * t as u64));
    b
}

fn warnings(h: &mut gst_check::Harness) -> Vec<String> {
    let bus = h.element().unwrap().bus();
    let mut out = Vec::new();
    if let Some(bus) = bus {
        while let Some(m) = bus.pop() {
            if let gst::MessageView::Warning(w) = m.view() {
                out.push(format!("{} {:?}", w.error(), w.debug()));
            }
        }
    }
    out
}

fn with_bus(h: &mut gst_check::Harness) {
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
}

#[test]
fn properties_round_trip() {
    init();
    let e = gst::ElementFactory::make("crowddetector").build().unwrap();
    let empty = e.property::<gst::Structure>("rois");
    assert_eq!(empty.name(), "rois");
    assert_eq!(e.property::<i32>("processing-width"), 320);
    let rois = build_rois(&[square("r1", 0.1, 0.1, 0.5, 0.5)]);
    e.set_property("rois", &rois);
    assert_eq!(e.property::<gst::Structure>("rois"), rois);
    e.set_property("processing-width", 640);
    assert_eq!(e.property::<i32>("processing-width"), 640);
}

#[test]
fn parse_matches_build() {
    init();
    let mut r = square("a", 0.1, 0.2, 0.3, 0.4);
    r.config.send_optical_flow_event = true;
    r.config.occupancy_level_max = 80;
    let (parsed, problems) = parse_rois(&build_rois(std::slice::from_ref(&r)));
    assert!(problems.is_empty());
    assert_eq!(parsed, vec![r]);
}

#[test]
fn bad_regions_are_dropped_or_clamped_with_a_warning() {
    init();
    let two = Roi {
        points: vec![(0.1, 0.1), (0.2, 0.2)],
        config: RoiConfig::new("two"),
    };
    let outside = square("outside", -0.5, 0.2, 1.5, 0.9);
    let (parsed, problems) = parse_rois(&build_rois(&[two.clone(), outside.clone()]));
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].points[0], (0.0, 0.2));
    assert_eq!(problems.len(), 2, "{problems:?}");
    // A region with only its config (Kurento could loop forever, Q-18).
    let s = gst::Structure::builder("rois")
        .field(
            "lonely",
            gst::Structure::builder("lonely")
                .field(
                    "config",
                    gst::Structure::builder("config")
                        .field("id", "lonely")
                        .build(),
                )
                .build(),
        )
        .build();
    assert!(parse_rois(&s).0.is_empty());

    let mut h = harness(160, 120);
    with_bus(&mut h);
    h.element()
        .unwrap()
        .set_property("rois", build_rois(&[two, outside]));
    for t in 0..3 {
        h.push(frame(160, 120, t)).unwrap();
        h.pull().unwrap();
    }
    let w = warnings(&mut h);
    assert!(w.iter().any(|m| m.contains("Invalid regions")), "{w:?}");
}

#[test]
fn regions_set_again_odd_sizes_and_caps_changes() {
    init();
    let mut h = harness(321, 241);
    with_bus(&mut h);
    let e = h.element().unwrap();
    // Set three times, as Kurento's set_properties test (a crash there, Q-12).
    for _ in 0..3 {
        e.set_property(
            "rois",
            build_rois(&[
                square("r1", 0.1, 0.1, 0.9, 0.9),
                square("r2", 0.0, 0.0, 0.5, 1.0),
            ]),
        );
        for t in 0..5 {
            h.push(frame(321, 241, t)).unwrap();
            h.pull().unwrap();
        }
    }
    h.set_src_caps_str("video/x-raw,format=BGR,width=64,height=48,framerate=25/1");
    for t in 0..5 {
        h.push(frame(64, 48, t)).unwrap();
        let out = h.pull().unwrap();
        assert_eq!(out.size(), 64 * 3 * 48);
    }
    h.set_src_caps_str("video/x-raw,format=BGR,width=1,height=1,framerate=25/1");
    h.push(frame(1, 1, 0)).unwrap();
    h.pull().unwrap();
    assert!(warnings(&mut h).is_empty());
}

#[test]
fn region_outlines_are_drawn() {
    init();
    let mut h = harness(160, 120);
    h.element()
        .unwrap()
        .set_property("rois", build_rois(&[square("r1", 0.25, 0.25, 0.75, 0.75)]));
    let mut last = None;
    for t in 0..10 {
        h.push(frame(160, 120, t)).unwrap();
        last = Some(h.pull().unwrap());
    }
    let out = last.unwrap();
    let map = out.map_readable().unwrap();
    let stride = 160 * 3;
    // Top-left corner of the region outline, at (40, 30): white.
    let i = 30 * stride + 40 * 3;
    assert_eq!(&map[i..i + 3], &[255, 255, 255]);
}

#[test]
fn conventions() {
    // Kurento's direction convention: right 0, up 90, left 180, down 270.
    let q = |x, y| quantise_angle(displacement_angle(x, y), 0);
    assert_eq!(q(10, 0), 0);
    assert_eq!(q(0, -10), 90);
    assert_eq!(q(-10, 0), 180);
    assert_eq!(q(0, 10), 270);
    assert_eq!(displacement_angle(10, -10), 45);
    assert_eq!(quantise_angle(30, 0), 0);
    assert_eq!(quantise_angle(50, 0), 90);
    assert_eq!(quantise_angle(350, 0), 0);
    assert_eq!(quantise_angle(5, 10), 10);
    assert_eq!(quantise_angle(300, 10), 280);
    assert_eq!(level(70.0, 10, 35, 65, false), 3);
    assert_eq!(level(65.0, 10, 35, 65, false), 2);
    assert_eq!(level(65.0, 10, 35, 65, true), 3);
    assert_eq!(level(10.0, 10, 35, 65, true), 0);
    // the aspect ratio is kept.
    assert_eq!(processing_size(400, 300, 320).height, 240);
    assert_eq!(processing_size(100, 80, 320).width, 100);
}

/// Direction events for a textured block moving `step` px a frame sideways over a plain
/// background, analysed at full resolution.
fn directions_of_moving_block(step: i64) -> Vec<f64> {
    init();
    let mut h = harness(160, 120);
    with_bus(&mut h);
    let mut roi = square("all", 0.0, 0.0, 1.0, 1.0);
    roi.config.send_optical_flow_event = true;
    let e = h.element().unwrap();
    e.set_property("rois", build_rois(&[roi]));
    e.set_property("processing-width", 160);
    let (w, hgt) = (160i64, 120usize);
    for t in 0..20i64 {
        let mut data = vec![90u8; w as usize * 3 * hgt];
        let x0 = if step > 0 {
            10 + t * step
        } else {
            110 + t * step
        };
        for y in 40..80usize {
            for x in x0.max(0)..(x0 + 40).min(w) {
                let v = if ((x - x0) / 5 + (y as i64 / 5)) % 2 == 0 {
                    230
                } else {
                    30
                };
                let i = y * w as usize * 3 + x as usize * 3;
                data[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
        h.push(gst::Buffer::from_mut_slice(data)).unwrap();
        h.pull().unwrap();
    }
    let bus = e.bus().unwrap();
    let mut angles = Vec::new();
    while let Some(m) = bus.pop() {
        if let Some(s) = m.structure()
            && s.name() == "direction-event"
        {
            angles.push(s.get::<f64>("direction_angle").unwrap());
        }
    }
    angles
}

#[test]
fn sideways_motion_directions() {
    // Kurento took angle 0 for "no motion" and never reported rightward motion.
    let right = directions_of_moving_block(5);
    assert_eq!(right.first(), Some(&0.0), "{right:?}");
    let left = directions_of_moving_block(-5);
    assert_eq!(left.first(), Some(&180.0), "{left:?}");
}
