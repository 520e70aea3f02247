// SPDX-License-Identifier: MPL-2.0
//! Encoded media between elements (issue 7): a WebRTC endpoint puts the depayloaded stream
//! (VP8, H.264, Opus) on its output tee, and whoever needs raw frames decodes it on its input.
//!
//! * [`CapsSwitch`] re-plans the elements between an entry element and an exit pad whenever
//!   the *kind* of the caps arriving at the entry changes (raw ↔ encoded, one codec ↔
//!   another): an endpoint's send half links the payloader straight to its input when the
//!   codec matches, or decodes/encodes otherwise; a filter's input decodes only encoded media.
//! * [`decoder`] is that input adapter for raw consumers (a bin: queue ▸ decoder-if-needed).
//! * [`request_key_unit`] asks upstream for a key frame (an upstream `GstForceKeyUnit` event
//!   travels through tees, proxies and depayloaders to the webrtcbin that received the
//!   stream, which sends a PLI to the remote sender).

use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;

use crate::{CoreError, MediaType};

/// The caps kind of `caps`: its structure name (`video/x-raw`, `video/x-vp8`, …).
pub fn caps_kind(caps: &gst::CapsRef) -> String {
    caps.structure(0)
        .map(|s| s.name().to_string())
        .unwrap_or_default()
}

/// True for `video/x-raw` / `audio/x-raw`.
pub fn is_raw(kind: &str) -> bool {
    kind.ends_with("/x-raw")
}

/// The elements for one caps kind, in link order (empty: link entry to exit directly).
pub type Planner = dyn Fn(&gst::CapsRef) -> Result<Vec<gst::Element>, String> + Send + Sync;

struct SwitchState {
    exit: Option<gst::Pad>,
    kind: Option<String>,
    middle: Vec<gst::Element>,
    /// Encoded caps arrived (a new source, or a new plan): delta frames are dropped until a
    /// key frame, which the connection asked for; a decoder or remote peer starting on a
    /// delta frame would show garbage or report errors.
    need_key: bool,
}

/// Keeps the elements between `entry`'s `src` pad and an exit pad right for the caps that
/// arrive: on a CAPS event of a new kind the old middle elements are removed, the planned ones
/// added and linked, and the event goes on to them. Until an exit is set
/// (e.g. a payloader created at negotiation) buffers are dropped.
#[derive(Clone)]
pub struct CapsSwitch {
    bin: glib::WeakRef<gst::Bin>,
    entry: gst::Pad,
    planner: Arc<Planner>,
    state: Arc<Mutex<SwitchState>>,
}

impl CapsSwitch {
    /// `entry` must already be in `bin`; its `src` pad is watched.
    pub fn new(
        bin: &gst::Bin,
        entry: &gst::Element,
        planner: impl Fn(&gst::CapsRef) -> Result<Vec<gst::Element>, String> + Send + Sync + 'static,
    ) -> CapsSwitch {
        let entry = entry
            .static_pad("src")
            .expect("entry element with a src pad");
        let sw = CapsSwitch {
            bin: bin.downgrade(),
            entry: entry.clone(),
            planner: Arc::new(planner),
            state: Arc::new(Mutex::new(SwitchState {
                exit: None,
                kind: None,
                middle: Vec::new(),
                need_key: false,
            })),
        };
        let me = sw.clone();
        entry.add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM
                | gst::PadProbeType::BUFFER
                | gst::PadProbeType::BUFFER_LIST,
            move |_, info| me.on_probe(info),
        );
        // Whatever is linked now, any caps are welcome: a new plan is made when they arrive
        // (otherwise a forwarded VP8 input refuses the raw output of a filter linked later).
        entry.add_probe(gst::PadProbeType::QUERY_DOWNSTREAM, |_, info| {
            let Some(q) = info.query_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            match q.view_mut() {
                gst::QueryViewMut::Caps(q) => {
                    let caps = q.filter_owned().unwrap_or_else(gst::Caps::new_any);
                    q.set_result(&caps);
                    gst::PadProbeReturn::Handled
                }
                gst::QueryViewMut::AcceptCaps(q) => {
                    q.set_result(true);
                    gst::PadProbeReturn::Handled
                }
                _ => gst::PadProbeReturn::Ok,
            }
        });
        sw
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SwitchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn on_probe(&self, info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
        let caps = match &info.data {
            Some(gst::PadProbeData::Event(e)) => match e.view() {
                gst::EventView::Caps(c) => c.caps_owned(),
                _ => return gst::PadProbeReturn::Ok,
            },
            Some(gst::PadProbeData::Buffer(b)) => {
                let mut st = self.lock();
                // Data before anything is linked is dropped rather than failing the stream.
                if st.kind.is_none() {
                    return gst::PadProbeReturn::Drop;
                }
                if st.need_key {
                    if b.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                        return gst::PadProbeReturn::Drop;
                    }
                    st.need_key = false;
                }
                return gst::PadProbeReturn::Ok;
            }
            _ => {
                return if self.lock().kind.is_some() {
                    gst::PadProbeReturn::Ok
                } else {
                    gst::PadProbeReturn::Drop
                };
            }
        };
        let mut st = self.lock();
        st.need_key = !is_raw(&caps_kind(&caps));
        if st.exit.is_none() || st.kind.as_deref() == Some(caps_kind(&caps).as_str()) {
            return gst::PadProbeReturn::Ok;
        }
        match self.replumb(&mut st, &caps) {
            Ok(()) => {
                drop(st);
                // The new elements get stream-start before these caps. (Dropping the caps
                // event to have all sticky events re-sent is not an option: GStreamer 1.22
                // unrefs a NULL event when a bindings probe drops one.) The link also marks
                // the sticky events pending, so they are re-sent, harmlessly, with the next
                // data.
                if let (Some(ss), Some(peer)) = (
                    self.entry.sticky_event::<gst::event::StreamStart>(0),
                    self.entry.peer(),
                ) {
                    peer.send_event(ss);
                }
                gst::PadProbeReturn::Ok
            }
            Err(e) => {
                drop(st);
                if let Some(el) = self.entry.parent_element() {
                    gst::element_error!(
                        el,
                        gst::StreamError::CodecNotFound,
                        ("cannot handle {}: {}", caps, e)
                    );
                }
                // Not linked: the event goes nowhere, data is dropped by this probe.
                gst::PadProbeReturn::Ok
            }
        }
    }

    /// Sets the pad the planned chain ends in; plans at once when caps are already known.
    pub fn set_exit(&self, exit: &gst::Pad) -> Result<(), String> {
        let mut st = self.lock();
        st.exit = Some(exit.clone());
        st.kind = None;
        match self.entry.sticky_event::<gst::event::Caps>(0) {
            Some(c) => self.replumb(&mut st, c.caps()),
            None => Ok(()),
        }
    }

    /// The elements currently between entry and exit.
    pub fn middle(&self) -> Vec<gst::Element> {
        self.lock().middle.clone()
    }

    fn replumb(&self, st: &mut SwitchState, caps: &gst::CapsRef) -> Result<(), String> {
        let bin = self.bin.upgrade().ok_or("element gone")?;
        let exit = st.exit.clone().ok_or("no exit")?;
        if let Some(peer) = self.entry.peer() {
            let _ = self.entry.unlink(&peer);
        }
        if let Some(peer) = exit.peer() {
            let _ = peer.unlink(&exit);
        }
        for e in st.middle.drain(..) {
            let _ = e.set_state(gst::State::Null);
            let _ = bin.remove(&e);
        }
        st.kind = None;
        let middle = (self.planner)(caps)?;
        for e in &middle {
            bin.add(e).map_err(|e| e.to_string())?;
        }
        st.middle = middle.clone();
        for e in &middle {
            let _ = e.sync_state_with_parent();
        }
        let mut pads = vec![self.entry.clone()];
        for e in &middle {
            pads.push(e.static_pad("sink").ok_or("element without sink pad")?);
            pads.push(e.static_pad("src").ok_or("element without src pad")?);
        }
        pads.push(exit);
        for pair in pads.chunks(2) {
            pair[0]
                .link(&pair[1])
                .map_err(|e| format!("cannot link {}: {e:?}", pair[1].name()))?;
        }
        st.kind = Some(caps_kind(caps));
        Ok(())
    }
}

/// A decoder element for encoded `caps` (highest rank), or None.
pub fn find_decoder(caps: &gst::CapsRef) -> Option<gst::Element> {
    let list = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    );
    let mut fit: Vec<_> = list
        .into_iter()
        .filter(|f| f.can_sink_all_caps(caps))
        .collect();
    fit.sort_by_key(|f| std::cmp::Reverse(f.rank()));
    fit.into_iter().find_map(|f| f.create().build().ok())
}

/// Decoder (and converter) for encoded input, nothing for raw input.
pub fn decode_plan(caps: &gst::CapsRef) -> Result<Vec<gst::Element>, String> {
    let kind = caps_kind(caps);
    if is_raw(&kind) {
        return Ok(Vec::new());
    }
    let dec = find_decoder(caps).ok_or_else(|| format!("no decoder for {kind}"))?;
    Ok(vec![dec])
}

/// The input adapter of a raw consumer: a bin `queue ▸ [decoder when the input is encoded]`,
/// with `sink`/`src` pads. The queue gives decoding its own thread, so the producer (e.g. the
/// tee of a WebRTC endpoint shared by several consumers) is not slowed down; no frame is
/// dropped before the decoder (a lost encoded frame would corrupt the following ones).
pub fn decoder(media: MediaType) -> Result<gst::Element, CoreError> {
    let fail = |_| CoreError::unexpected("cannot build the decoding input");
    let bin = gst::Bin::with_name(&format!("{}_decode", media.pad_word()));
    let make = |f: &str, name: &str| {
        gst::ElementFactory::make(f)
            .name(name)
            .build()
            .map_err(|_| CoreError::not_available(format!("GStreamer element '{f}' not available")))
    };
    let queue = make("queue", "decode_queue")?;
    let out = make("identity", "decode_out")?;
    bin.add_many([&queue, &out]).map_err(fail)?;
    let sink = gst::GhostPad::builder_with_target(&queue.static_pad("sink").unwrap())
        .map_err(fail)?
        .name("sink")
        .build();
    let src = gst::GhostPad::builder_with_target(&out.static_pad("src").unwrap())
        .map_err(fail)?
        .name("src")
        .build();
    bin.add_pad(&sink).map_err(fail)?;
    bin.add_pad(&src).map_err(fail)?;
    let switch = CapsSwitch::new(&bin, &queue, decode_plan);
    switch
        .set_exit(&out.static_pad("sink").unwrap())
        .map_err(CoreError::unexpected)?;
    Ok(bin.upcast())
}

/// True when `e` (or an element inside it) encodes or decodes `media`.
pub fn is_codec(e: &gst::Element, media: MediaType) -> bool {
    let word = match media {
        MediaType::Audio => "Audio",
        MediaType::Video => "Video",
        MediaType::Data => return false,
    };
    let check = |e: &gst::Element| {
        e.factory().is_some_and(|f| {
            let k = f.klass();
            k.contains("Codec")
                && (k.contains("Decoder") || k.contains("Encoder"))
                && k.contains(word)
        })
    };
    if check(e) {
        return true;
    }
    match e.downcast_ref::<gst::Bin>() {
        Some(bin) => bin
            .iterate_recurse()
            .into_iter()
            .flatten()
            .any(|c| check(&c)),
        None => false,
    }
}

/// Sends an upstream `GstForceKeyUnit` from `pad` (a src pad): the producer of the stream (an
/// encoder, or the webrtcbin that receives it, which asks its remote sender with a PLI)
/// produces a key frame.
pub fn request_key_unit(pad: &gst::Pad) -> bool {
    let s = gst::Structure::builder("GstForceKeyUnit")
        .field("all-headers", true)
        .build();
    pad.send_event(gst::event::CustomUpstream::new(s))
}
