// SPDX-License-Identifier: MPL-2.0
//! The `datachannelexample` module and its plugin in the real server: `--list` shows its
//! classes, and over a WebSocket a KmsSendData connected to a KmsShowData without a media
//! type connects AUDIO, VIDEO and DATA (both have data pads), each listed.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Client, SERVER};
use serde_json::{Value, json};

/// The module libraries and the plugin, copied from the build.
fn dirs() -> (PathBuf, PathBuf) {
    let modules = common::built_libraries(
        "dce-modules",
        &["libkmscoremodule.so", "libkmsdatachannelexamplemodule.so"],
    );
    let plugins = common::built_libraries("dce-plugins", &["libgstdatachannelexample.so"]);
    (modules, plugins)
}

#[test]
fn list_shows_the_classes() {
    let (modules, plugins) = dirs();
    let out = Command::new(SERVER)
        .args(["--list", "-p", modules.to_str().unwrap()])
        .env("GST_PLUGIN_PATH", &plugins)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for class in [
        "KmsSendData",
        "KmsShowData",
        "KmsDetectFaces",
        "KmsShowFaces",
    ] {
        assert!(stdout.contains(class), "{class}: {stdout}");
    }
}

fn types(v: &Value) -> Vec<String> {
    let mut t: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

#[test]
fn send_data_connects_to_show_data_with_data() {
    let (modules, plugins) = dirs();
    let kms = common::start_modules(&modules, json!({}), &[("GST_PLUGIN_PATH", &plugins)]);
    let mut c = Client::connect(&kms);
    let pipeline = c.create("MediaPipeline", json!({}));
    let send = c.create("KmsSendData", json!({"mediaPipeline": pipeline}));
    let show = c.create(
        "datachannelexample.KmsShowData",
        json!({"mediaPipeline": pipeline}),
    );
    assert!(show.ends_with("_datachannelexample.KmsShowData"), "{show}");
    c.invoke(&send, "connect", json!({"sink": show}));
    let listed = c.invoke(&show, "getSourceConnections", json!({}));
    assert_eq!(types(&listed), ["AUDIO", "DATA", "VIDEO"], "{listed}");
    let data = c.invoke(&send, "getSinkConnections", json!({"mediaType": "DATA"}));
    assert_eq!(data[0]["sink"], show.as_str(), "{data}");
    c.invoke(
        &send,
        "disconnect",
        json!({"sink": show, "mediaType": "DATA"}),
    );
    let listed = c.invoke(&show, "getSourceConnections", json!({}));
    assert_eq!(types(&listed), ["AUDIO", "VIDEO"], "{listed}");
    c.call("release", json!({"object": pipeline}));
}
