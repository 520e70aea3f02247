// SPDX-License-Identifier: MPL-2.0
//! Without `zbar` / `textoverlay` the elements keep their pads and fail their first state
//! change with an error naming the missing element. The factories are removed from this test
//! process's registry (its own binary, so other tests are unaffected).

use gst::prelude::*;

fn missing_plugin_error(factory: &str, missing: &str, pads: &[&str]) {
    gst::init().unwrap();
    gstdatachannelexample::plugin_register_static().unwrap();
    let registry = gst::Registry::get();
    if let Some(f) = registry.lookup_feature(missing) {
        registry.remove_feature(&f);
    }
    assert!(gst::ElementFactory::find(missing).is_none());

    let element = gst::ElementFactory::make(factory).build().unwrap();
    let names: Vec<String> = element
        .pads()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    for p in pads {
        assert!(names.iter().any(|n| n == p), "{factory} has {p}: {names:?}");
    }
    let pipeline = gst::Pipeline::new();
    pipeline.add(&element).unwrap();
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    let msg = pipeline
        .bus()
        .unwrap()
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(e) = msg.view() else {
        unreachable!()
    };
    assert!(e.error().matches(gst::CoreError::MissingPlugin));
    assert!(
        e.error()
            .message()
            .contains(&format!("'{missing}' not available")),
        "{}",
        e.error()
    );
    let _ = pipeline.set_state(gst::State::Null);
}

#[test]
fn without_zbar_or_textoverlay() {
    // One test: both removals share this process's registry.
    missing_plugin_error("kmssenddata", "zbar", &["sink", "src", "data_src"]);
    missing_plugin_error(
        "kmsshowdata",
        "textoverlay",
        &["sink", "src", "data_sink", "data_src"],
    );
}
