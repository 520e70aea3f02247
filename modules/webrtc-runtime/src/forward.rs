// SPDX-License-Identifier: MPL-2.0
//! Forwarding without re-encoding (issue 7). The receive half puts the depayloaded stream
//! (VP8, H.264 parsed, Opus) on the element's output tee; the send half links its input to the
//! payloader when the input already has the negotiated codec, and decodes and/or encodes only
//! otherwise (raw media from a filter or a player, another codec from another endpoint). The
//! choice is made again whenever the input's caps change kind, e.g. when a filter is inserted
//! while media flows.
//!
//! Key frames: a PLI/FIR from the receiving peer becomes an upstream `GstForceKeyUnit` at the
//! payloader; with forwarding it travels through the tee (and the proxies of a loopback) and
//! the depayloader to the source endpoint's webrtcbin, whose RTP session asks the sending peer
//! (PLI). With an encoder in between, the encoder makes the key frame itself.

use std::sync::Weak;

use gst::prelude::*;
use kurento_core_runtime::{CapsSwitch, caps_kind, find_decoder, is_raw};

use crate::WebRtcEndpoint;
use crate::sdp::Codec;

/// Depayloader (and parser) of a received stream, in link order.
pub(crate) fn receive_chain(codec: Codec) -> Result<Vec<gst::Element>, String> {
    let [_, _, depay, _] = codec.factories();
    let depay = make(depay)?;
    // Forwarded streams start at a key frame and ask for one after losses (the decoder that
    // would otherwise notice is at the far end now).
    for p in ["request-keyframe", "wait-for-keyframe"] {
        if depay.find_property(p).is_some() {
            depay.set_property(p, true);
        }
    }
    readdress_key_unit_requests(&depay);
    let mut chain = vec![depay];
    if codec == Codec::H264 {
        chain.push(make("h264parse")?);
    }
    Ok(chain)
}

/// The switch of a send half (`<word>_send` bin with its `in_queue`).
pub(crate) fn send_switch(
    ep: Weak<WebRtcEndpoint>,
    word: &'static str,
    bin: &gst::Bin,
) -> CapsSwitch {
    let queue = bin
        .by_name("in_queue")
        .expect("send half with an input queue");
    CapsSwitch::new(bin, &queue, move |caps| match ep.upgrade() {
        Some(ep) => ep.send_plan(word, caps),
        None => Err("endpoint released".into()),
    })
}

/// Key-frame requests arriving from consumers may carry the `ssrc` of the stream they were
/// about (set by the consumer's RTP session); the receiving RTP session must address the
/// remote sender's stream instead, which its SSRC demuxer fills in when the field is absent.
pub(crate) fn readdress_key_unit_requests(depay: &gst::Element) {
    let Some(pad) = depay.static_pad("src") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, |_, info| {
        let Some(gst::PadProbeData::Event(ev)) = &mut info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let stale = ev.type_() == gst::EventType::CustomUpstream
            && ev
                .structure()
                .is_some_and(|s| s.name() == "GstForceKeyUnit" && s.has_field("ssrc"));
        if stale && let Some(s) = ev.structure() {
            let mut s = s.to_owned();
            s.remove_field("ssrc");
            *ev = gst::event::CustomUpstream::new(s);
        }
        gst::PadProbeReturn::Ok
    });
}

pub(crate) fn is_encoder(e: &gst::Element) -> bool {
    e.factory()
        .is_some_and(|f| f.klass().contains("Codec/Encoder"))
}

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| format!("no {factory}"))
}

impl WebRtcEndpoint {
    /// What goes between the send half's input and its payloader for input `caps`: nothing
    /// when they carry the negotiated codec; else [decoder ▸] convert ▸ encoder.
    pub(crate) fn send_plan(
        &self,
        media: &str,
        caps: &gst::CapsRef,
    ) -> Result<Vec<gst::Element>, String> {
        let codec = *self
            .st()
            .send_built
            .get(media)
            .ok_or("send codec not negotiated")?;
        let kind = caps_kind(caps);
        if kind == codec.caps_name() {
            return Ok(Vec::new());
        }
        let mut chain = Vec::new();
        if !is_raw(&kind) {
            chain.push(find_decoder(caps).ok_or_else(|| format!("no decoder for {kind}"))?);
        }
        if media == "audio" {
            chain.push(make("audioconvert")?);
            chain.push(make("audioresample")?);
        } else {
            chain.push(make("videoconvert")?);
        }
        let [enc, _, _, _] = codec.factories();
        let enc = make(enc)?;
        match codec {
            Codec::Vp8 => {
                enc.set_property("deadline", 1i64);
                enc.set_property("cpu-used", 8i32);
                enc.set_property_from_str("end-usage", "cbr");
                enc.set_property("keyframe-max-dist", 60i32);
                enc.set_property("error-resilient", crate::gst_vp8_resilient());
            }
            Codec::H264 => {
                enc.set_property_from_str("tune", "zerolatency");
                enc.set_property_from_str("speed-preset", "ultrafast");
                enc.set_property("key-int-max", 60u32);
            }
            Codec::Opus => {}
        }
        if media == "video" {
            self.set_encoder_rate(&enc);
        }
        chain.push(enc);
        Ok(chain)
    }
}
