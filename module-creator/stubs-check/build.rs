// SPDX-License-Identifier: MPL-2.0
//! Generates the stubs of every module of the repository (`modules/*/interface`) into OUT_DIR,
//! exactly as a module crate's build.rs would, one file per module.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../modules");
    println!("cargo:rerun-if-changed={}", root.display());
    let project = match kurento_module_creator::resolve_tree(&root) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for m in project.generated_modules() {
        for f in &m.files {
            println!("cargo:rerun-if-changed={}", f.display());
        }
        match kurento_module_creator::rust::generate(&project, m) {
            Ok(code) => std::fs::write(out.join(format!("{}.rs", m.name)), code).unwrap(),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
