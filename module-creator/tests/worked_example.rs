// SPDX-License-Identifier: MPL-2.0
//! The worked example of kmd-format.md §13 (module `tally`, two files): resolution gives the
//! documented header, hierarchy, events, summary lines and generated operations.

use kurento_module_creator::resolve_module_dirs;
use serde_json::json;

const HEADER: &str = r#"{
  "name": "tally",
  "version": "1.2.0-dev",
  "kurentoVersion": "^7.0.0",
  "code": { "api": { "js": { "nodeName": "kurento-module-tally" } } }
}"#;

// Lenient on purpose: comments, a raw newline inside a string, a trailing comma.
const CLASS: &str = r#"{
  "remoteClasses": [
    {
      "name": "LevelMeter", "extends": "Filter", // the parent comes from core
      "doc": "Audio filter that tracks loudness
and reports threshold crossings.",
      "constructor": { "doc": "Builds a meter inside a pipeline.", "params": [
          { "name": "mediaPipeline", "doc": "Owning pipeline.", "type": "MediaPipeline" },
          { "name": "window", "doc": "Averaging window.", "type": "MeterWindow", "optional": true, "defaultValue": { "lengthMs": 500 } },
          { "name": "scale", "doc": "Unit of reported levels.", "type": "MeterScale", "optional": true, "defaultValue": "DBFS" },
      ] },
      "properties": [
        { "name": "threshold", "doc": "Level that triggers LevelCrossed.", "type": "float" },
        { "name": "lastLevels", "doc": "Most recent level per channel.", "type": "float[]", "readOnly": true },
        { "name": "labels", "doc": "Free-form labels.", "type": "String<>" }
      ],
      "methods": [
        { "name": "reset", "doc": "Clears accumulated peaks.", "params": [] },
        { "name": "peakSince", "doc": "Highest level since a point in time.", "params": [
            { "name": "sinceMillis", "doc": "Epoch milliseconds.", "type": "int64" },
            { "name": "channel", "doc": "Channel index.", "type": "int", "optional": true } ],
          "return": { "type": "float", "doc": "Peak level." } }
      ],
      "events": [ "LevelCrossed" ]
    }
  ],
  "complexTypes": [
    { "name": "MeterScale", "typeFormat": "ENUM", "doc": "Level units.", "values": [ "DBFS", "LINEAR" ] },
    { "name": "MeterWindow", "typeFormat": "REGISTER", "doc": "Averaging window.", "properties": [
        { "name": "lengthMs", "doc": "Window length.", "type": "int" },
        { "name": "hopMs", "doc": "Step between windows.", "type": "int", "optional": true, "defaultValue": 100 } ] }
  ],
  "events": [
    { "name": "LevelCrossed", "extends": "Media", "doc": "The level crossed the threshold.", "properties": [
        { "name": "level", "doc": "Level at the crossing.", "type": "float" },
        { "name": "rising", "doc": "True when going upwards.", "type": "boolean" } ] }
  ]
}"#;

#[test]
fn tally_resolves_as_documented() {
    let dir = std::env::temp_dir().join(format!("kmc-tally-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tally.kmd.json"), HEADER).unwrap();
    std::fs::write(dir.join("tally.LevelMeter.kmd.json"), CLASS).unwrap();
    let deps: [&str; 0] = [];
    let project = resolve_module_dirs(&[&dir], &deps).unwrap_or_else(|e| panic!("{e}"));
    let m = &project.modules[0];
    let model = m.output_model();
    let range = json!({"version": "^7.0.0", "mavenVersion": "[7.0.0,8.0.0-SNAPSHOT)", "npmVersion": ">=7.0.0 <8.0.0"});
    for (i, name) in ["core", "elements", "filters"].iter().enumerate() {
        let mut expected = range.clone();
        expected["name"] = json!(name);
        assert_eq!(model["imports"][i], expected);
    }
    assert_eq!(
        model["code"],
        json!({
            "api": {
                "js": {"nodeName": "kurento-module-tally", "npmVersion": "1.2.0", "npmDescription": ""},
                "java": {"mavenGroupId": "org.kurento.module", "mavenArtifactId": "tally", "mavenVersion": "1.2.0-SNAPSHOT",
                         "packageName": "org.kurento.module.tally"}
            },
            "implementation": {"cppNamespace": "kurento::module::tally", "lib": "libkmstally"}
        })
    );
    assert_eq!(
        model["remoteClasses"][0]["doc"],
        "Audio filter that tracks loudness\nand reports threshold crossings."
    );
    let text = m.output_model_text(false);
    assert!(
        text.starts_with(
            r#"{"name":"tally","version":"1.2.0-dev","kurentoVersion":"^7.0.0","imports":"#
        ),
        "{text}"
    );
    assert!(!text.contains('\n'));

    let class = m.class("LevelMeter").unwrap();
    assert_eq!(
        project.hierarchy(m, class),
        [
            "kurento.Filter",
            "kurento.MediaElement",
            "kurento.MediaObject"
        ]
    );
    let mut events = project.class_events(m, class);
    events.sort();
    assert_eq!(
        events,
        [
            "ElementConnected",
            "ElementDisconnected",
            "Error",
            "LevelCrossed",
            "MediaFlowInStateChanged",
            "MediaFlowOutStateChanged",
            "MediaTranscodingStateChanged"
        ]
    );
    let summary = m.simple_summary();
    assert_eq!(
        summary[..7],
        [
            "RemoteClass:\tLevelMeter",
            "Event:\tLevelCrossed",
            "ComplexType:\tMeterScale",
            "ComplexType:\tMeterWindow",
            "Dep: core ^7.0.0",
            "Dep: elements ^7.0.0",
            "Dep: filters ^7.0.0"
        ]
    );
    assert!(summary[7].starts_with("Digest: ") && summary[7].len() == "Digest: ".len() + 32);

    // The generated dispatcher offers exactly the documented operations.
    let code = kurento_module_creator::rust::generate(&project, m).unwrap();
    for op in [
        "\"reset\"",
        "\"peakSince\"",
        "\"getThreshold\"",
        "\"setThreshold\"",
        "\"getLastLevels\"",
        "\"getLabels\"",
        "\"setLabels\"",
    ] {
        assert!(
            code.contains(&format!("        {op} => (||")),
            "operation {op}"
        );
    }
    assert!(
        !code.contains("\"setLastLevels\" =>"),
        "read-only property has no setter"
    );
    assert!(code.contains("fn peak_since(&self, since_millis: i64, channel: Option<i32>) -> Result<f32, KurentoError>;"));
    assert!(code.contains("pub window: MeterWindow"));
    assert!(code.contains(r#"default_value::<MeterScale>("\"DBFS\"")"#));
    let _ = std::fs::remove_dir_all(&dir);
}
