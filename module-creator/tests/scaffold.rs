// SPDX-License-Identifier: MPL-2.0
//! A scaffolded module of each flavour, in a temporary directory outside the repository, builds
//! with one cargo invocation, passes its own generated tests, and its element shows in
//! gst-inspect-1.0 and runs in a gst-launch-1.0 pipeline.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn scaffold_and_check(prefix: &str, name: &str, snake: &str, opencv: bool, element: &str) {
    let tmp = std::env::temp_dir().join(format!("kmc-scaffold-{}-{snake}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-scaffold"))
        .args([
            "--output",
            tmp.to_str().unwrap(),
            prefix,
            name,
            snake,
            if opencv { "true" } else { "false" },
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = tmp.join(snake.replace('_', "-"));
    let kmd = std::fs::read_to_string(
        project.join(format!("interface/{}.{name}.kmd.json", name.to_lowercase())),
    )
    .unwrap();
    assert!(kmd.contains(if opencv {
        "\"OpenCVFilter\""
    } else {
        "\"Filter\""
    }));

    // Shared by both flavours and kept between runs, so dependencies build once.
    let target = repo().join("target").join("scaffold-check");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // `cargo build` leaves the two libraries in target/debug; `cargo test` runs the generated tests.
    for cmd in ["build", "test"] {
        let status = Command::new(&cargo)
            .arg(cmd)
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("CARGO_MANIFEST_DIR")
            .env_remove("CARGO_PKG_NAME")
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cargo {cmd} of the scaffolded {name} project failed"
        );
    }

    let plugins = target.join("debug");
    let registry = tmp.join("registry.bin");
    let inspect = Command::new("gst-inspect-1.0")
        .arg(element)
        .env("GST_PLUGIN_PATH", &plugins)
        .env("GST_REGISTRY", &registry)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        inspect.status.success(),
        "gst-inspect-1.0 {element}: {}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    assert!(
        text.contains("Video/Filter") && text.contains("invert"),
        "{text}"
    );

    let launch = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=20",
            "!",
            "videoconvert",
            "!",
            element,
            "invert=true",
            "!",
            "videoconvert",
            "!",
            "fakesink",
        ])
        .env("GST_PLUGIN_PATH", &plugins)
        .env("GST_REGISTRY", &registry)
        .output()
        .unwrap();
    assert!(
        launch.status.success(),
        "gst-launch-1.0 with {element}: {}",
        String::from_utf8_lossy(&launch.stderr)
    );
    assert!(
        plugins
            .join(format!("libkms{}module.so", name.to_lowercase()))
            .is_file(),
        "module library built"
    );

    // The server of this workspace, when built in the same profile, lists the new factories.
    let server = Path::new(env!("CARGO_BIN_EXE_kurento-module-scaffold"))
        .with_file_name("kurento-media-server");
    if server.is_file() {
        let list = Command::new(&server)
            .arg("--list")
            .env("KURENTO_MODULES_PATH", &plugins)
            .env("GST_PLUGIN_PATH", &plugins)
            .env("GST_REGISTRY", &registry)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&list.stdout);
        assert!(
            list.status.success(),
            "{}",
            String::from_utf8_lossy(&list.stderr)
        );
        let lower = name.to_lowercase();
        assert!(
            text.contains(&format!("\t{name}\n")) && text.contains(&format!("\t{lower}.{name}\n")),
            "{text}"
        );
    } else {
        eprintln!(
            "{} not built: factory listing not checked",
            server.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn gstreamer_flavour_builds_and_runs() {
    scaffold_and_check(
        "App",
        "VideoModule",
        "video_module",
        false,
        "appvideomodule",
    );
}

#[test]
fn opencv_flavour_builds_and_runs() {
    scaffold_and_check("Cv", "EdgeFinder", "edge-finder", true, "cvedgefinder");
}

#[test]
fn usage_and_bad_names() {
    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-scaffold"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: kurento-module-scaffold"));
    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-scaffold"))
        .args([
            "--output",
            std::env::temp_dir().to_str().unwrap(),
            "App",
            "video module!",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CamelCaseName"));
}
