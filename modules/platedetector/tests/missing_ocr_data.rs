// SPDX-License-Identifier: MPL-2.0
//! Without OCR data the constructor fails with a clear error instead of creating a filter
//! that silently passes every frame through (Kurento's behaviour). A test binary of its own:
//! it changes the process environment.

use gst::prelude::*;
use kurento_module_glue::testing::{Host, error_of};
use serde_json::json;

#[test]
fn missing_ocr_data_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("no-tessdata-{}", std::process::id()));
    // SAFETY: this test binary runs this one test; nothing else reads the environment now.
    unsafe { std::env::set_var("TESSDATA_PREFIX", &dir) };
    let (host, m) = Host::load(
        gstplatedetector::plugin_register_static,
        kmsplatedetectormodule::kurento_module_entry,
        "platedetector",
    );
    let (reply, object) = m.create(
        "PlateDetectorFilter",
        json!({"mediaPipeline": host.pipeline_id()}),
    );
    assert!(object.is_none());
    let (code, message) = error_of(&reply);
    assert_eq!(code, 40108);
    assert_eq!(reply["error"]["data"]["type"], "MEDIA_OBJECT_NOT_AVAILABLE");
    assert!(
        message.contains(&format!("{}/eng.traineddata not found", dir.display()))
            && message.contains("TESSDATA_PREFIX"),
        "{message}"
    );
    // Nothing was left in the pipeline.
    assert_eq!(host.gst_pipeline().children().len(), 0);
    host.shutdown();
}
