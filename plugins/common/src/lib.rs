// SPDX-License-Identifier: MPL-2.0
//! Code that several Kurento filter elements need in the same form.
//!
//! * [`image`]: overlay/background images decoded to 8-bit BGRA from a path, `file://` or
//!   `http(s)://` URI, loaded on a small worker pool so a streaming thread never waits on I/O.
//! * [`bench`]: decoded clips and process CPU time for the elements' benchmarks.
//! * [`colorkey`]: OpenCV-exact HSV, per-colour range lookup tables and 1-bit masks with
//!   morphology, for colour keying without whole-frame conversions.
//! * [`draw`]: outlines and discs drawn into packed frames.
//! * [`pixels`]: packed RGB frame layouts and alpha compositing of a BGRA image into a frame.
//! * [`templates`]: the `sink`/`src` pad templates of in-place filters.

pub mod bench;
pub mod colorkey;
pub mod draw;
pub mod image;
pub mod pixels;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use image::{BgraImage, ImageLoadError, PendingWarnings, load_image, spawn_image_load};
pub use pixels::{PackedLayout, composite};
