// SPDX-License-Identifier: MPL-2.0
//! What both elements share: bins of stock children behind always-present ghost pads, where
//! a missing child fails the first state change instead of removing the pads.

use gst::prelude::*;

/// Caps of the data pads (elements.md §1.3): plain UTF-8 text, one message per buffer.
pub const DATA_CAPS: &str = "application/data";

/// Creates the stock child `factory`, or says which plugin is missing.
pub(crate) fn make_child(factory: &str, name: &str, package: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| format!("GStreamer element '{factory}' not available (install {package})"))
}

/// Always-present templates: raw video `sink` and `src`, and the `application/data` pads
/// `data` (name, direction).
pub(crate) fn pad_templates(data: &[(&str, gst::PadDirection)]) -> Vec<gst::PadTemplate> {
    let video = gst::Caps::new_empty_simple("video/x-raw");
    let data_caps = gst::Caps::new_empty_simple(DATA_CAPS);
    let t = |name: &str, dir, caps: &gst::Caps| {
        gst::PadTemplate::new(name, dir, gst::PadPresence::Always, caps).unwrap()
    };
    let mut v = vec![
        t("sink", gst::PadDirection::Sink, &video),
        t("src", gst::PadDirection::Src, &video),
    ];
    v.extend(data.iter().map(|(n, d)| t(n, *d, &data_caps)));
    v
}

/// One ghost pad, without target yet, per pad template of the element's class.
fn add_ghost_pads(bin: &gst::Bin) {
    for templ in bin.element_class().pad_template_list() {
        let pad = gst::GhostPad::builder_from_template(&templ)
            .name(templ.name_template())
            .build();
        bin.add_pad(&pad).expect("fresh pad");
    }
}

/// What `constructed` does: the ghost pads first and always, then the children; a failure
/// is logged here and fails the first state change later ([`check_children`]).
pub(crate) fn construct<T>(
    bin: &gst::Bin,
    cat: gst::DebugCategory,
    build: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    add_ghost_pads(bin);
    let children = build();
    if let Err(e) = &children {
        gst::error!(cat, obj = bin, "{e}");
    }
    children
}

/// Points the ghost pad `pad` of `bin` at `target`.
pub(crate) fn set_target(bin: &gst::Bin, pad: &str, target: &gst::Pad) {
    if let Some(g) = bin.static_pad(pad).and_downcast::<gst::GhostPad>() {
        let _ = g.set_target(Some(target));
    }
}

/// Before the first state change: an ERROR naming the missing child when the children could
/// not be made.
pub(crate) fn check_children<T>(
    element: &gst::Element,
    children: Option<&Result<T, String>>,
    transition: gst::StateChange,
) -> Result<(), gst::StateChangeError> {
    if transition == gst::StateChange::NullToReady
        && let Some(Err(e)) = children
    {
        gst::element_error!(element, gst::CoreError::MissingPlugin, ("{}", e));
        return Err(gst::StateChangeError);
    }
    Ok(())
}
