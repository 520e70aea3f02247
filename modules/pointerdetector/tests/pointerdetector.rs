// SPDX-License-Identifier: MPL-2.0
//! The module through its C entry point with a fake host, on a real pipeline: the pointer clip
//! (an orange disc, still at the centre for 2 s, then on a Lissajous path whose centre per frame
//! is in `pointer_640x480_truth.csv`) played in real time into a PointerDetectorFilter.

use gst::prelude::*;
use std::time::Duration;

use kurento_module_glue::testing::{Host, Module, error_of};
use serde_json::{Value, json};

fn module() -> (&'static Host, Module) {
    Host::load(
        gstpointerdetector::plugin_register_static,
        kmspointerdetectormodule::kurento_module_entry,
        "pointerdetector",
    )
}

#[derive(Clone, Copy)]
struct Win {
    id: &'static str,
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Win {
    fn contains(&self, (cx, cy): (i64, i64)) -> bool {
        cx > self.x && cy > self.y && cx < self.x + self.w && cy < self.y + self.h
    }

    fn json(&self) -> Value {
        json!({"id": self.id, "upperRightX": self.x, "upperRightY": self.y, "width": self.w,
               "height": self.h, "__module__": "pointerdetector",
               "__type__": "PointerDetectorWindowMediaParam"})
    }
}

/// Windows on the disc's path (each entered and left several times after frame 60).
const A: Win = Win {
    id: "top_right",
    x: 440,
    y: 100,
    w: 120,
    h: 120,
};
const B: Win = Win {
    id: "bottom_left",
    x: 80,
    y: 260,
    w: 120,
    h: 120,
};
const C: Win = Win {
    id: "top_left",
    x: 100,
    y: 60,
    w: 120,
    h: 100,
};

fn calibration() -> Value {
    json!({"topRightCornerX": 310, "topRightCornerY": 230, "width": 20, "height": 20})
}

fn truth() -> Vec<(usize, i64, i64)> {
    let text = std::fs::read_to_string(gst_tests::media("pointer_640x480_truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<i64> = l.split(',').map(|f| f.parse().unwrap()).collect();
            (v[0] as usize, v[1], v[2])
        })
        .collect()
}

/// (frame, event, window) the truth predicts for `w` between frames `from` and `to`.
fn expected(w: Win, from: usize, to: usize) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for (frame, cx, cy) in truth().into_iter().filter(|t| t.0 > from && t.0 < to) {
        let now = w.contains((cx, cy));
        if now != inside {
            let name = if now { "WindowIn" } else { "WindowOut" };
            out.push((frame, name.to_string(), w.id.to_string()));
        }
        inside = now;
    }
    out
}

#[test]
fn window_events_follow_the_pointer() {
    let (host, m) = module();
    let (id, o) = m.create_ok(
        "PointerDetectorFilter",
        json!({"mediaPipeline": host.pipeline_id(), "calibrationRegion": calibration(),
               "windows": [A.json(), B.json()]}),
    );
    assert_eq!(
        m.invoke(o, "addWindow", json!({"window": C.json()})),
        json!({"value": null})
    );
    for e in ["WindowIn", "WindowOut"] {
        assert_eq!(m.subscribe(o, e), json!({"value": true}));
    }
    // Core's tags, kept by kurento-core-runtime, travel in the module's own events.
    assert_eq!(
        m.invoke(o, "addTag", json!({"key": "app", "value": "pointer"})),
        json!({"value": null})
    );
    assert_eq!(
        m.invoke(o, "setSendTagsInEvents", json!({"sendTagsInEvents": true})),
        json!({"value": null})
    );
    host.count_frames(&m.inner_element(o, "pointerdetector"));
    let sink = host.sink("sink", |_| {});
    assert_eq!(
        m.invoke(o, "connect", json!({"sink": sink})),
        json!({"value": null})
    );
    host.play_clip(&gst_tests::media("pointer_640x480.webm"), &id);

    // The disc sits in the calibration region for the first 60 frames.
    let calibrated_at = host.wait_frames(10);
    assert_eq!(
        m.invoke(o, "trackColorFromCalibrationRegion", json!({})),
        json!({"value": null})
    );
    let removed_at = host.wait_frames(200);
    assert_eq!(
        m.invoke(o, "removeWindow", json!({"windowId": C.id})),
        json!({"value": null})
    );
    host.wait_eos(Duration::from_secs(60));
    host.shutdown();

    let events: Vec<(usize, String, String)> = host
        .events()
        .into_iter()
        .filter(|e| e.event_type.starts_with("Window"))
        .map(|e| {
            assert_eq!(e.object, id);
            assert_eq!(e.data["type"], e.event_type.as_str());
            assert_eq!(e.data["source"], id.as_str());
            assert!(
                e.data["timestampMillis"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .is_ok()
            );
            assert_eq!(
                e.data["tags"],
                json!([{"key": "app", "value": "pointer",
                "__module__": "kurento", "__type__": "Tag"}])
            );
            (
                e.frame,
                e.event_type,
                e.data["windowId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want = expected(A, calibrated_at + 1, usize::MAX);
    want.extend(expected(B, calibrated_at + 1, usize::MAX));
    // Window C until its removal (a removed window the pointer is in gets its WindowOut).
    want.extend(expected(C, calibrated_at + 1, removed_at.saturating_sub(2)));
    want.sort();
    assert!(want.len() >= 12, "{want:?}");
    for (frame, name, window) in &want {
        assert!(
            events
                .iter()
                .any(|(f, n, w)| n == name && w == window && f.abs_diff(*frame) <= 2),
            "no {name} for {window} near frame {frame}\nexpected {want:?}\ngot {events:?}"
        );
    }
    let c_late: Vec<_> = events
        .iter()
        .filter(|(f, n, w)| w == C.id && *f > removed_at + 2 && n == "WindowIn")
        .collect();
    assert!(
        c_late.is_empty(),
        "removed window still reports: {c_late:?}"
    );
    let extra = events.len() - want.len();
    assert!(
        extra <= 1,
        "unexpected events\nexpected {want:?}\ngot {events:?}"
    );
    m.release(o);
}

#[test]
fn bad_input_is_refused_clearly() {
    let (host, m) = module();
    let p = host.pipeline_id();
    let create = |params: Value| error_of(&m.create("PointerDetectorFilter", params).0);

    // ids become GstStructure names.
    let mut bad = A.json();
    bad["id"] = json!("my window");
    let (code, msg) =
        create(json!({"mediaPipeline": p, "calibrationRegion": calibration(), "windows": [bad]}));
    assert_eq!(code, 40107);
    assert!(
        msg.contains("'my window'") && msg.contains("start with a letter"),
        "{msg}"
    );
    let (code, msg) = create(json!({"mediaPipeline": p, "calibrationRegion":
        {"topRightCornerX": 0, "topRightCornerY": 0, "width": 0, "height": 10}}));
    assert_eq!(
        (code, msg.as_str()),
        (40107, "'calibrationRegion': the size 0x10 must be positive")
    );
    let (code, msg) = create(json!({"mediaPipeline": p}));
    assert_eq!(
        (code, msg.as_str()),
        (40001, "'calibrationRegion' parameter should be a object")
    );
    let (code, _) = create(json!({"mediaPipeline": "nope", "calibrationRegion": calibration()}));
    assert_eq!(code, 40101);

    let (_, o) = m.create_ok(
        "pointerdetector.PointerDetectorFilter",
        json!({"mediaPipeline": p, "calibrationRegion": calibration()}),
    );
    let mut w = A.json();
    w["id"] = json!("9lives");
    assert_eq!(
        error_of(&m.invoke(o, "addWindow", json!({"window": w}))).0,
        40107
    );
    let mut w = A.json();
    w["width"] = json!(-5);
    let (code, msg) = error_of(&m.invoke(o, "addWindow", json!({"window": w})));
    assert_eq!(
        (code, msg.as_str()),
        (
            40107,
            "window 'top_right': the size -5x120 must be positive"
        )
    );
    let mut w = A.json();
    w["imageTransparency"] = json!(1.5);
    assert_eq!(
        error_of(&m.invoke(o, "addWindow", json!({"window": w}))).0,
        40107
    );
    let mut w = A.json();
    w["width"] = json!("wide");
    assert_eq!(
        error_of(&m.invoke(o, "addWindow", json!({"window": w}))),
        (40001, "'width' parameter should be a integer".to_string())
    );
    assert_eq!(
        error_of(&m.invoke(o, "addWindow", json!({"window": [1, 2]}))).0,
        40001
    );
    assert_eq!(
        error_of(&m.invoke(o, "removeWindow", json!({"windowId": "a b"}))).0,
        40107
    );
    assert_eq!(
        error_of(&m.invoke(o, "removeWindow", json!({}))),
        (40001, "'windowId' parameter should be a string".to_string())
    );
    assert_eq!(
        error_of(&m.invoke(o, "jump", json!({"high": true}))),
        (
            40008,
            "Method 'jump' with 1 parameters not found".to_string()
        )
    );
    assert_eq!(m.subscribe(o, "CodeFound"), json!({"value": false}));

    // What was accepted reaches the element.
    let mut w = A.json();
    w["image"] = json!("file:///nowhere/icon.png");
    w["imageTransparency"] = json!(0.25);
    assert_eq!(
        m.invoke(o, "addWindow", json!({"window": w})),
        json!({"value": null})
    );
    assert_eq!(
        m.invoke(o, "addWindow", json!({"window": B.json()})),
        json!({"value": null})
    );
    let element = m.inner_element(o, "pointerdetector");
    let layout = element.property::<gst::Structure>("windows-layout");
    let a = layout.get::<gst::Structure>("top_right").unwrap();
    assert_eq!(a.name(), "top_right");
    assert_eq!(a.get::<i32>("upRightCornerX").unwrap(), 440);
    assert_eq!(
        a.get::<String>("inactive_uri").unwrap(),
        "file:///nowhere/icon.png"
    );
    assert_eq!(a.get::<f64>("transparency").unwrap(), 0.25);
    assert!(!a.has_field("active_uri"));
    assert_eq!(
        m.invoke(o, "removeWindow", json!({"windowId": "top_right"})),
        json!({"value": null})
    );
    // An unknown (well-formed) id is ignored, as in Kurento.
    assert_eq!(
        m.invoke(o, "removeWindow", json!({"windowId": "other"})),
        json!({"value": null})
    );
    let layout = element.property::<gst::Structure>("windows-layout");
    assert!(!layout.has_field("top_right") && layout.has_field("bottom_left"));
    assert_eq!(
        m.invoke(o, "clearWindows", Value::Null),
        json!({"value": null})
    );
    assert_eq!(
        element
            .property::<gst::Structure>("windows-layout")
            .n_fields(),
        0
    );
    let area = element.property::<gst::Structure>("calibration-area");
    assert_eq!(area.get::<i32>("x").unwrap(), 310);
    assert_eq!(area.get::<i32>("width").unwrap(), 20);
    m.release(o);
    host.shutdown();
}
