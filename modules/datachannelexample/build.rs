// SPDX-License-Identifier: MPL-2.0
//! Generates the typed interface of the module from interface/*.kmd.json into OUT_DIR.

fn main() {
    kurento_module_creator::build::generate("interface", &[]);
}
