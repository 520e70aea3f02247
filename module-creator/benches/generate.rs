// SPDX-License-Identifier: MPL-2.0
//! Time to generate the Rust server stubs of every module of the project, from the descriptor
//! files on disk: read, fuse, resolve, render (target ≤ 70 ms). The peer measured in the same
//! run is a plain strict `serde_json` parse of the same files, the floor of any approach that
//! reads them.
//!
//! Run: `cargo bench -p kurento-module-creator --bench generate`

use std::path::Path;
use std::time::{Duration, Instant};

fn generate_all(modules: &Path) -> usize {
    let project =
        kurento_module_creator::resolve_tree(modules).expect("project descriptors are valid");
    project
        .generated_modules()
        .iter()
        .map(|m| {
            kurento_module_creator::rust::generate(&project, m)
                .expect("generation works")
                .len()
        })
        .sum()
}

fn parse_all(modules: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(modules).unwrap().flatten() {
        let dir = entry.path().join("interface");
        for f in kurento_module_creator::resolve::find_kmd_files(&dir).unwrap_or_default() {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            n += v.as_object().map_or(0, |o| o.len());
        }
    }
    n
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../modules");
    // Cold: the first run of the process also compiles the templates.
    let t = Instant::now();
    let bytes = generate_all(&modules);
    let cold = t.elapsed();
    let runs = 30;
    let mut gen_times = Vec::new();
    let mut parse_times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(generate_all(&modules));
        gen_times.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(parse_all(&modules));
        parse_times.push(t.elapsed());
    }
    let g = median(gen_times);
    let p = median(parse_times);
    println!("Rust stubs of all project modules: {bytes} bytes of Rust");
    println!(
        "  cold (first run, templates compiled): {:.1} ms",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "  warm median of {runs}: {:.1} ms (target <= 70 ms)",
        g.as_secs_f64() * 1e3
    );
    println!(
        "  peer, strict serde_json parse of the same files: {:.2} ms",
        p.as_secs_f64() * 1e3
    );
    println!(
        "  ratio generation / parse: {:.1}x",
        g.as_secs_f64() / p.as_secs_f64()
    );
}
