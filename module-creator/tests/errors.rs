// SPDX-License-Identifier: MPL-2.0
//! Broken descriptors: each gives a clear message naming the file, line and column, the
//! offending key or type, and (where it helps) the names that would have been valid.

use kurento_module_creator::resolve_module_dirs;
use std::path::PathBuf;
use std::process::Command;

/// Writes `files` into a fresh directory and returns it.
fn module_dir(case: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kmc-errors-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

const HEADER: &str = r#"{
  "name": "tally",
  "version": "1.2.0-dev",
  "kurentoVersion": "^7.0.0"
}
"#;

fn class_file(body: &str) -> String {
    format!(
        r#"{{
  "remoteClasses": [
    {{
      "name": "LevelMeter",
      "extends": "Filter",
{body}
    }}
  ]
}}
"#
    )
}

struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    /// (file, line) the first error must point at.
    at: (&'static str, u32),
    message: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "unknown type",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                (
                    "tally.LevelMeter.kmd.json",
                    class_file(
                        r#"      "constructor": { "params": [
        { "name": "mediaPipeline", "type": "MediaPipeline" },
        { "name": "scale", "type": "MeterScal" } ] }"#,
                    ),
                ),
            ],
            at: ("tally.LevelMeter.kmd.json", 8),
            message: &["The type 'MeterScal' is not defined in module tally neither in kurento", "Valid names here:", "MediaType", "int64"],
        },
        Case {
            name: "missing name",
            files: vec![("tally.kmd.json", r#"{ "version": "1.0.0", "kurentoVersion": "^7.0.0" }"#.into())],
            at: ("tally.kmd.json", 1),
            message: &["the module has no 'name' in any of its kmd files"],
        },
        Case {
            name: "missing version",
            files: vec![("tally.kmd.json", "{\n  \"name\": \"tally\",\n  \"kurentoVersion\": \"^7.0.0\"\n}".into())],
            at: ("tally.kmd.json", 1),
            message: &["the module has no 'version'"],
        },
        Case {
            name: "missing kurentoVersion",
            files: vec![("tally.kmd.json", "{\n  \"name\": \"tally\",\n  \"version\": \"1.0.0\"\n}".into())],
            at: ("tally.kmd.json", 1),
            message: &["the module has no 'kurentoVersion'"],
        },
        Case {
            name: "bad import range",
            files: vec![(
                "tally.kmd.json",
                "{\n  \"name\": \"tally\",\n  \"version\": \"1.0.0-dev\",\n  \"kurentoVersion\": \"^7.0.0\",\n  \"imports\": [\n    { \"name\": \"core\", \"version\": \"^9.0.0\" }\n  ]\n}".into(),
            )],
            at: ("tally.kmd.json", 6),
            message: &["import core with version ^9.0.0 not found, found version 7.3.1-dev"],
        },
        Case {
            name: "import of an unknown module",
            files: vec![(
                "tally.kmd.json",
                "{\n  \"name\": \"tally\",\n  \"version\": \"1.0.0-dev\",\n  \"kurentoVersion\": \"^7.0.0\",\n  \"imports\": [ { \"name\": \"chrome\", \"version\": \"^7.0.0\" } ]\n}".into(),
            )],
            at: ("tally.kmd.json", 5),
            message: &["import 'chrome'", "not found in any version", "known modules: core, elements, filters"],
        },
        Case {
            name: "unparsable import version",
            files: vec![(
                "tally.kmd.json",
                "{\n  \"name\": \"tally\",\n  \"version\": \"1.0.0-dev\",\n  \"kurentoVersion\": \">=seven\"\n}".into(),
            )],
            at: ("tally.kmd.json", 2),
            message: &["bad version '>=seven' of import 'core'", "'seven' is not a version"],
        },
        Case {
            name: "duplicate class",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.A.kmd.json", class_file(r#"      "doc": "one""#)),
                ("tally.B.kmd.json", class_file(r#"      "doc": "two""#)),
            ],
            at: ("tally.B.kmd.json", 3),
            message: &["duplicate type 'LevelMeter' in module tally"],
        },
        Case {
            name: "name set in two files",
            files: vec![("tally.kmd.json", HEADER.into()), ("tally.more.kmd.json", "{\n  \"name\": \"other\"\n}".into())],
            at: ("tally.more.kmd.json", 2),
            message: &["'name' can only be set in one kmd file (already set at", "tally.kmd.json:2:3"],
        },
        Case {
            name: "malformed JSON",
            files: vec![("tally.kmd.json", "{\n  \"name\": \"tally\",\n  \"version\": \"1.0.0\"\n  \"kurentoVersion\": \"^7.0.0\"\n}".into())],
            at: ("tally.kmd.json", 4),
            message: &["malformed JSON: expected ',' or '}' in an object, found '\"'"],
        },
        Case {
            name: "wrong param shape",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.LevelMeter.kmd.json", class_file(r#"      "methods": [ { "name": "reset", "params": { "name": "x", "type": "int" } } ]"#)),
            ],
            at: ("tally.LevelMeter.kmd.json", 6),
            message: &["'params' of method 'reset' of remote class 'LevelMeter' must be an array, found an object"],
        },
        Case {
            name: "param without type",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.LevelMeter.kmd.json", class_file(r#"      "methods": [ { "name": "reset", "params": [ { "name": "x" } ] } ]"#)),
            ],
            at: ("tally.LevelMeter.kmd.json", 6),
            message: &["parameter 'x' of method 'reset' of remote class 'LevelMeter' has no 'type'"],
        },
        Case {
            name: "two dots",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.LevelMeter.kmd.json", class_file(r#"      "properties": [ { "name": "p", "type": "kurento.core.MediaType" } ]"#)),
            ],
            at: ("tally.LevelMeter.kmd.json", 6),
            message: &["type 'kurento.core.MediaType'", "more than one '.'"],
        },
        Case {
            name: "kurento qualifier is not a module",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.LevelMeter.kmd.json", class_file(r#"      "properties": [ { "name": "p", "type": "kurento.MediaType" } ]"#)),
            ],
            at: ("tally.LevelMeter.kmd.json", 6),
            message: &["The type 'kurento.MediaType' is not defined"],
        },
        Case {
            name: "event used as a parameter type",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.LevelMeter.kmd.json", class_file(r#"      "properties": [ { "name": "p", "type": "EndOfStream" } ]"#)),
            ],
            at: ("tally.LevelMeter.kmd.json", 6),
            message: &["type 'EndOfStream' of 'p' of properties of remote class LevelMeter is an event, which is not allowed there"],
        },
        Case {
            name: "optional constructor parameter without default",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                (
                    "tally.LevelMeter.kmd.json",
                    class_file(
                        r#"      "constructor": { "params": [
        { "name": "mediaPipeline", "type": "MediaPipeline" },
        { "name": "level", "type": "int", "optional": true } ] }"#,
                    ),
                ),
            ],
            at: ("tally.LevelMeter.kmd.json", 8),
            message: &["optional constructor parameter 'level' of LevelMeter needs a 'defaultValue'"],
        },
        Case {
            name: "release importing a development version",
            files: vec![(
                "tally.kmd.json",
                "{\n  \"name\": \"tally\",\n  \"version\": \"1.0.0\",\n  \"kurentoVersion\": \"7.3.1-dev\"\n}".into(),
            )],
            at: ("tally.kmd.json", 2),
            message: &["release module tally 1.0.0 cannot import development version '7.3.1-dev' of core"],
        },
        Case {
            name: "unknown typeFormat",
            files: vec![
                ("tally.kmd.json", HEADER.into()),
                ("tally.T.kmd.json", "{\n  \"complexTypes\": [\n    { \"name\": \"T\", \"typeFormat\": \"STRUCT\" }\n  ]\n}".into()),
            ],
            at: ("tally.T.kmd.json", 3),
            message: &["'typeFormat' of complex type 'T' is 'STRUCT'; valid: REGISTER, ENUM"],
        },
    ]
}

#[test]
fn broken_descriptors_give_located_messages() {
    for case in cases() {
        let files: Vec<(&str, &str)> = case.files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let slug: String = case
            .name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        let dir = module_dir(&slug, &files);
        let deps: [&str; 0] = [];
        let err = match resolve_module_dirs(&[&dir], &deps) {
            Ok(_) => panic!("case '{}' was accepted", case.name),
            Err(e) => e,
        };
        let first = &err.0[0];
        let text = first.to_string();
        let loc = first
            .loc
            .as_ref()
            .unwrap_or_else(|| panic!("case '{}' has no location: {text}", case.name));
        assert!(
            loc.file.ends_with(case.at.0),
            "case '{}': file of {text}",
            case.name
        );
        assert_eq!(
            loc.pos.line, case.at.1,
            "case '{}': line of {text}",
            case.name
        );
        assert!(text.contains(&format!("{}", loc.file.display())), "{text}");
        for m in case.message {
            assert!(
                text.contains(m),
                "case '{}': expected «{m}» in «{text}»",
                case.name
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_cli_reports_errors_on_stderr_with_status_1() {
    let dir = module_dir(
        "cli",
        &[
            ("tally.kmd.json", HEADER),
            (
                "tally.X.kmd.json",
                "{ \"events\": [ { \"name\": \"E\", \"extends\": \"Nope\" } ] }",
            ),
        ],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-creator"))
        .arg("-r")
        .arg(&dir)
        .arg("-p")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tally.X.kmd.json:1:"), "{err}");
    assert!(err.contains("The type 'Nope' is not defined"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-creator"))
        .arg("-p")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Missing required option: r"));
    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-creator"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: kurento-module-creator"));
    let _ = std::fs::remove_dir_all(&dir);
}
