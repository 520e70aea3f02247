// SPDX-License-Identifier: MPL-2.0
//! Code that several Kurento filter elements need in the same form.
//!
//! * [`image`]: overlay/background images decoded to 8-bit BGRA from a path, `file://` or
//!   `http(s)://` URI, loaded on a small worker pool so a streaming thread never waits on I/O.
//! * [`pixels`]: packed RGB frame layouts and alpha compositing of a BGRA image into a frame.

pub mod image;
pub mod pixels;

pub use image::{BgraImage, ImageLoadError, PendingWarnings, load_image, spawn_image_load};
pub use pixels::{PackedLayout, composite};
