// SPDX-License-Identifier: MPL-2.0
#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

/**
 * plugin-kmsfilters:
 *
 * Kurento's face and overlay filters, re-implemented: `kmsfacedetector` finds faces and sends
 * them downstream as `faces` events (and bus messages), `kmsimageoverlay` draws an image on
 * each face it is told about, `kmsfaceoverlay` is the two chained (the element behind
 * `FaceOverlayFilter`), and `kmslogooverlay` draws images at fixed frame positions (the
 * element behind `ImageOverlayFilter`).
 */
use gst::glib;

mod facedetector;
mod faceoverlay;
mod faces;
mod imageoverlay;
mod logooverlay;

pub use faces::{Face, FacesEvent};

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    facedetector::register(plugin)?;
    imageoverlay::register(plugin)?;
    faceoverlay::register(plugin)?;
    logooverlay::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    kmsfilters,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL-2.0",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
