// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-kmssenddata
 *
 * Video goes unchanged from `sink` to `src`; a copy goes through a leaky one-frame queue,
 * `videoconvert` and a `zbar` child. For every `barcode` message of that `zbar` the element
 * pushes the text `Code detected in time <timestamp ns>, type <type>, symbol <symbol>` (UTF-8,
 * no terminator, Kurento's wording) as one buffer on its `data_src` pad (`application/data`),
 * stamped with the element's running time. zbar's own `barcode` messages still reach the bus.
 * This is the element behind Kurento's `KmsSendData` (elements.md §14.1).
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 filesrc location=qr.webm ! decodebin ! kmssenddata name=send ! fakesink \
 *   send.data_src ! fakesink dump=true
 * ```
 *
 * ## Decisions
 * - The codes are taken from the messages as they pass through this bin, so nothing has to
 *   be configured: Kurento's `configure-bus-watcher` action signal (which hooked the parent
 *   pipeline's bus, and without which nothing was sent) is not needed and not provided.
 * - zbar works on a side branch behind a leaky queue: the video passes in its own format and
 *   is never slowed down by the scanner (Kurento put zbar, and its format constraints, in the
 *   video path). A frame the scanner is too slow for is simply not scanned.
 * - `zbar` (gst-plugins-bad) and `videoconvert` are needed. When one is missing the element
 *   still has all its pads, logs the reason when created and fails its first state change
 *   with a CORE/MISSING_PLUGIN error naming the element and the package.
 * - No clock yet (element not playing): the code is dropped with a debug log, as Kurento.
 */
use std::sync::{LazyLock, OnceLock};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::children::{
    DATA_CAPS, check_children, construct, make_child, pad_templates, set_target,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "kmssenddata",
        gst::DebugColorFlags::empty(),
        Some("Kurento's send-data element"),
    )
});

/// Kurento's wording of a detected code.
pub(crate) fn code_text(timestamp: u64, kind: &str, symbol: &str) -> String {
    format!("Code detected in time {timestamp}, type {kind}, symbol {symbol}")
}

struct Children {
    zbar: gst::Element,
    appsrc: gst_app::AppSrc,
}

#[derive(Default)]
pub struct KmsSendData {
    /// The children, or why they could not be made.
    children: OnceLock<Result<Children, String>>,
}

#[glib::object_subclass]
impl ObjectSubclass for KmsSendData {
    const NAME: &'static str = "GstKmsSendData";
    type Type = super::KmsSendData;
    type ParentType = gst::Bin;
}

impl KmsSendData {
    fn build(&self) -> Result<Children, String> {
        let obj = self.obj();
        let tee = make_child("tee", "video_tee", "gstreamer1.0 core")?;
        let queue = make_child("queue", "scan_queue", "gstreamer1.0 core")?;
        let convert = make_child("videoconvert", "scan_convert", "gstreamer1.0-plugins-base")?;
        let zbar = make_child("zbar", "zbar", "gstreamer1.0-plugins-bad")?;
        let sink = make_child("fakesink", "scan_sink", "gstreamer1.0 core")?;
        let appsrc = make_child("appsrc", "data_appsrc", "gstreamer1.0-plugins-base")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| "appsrc is not an AppSrc".to_string())?;
        // The scanner never holds the video back: it gets the newest frame or none.
        queue.set_property_from_str("leaky", "downstream");
        queue.set_property("max-size-buffers", 1u32);
        queue.set_property("max-size-bytes", 0u32);
        queue.set_property("max-size-time", 0u64);
        zbar.set_property("qos", false);
        // Not a sync point: the scan branch must neither preroll nor wait for the clock.
        sink.set_property("sync", false);
        sink.set_property("async", false);
        appsrc.set_caps(Some(&gst::Caps::new_empty_simple(DATA_CAPS)));
        appsrc.set_is_live(true);
        appsrc.set_format(gst::Format::Time);
        appsrc.set_stream_type(gst_app::AppStreamType::Stream);
        obj.add_many([&tee, &queue, &convert, &zbar, &sink, appsrc.upcast_ref()])
            .map_err(|e| e.to_string())?;
        gst::Element::link_many([&queue, &convert, &zbar, &sink]).map_err(|e| e.to_string())?;
        let scan = tee.request_pad_simple("src_%u").ok_or("tee gives no pad")?;
        scan.link(&queue.static_pad("sink").unwrap())
            .map_err(|e| e.to_string())?;
        let out = tee.request_pad_simple("src_%u").ok_or("tee gives no pad")?;
        set_target(obj.upcast_ref(), "sink", &tee.static_pad("sink").unwrap());
        set_target(obj.upcast_ref(), "src", &out);
        set_target(
            obj.upcast_ref(),
            "data_src",
            &appsrc.static_pad("src").unwrap(),
        );
        Ok(Children { zbar, appsrc })
    }

    /// The data buffer of a `barcode` message: Kurento's text, at the running time.
    fn code_buffer(&self, s: &gst::StructureRef) -> Option<gst::Buffer> {
        let (Ok(timestamp), Ok(kind), Ok(symbol)) = (
            s.get::<u64>("timestamp"),
            s.get::<&str>("type"),
            s.get::<&str>("symbol"),
        ) else {
            gst::warning!(CAT, imp = self, "barcode message without its fields: {s}");
            return None;
        };
        let Some(running_time) = self.obj().current_running_time() else {
            gst::debug!(CAT, imp = self, "no clock: code {symbol:?} dropped");
            return None;
        };
        let text = code_text(timestamp, kind, symbol);
        gst::debug!(CAT, imp = self, "sending {text:?}");
        let mut buffer = gst::Buffer::from_mut_slice(text.into_bytes());
        buffer.get_mut().unwrap().set_pts(running_time);
        Some(buffer)
    }
}

impl ObjectImpl for KmsSendData {
    fn constructed(&self) {
        self.parent_constructed();
        let children = construct(self.obj().upcast_ref(), *CAT, || self.build());
        let _ = self.children.set(children);
    }
}

impl GstObjectImpl for KmsSendData {}

impl ElementImpl for KmsSendData {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "KmsSendData",
                "Generic",
                "Sends the text of the bar codes found in the video on its data pad",
                "Kurento-rs developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| pad_templates(&[("data_src", gst::PadDirection::Src)]));
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

impl BinImpl for KmsSendData {
    fn handle_message(&self, message: gst::Message) {
        let code = match (message.view(), self.children.get()) {
            (gst::MessageView::Element(m), Some(Ok(children)))
                if message.src() == Some(children.zbar.upcast_ref()) =>
            {
                m.structure()
                    .filter(|s| s.name() == "barcode")
                    .and_then(|s| self.code_buffer(s))
                    .map(|b| (b, children.appsrc.clone()))
            }
            _ => None,
        };
        // zbar's message reaches the bus before its text leaves the data pad.
        self.parent_handle_message(message);
        if let Some((buffer, appsrc)) = code
            && let Err(e) = appsrc.push_buffer(buffer)
        {
            gst::warning!(CAT, imp = self, "data not sent: {e:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kurento_wording() {
        assert_eq!(
            super::code_text(1_000_000, "QR-Code", "hello"),
            "Code detected in time 1000000, type QR-Code, symbol hello"
        );
    }
}
