// SPDX-License-Identifier: MPL-2.0
#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

/**
 * plugin-pointerdetector:
 *
 * Kurento's `pointerdetector` element (remote class `PointerDetectorFilter`): tracks a pointer
 * of a calibrated colour and posts `window-in` / `window-out` messages for rectangular windows.
 */
use gst::glib;

mod pointerdetector;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    pointerdetector::register(plugin)
}

gst::plugin_define!(
    pointerdetector,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
