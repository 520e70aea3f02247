// SPDX-License-Identifier: MPL-2.0
//! The creator's command line on the project's own descriptors: summaries, values, resolved
//! model, internal and custom template sets, and the overwrite policy.

use std::path::{Path, PathBuf};
use std::process::Command;

fn creator(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kurento-module-creator"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn chroma() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../modules/chroma/interface")
        .display()
        .to_string()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kmc-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn summary_values_and_output_model() {
    let (code, out, _) = creator(&["-r", &chroma(), "-p"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "RemoteClass:\tChromaFilter\nComplexType:\tWindowParam\nDep: core ^7.1.0\n"
        ),
        "{out}"
    );
    let (code, out, _) = creator(&[
        "-r",
        &chroma(),
        "-s",
        "name",
        "code.implementation.lib",
        "remoteClasses.0.name",
        "nope",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Value: name = chroma\nValue: code.implementation.lib = libkmschroma\nValue: remoteClasses.0.name = ChromaFilter\nValue: nope = null\n"
    );
    let dir = tmp("model");
    let (code, out, err) = creator(&["-r", &chroma(), "-o", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("Generation success\n"));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chroma.kmd.json")).unwrap())
            .unwrap();
    assert_eq!(
        model["code"]["api"]["java"]["mavenVersion"],
        "7.3.1-SNAPSHOT"
    );
    assert_eq!(model["imports"][2]["name"], "filters");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn templates_and_overwrite_policy() {
    let templates = tmp("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("remoteClass_doc.hbs"), "classes/{{remoteClass.name}}.txt\n{{remoteClass.name}} of {{module.name}}: {{#each hierarchy}}{{this}} {{/each}}\n").unwrap();
    std::fs::write(
        templates.join("model_empty.hbs"),
        "{{#if module.nothing}}x{{/if}}",
    )
    .unwrap();
    let out_dir = tmp("out");
    let args = [
        "-r",
        &chroma(),
        "-c",
        out_dir.to_str().unwrap(),
        "-t",
        templates.to_str().unwrap(),
        "-lf",
    ];
    let (code, out, err) = creator(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("No file generation because applying template 'model_empty.hbs' is empty"),
        "{out}"
    );
    assert!(
        out.contains("Processed file:\tclasses/ChromaFilter.txt\n"),
        "{out}"
    );
    let text = std::fs::read_to_string(out_dir.join("classes/ChromaFilter.txt")).unwrap();
    assert_eq!(
        text,
        "ChromaFilter of chroma: kurento.Filter kurento.MediaElement kurento.MediaObject \n"
    );
    // Unchanged content is not rewritten.
    let (_, out, _) = creator(&args);
    assert!(
        out.contains("Processed file:\tclasses/ChromaFilter.txt\t(not generated)"),
        "{out}"
    );
    // -n keeps an edited file.
    std::fs::write(out_dir.join("classes/ChromaFilter.txt"), "edited").unwrap();
    let mut keep = args.to_vec();
    keep.push("-n");
    creator(&keep);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("classes/ChromaFilter.txt")).unwrap(),
        "edited"
    );
    creator(&args);
    assert_ne!(
        std::fs::read_to_string(out_dir.join("classes/ChromaFilter.txt")).unwrap(),
        "edited"
    );

    // Bundled sets; -d empties the directory first.
    std::fs::write(out_dir.join("stale.txt"), "x").unwrap();
    let (code, out, _) = creator(&[
        "-r",
        &chroma(),
        "-c",
        out_dir.to_str().unwrap(),
        "-it",
        "rust",
        "-d",
        "-lf",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("Processed file:\tgenerated.rs"));
    assert!(!out_dir.join("stale.txt").exists());
    let (code, _, err) = creator(&[
        "-r",
        &chroma(),
        "-c",
        out_dir.to_str().unwrap(),
        "-it",
        "cobol",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown internal template set 'cobol'; valid: rust, js"),
        "{err}"
    );
    let (code, _, err) = creator(&[
        "-r",
        &chroma(),
        "-c",
        out_dir.to_str().unwrap(),
        "-t",
        "/nonexistent",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("does not exist"), "{err}");
    let _ = std::fs::remove_dir_all(&out_dir);
    let _ = std::fs::remove_dir_all(&templates);
}
