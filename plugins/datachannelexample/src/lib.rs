// SPDX-License-Identifier: MPL-2.0
#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

/**
 * plugin-datachannelexample:
 *
 * Kurento's data-channel example elements: `kmssenddata` reads bar codes in the video and
 * sends their text on an `application/data` pad; `kmsshowdata` draws the text it receives on
 * an `application/data` pad over the video.
 */
use gst::glib;

mod kmssenddata;
mod kmsshowdata;

/// Caps of the data pads (elements.md §1.3): plain UTF-8 text, one message per buffer.
pub const DATA_CAPS: &str = "application/data";

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    kmssenddata::register(plugin)?;
    kmsshowdata::register(plugin)
}

gst::plugin_define!(
    datachannelexample,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);

/// Creates the stock child `factory`, or says which plugin is missing (checked again at the
/// first state change, so the element fails loudly instead of running without it).
fn make_child(factory: &str, name: &str, package: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| format!("GStreamer element '{factory}' not available (install {package})"))
}
