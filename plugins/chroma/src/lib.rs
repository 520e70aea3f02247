// SPDX-License-Identifier: MPL-2.0
#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

/**
 * plugin-chroma:
 *
 * Kurento's `chroma` element (remote class `ChromaFilter`): chroma keying with a colour
 * range learnt from a calibration window.
 */
use gst::glib;

mod chroma;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    chroma::register(plugin)
}

gst::plugin_define!(
    chroma,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
