// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-kmsshowdata
 *
 * Draws the text received on the `data_sink` pad (`application/data`, one UTF-8 message per
 * buffer) over the video going from `sink` to `src`, with a `textoverlay` child (font
 * "sans-serif, 26"). A message stays on screen until the next one; an empty message clears
 * it. Data buffers leave unchanged through `data_src`, so the element can sit in a data path
 * (Kurento forwards them to its data tee). This is the element behind Kurento's `KmsShowData`
 * (elements.md §14.2).
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 kmsshowdata name=show ! videoconvert ! autovideosink \
 *   videotestsrc is-live=true ! show.sink \
 *   appsrc caps=application/data ! show.data_sink
 * ```
 *
 * ## Decisions
 * - `textoverlay` (Debian `gstreamer1.0-x`) and `videoconvert` are needed. When one is missing
 *   the element still has all its pads, logs the reason when created and fails its first state
 *   change with a CORE/MISSING_PLUGIN error naming the element and the package (Kurento ended
 *   up with an element without pads).
 * - The text is what precedes the first NUL byte, as in Kurento. Bytes that are not UTF-8
 *   are shown as U+FFFD and a WARNING says so (Kurento handed them to Pango as they were).
 * - The text is escaped before it reaches `textoverlay`, whose `text` is Pango markup: a
 *   message such as `a < b & c` is shown as written (Kurento's raw text made Pango fail on it
 *   and show nothing).
 * - `videoconvert` on both sides of the overlay: any raw video format goes in, and the same
 *   format comes out whenever `textoverlay` supports it (then both converters pass through).
 */
use std::sync::{LazyLock, OnceLock};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::children::{check_children, construct, make_child, pad_templates, set_target};

const DEFAULT_FONT_DESC: &str = "sans-serif, 26";

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "kmsshowdata",
        gst::DebugColorFlags::empty(),
        Some("Kurento's show-data element"),
    )
});

/// The message of a data buffer: the bytes before the first NUL, decoded as UTF-8 with
/// invalid sequences replaced; `true` when some bytes were not UTF-8.
pub(crate) fn message_text(bytes: &[u8]) -> (String, bool) {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
    }
}

#[derive(Default)]
pub struct KmsShowData {
    /// Whether the children could be made, or why not.
    children: OnceLock<Result<(), String>>,
}

#[glib::object_subclass]
impl ObjectSubclass for KmsShowData {
    const NAME: &'static str = "GstKmsShowData";
    type Type = super::KmsShowData;
    type ParentType = gst::Bin;
}

impl KmsShowData {
    fn build(&self) -> Result<(), String> {
        let obj = self.obj();
        let convert_in = make_child("videoconvert", "convert_in", "gstreamer1.0-plugins-base")?;
        let overlay = make_child("textoverlay", "overlay", "gstreamer1.0-x")?;
        let convert_out = make_child("videoconvert", "convert_out", "gstreamer1.0-plugins-base")?;
        let identity = make_child("identity", "data_identity", "gstreamer1.0 core")?;
        overlay.set_property("font-desc", DEFAULT_FONT_DESC);
        obj.add_many([&convert_in, &overlay, &convert_out, &identity])
            .map_err(|e| e.to_string())?;
        convert_in
            .link_pads(Some("src"), &overlay, Some("video_sink"))
            .and_then(|_| overlay.link(&convert_out))
            .map_err(|e| e.to_string())?;
        set_target(
            obj.upcast_ref(),
            "sink",
            &convert_in.static_pad("sink").unwrap(),
        );
        set_target(
            obj.upcast_ref(),
            "src",
            &convert_out.static_pad("src").unwrap(),
        );
        set_target(
            obj.upcast_ref(),
            "data_sink",
            &identity.static_pad("sink").unwrap(),
        );
        set_target(
            obj.upcast_ref(),
            "data_src",
            &identity.static_pad("src").unwrap(),
        );

        let weak = obj.downgrade();
        let weak_overlay = overlay.downgrade();
        identity.static_pad("sink").unwrap().add_probe(
            gst::PadProbeType::BUFFER,
            move |_, info| {
                if let (Some(obj), Some(overlay), Some(buffer)) =
                    (weak.upgrade(), weak_overlay.upgrade(), info.buffer())
                {
                    obj.imp().show(&overlay, buffer);
                }
                gst::PadProbeReturn::Ok
            },
        );
        Ok(())
    }

    fn show(&self, overlay: &gst::Element, buffer: &gst::BufferRef) {
        let Ok(map) = buffer.map_readable() else {
            gst::element_imp_warning!(
                self,
                gst::StreamError::Failed,
                ("Cannot read a data buffer")
            );
            return;
        };
        let (text, invalid) = message_text(&map);
        if invalid {
            gst::element_imp_warning!(
                self,
                gst::StreamError::Decode,
                ("Data message is not valid UTF-8: invalid bytes are shown as U+FFFD")
            );
        }
        gst::debug!(CAT, imp = self, "showing {text:?}");
        overlay.set_property("text", glib::markup_escape_text(&text).as_str());
    }
}

impl ObjectImpl for KmsShowData {
    fn constructed(&self) {
        self.parent_constructed();
        let children = construct(self.obj().upcast_ref(), *CAT, || self.build());
        let _ = self.children.set(children);
    }
}

impl GstObjectImpl for KmsShowData {}

impl ElementImpl for KmsShowData {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "KmsShowData",
                "Generic",
                "Draws the text received on its data pad over the video",
                "Kurento-rs developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            pad_templates(&[
                ("data_sink", gst::PadDirection::Sink),
                ("data_src", gst::PadDirection::Src),
            ])
        });
        PAD_TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        check_children(self.obj().upcast_ref(), self.children.get(), transition)?;
        self.parent_change_state(transition)
    }
}

impl BinImpl for KmsShowData {}

#[cfg(test)]
mod tests {
    use super::message_text;

    #[test]
    fn text_stops_at_nul_and_replaces_bad_bytes() {
        assert_eq!(message_text(b"hello"), ("hello".into(), false));
        assert_eq!(message_text(b"ab\0cd"), ("ab".into(), false));
        assert_eq!(message_text(b""), (String::new(), false));
        assert_eq!(message_text(b"a\xffb"), ("a\u{fffd}b".into(), true));
        assert_eq!(message_text("é✓".as_bytes()), ("é✓".into(), false));
    }
}
