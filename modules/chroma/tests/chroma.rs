// SPDX-License-Identifier: MPL-2.0
//! The module through its C entry point with a fake host, on a real pipeline: the green-screen
//! clip played in real time into a ChromaFilter, whose output is measured (share of plain
//! screen-green pixels) while the background is set, replaced by a missing image and unset.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use kurento_module_glue::testing::{Host, Module, error_of};
use serde_json::{Value, json};

fn module() -> (&'static Host, Module) {
    Host::load(
        gstchroma::plugin_register_static,
        kmschromamodule::kurento_module_entry,
        "chroma",
    )
}

fn window() -> Value {
    json!({"topRightCornerX": 5, "topRightCornerY": 5, "width": 40, "height": 40,
           "__module__": "chroma", "__type__": "WindowParam"})
}

/// Share of plain screen-green pixels (the screen is ≈ BGR 40,175,60) in a BGR frame.
fn green_share(sample: &gst::Sample) -> f64 {
    let info = gst_video_info(sample);
    let map = sample.buffer().unwrap().map_readable().unwrap();
    let (mut green, mut all) = (0usize, 0usize);
    for y in (0..info.1).step_by(4) {
        for x in (0..info.0).step_by(4) {
            let i = y * info.2 + x * 3;
            let (b, g, r) = (map[i] as i32, map[i + 1] as i32, map[i + 2] as i32);
            all += 1;
            if g >= r + 60 && g >= b + 60 {
                green += 1;
            }
        }
    }
    green as f64 / all as f64
}

/// (width, height, stride) of a packed BGR sample.
fn gst_video_info(sample: &gst::Sample) -> (usize, usize, usize) {
    let s = sample.caps().unwrap().structure(0).unwrap().to_owned();
    let (w, h) = (
        s.get::<i32>("width").unwrap() as usize,
        s.get::<i32>("height").unwrap() as usize,
    );
    (w, h, (w * 3).div_ceil(4) * 4)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[test]
fn background_is_set_and_unset_on_the_green_screen() {
    let (host, m) = module();
    let (id, o) = m.create_ok(
        "ChromaFilter",
        json!({"mediaPipeline": host.pipeline_id(), "window": window()}),
    );
    assert_eq!(m.subscribe(o, "Error"), json!({"value": true}));
    let chroma = m.inner_element(o, "chroma");
    host.count_frames(&chroma);
    // Share of green per output frame, by the index of the frame the filter had received.
    let shares: Arc<Mutex<Vec<(usize, f64)>>> = Arc::default();
    let (record, frames) = (shares.clone(), host);
    let sink = host.sink("sink", move |s| {
        record
            .lock()
            .unwrap()
            .push((frames.frames(), green_share(s)));
    });
    assert_eq!(
        m.invoke(o, "connect", json!({"sink": sink})),
        json!({"value": null})
    );
    host.play_clip(&gst_tests::media("chroma_640x480.webm"), &id);

    let background = gst_tests::media("chroma_background_1280x720.jpg");
    host.wait_frames(80);
    let uri = format!("file://{}", background.display());
    assert_eq!(
        m.invoke(o, "setBackground", json!({"uri": uri})),
        json!({"value": null})
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !chroma.property::<bool>("background-loaded") {
        assert!(
            std::time::Instant::now() < deadline,
            "background not loaded"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let set_at = host.frames();
    host.wait_frames(150);
    // A missing image: an Error event, the previous background stays.
    assert_eq!(
        m.invoke(o, "setBackground", json!({"uri": "/nowhere/beach.jpg"})),
        json!({"value": null})
    );
    host.wait_for(Duration::from_secs(10), |e| {
        e.iter().any(|e| e.event_type == "Error")
    });
    host.wait_frames(200);
    assert_eq!(
        m.invoke(o, "unsetBackground", json!({})),
        json!({"value": null})
    );
    let unset_at = host.frames();
    host.wait_eos(Duration::from_secs(60));
    host.shutdown();

    let shares = shares.lock().unwrap().clone();
    assert!(shares.len() >= 280, "{} frames out", shares.len());
    let between = |a: usize, b: usize| -> Vec<f64> {
        shares
            .iter()
            .filter(|(f, _)| *f > a && *f < b)
            .map(|(_, s)| *s)
            .collect()
    };
    let (calibrating, keyed, unset) = (
        mean(&between(0, 60)),
        mean(&between(set_at + 2, 198)),
        mean(&between(unset_at + 2, 300)),
    );
    println!("green share: calibrating {calibrating:.3}, keyed {keyed:.3}, unset {unset:.3}");
    assert!(
        calibrating > 0.3,
        "the clip is mostly green screen: {calibrating}"
    );
    assert!(keyed < 0.02, "the screen shows the background: {keyed}");
    assert!(unset > 0.3, "unsetBackground restores the video: {unset}");

    let errors = host.events_of("Error");
    let e = &errors[0].data;
    assert_eq!(e["source"], id.as_str());
    assert!(
        e["description"]
            .as_str()
            .unwrap()
            .contains("/nowhere/beach.jpg"),
        "{e}"
    );
    assert_eq!(e["type"], "RESOURCE_ERROR_OPEN");
    m.release(o);
}

#[test]
fn constructor_background_and_bad_input() {
    let (host, m) = module();
    let p = host.pipeline_id();
    let bg = gst_tests::media("chroma_background_1280x720.jpg")
        .display()
        .to_string();
    let (_, o) = m.create_ok(
        "chroma.ChromaFilter",
        json!({"mediaPipeline": p, "window": window(), "backgroundImage": bg}),
    );
    let chroma = m.inner_element(o, "chroma");
    assert_eq!(chroma.property::<String>("image-background"), bg);
    let area = chroma.property::<gst::Structure>("calibration-area");
    assert_eq!(
        (
            area.get::<i32>("x").unwrap(),
            area.get::<i32>("height").unwrap()
        ),
        (5, 40)
    );
    assert_eq!(
        m.invoke(o, "unsetBackground", Value::Null),
        json!({"value": null})
    );
    assert_eq!(chroma.property::<String>("image-background"), "");

    let (code, msg) = error_of(&m.invoke(o, "setBackground", json!({"uri": " "})));
    assert_eq!(code, 40107);
    assert!(msg.contains("unsetBackground"), "{msg}");
    assert_eq!(
        error_of(&m.invoke(o, "setBackground", json!({"uri": [1]}))),
        (40001, "'uri' parameter should be a string".to_string())
    );
    assert_eq!(
        error_of(&m.invoke(o, "setBackground", Value::Null)),
        (40001, "'operationParams' is required".to_string())
    );
    assert_eq!(error_of(&m.invoke(o, "setColor", json!({}))).0, 40008);
    // Inherited from core, answered by kurento-core-runtime.
    assert_eq!(
        m.invoke(o, "setName", json!({"name": "key"})),
        json!({"value": null})
    );
    assert_eq!(m.invoke(o, "getName", Value::Null), json!({"value": "key"}));

    let create = |params: Value| error_of(&m.create("ChromaFilter", params).0);
    let mut w = window();
    w["width"] = json!(0);
    assert_eq!(
        create(json!({"mediaPipeline": p, "window": w})),
        (
            40107,
            "'window': the size 0x40 must be positive".to_string()
        )
    );
    let mut w = window();
    w["topRightCornerX"] = json!(-3);
    assert_eq!(create(json!({"mediaPipeline": p, "window": w})).0, 40107);
    let mut w = window();
    w["height"] = json!("tall");
    assert_eq!(
        create(json!({"mediaPipeline": p, "window": w})),
        (40001, "'height' parameter should be a integer".to_string())
    );
    assert_eq!(create(json!({"mediaPipeline": p})).0, 40001);
    assert_eq!(create(json!({"mediaPipeline": p, "window": 7})).0, 40001);
    m.release(o);
    host.shutdown();
}
