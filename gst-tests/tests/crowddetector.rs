// SPDX-License-Identifier: MPL-2.0
//! crowddetector on the synthetic crowd clip, checked against its ground truth.

use std::collections::HashMap;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use gst::prelude::*;
use gst_tests::indexed::{IndexedRun, run_indexed};
use gstcrowddetector::crowddetector::{Roi, RoiConfig, build_rois};

const CLIP: &str = "crowd_synth_640x480.webm";
const TRUTH: &str = "crowd_synth_640x480_truth.csv";
const FRAMES: u64 = 150;

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstcrowddetector::plugin_register_static().unwrap();
    });
}

/// One truth row: pedestrian feet position and whether it moves.
#[derive(Debug, Clone, Copy)]
struct Person {
    id: u32,
    x: f64,
    y: f64,
    moving: bool,
}

fn truth() -> HashMap<u64, Vec<Person>> {
    let text = std::fs::read_to_string(gst_tests::media(TRUTH)).expect("truth CSV is bundled");
    let mut out: HashMap<u64, Vec<Person>> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        out.entry(f[0] as u64).or_default().push(Person {
            id: f[1] as u32,
            x: f[2],
            y: f[3],
            moving: f[4] != 0.0,
        });
    }
    out
}

/// A rectangular region in pixels of the 640x480 clip.
fn rect_roi(id: &str, x0: f64, y0: f64, x1: f64, y1: f64, config: impl Fn(&mut RoiConfig)) -> Roi {
    let (w, h) = (640.0, 480.0);
    let mut c = RoiConfig::new(id);
    config(&mut c);
    Roi {
        points: vec![
            ((x0 / w) as f32, (y0 / h) as f32),
            ((x1 / w) as f32, (y0 / h) as f32),
            ((x1 / w) as f32, (y1 / h) as f32),
            ((x0 / w) as f32, (y1 / h) as f32),
        ],
        config: c,
    }
}

/// The level reported for `roi` by `name` messages up to frame `frame` (0 before any).
fn level_at(run: &IndexedRun, name: &str, field: &str, roi: &str, frame: u64) -> i32 {
    let mut level = 0;
    for (f, s) in run.named(name) {
        if *f <= frame && s.get::<String>("roi").unwrap() == roi {
            level = s.get::<i32>(field).unwrap();
        }
    }
    level
}

fn pipeline() -> String {
    format!(
        "filesrc location={} ! matroskademux ! vp8dec ! videoconvert ! crowddetector name=cd ! fakesink",
        gst_tests::media(CLIP).display()
    )
}

fn run(rois: &[Roi], processing_width: i32) -> IndexedRun {
    init();
    run_indexed(&pipeline(), "cd", |cd| {
        cd.set_property("rois", build_rois(rois));
        cd.set_property("processing-width", processing_width);
    })
}

/// A 4×4 grid of 160×120 cells over the whole frame.
fn grid(config: impl Fn(&mut RoiConfig) + Copy) -> Vec<Roi> {
    let mut rois = Vec::new();
    for gy in 0..4 {
        for gx in 0..4 {
            let (x0, y0) = (gx as f64 * 160.0, gy as f64 * 120.0);
            rois.push(rect_roi(
                &cell_id(gx, gy),
                x0,
                y0,
                x0 + 159.0,
                y0 + 119.0,
                config,
            ));
        }
    }
    rois
}

fn cell_id(gx: i32, gy: i32) -> String {
    format!("c{gx}{gy}")
}

/// The cell of a pedestrian: its feet position raised a little, as bodies extend upwards.
fn cell_of(p: &Person) -> (i32, i32) {
    (
        (p.x / 160.0).floor() as i32,
        ((p.y - 20.0) / 120.0).floor() as i32,
    )
}

/// The background model needs a few seconds to settle (it starts black, as Kurento's).
const WARM_UP: u64 = 60;

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[test]
fn occupancy_follows_the_number_of_people() {
    // Thresholds suited to this clip, where one pedestrian covers ~3 % of a cell.
    let r = run(
        &grid(|c| {
            c.occupancy_level_min = 2;
            c.occupancy_level_med = 5;
            c.occupancy_level_max = 10;
            c.occupancy_num_frames_to_event = 3;
        }),
        320,
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let truth = truth();
    let (mut empty, mut some, mut crowded) = (Vec::new(), Vec::new(), Vec::new());
    for f in WARM_UP..FRAMES {
        for gx in 0..4 {
            for gy in 0..4 {
                let n = truth[&f].iter().filter(|p| cell_of(p) == (gx, gy)).count();
                let level = level_at(
                    &r,
                    "occupancy-event",
                    "occupancy_level",
                    &cell_id(gx, gy),
                    f,
                ) as f64;
                match n {
                    0 => empty.push(level),
                    1..=2 => some.push(level),
                    _ => crowded.push(level),
                }
            }
        }
    }
    let (empty, some, crowded) = (mean(&empty), mean(&some), mean(&crowded));
    println!(
        "mean occupancy level: empty {empty:.2}, 1-2 people {some:.2}, 3+ people {crowded:.2}"
    );
    assert!(
        some > empty,
        "cells with people must score above empty ones"
    );
    assert!(
        crowded > empty + 1.0,
        "crowded cells ({crowded:.2}) must be well above empty ones ({empty:.2})"
    );
    // Every message carries the fields the CrowdDetectorOccupancy event needs.
    let first = &r
        .messages
        .iter()
        .find(|(_, s)| s.name() == "occupancy-event")
        .unwrap()
        .1;
    assert!(first.get::<f64>("occupancy_percentage").is_ok());
    assert!((0..=3).contains(&first.get::<i32>("occupancy_level").unwrap()));
}

#[test]
fn fluidity_tells_standing_from_walking_people() {
    let r = run(&grid(|_| {}), 320);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let truth = truth();
    // Frames each pedestrian has been standing still for.
    let mut still: HashMap<u32, u64> = HashMap::new();
    let (mut standing, mut walking) = (Vec::new(), Vec::new());
    for f in 0..FRAMES {
        for p in &truth[&f] {
            let s = still.entry(p.id).or_default();
            *s = if p.moving { 0 } else { *s + 1 };
        }
        if f < WARM_UP {
            continue;
        }
        for gx in 0..4 {
            for gy in 0..4 {
                let inside: Vec<_> = truth[&f]
                    .iter()
                    .filter(|p| cell_of(p) == (gx, gy))
                    .collect();
                let level =
                    level_at(&r, "fluidity-event", "fluidity_level", &cell_id(gx, gy), f) as f64;
                if inside.iter().any(|p| still[&p.id] >= 10) {
                    standing.push(level);
                } else if !inside.is_empty() {
                    walking.push(level);
                }
            }
        }
    }
    assert!(!standing.is_empty(), "the clip has pedestrians who stop");
    let (standing, walking) = (mean(&standing), mean(&walking));
    println!("mean fluidity level: standing {standing:.2}, walking {walking:.2}");
    assert!(
        standing > walking + 0.5,
        "a standing crowd ({standing:.2}) must rate differently from a walking one ({walking:.2})"
    );
    for (_, s) in r.named("fluidity-event") {
        let p = s.get::<f64>("fluidity_percentage").unwrap();
        assert!((0.0..=100.0).contains(&p) && p.fract() == 0.0);
    }
}

/// Direction of the pedestrians' summed motion in a cell over the last 4 frames, when it is
/// clearly horizontal (the clip's pedestrians mostly walk sideways): 0 = right, 180 = left.
fn truth_direction(truth: &HashMap<u64, Vec<Person>>, cell: (i32, i32), f: u64) -> Option<f64> {
    let before = &truth[&(f - 4)];
    let (mut sx, mut sy) = (0.0, 0.0);
    for p in truth[&f].iter().filter(|p| p.moving && cell_of(p) == cell) {
        if let Some(q) = before.iter().find(|q| q.id == p.id)
            && (p.x - q.x).abs() < 100.0
        {
            sx += p.x - q.x;
            sy += p.y - q.y;
        }
    }
    (sx.abs() >= 8.0 && sx.abs() > 2.0 * sy.abs()).then_some(if sx > 0.0 { 0.0 } else { 180.0 })
}

#[test]
fn direction_agrees_with_the_walkers() {
    // Kurento ignores displacements of 3 px or less at processing size; these pedestrians
    // walk 1–4 px a frame, so analyse at full width.
    let r = run(
        &grid(|c| {
            c.send_optical_flow_event = true;
        }),
        640,
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let truth = truth();
    let (mut agree, mut disagree) = (0, 0);
    for (f, s) in &r.messages {
        if s.name() != "direction-event" {
            continue;
        }
        let roi = s.get::<String>("roi").unwrap();
        let angle = s.get::<f64>("direction_angle").unwrap();
        assert!(
            [0.0, 90.0, 180.0, 270.0].contains(&angle),
            "quantised: {angle}"
        );
        let b = roi.as_bytes();
        let cell = ((b[1] - b'0') as i32, (b[2] - b'0') as i32);
        if let Some(expected) = truth_direction(&truth, cell, (*f).max(4)) {
            if angle == expected {
                agree += 1;
            } else {
                disagree += 1;
            }
        }
    }
    println!("direction events: {agree} agree with the truth, {disagree} do not");
    assert!(agree >= 10, "too few comparable direction events: {agree}");
    // Four sectors: chance would be 25 %.
    assert!(
        agree * 100 >= 60 * (agree + disagree),
        "{agree} of {} direction events agree with the truth",
        agree + disagree
    );
}

#[test]
fn regions_can_be_replaced_while_playing() {
    init();
    // Kurento crashed when the regions were set again: here a new set every 30 frames.
    let r = run_indexed(&pipeline(), "cd", |cd| {
        let element = cd.clone();
        let count = AtomicU64::new(0);
        cd.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                let n = count.fetch_add(1, Ordering::SeqCst);
                if n.is_multiple_of(30) {
                    let id = format!("set{}", n / 30);
                    element.set_property(
                        "rois",
                        build_rois(&[rect_roi(&id, 0.0, 0.0, 639.0, 479.0, |c| {
                            c.occupancy_num_frames_to_event = 1;
                        })]),
                    );
                }
                gst::PadProbeReturn::Ok
            });
    });
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.frames, FRAMES);
    // Each new set restarts the levels at 0, so each reports afresh, under its own id, and
    // only during its own 30 frames.
    for i in 0..5u64 {
        let id = format!("set{i}");
        let frames: Vec<u64> = r
            .messages
            .iter()
            .filter(|(_, s)| s.get::<String>("roi").unwrap() == id)
            .map(|(f, _)| *f)
            .collect();
        assert!(!frames.is_empty(), "no events for {id}");
        assert!(
            frames.iter().all(|f| (i * 30..(i + 1) * 30).contains(f)),
            "{id}: {frames:?}"
        );
    }
}
