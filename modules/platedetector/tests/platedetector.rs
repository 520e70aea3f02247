// SPDX-License-Identifier: MPL-2.0
//! The module through its C entry point with a fake host, on a real pipeline: the plate clip
//! (a car approaching with the plate `2843 KLM`) played in real time into a
//! PlateDetectorFilter, whose `PlateDetected` events the host receives.

use std::time::Duration;

use gst::prelude::*;
use kurento_module_glue::testing::{Host, Module, error_of};
use serde_json::{Value, json};

fn module() -> (&'static Host, Module) {
    Host::load(
        gstplatedetector::plugin_register_static,
        kmsplatedetectormodule::kurento_module_entry,
        "platedetector",
    )
}

#[test]
fn plate_detected_carries_the_plate() {
    let (host, m) = module();
    let (id, o) = m.create_ok(
        "PlateDetectorFilter",
        json!({"mediaPipeline": host.pipeline_id()}),
    );
    assert_eq!(m.subscribe(o, "PlateDetected"), json!({"value": true}));
    assert_eq!(m.subscribe(o, "Error"), json!({"value": true}));
    assert_eq!(
        m.invoke(
            o,
            "setPlateWidthPercentage",
            json!({"plateWidthPercentage": 0.25})
        ),
        json!({"value": null})
    );
    host.count_frames(&m.inner_element(o, "platedetector"));
    let sink = host.sink("sink", |_| {});
    assert_eq!(
        m.invoke(o, "connect", json!({"sink": sink})),
        json!({"value": null})
    );
    host.play_clip(&gst_tests::media("plate_640x480.webm"), &id);
    host.wait_eos(Duration::from_secs(60));
    host.shutdown();

    assert!(
        host.events_of("Error").is_empty(),
        "{:?}",
        host.events_of("Error")
    );
    let plates = host.events_of("PlateDetected");
    let first = &plates.first().expect("a PlateDetected event").data;
    println!(
        "plates: {:?}",
        plates
            .iter()
            .map(|e| (e.frame, e.data["plate"].clone()))
            .collect::<Vec<_>>()
    );
    let plate = first["plate"].as_str().unwrap();
    let read: String = plate
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    assert_eq!(read, "2843KLM", "{plate}");
    assert_eq!(first["type"], "plate-detected");
    assert_eq!(first["source"], id.as_str());
    assert_eq!(first["tags"], json!([]));
    assert!(
        first["timestampMillis"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    // Never the same plate twice in a row.
    for w in plates.windows(2) {
        assert_ne!(w[0].data["plate"], w[1].data["plate"]);
    }
    m.release(o);
}

#[test]
fn bad_input_is_refused_clearly() {
    let (host, m) = module();
    let (_, o) = m.create_ok(
        "platedetector.PlateDetectorFilter",
        json!({"mediaPipeline": host.pipeline_id()}),
    );
    let element = m.inner_element(o, "platedetector");
    assert_eq!(
        m.invoke(
            o,
            "setPlateWidthPercentage",
            json!({"plateWidthPercentage": "0.4"})
        ),
        json!({"value": null})
    );
    assert!((element.property::<f32>("plate-width-percentage") - 0.4).abs() < 1e-6);
    for bad in [0.0, -0.1, 1.5] {
        let (code, msg) = error_of(&m.invoke(
            o,
            "setPlateWidthPercentage",
            json!({"plateWidthPercentage": bad}),
        ));
        assert_eq!(code, 40107, "{bad}");
        assert!(msg.contains("(0, 1]"), "{msg}");
    }
    assert_eq!(
        error_of(&m.invoke(
            o,
            "setPlateWidthPercentage",
            json!({"plateWidthPercentage": "wide"})
        )),
        (
            40001,
            "'plateWidthPercentage' parameter should be a double".to_string()
        )
    );
    assert_eq!(
        error_of(&m.invoke(o, "setPlateWidthPercentage", json!({}))).0,
        40001
    );
    assert_eq!(
        error_of(&m.invoke(o, "readPlate", Value::Null)),
        (
            40008,
            "Method 'readPlate' with 0 parameters not found".to_string()
        )
    );
    assert_eq!(m.subscribe(o, "WindowIn"), json!({"value": false}));
    assert_eq!(
        error_of(
            &m.create("PlateDetectorFilter", json!({"mediaPipeline": 3}))
                .0
        ),
        (
            40001,
            "'mediaPipeline' parameter should be a string".to_string()
        )
    );
    assert_eq!(
        error_of(
            &m.create("FaceDetector", json!({"mediaPipeline": host.pipeline_id()}))
                .0
        ),
        (40108, "Factory 'FaceDetector' not found".to_string())
    );
    m.release(o);
    host.shutdown();
}
