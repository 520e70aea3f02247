// SPDX-License-Identifier: MPL-2.0
//! Helpers for the integration tests: where the bundled media is, and its ground truth.

use std::path::PathBuf;

pub mod pipeline;

/// A file of `gst-tests/media`.
pub fn media(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("media")
        .join(name)
}
