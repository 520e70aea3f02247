// SPDX-License-Identifier: MPL-2.0
//! Without `textoverlay` (Debian `gstreamer1.0-x`) and `zbar`, creating KmsShowData and
//! KmsSendData fails with MEDIA_OBJECT_NOT_AVAILABLE naming the element and the package.
//! The factories are removed from this test process's registry (its own binary).

use kurento_module_glue::testing::{Host, error_of};
use serde_json::json;

#[test]
fn missing_dependencies_are_named() {
    let (host, m) = Host::load(
        gstdatachannelexample::plugin_register_static,
        kmsdatachannelexamplemodule::kurento_module_entry,
        "datachannelexample",
    );
    let registry = gst::Registry::get();
    for f in ["textoverlay", "zbar"] {
        if let Some(feature) = registry.lookup_feature(f) {
            registry.remove_feature(&feature);
        }
    }
    for (class, missing, package) in [
        ("KmsShowData", "textoverlay", "gstreamer1.0-x"),
        ("KmsSendData", "zbar", "gstreamer1.0-plugins-bad"),
    ] {
        let (reply, obj) = m.create(class, json!({"mediaPipeline": host.pipeline_id()}));
        assert!(obj.is_none(), "{class}");
        let (code, message) = error_of(&reply);
        assert_eq!(code, 40108, "{reply}");
        assert!(
            message.contains(&format!("'{missing}'")) && message.contains(package),
            "{message}"
        );
    }
    host.shutdown();
}
