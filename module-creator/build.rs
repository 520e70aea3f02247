// SPDX-License-Identifier: MPL-2.0
//! Embeds the descriptors of the built-in modules (core, elements, filters), so that a module
//! crate anywhere can resolve its types against them without a copy on disk.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../modules");
    let mut out = String::from("pub(crate) const BUILTIN_FILES: &[(&str, &str, &str)] = &[\n");
    for module in ["core", "elements", "filters"] {
        let dir = root.join(module).join("interface");
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".kmd.json"))
            .collect();
        files.sort();
        for f in files {
            println!("cargo:rerun-if-changed={}", f.display());
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let abs = f.canonicalize().unwrap();
            writeln!(
                out,
                "    ({module:?}, {name:?}, include_str!({:?})),",
                abs.display().to_string()
            )
            .unwrap();
        }
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("builtin_files.rs");
    std::fs::write(dest, out).unwrap();
}
