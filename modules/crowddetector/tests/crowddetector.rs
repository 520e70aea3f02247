// SPDX-License-Identifier: MPL-2.0
//! The module through its C entry point with a fake host, on a real pipeline: the synthetic
//! crowd clip (pedestrians whose feet positions are in `crowd_synth_640x480_truth.csv`) played
//! in real time into a CrowdDetectorFilter watching a 4×4 grid of regions.

use std::collections::HashMap;
use std::time::Duration;

use gst::prelude::*;
use kurento_module_glue::testing::{Event, Host, Module, error_of};
use serde_json::{Value, json};

fn module() -> (&'static Host, Module) {
    Host::load(
        gstcrowddetector::plugin_register_static,
        kmscrowddetectormodule::kurento_module_entry,
        "crowddetector",
    )
}

const FRAMES: usize = 150;
/// The background model starts black, as Kurento's: levels settle after a few seconds.
const WARM_UP: usize = 60;

fn cell_id(gx: i64, gy: i64) -> String {
    format!("c{gx}{gy}")
}

/// A RegionOfInterest over a 160×120 cell of the 640×480 frame.
fn cell(gx: i64, gy: i64, config: Value) -> Value {
    let (x0, y0) = (gx as f64 * 160.0 / 640.0, gy as f64 * 120.0 / 480.0);
    let (x1, y1) = (x0 + 159.0 / 640.0, y0 + 119.0 / 480.0);
    json!({"id": cell_id(gx, gy), "regionOfInterestConfig": config,
           "points": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]})
}

fn grid(config: Value) -> Value {
    let mut rois = Vec::new();
    for gy in 0..4 {
        for gx in 0..4 {
            rois.push(cell(gx, gy, config.clone()));
        }
    }
    Value::Array(rois)
}

/// People per (frame, cell), from the truth (feet raised a little: bodies extend upwards).
fn people() -> HashMap<(usize, String), usize> {
    let text = std::fs::read_to_string(gst_tests::media("crowd_synth_640x480_truth.csv")).unwrap();
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        let (gx, gy) = (
            (f[2] / 160.0).floor() as i64,
            ((f[3] - 20.0) / 120.0).floor() as i64,
        );
        *out.entry((f[0] as usize, cell_id(gx, gy))).or_default() += 1;
    }
    out
}

/// The occupancy level of `roi` reported by frame `frame` (0 before any event).
fn level_at(events: &[Event], roi: &str, frame: usize) -> i64 {
    events
        .iter()
        .rfind(|e| e.data["roiId"] == roi && e.frame <= frame)
        .map_or(0, |e| e.data["occupancyLevel"].as_i64().unwrap())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[test]
fn occupancy_fluidity_and_direction_events() {
    let (host, m) = module();
    // Thresholds suited to this clip, where one pedestrian covers ~3 % of a cell.
    let config = json!({"occupancyLevelMin": 2, "occupancyLevelMed": 5, "occupancyLevelMax": 10,
        "occupancyNumFramesToEvent": 3, "sendOpticalFlowEvent": true,
        "__module__": "crowddetector", "__type__": "RegionOfInterestConfig"});
    let (id, o) = m.create_ok(
        "CrowdDetectorFilter",
        json!({"mediaPipeline": host.pipeline_id(), "rois": grid(config)}),
    );
    for e in [
        "CrowdDetectorOccupancy",
        "CrowdDetectorFluidity",
        "CrowdDetectorDirection",
    ] {
        assert_eq!(m.subscribe(o, e), json!({"value": true}));
    }
    assert_eq!(
        m.invoke(o, "getProcessingWidth", Value::Null),
        json!({"value": 320})
    );
    // Pedestrians walk 1–4 px a frame and Kurento ignores motion of 3 px or less at
    // processing size: analyse at full width for the direction.
    assert_eq!(
        m.invoke(o, "setProcessingWidth", json!({"processingWidth": 640})),
        json!({"value": null})
    );
    assert_eq!(
        m.invoke(o, "getProcessingWidth", Value::Null),
        json!({"value": 640})
    );
    host.count_frames(&m.inner_element(o, "crowddetector"));
    let sink = host.sink("sink", |_| {});
    assert_eq!(
        m.invoke(o, "connect", json!({"sink": sink})),
        json!({"value": null})
    );
    host.play_clip(&gst_tests::media("crowd_synth_640x480.webm"), &id);
    host.wait_eos(Duration::from_secs(60));
    host.shutdown();

    let ids: Vec<String> = (0..4)
        .flat_map(|gy| (0..4).map(move |gx| cell_id(gx, gy)))
        .collect();
    for e in host.events() {
        assert_eq!(e.object, id);
        assert_eq!(e.data["source"], id.as_str());
        assert_eq!(e.data["type"], e.event_type.as_str(), "{:?}", e.data);
        assert_eq!(
            e.data["roiId"], e.data["roiID"],
            "both names carry the region"
        );
        assert!(
            ids.contains(&e.data["roiId"].as_str().unwrap().to_string()),
            "{:?}",
            e.data
        );
    }
    let occupancy = host.events_of("CrowdDetectorOccupancy");
    let fluidity = host.events_of("CrowdDetectorFluidity");
    let direction = host.events_of("CrowdDetectorDirection");
    println!(
        "{} occupancy, {} fluidity, {} direction events",
        occupancy.len(),
        fluidity.len(),
        direction.len()
    );
    for e in &occupancy {
        assert!((0..=3).contains(&e.data["occupancyLevel"].as_i64().unwrap()));
        assert!(e.data["occupancyPercentage"].as_f64().unwrap() >= 0.0);
    }
    for e in &fluidity {
        let p = e.data["fluidityPercentage"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&p), "{p}");
        assert!((0..=3).contains(&e.data["fluidityLevel"].as_i64().unwrap()));
    }
    assert!(!fluidity.is_empty(), "no fluidity events");
    assert!(!direction.is_empty(), "no direction events");
    for e in &direction {
        let a = e.data["directionAngle"].as_f64().unwrap();
        assert!((0.0..360.0).contains(&a), "{a}");
    }

    // Sensible levels: cells with people rate above empty ones.
    let people = people();
    let (mut empty, mut crowded) = (Vec::new(), Vec::new());
    for f in WARM_UP..FRAMES {
        for roi in &ids {
            let level = level_at(&occupancy, roi, f) as f64;
            match people.get(&(f, roi.clone())).copied().unwrap_or(0) {
                0 => empty.push(level),
                1..=2 => {}
                _ => crowded.push(level),
            }
        }
    }
    let (empty, crowded) = (mean(&empty), mean(&crowded));
    println!("mean occupancy level: empty {empty:.2}, 3+ people {crowded:.2}");
    assert!(
        crowded > empty + 1.0,
        "crowded cells ({crowded:.2}) must rate well above empty ones ({empty:.2})"
    );
    m.release(o);
}

#[test]
fn bad_regions_are_refused_clearly() {
    let (host, m) = module();
    let p = host.pipeline_id();
    let create = |rois: Value| {
        error_of(
            &m.create(
                "CrowdDetectorFilter",
                json!({"mediaPipeline": p, "rois": rois}),
            )
            .0,
        )
    };
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut roi = cell(0, 0, json!({}));
        edit(&mut roi);
        json!([roi])
    };
    // Q-27: region ids become GstStructure names.
    let (code, msg) = create(with(&|r| r["id"] = json!("front door")));
    assert_eq!(code, 40107);
    assert!(msg.contains("Invalid roi name 'front door'"), "{msg}");
    assert_eq!(
        create(json!([cell(0, 0, json!({})), cell(0, 0, json!({}))])),
        (
            40107,
            "region 'c00': the id is used by another region".to_string()
        )
    );
    assert_eq!(
        create(with(&|r| r["points"].as_array_mut().unwrap().truncate(2))),
        (
            40107,
            "region 'c00': 2 points; a region needs at least 3".to_string()
        )
    );
    assert_eq!(create(with(&|r| r["points"][1]["x"] = json!(1.5))).0, 40107);
    let (code, msg) = create(with(&|r| {
        r["regionOfInterestConfig"] = json!({"occupancyLevelMin": 50, "occupancyLevelMed": 20})
    }));
    assert_eq!(code, 40107);
    assert!(
        msg.contains("occupancyLevelMin/Med/Max (50, 20, 65)"),
        "{msg}"
    );
    assert_eq!(
        create(with(
            &|r| r["regionOfInterestConfig"] = json!({"fluidityNumFramesToEvent": 0})
        ))
        .0,
        40107
    );
    assert_eq!(
        create(with(&|r| r["points"][0]["y"] = json!("top"))),
        (40001, "'y' parameter should be a double".to_string())
    );
    assert_eq!(
        create(with(&|r| {
            r.as_object_mut().unwrap().remove("regionOfInterestConfig");
        }))
        .0,
        40001
    );
    assert_eq!(create(json!("everything")).0, 40001);

    // Accepted regions reach the element in Kurento's layout.
    let (_, o) = m.create_ok(
        "crowddetector.CrowdDetectorFilter",
        json!({"mediaPipeline": p, "rois": [cell(1, 2, json!({"sendOpticalFlowEvent": true}))]}),
    );
    let element = m.inner_element(o, "crowddetector");
    let rois = element.property::<gst::Structure>("rois");
    let roi = rois.get::<gst::Structure>("c12").unwrap();
    assert_eq!(roi.name(), "c12");
    let names: Vec<String> = roi.fields().map(|f| f.to_string()).collect();
    assert_eq!(names, ["point0", "point1", "point2", "point3", "config"]);
    assert_eq!(
        roi.get::<gst::Structure>("point0")
            .unwrap()
            .get::<f32>("x")
            .unwrap(),
        0.25
    );
    let config = roi.get::<gst::Structure>("config").unwrap();
    assert_eq!(config.get::<String>("id").unwrap(), "c12");
    assert_eq!(config.get::<i32>("occupancy_level_med").unwrap(), 35);
    assert!(config.get::<bool>("send_optical_flow_event").unwrap());
    for bad in [100, 2000] {
        let (code, msg) =
            error_of(&m.invoke(o, "setProcessingWidth", json!({"processingWidth": bad})));
        assert_eq!(code, 40107);
        assert!(msg.contains("160..1280"), "{msg}");
    }
    assert_eq!(
        error_of(&m.invoke(o, "setProcessingWidth", json!({"processingWidth": 3.5}))),
        (
            40001,
            "'processingWidth' parameter should be a integer".to_string()
        )
    );
    assert_eq!(error_of(&m.invoke(o, "getRois", Value::Null)).0, 40008);
    m.release(o);
    host.shutdown();
}
