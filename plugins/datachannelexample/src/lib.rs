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

mod children;
mod kmssenddata;
mod kmsshowdata;

pub use children::DATA_CAPS;

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
