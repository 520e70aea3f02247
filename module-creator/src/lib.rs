// SPDX-License-Identifier: MPL-2.0
//! Kurento module descriptors (`*.kmd.json`) and the code made from them.
//!
//! * [`json`]: a lenient JSON reader keeping positions (Kurento's files are not strict JSON);
//! * [`model`]: what a descriptor says; [`resolve`]: fusion, imports, versions, type resolution
//!   and defaults, giving a [`Project`] of resolved modules (kmd-format.md §11);
//! * [`rust`]: Rust server stubs for the module ABI (`kurento-module-abi`), used from a module's
//!   `build.rs` through [`build`];
//! * [`js`]: JavaScript client modules for `kurento-client` and their TypeScript declarations.
//!
//! Every error names the file, line and column it refers to ([`Diagnostic`]).

pub mod error;
pub mod js;
pub mod json;
pub mod model;
pub mod resolve;
pub mod rust;
mod templates;
pub mod version;

pub use error::{Diagnostic, Errors, Loc};
pub use model::Module;
pub use resolve::{Project, load_module};

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// The descriptors of `core`, `elements` and `filters` as shipped with this crate, fused but
/// not resolved. Dependencies of every other module.
pub fn builtin_modules() -> Vec<Module> {
    ["core", "elements", "filters"]
        .iter()
        .map(|m| {
            let docs = BUILTIN_FILES
                .iter()
                .filter(|(module, _, _)| module == m)
                .map(|(module, file, text)| {
                    let path = PathBuf::from(format!("<builtin>/{module}/interface/{file}"));
                    resolve::read_document(&path, text).expect("built-in descriptors are valid")
                })
                .collect();
            resolve::fuse(docs).expect("built-in descriptors are valid")
        })
        .collect()
}

/// Loads the module in `interface` and resolves it against the built-in modules plus the
/// modules found in `deps` (each a directory of one module's descriptor files, or the
/// single-file resolved descriptor of a module).
pub fn resolve_module_dirs<P: AsRef<Path>, Q: AsRef<Path>>(
    interface: &[P],
    deps: &[Q],
) -> Result<Project, Errors> {
    let module = load_module(interface)?;
    let mut dep_modules = Vec::new();
    for d in deps {
        dep_modules.push(load_module(&[d.as_ref()])?);
    }
    for b in builtin_modules() {
        if !dep_modules.iter().any(|m| m.name == b.name) {
            dep_modules.push(b);
        }
    }
    Project::resolve(vec![module], dep_modules)
}

/// Loads every module under `modules_dir/<m>/interface` (this repository's layout) and resolves
/// them together, all of them being generated.
pub fn resolve_tree(modules_dir: &Path) -> Result<Project, Errors> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(modules_dir)
        .map_err(|e| Diagnostic::general(format!("{}: {e}", modules_dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path().join("interface")))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut modules = Vec::new();
    let mut errors = Vec::new();
    for d in dirs {
        match load_module(&[&d]) {
            Ok(m) => modules.push(m),
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(Errors(errors));
    }
    Project::resolve(modules, Vec::new())
}

/// Helpers for a module crate's `build.rs`.
pub mod build {
    use super::*;

    /// Generates the Rust stubs of the module whose descriptors are in `interface` (relative to
    /// the crate) into `$OUT_DIR/generated.rs`. `deps` are descriptor directories or files of
    /// non-built-in modules it imports. Errors are printed with file, line and column and the
    /// build fails; no panic.
    pub fn generate<P: AsRef<Path>>(interface: P, deps: &[P]) {
        let interface = interface.as_ref();
        println!("cargo:rerun-if-changed={}", interface.display());
        for d in deps {
            println!("cargo:rerun-if-changed={}", d.as_ref().display());
        }
        if let Ok(files) = resolve::find_kmd_files(interface) {
            for f in files {
                println!("cargo:rerun-if-changed={}", f.display());
            }
        }
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
        let result = resolve_module_dirs(&[interface], deps).and_then(|p| {
            let code = rust::generate(&p, &p.modules[0])?;
            std::fs::write(out.join("generated.rs"), code)
                .map_err(|e| Diagnostic::general(format!("cannot write generated.rs: {e}")).into())
        });
        if let Err(e) = result {
            for d in &e.0 {
                println!("cargo:warning={d}");
            }
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
