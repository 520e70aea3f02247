// SPDX-License-Identifier: MPL-2.0
//! The DATA branch of a WebRtcEndpoint built with `useDataChannels` (elements.md §1.3):
//!
//! ```text
//! any data channel ─on-message─▶ appsrc (application/data) ─▶ data_tee ─▶ data_src_*
//! sink_data_default ─▶ appsink ─▶ every open data channel
//! ```
//!
//! One buffer is one message. Received text goes out as its UTF-8 bytes, binary messages as
//! they are; a buffer coming in is sent as a string message when it is UTF-8 and as a binary
//! message otherwise, so nothing is lost either way. Empty messages are messages too (an
//! empty text clears KmsShowData's overlay). webrtcbin 1.22 swaps the SCTP PPIDs of the two
//! empty kinds (RFC 8831: 56 string, 57 binary), so a browser's `send('')` arrives as an empty
//! *binary* message (taken as an empty message all the same); and it cannot send an empty
//! message at all (sctpenc gets zero bytes and the channel carries nothing afterwards), so an
//! empty buffer reaching `sink_data_default` is not sent. `ep.connect(ep, DATA)` echoes what the
//! peer sends; `ep.connect(kmsShowData)` feeds the text to an element's data input.

use gst::prelude::*;
use kurento_core_runtime::{Branch, CoreError};

use crate::WebRtcEndpoint;

/// The two halves, kept to push received messages and to hand them to core-runtime.
pub(crate) struct DataBranch {
    appsrc: gst::Element,
    appsink: gst::Element,
}

fn make(factory: &str, name: &str) -> Result<gst::Element, CoreError> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| {
            CoreError::not_available(format!("GStreamer element '{factory}' not available"))
        })
}

impl DataBranch {
    /// The branch of an endpoint built with `useDataChannels`; none without (no data pads,
    /// as Kurento's endpoint without data channels).
    pub(crate) fn new_if(use_data_channels: bool) -> Result<Option<DataBranch>, CoreError> {
        use_data_channels.then(DataBranch::new).transpose()
    }

    fn new() -> Result<DataBranch, CoreError> {
        let appsrc = make("appsrc", "data_in")?;
        appsrc.set_property("caps", gst::Caps::new_empty_simple("application/data"));
        appsrc.set_property("is-live", true);
        appsrc.set_property("do-timestamp", true);
        appsrc.set_property_from_str("format", "time");
        appsrc.set_property_from_str("stream-type", "stream");
        let appsink = make("appsink", "data_out")?;
        // Messages go out as they come: no clock sync, and no preroll to wait for when the
        // element joins a playing pipeline.
        appsink.set_property("sync", false);
        appsink.set_property("async", false);
        appsink.set_property("emit-signals", true);
        Ok(DataBranch { appsrc, appsink })
    }

    /// The core-runtime branch: `sink_data_default` ▸ appsink, appsrc ▸ data tee.
    pub(crate) fn branch(&self) -> Branch {
        Branch::Split {
            input: Some(self.appsink.clone()),
            output: Some(self.appsrc.clone()),
        }
    }

    /// A message received on a data channel leaves through the data output.
    fn received(&self, bytes: &[u8]) {
        let buffer = gst::Buffer::from_slice(bytes.to_vec());
        // Not linked (nothing connected) or stopping: the message has nowhere to go.
        let _ = self
            .appsrc
            .emit_by_name::<gst::FlowReturn>("push-buffer", &[&buffer]);
    }

    /// Sends what reaches `sink_data_default` on the endpoint's open channels.
    pub(crate) fn forward_input_to(&self, ep: std::sync::Weak<WebRtcEndpoint>) {
        self.appsink.connect("new-sample", false, move |args| {
            let sink = args[0].get::<gst::Element>().ok()?;
            let sample = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[])?;
            if let (Some(ep), Some(buffer)) = (ep.upgrade(), sample.buffer())
                && let Ok(map) = buffer.map_readable()
            {
                ep.send_bytes(&map);
            }
            Some(gst::FlowReturn::Ok.to_value())
        });
    }
}

impl WebRtcEndpoint {
    /// Hook for every message received on a data channel.
    pub(crate) fn data_received(&self, bytes: &[u8]) {
        if let Some(d) = &self.data {
            d.received(bytes);
        }
    }

    /// Sends one message on every open channel: a string when `bytes` are UTF-8, else binary.
    fn send_bytes(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            // webrtcbin 1.22 hands sctpenc a zero-length message, which breaks the channel for
            // every later message: an empty message is not sent.
            gst::debug!(
                gst::CAT_DEFAULT,
                "empty data message not sent on the data channels"
            );
            return;
        }
        let channels: Vec<_> = self.st().channels.values().cloned().collect();
        let text = std::str::from_utf8(bytes).ok();
        for ch in channels {
            let _ = match text {
                Some(t) => ch.send_string_full(Some(t)),
                None => ch.send_data_full(Some(&gst::glib::Bytes::from(bytes))),
            };
        }
    }
}
