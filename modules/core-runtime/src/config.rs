// SPDX-License-Identifier: MPL-2.0
//! Per-class configuration files (server.md §3.2): `<dir>/<module>/<Class>.conf.json` or
//! `.conf.ini` under the colon-separated directories of `KURENTO_MODULES_CONFIG_PATH`, which the
//! server sets from `--modules-config-path` (default `<config dir>/modules`). `<module>` is
//! `kurento` for core, elements and filters.

use std::path::Path;

use serde_json::{Map, Value};

/// Parses Kurento's INI flavour: `key = value` lines, `[section]` headers becoming nested
/// objects, `;` / `#` comments. Values stay strings, as in Kurento's property tree.
fn parse_ini(text: &str) -> Value {
    let mut root = Map::new();
    let mut section: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim().to_string(), Value::String(v.trim().to_string()));
        match &section {
            None => {
                root.insert(k, v);
            }
            Some(s) => {
                let entry = root
                    .entry(s.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(o) = entry.as_object_mut() {
                    o.insert(k, v);
                }
            }
        }
    }
    Value::Object(root)
}

fn read(dir: &Path, module: &str, class: &str) -> Option<Value> {
    let base = dir.join(module);
    if let Ok(t) = std::fs::read_to_string(base.join(format!("{class}.conf.json"))) {
        return serde_json::from_str(&t).ok();
    }
    std::fs::read_to_string(base.join(format!("{class}.conf.ini")))
        .ok()
        .map(|t| parse_ini(&t))
}

/// The configuration tree of `class` of `module` (e.g. `("kurento", "GStreamerFilter")`), from
/// the first configuration directory that has one.
pub fn class_config(module: &str, class: &str) -> Option<Value> {
    let dirs = std::env::var("KURENTO_MODULES_CONFIG_PATH").ok()?;
    dirs.split(':')
        .filter(|d| !d.is_empty())
        .find_map(|d| read(Path::new(d), module, class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_and_json_files() {
        let dir = std::env::temp_dir().join(format!("kms-modconf-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("kurento")).unwrap();
        std::fs::write(
            dir.join("kurento/MediaElement.conf.ini"),
            "; bitrates\nencoderBitrate=500000\n[extra]\n key = v \n",
        )
        .unwrap();
        std::fs::write(
            dir.join("kurento/GStreamerFilter.conf.json"),
            r#"{"allowedElements": ["videoflip"]}"#,
        )
        .unwrap();
        let ini = read(&dir, "kurento", "MediaElement").unwrap();
        assert_eq!(ini["encoderBitrate"], "500000");
        assert_eq!(ini["extra"]["key"], "v");
        let json = read(&dir, "kurento", "GStreamerFilter").unwrap();
        assert_eq!(json["allowedElements"][0], "videoflip");
        assert!(read(&dir, "chroma", "ChromaFilter").is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
