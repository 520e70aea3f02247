// SPDX-License-Identifier: MPL-2.0
//! Kurento's `WebRtcEndpoint` (server.md §11–§12: SdpEndpoint, BaseRtpEndpoint,
//! WebRtcEndpoint) on GStreamer's `webrtcbin`, as a `kurento-core-runtime` [`MediaElement`].
//!
//! Layout of the element's bin (named by the object id):
//!
//! ```text
//! sink_video_default ─▶ [video_send: in_queue ▸ (CapsSwitch) ▸ rtpvp8pay] ─▶ webrtcbin
//! webrtcbin ─▶ [video_recv: rtpvp8depay] ─▶ video_tee ─▶ video_src_*
//! ```
//!
//! (the same for audio with Opus). Between elements media is encoded where possible: the
//! receive half outputs the depayloaded stream, the send half links it straight to the
//! payloader when the codec matches and encodes (or transcodes) otherwise; see `forward.rs`
//! and the README ("Forwarding without re-encoding").
//!
//! Facts applied (issue 7): `bundle-policy=max-bundle`; the sending branch is built and linked
//! to a `sink_%u` pad requested with caps carrying the offered payload type, an explicit
//! `ssrc` and the `rtcp-fb-*` flags *before* the remote description is set; libnice is given
//! the local addresses of the chosen interfaces (loopback included) explicitly.

mod data;
mod forward;
mod nice;
pub mod sdp;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gst::glib;
use gst::prelude::*;
use kurento_core_runtime::{Branch, CapsSwitch, CoreError, ElementSpec, MediaElement, MediaObject};
use serde_json::{Map, Value, json};

pub use kurento_core_runtime;
pub use nice::interface_addresses;
use sdp::{Choice, Codec};

/// Constructor options of `WebRtcEndpoint`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub recvonly: bool,
    pub sendonly: bool,
    pub use_data_channels: bool,
}

/// Kurento's `IceComponentState`, in libnice's `NiceComponentState` order.
const ICE_STATES: [&str; 6] = [
    "DISCONNECTED",
    "GATHERING",
    "CONNECTING",
    "CONNECTED",
    "READY",
    "FAILED",
];

/// ICE settings (WebRtcEndpoint properties); applied to webrtcbin before gathering starts.
#[derive(Debug, Clone, Default)]
pub struct IceSettings {
    pub stun_server_address: String,
    pub stun_server_port: i32,
    pub turn_url: String,
    /// Comma list of interface names; empty = `KMS_NETWORK_INTERFACES` or libnice's default.
    pub network_interfaces: String,
    pub external_ipv4: String,
    pub external_ipv6: String,
    pub ice_tcp: bool,
}

/// Bandwidth properties of SdpEndpoint / BaseRtpEndpoint, kbps (Kurento's defaults).
#[derive(Debug, Clone, Copy)]
pub struct Bandwidths {
    pub max_audio_recv: i32,
    pub max_video_recv: i32,
    pub min_video_recv: i32,
    pub min_video_send: i32,
    pub max_video_send: i32,
}

impl Default for Bandwidths {
    fn default() -> Self {
        Bandwidths {
            max_audio_recv: 0,
            max_video_recv: 0,
            min_video_recv: 0,
            min_video_send: 100,
            max_video_send: 500,
        }
    }
}

#[derive(Default)]
struct State {
    ice: IceSettings,
    bw: Bandwidths,
    ice_applied: bool,
    gathering_requested: bool,
    /// IceCandidateFound data found before `gatherCandidates`.
    pending_candidates: Vec<Map<String, Value>>,
    gathering_done: bool,
    gathering_done_sent: bool,
    remote_set: bool,
    queued_remote: Vec<(u32, String)>,
    local_sdp: Option<String>,
    remote_sdp: Option<String>,
    offer_generated: bool,
    send_built: HashMap<String, Codec>,
    local_candidates: Vec<(u32, String)>,
    remote_candidates: Vec<(u32, String)>,
    ice_states: BTreeMap<(u32, u32), &'static str>,
    pairs: Vec<Value>,
    connected: bool,
    media_connected: bool,
    channels: BTreeMap<i32, gst_webrtc::WebRTCDataChannel>,
}

type DataHandler = Box<dyn Fn(i32, &str) + Send + Sync>;

pub struct WebRtcEndpoint {
    me: Weak<WebRtcEndpoint>,
    element: Arc<MediaElement>,
    webrtc: gst::Element,
    opts: Options,
    st: Mutex<State>,
    pad_n: AtomicU32,
    data_handler: Mutex<Option<DataHandler>>,
    /// The DATA branch (`useDataChannels` only).
    data: Option<data::DataBranch>,
    /// Per media word, the switch between the send half's input queue and its payloader.
    send_switch: HashMap<&'static str, CapsSwitch>,
}

/// The two halves of one media kind: `<word>_send` (a `sink` ghost feeding a queue, completed
/// with encoder and payloader once the codec is known) and `<word>_recv` (a `src` ghost whose
/// target is set when webrtcbin delivers the remote stream). Two bins, so that a loopback does
/// not make a graph loop through webrtcbin.
fn media_bins(word: &str) -> Result<(gst::Bin, gst::Bin), CoreError> {
    let fail = |_| CoreError::unexpected("cannot build the media branch");
    let send = gst::Bin::with_name(&format!("{word}_send"));
    let queue = gst::ElementFactory::make("queue")
        .name("in_queue")
        .build()
        .map_err(|_| CoreError::not_available("GStreamer element 'queue' not available"))?;
    send.add(&queue)
        .map_err(|_| CoreError::unexpected("cannot build the media branch"))?;
    let sink = gst::GhostPad::builder_with_target(&queue.static_pad("sink").unwrap())
        .map_err(fail)?
        .name("sink")
        .build();
    send.add_pad(&sink).map_err(fail)?;
    let recv = gst::Bin::with_name(&format!("{word}_recv"));
    let src = gst::GhostPad::builder(gst::PadDirection::Src)
        .name("src")
        .build();
    recv.add_pad(&src).map_err(fail)?;
    Ok((send, recv))
}

fn err(code: i64, ty: &'static str, msg: impl Into<String>) -> CoreError {
    CoreError::new(code, ty, msg)
}

/// Runs a webrtcbin action that answers through a promise and waits for the reply.
fn call(
    webrtc: &gst::Element,
    action: &str,
    arg: &dyn ToValue,
) -> Result<Option<gst::Structure>, String> {
    let promise = gst::Promise::new();
    webrtc.emit_by_name::<()>(action, &[arg, &promise]);
    match promise.wait() {
        gst::PromiseResult::Replied => {
            let reply = promise.get_reply().map(|s| s.to_owned());
            if let Some(r) = &reply
                && let Ok(e) = r.get::<glib::Error>("error")
            {
                return Err(e.message().to_string());
            }
            Ok(reply)
        }
        other => Err(format!("{action}: {other:?}")),
    }
}

fn set_description(
    webrtc: &gst::Element,
    which: &str,
    ty: gst_webrtc::WebRTCSDPType,
    text: &str,
) -> Result<(), String> {
    let msg = gst_sdp::SDPMessage::parse_buffer(text.as_bytes())
        .map_err(|_| "the SDP cannot be parsed".to_string())?;
    let desc = gst_webrtc::WebRTCSessionDescription::new(ty, msg);
    call(webrtc, which, &desc).map(|_| ())
}

fn reply_sdp(reply: Option<gst::Structure>, field: &str) -> Result<String, String> {
    let desc = reply
        .ok_or("no reply")?
        .get::<gst_webrtc::WebRTCSessionDescription>(field)
        .map_err(|e| e.to_string())?;
    desc.sdp().as_text().map_err(|e| e.to_string())
}

fn ice_candidate_json(mline: u32, candidate: &str) -> Value {
    json!({"candidate": candidate, "sdpMid": mline.to_string(), "sdpMLineIndex": mline,
        "__module__": "kurento", "__type__": "IceCandidate"})
}

impl WebRtcEndpoint {
    /// Creates the endpoint in `pipeline` (the `MediaPipeline`'s GstPipeline).
    pub fn new(
        obj: MediaObject,
        pipeline: &gst::Pipeline,
        opts: Options,
    ) -> Result<Arc<WebRtcEndpoint>, CoreError> {
        kurento_core_runtime::init()?;
        let webrtc = gst::ElementFactory::make("webrtcbin")
            .name("webrtcbin")
            .build()
            .map_err(|_| CoreError::not_available("GStreamer element 'webrtcbin' not available"))?;
        webrtc.set_property_from_str("bundle-policy", "max-bundle");
        let (audio, video) = (media_bins("audio")?, media_bins("video")?);
        let data = data::DataBranch::new_if(opts.use_data_channels)?;
        let spec = ElementSpec {
            audio: Branch::Split {
                input: Some(audio.0.clone().upcast()),
                output: Some(audio.1.upcast()),
            },
            video: Branch::Split {
                input: Some(video.0.clone().upcast()),
                output: Some(video.1.upcast()),
            },
            data: data.as_ref().map_or(Branch::None, |d| d.branch()),
        };
        let element = MediaElement::new(obj, pipeline, spec)?;
        element
            .bin()
            .add(&webrtc)
            .map_err(|_| CoreError::unexpected("cannot add webrtcbin"))?;
        let ep = Arc::new_cyclic(|me: &Weak<WebRtcEndpoint>| {
            let send_switch = [("audio", &audio.0), ("video", &video.0)]
                .into_iter()
                .map(|(word, bin)| (word, forward::send_switch(me.clone(), word, bin)))
                .collect();
            WebRtcEndpoint {
                me: me.clone(),
                element,
                webrtc: webrtc.clone(),
                opts,
                st: Mutex::new(State::default()),
                pad_n: AtomicU32::new(0),
                data_handler: Mutex::new(None),
                data,
                send_switch,
            }
        });
        if let Some(d) = &ep.data {
            d.forward_input_to(ep.me.clone());
        }
        ep.connect_signals();
        let _ = webrtc.sync_state_with_parent();
        Ok(ep)
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn element(&self) -> &Arc<MediaElement> {
        &self.element
    }

    pub fn object(&self) -> &MediaObject {
        self.element.object()
    }

    /// The webrtcbin inside (for diagnostics and tests).
    pub fn webrtcbin(&self) -> &gst::Element {
        &self.webrtc
    }

    pub fn options(&self) -> Options {
        self.opts
    }

    fn raise(&self, event: &str, fields: Map<String, Value>) {
        self.object().raise_media(event, fields);
    }

    fn connect_signals(&self) {
        let w = self.me.clone();
        self.webrtc.connect("on-ice-candidate", false, move |args| {
            let mline = args[1].get::<u32>().unwrap_or(0);
            let cand = args[2].get::<String>().unwrap_or_default();
            if let Some(ep) = w.upgrade() {
                ep.on_local_candidate(mline, &cand);
            }
            None
        });
        let w = self.me.clone();
        self.webrtc
            .connect_notify(Some("ice-gathering-state"), move |webrtc, _| {
                let s =
                    webrtc.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state");
                if s == gst_webrtc::WebRTCICEGatheringState::Complete
                    && let Some(ep) = w.upgrade()
                {
                    ep.st().gathering_done = true;
                    ep.flush_gathering();
                }
            });
        let w = self.me.clone();
        self.webrtc
            .connect_notify(Some("connection-state"), move |webrtc, _| {
                let s =
                    webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
                if let Some(ep) = w.upgrade() {
                    use gst_webrtc::WebRTCPeerConnectionState as P;
                    match s {
                        P::Connected => ep.set_connected(true),
                        P::Disconnected | P::Failed | P::Closed => {
                            ep.set_connected(false);
                            ep.set_media_connected(false);
                        }
                        _ => {}
                    }
                }
            });
        // MediaState CONNECTED also when only RTCP comes back (Kurento: RTP or RTCP received):
        // an endpoint that only sends (player, one2many presenter to a viewer) learns of the
        // peer from its receiver reports.
        if let Some(rtpbin) = self
            .webrtc
            .downcast_ref::<gst::Bin>()
            .and_then(|b| b.by_name("rtpbin"))
        {
            let w = self.me.clone();
            rtpbin.connect("on-ssrc-active", false, move |_| {
                if let Some(ep) = w.upgrade() {
                    ep.set_media_connected(true);
                }
                None
            });
        }
        let w = self.me.clone();
        self.webrtc.connect_pad_added(move |_, pad| {
            if let Some(ep) = w.upgrade() {
                ep.on_pad_added(pad);
            }
        });
        let w = self.me.clone();
        self.webrtc.connect("on-data-channel", false, move |args| {
            if let (Some(ep), Ok(ch)) =
                (w.upgrade(), args[1].get::<gst_webrtc::WebRTCDataChannel>())
            {
                ep.track_channel(ch);
            }
            None
        });
        // libnice's per-component states and selected pairs (Kurento reports both).
        let ice = self.webrtc.property::<glib::Object>("ice-agent");
        if ice.find_property("agent").is_some() {
            let agent = ice.property::<glib::Object>("agent");
            // No UPnP port mapping (as Kurento): it probes the LAN for every session.
            if agent.find_property("upnp").is_some() {
                agent.set_property("upnp", false);
            }
            let w = self.me.clone();
            agent.connect("component-state-changed", false, move |args| {
                let stream = args[1].get::<u32>().unwrap_or(0);
                let comp = args[2].get::<u32>().unwrap_or(0);
                let state = args[3].get::<u32>().unwrap_or(0) as usize;
                if let (Some(ep), Some(name)) = (w.upgrade(), ICE_STATES.get(state)) {
                    ep.st().ice_states.insert((stream, comp), name);
                    let mut m = Map::new();
                    m.insert("streamId".into(), json!(stream));
                    m.insert("componentId".into(), json!(comp));
                    m.insert("state".into(), json!(name));
                    ep.raise("IceComponentStateChanged", m);
                }
                None
            });
            let w = self.me.clone();
            agent.connect("new-selected-pair", false, move |args| {
                let stream = args[1].get::<u32>().unwrap_or(0);
                let comp = args[2].get::<u32>().unwrap_or(0);
                let lf = args[3].get::<String>().unwrap_or_default();
                let rf = args[4].get::<String>().unwrap_or_default();
                if let Some(ep) = w.upgrade() {
                    ep.on_selected_pair(stream, comp, &lf, &rf);
                }
                None
            });
        }
    }

    fn on_selected_pair(&self, stream: u32, comp: u32, lf: &str, rf: &str) {
        let find = |list: &[(u32, String)], f: &str| {
            list.iter()
                .map(|(_, c)| c)
                .find(|c| {
                    sdp::candidate_foundation(c) == Some(f)
                        && c.split_whitespace().nth(1) == Some(&comp.to_string())
                })
                .cloned()
                .unwrap_or_default()
        };
        let pair = {
            let mut st = self.st();
            let pair = json!({"streamId": stream.to_string(), "componentId": comp,
                "localCandidate": find(&st.local_candidates, lf),
                "remoteCandidate": find(&st.remote_candidates, rf),
                "__module__": "kurento", "__type__": "IceCandidatePair"});
            st.pairs.retain(|p| {
                p["streamId"] != pair["streamId"] || p["componentId"] != pair["componentId"]
            });
            st.pairs.push(pair.clone());
            pair
        };
        let mut m = Map::new();
        m.insert("candidatePair".into(), pair);
        self.raise("NewCandidatePairSelected", m);
    }

    fn set_connected(&self, on: bool) {
        self.change_state(on, |st| &mut st.connected, "ConnectionStateChanged");
    }

    fn set_media_connected(&self, on: bool) {
        self.change_state(on, |st| &mut st.media_connected, "MediaStateChanged");
    }

    /// Sets a CONNECTED/DISCONNECTED flag and raises `event` when it changed.
    fn change_state(&self, on: bool, flag: impl FnOnce(&mut State) -> &mut bool, event: &str) {
        let changed = std::mem::replace(flag(&mut self.st()), on) != on;
        if changed {
            self.raise(event, state_change(on));
        }
    }

    fn on_local_candidate(&self, mline: u32, cand: &str) {
        let data = {
            let mut st = self.st();
            let cand = sdp::with_external_address(
                cand,
                Some(st.ice.external_ipv4.as_str()),
                Some(st.ice.external_ipv6.as_str()),
            );
            st.local_candidates.push((mline, cand.clone()));
            let mut m = Map::new();
            m.insert("candidate".into(), ice_candidate_json(mline, &cand));
            if !st.gathering_requested {
                st.pending_candidates.push(m);
                return;
            }
            m
        };
        self.raise("IceCandidateFound", data);
    }

    /// Sends candidates and IceGatheringDone held back until `gatherCandidates`.
    fn flush_gathering(&self) {
        let (cands, done) = {
            let mut st = self.st();
            if !st.gathering_requested {
                return;
            }
            let cands = std::mem::take(&mut st.pending_candidates);
            let done = st.gathering_done && !st.gathering_done_sent;
            if done {
                st.gathering_done_sent = true;
            }
            (cands, done)
        };
        for c in cands {
            self.raise("IceCandidateFound", c);
        }
        if done {
            self.raise("IceGatheringDone", Map::new());
        }
    }

    fn media_bin(&self, word: &str, half: &str) -> Option<gst::Bin> {
        self.element
            .bin()
            .by_name(&format!("{word}_{half}"))
            .and_then(|e| e.downcast::<gst::Bin>().ok())
    }

    /// The remote stream: depayload ▸ decode ▸ convert into the branch's `src` ghost.
    fn on_pad_added(&self, pad: &gst::Pad) {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let Some(caps) = pad.current_caps().or_else(|| Some(pad.query_caps(None))) else {
            return;
        };
        let Some(s) = caps.structure(0) else { return };
        let media = s.get::<&str>("media").unwrap_or_default().to_string();
        let codec = s
            .get::<&str>("encoding-name")
            .ok()
            .and_then(Codec::from_encoding_name);
        let (Some(codec), Some(bin)) = (codec, self.media_bin(&media, "recv")) else {
            // Nothing to do with it: drain so webrtcbin never blocks.
            let sink = gst::ElementFactory::make("fakesink")
                .property("async", false)
                .build();
            if let Ok(sink) = sink
                && self.element.bin().add(&sink).is_ok()
            {
                let _ = pad.link(&sink.static_pad("sink").unwrap());
                let _ = sink.sync_state_with_parent();
            }
            return;
        };
        if let Err(e) = self.build_receive(&bin, codec, pad) {
            gst::element_error!(
                self.webrtc,
                gst::StreamError::Decode,
                ("cannot receive {}: {}", codec.encoding_name(), e)
            );
        }
    }

    fn build_receive(&self, bin: &gst::Bin, codec: Codec, pad: &gst::Pad) -> Result<(), String> {
        let chain = forward::receive_chain(codec)?;
        bin.add_many(&chain).map_err(|e| e.to_string())?;
        gst::Element::link_many(&chain).map_err(|e| e.to_string())?;
        let n = self.pad_n.fetch_add(1, Ordering::Relaxed);
        let rtp_sink = gst::GhostPad::builder_with_target(&chain[0].static_pad("sink").unwrap())
            .map_err(|e| e.to_string())?
            .name(format!("rtp_sink_{n}"))
            .build();
        bin.add_pad(&rtp_sink).map_err(|e| e.to_string())?;
        let src = bin
            .static_pad("src")
            .and_then(|p| p.downcast::<gst::GhostPad>().ok())
            .ok_or("no src ghost")?;
        src.set_target(Some(&chain[chain.len() - 1].static_pad("src").unwrap()))
            .map_err(|e| e.to_string())?;
        for e in &chain {
            let _ = e.sync_state_with_parent();
        }
        let _ = rtp_sink.set_active(true);
        // MediaState CONNECTED once remote media arrives (Kurento: RTP/RTCP received).
        let w = self.me.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            if let Some(ep) = w.upgrade() {
                ep.set_media_connected(true);
            }
            gst::PadProbeReturn::Remove
        });
        pad.link(&rtp_sink).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The send side of `media`: queue ▸ convert ▸ encoder ▸ payloader ▸ webrtcbin pad
    /// requested with the payload type, ssrc and rtcp-fb flags.
    /// When `offering`, the caps also become the transceiver's codec preferences (webrtcbin
    /// 1.22 offers nothing for a pad that has not received caps yet).
    fn build_send(&self, media: &str, codec: Codec, pt: u32, offering: bool) -> Result<(), String> {
        if self.st().send_built.contains_key(media) {
            return Ok(());
        }
        let bin = self.media_bin(media, "send").ok_or("no media branch")?;
        let [_, pay, _, _] = codec.factories();
        let pay = gst::ElementFactory::make(pay)
            .build()
            .map_err(|_| format!("no {pay}"))?;
        let ssrc: u32 = rand_u32();
        pay.set_property("pt", pt);
        pay.set_property("ssrc", ssrc);
        if codec == Codec::H264 {
            pay.set_property("config-interval", -1i32);
        }
        bin.add(&pay).map_err(|e| e.to_string())?;
        let n = self.pad_n.fetch_add(1, Ordering::Relaxed);
        let rtp_src = gst::GhostPad::builder_with_target(&pay.static_pad("src").unwrap())
            .map_err(|e| e.to_string())?
            .name(format!("rtp_src_{n}"))
            .build();
        bin.add_pad(&rtp_src).map_err(|e| e.to_string())?;
        let mut caps = gst::Caps::builder("application/x-rtp")
            .field("media", media)
            .field("encoding-name", codec.encoding_name())
            .field("payload", pt as i32)
            .field("clock-rate", codec.clock_rate())
            .field("ssrc", ssrc);
        if media == "video" {
            caps = caps
                .field("rtcp-fb-nack", true)
                .field("rtcp-fb-nack-pli", true)
                .field("rtcp-fb-ccm-fir", true);
        }
        if codec == Codec::H264 {
            caps = caps.field("packetization-mode", "1");
        }
        if codec == Codec::Opus {
            caps = caps.field("encoding-params", "2");
        }
        let templ = self
            .webrtc
            .pad_template("sink_%u")
            .ok_or("webrtcbin has no sink pads")?;
        let caps = caps.build();
        let wpad = self
            .webrtc
            .request_pad(&templ, None, Some(&caps))
            .ok_or("webrtcbin refused a sink pad")?;
        if offering {
            let trans = wpad.property::<gst_webrtc::WebRTCRTPTransceiver>("transceiver");
            trans.set_property("codec-preferences", &caps);
        }
        rtp_src.link(&wpad).map_err(|e| e.to_string())?;
        let _ = pay.sync_state_with_parent();
        self.st().send_built.insert(media.to_string(), codec);
        // The input reaches the payloader directly or through decoder/encoder, depending
        // on the caps it has (forward::send_plan).
        let switch = self.send_switch.get(media).ok_or("no media branch")?;
        switch.set_exit(&pay.static_pad("sink").unwrap())?;
        Ok(())
    }

    fn apply_send_bandwidth(&self) {
        let encoders = self
            .send_switch
            .get("video")
            .map(|s| s.middle())
            .unwrap_or_default();
        for e in encoders.iter().filter(|e| forward::is_encoder(e)) {
            self.set_encoder_rate(e);
        }
    }

    /// The video encoder's bitrate: encoderBitrate within min/maxVideoSendBandwidth.
    fn set_encoder_rate(&self, e: &gst::Element) {
        let bw = self.st().bw;
        let wanted = self.element.bitrate(0).max(0);
        let lo = bw.min_video_send.max(0) * 1000;
        let hi = if bw.max_video_send > 0 {
            bw.max_video_send * 1000
        } else {
            i32::MAX
        };
        let rate = wanted.clamp(lo.min(hi), hi);
        if e.find_property("target-bitrate").is_some() {
            e.set_property("target-bitrate", rate);
        } else if e.find_property("bitrate").is_some() {
            e.set_property("bitrate", (rate / 1000).max(1) as u32);
        }
    }

    /// Interfaces, STUN, TURN, ICE-TCP: once, before the first local description.
    fn apply_ice(&self) -> Result<(), CoreError> {
        let ice = {
            let mut st = self.st();
            if st.ice_applied {
                return Ok(());
            }
            st.ice_applied = true;
            st.ice.clone()
        };
        let mut names = ice.network_interfaces.clone();
        if names.trim().is_empty() {
            names = std::env::var("KMS_NETWORK_INTERFACES").unwrap_or_default();
        }
        let names: Vec<String> = names
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if !names.is_empty() {
            let addrs = nice::interface_addresses(&names);
            if addrs.is_empty() {
                return Err(err(
                    40400,
                    "ICE_GATHER_CANDIDATES_ERROR",
                    format!("no address on network interfaces {}", names.join(",")),
                ));
            }
            nice::restrict_to(&self.webrtc, &addrs)
                .map_err(|e| err(40400, "ICE_GATHER_CANDIDATES_ERROR", e))?;
        }
        if !ice.stun_server_address.is_empty() && ice.stun_server_port > 0 {
            self.webrtc.set_property(
                "stun-server",
                format!(
                    "stun://{}:{}",
                    ice.stun_server_address, ice.stun_server_port
                ),
            );
        }
        if !ice.turn_url.is_empty() {
            self.webrtc
                .set_property("turn-server", format!("turn://{}", ice.turn_url));
        }
        let agent = self.webrtc.property::<glib::Object>("ice-agent");
        if agent.find_property("ice-tcp").is_some() {
            agent.set_property("ice-tcp", ice.ice_tcp);
        }
        Ok(())
    }

    fn flush_remote_candidates(&self) {
        let queued = {
            let mut st = self.st();
            st.remote_set = true;
            std::mem::take(&mut st.queued_remote)
        };
        for (mline, c) in queued {
            self.webrtc
                .emit_by_name::<()>("add-ice-candidate", &[&mline, &c]);
        }
    }

    fn set_directions(&self) {
        let dir = if self.opts.recvonly {
            Some(gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly)
        } else if self.opts.sendonly {
            Some(gst_webrtc::WebRTCRTPTransceiverDirection::Sendonly)
        } else {
            None
        };
        let Some(dir) = dir else { return };
        for i in 0i32.. {
            let t = self
                .webrtc
                .emit_by_name::<Option<gst_webrtc::WebRTCRTPTransceiver>>("get-transceiver", &[&i]);
            let Some(t) = t else { break };
            t.set_property("direction", dir);
        }
    }

    fn finish_local(&self, text: String) -> String {
        let text = {
            let st = self.st();
            let t = sdp::with_bandwidth(&text, "video", st.bw.max_video_recv);
            sdp::with_bandwidth(&t, "audio", st.bw.max_audio_recv)
        };
        self.st().local_sdp = Some(text.clone());
        text
    }

    /// `processOffer(offer)`: returns the SDP answer.
    pub fn process_offer(&self, offer: &str) -> Result<String, CoreError> {
        let fail = |m: String| err(40205, "SDP_END_POINT_PROCESS_OFFER_ERROR", m);
        if self.st().local_sdp.is_some() {
            return Err(err(
                40208,
                "SDP_END_POINT_ALREADY_NEGOTIATED",
                "Endpoint already negotiated",
            ));
        }
        let msg = gst_sdp::SDPMessage::parse_buffer(offer.as_bytes())
            .map_err(|_| err(40201, "SDP_PARSE_ERROR", "Error parsing SDP offer"))?;
        self.apply_ice()?;
        if !self.opts.recvonly {
            for Choice {
                media, codec, pt, ..
            } in sdp::choose(&msg)
            {
                self.build_send(&media, codec, pt, false).map_err(fail)?;
            }
        }
        set_description(
            &self.webrtc,
            "set-remote-description",
            gst_webrtc::WebRTCSDPType::Offer,
            offer,
        )
        .map_err(fail)?;
        self.st().remote_sdp = Some(offer.to_string());
        self.set_directions();
        let answer = call(&self.webrtc, "create-answer", &None::<gst::Structure>)
            .and_then(|r| reply_sdp(r, "answer"))
            .map_err(fail)?;
        set_description(
            &self.webrtc,
            "set-local-description",
            gst_webrtc::WebRTCSDPType::Answer,
            &answer,
        )
        .map_err(fail)?;
        self.flush_remote_candidates();
        Ok(self.finish_local(answer))
    }

    /// `generateOffer()`: VP8 and Opus (send and receive unless recvonly/sendonly).
    pub fn generate_offer(&self) -> Result<String, CoreError> {
        let fail = |m: String| err(40204, "SDP_END_POINT_GENERATE_OFFER_ERROR", m);
        if self.st().local_sdp.is_some() {
            return Err(err(
                40208,
                "SDP_END_POINT_ALREADY_NEGOTIATED",
                "Endpoint already negotiated",
            ));
        }
        self.apply_ice()?;
        for codec in [Codec::Opus, Codec::Vp8] {
            if !codec.available() {
                continue;
            }
            if self.opts.recvonly {
                let caps = gst::Caps::builder("application/x-rtp")
                    .field("media", codec.media())
                    .field("encoding-name", codec.encoding_name())
                    .field("payload", codec.default_pt() as i32)
                    .field("clock-rate", codec.clock_rate())
                    .build();
                self.webrtc
                    .emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
                        "add-transceiver",
                        &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps],
                    );
            } else {
                self.build_send(codec.media(), codec, codec.default_pt(), true)
                    .map_err(fail)?;
            }
        }
        self.set_directions();
        if self.opts.use_data_channels && self.st().channels.is_empty() {
            // An m=application line needs a channel before the offer.
            self.create_data_channel("", true, -1, -1, "")?;
        }
        let offer = call(&self.webrtc, "create-offer", &None::<gst::Structure>)
            .and_then(|r| reply_sdp(r, "offer"))
            .map_err(fail)?;
        set_description(
            &self.webrtc,
            "set-local-description",
            gst_webrtc::WebRTCSDPType::Offer,
            &offer,
        )
        .map_err(fail)?;
        self.st().offer_generated = true;
        Ok(self.finish_local(offer))
    }

    /// `processAnswer(answer)`: returns the local offer.
    pub fn process_answer(&self, answer: &str) -> Result<String, CoreError> {
        {
            let st = self.st();
            if !st.offer_generated {
                return Err(err(
                    40209,
                    "SDP_END_POINT_NOT_OFFER_GENERATED",
                    "Offer not generated. It is not possible to process an answer.",
                ));
            }
            if st.remote_sdp.is_some() {
                return Err(err(
                    40210,
                    "SDP_END_POINT_ANSWER_ALREADY_PROCCESED",
                    "Sdp Answer already processed",
                ));
            }
        }
        set_description(
            &self.webrtc,
            "set-remote-description",
            gst_webrtc::WebRTCSDPType::Answer,
            answer,
        )
        .map_err(|m| err(40206, "SDP_END_POINT_PROCESS_ANSWER_ERROR", m))?;
        self.st().remote_sdp = Some(answer.to_string());
        self.flush_remote_candidates();
        Ok(self.st().local_sdp.clone().unwrap_or_default())
    }

    /// `gatherCandidates()`: from now on IceCandidateFound / IceGatheringDone are raised
    /// (those already found are raised at once). webrtcbin gathers when the local description
    /// is set.
    pub fn gather_candidates(&self) -> Result<(), CoreError> {
        self.st().gathering_requested = true;
        self.flush_gathering();
        Ok(())
    }

    /// `addIceCandidate(candidate)`: queued until the remote description is known; mDNS
    /// (`.local`) candidates are ignored.
    pub fn add_ice_candidate(
        &self,
        candidate: &str,
        sdp_mline_index: u32,
    ) -> Result<(), CoreError> {
        if sdp::is_mdns(candidate) {
            return Ok(());
        }
        if candidate.trim().is_empty() {
            return Ok(()); // end-of-candidates
        }
        if sdp::candidate_address(candidate).is_none() {
            return Err(err(
                40401,
                "ICE_ADD_CANDIDATE_ERROR",
                format!("Malformed ICE candidate '{candidate}'"),
            ));
        }
        let c = candidate.to_string();
        {
            let mut st = self.st();
            st.remote_candidates.push((sdp_mline_index, c.clone()));
            if !st.remote_set {
                st.queued_remote.push((sdp_mline_index, c));
                return Ok(());
            }
        }
        self.webrtc
            .emit_by_name::<()>("add-ice-candidate", &[&sdp_mline_index, &c]);
        Ok(())
    }

    /// `addIceCandidate` with Kurento's `IceCandidate` JSON.
    pub fn add_ice_candidate_json(&self, c: &Value) -> Result<(), CoreError> {
        let cand = c["candidate"]
            .as_str()
            .ok_or_else(|| CoreError::marshall("'candidate' parameter should be a IceCandidate"))?;
        let mline = c["sdpMLineIndex"].as_u64().unwrap_or(0) as u32;
        self.add_ice_candidate(cand, mline)
    }

    pub fn local_session_descriptor(&self) -> Result<String, CoreError> {
        self.st().local_sdp.clone().ok_or_else(|| {
            err(
                40202,
                "SDP_END_POINT_NO_LOCAL_SDP_ERROR",
                "Local SDP not generated",
            )
        })
    }

    pub fn remote_session_descriptor(&self) -> Result<String, CoreError> {
        self.st().remote_sdp.clone().ok_or_else(|| {
            err(
                40203,
                "SDP_END_POINT_NO_REMOTE_SDP_ERROR",
                "Remote SDP not set",
            )
        })
    }

    pub fn ice_settings(&self) -> IceSettings {
        self.st().ice.clone()
    }

    /// Updates the ICE settings; they take effect at the next negotiation (as in Kurento,
    /// setting them after gathering started has no effect on this session).
    pub fn set_ice_settings(&self, f: impl FnOnce(&mut IceSettings)) {
        f(&mut self.st().ice);
    }

    pub fn bandwidths(&self) -> Bandwidths {
        self.st().bw
    }

    pub fn set_bandwidths(&self, f: impl FnOnce(&mut Bandwidths)) {
        f(&mut self.st().bw);
        self.apply_send_bandwidth();
    }

    /// `getMediaState`: `CONNECTED` once remote media arrived on an established connection.
    pub fn media_state(&self) -> &'static str {
        if self.st().media_connected {
            "CONNECTED"
        } else {
            "DISCONNECTED"
        }
    }

    /// `getConnectionState`.
    pub fn connection_state(&self) -> &'static str {
        if self.st().connected {
            "CONNECTED"
        } else {
            "DISCONNECTED"
        }
    }

    /// `getIceConnectionState`: IceConnection[] per stream and component.
    pub fn ice_connection_state(&self) -> Value {
        Value::Array(
            self.st()
                .ice_states
                .iter()
                .map(|((s, c), state)| {
                    json!({"streamId": s.to_string(), "componentId": c, "state": state,
                        "__module__": "kurento", "__type__": "IceConnection"})
                })
                .collect(),
        )
    }

    /// `getICECandidatePairs`.
    pub fn ice_candidate_pairs(&self) -> Value {
        Value::Array(self.st().pairs.clone())
    }

    /// `requestKeyframe` (elements.md): asks the remote sender for a key frame (PLI/FIR through
    /// the RTP session).
    pub fn request_keyframe(&self) -> Result<(), CoreError> {
        let Some(bin) = self.media_bin("video", "recv") else {
            return Ok(());
        };
        let Some(target) = bin
            .static_pad("src")
            .and_then(|p| p.downcast::<gst::GhostPad>().ok())
            .and_then(|g| g.target())
        else {
            return Err(CoreError::unexpected("no video is being received"));
        };
        kurento_core_runtime::request_key_unit(&target);
        Ok(())
    }

    fn track_channel(&self, ch: gst_webrtc::WebRTCDataChannel) {
        let id = ch.property::<i32>("id");
        let w = self.me.clone();
        ch.connect_notify(Some("ready-state"), move |ch, _| {
            let state = ch.property::<gst_webrtc::WebRTCDataChannelState>("ready-state");
            let id = ch.property::<i32>("id");
            let Some(ep) = w.upgrade() else { return };
            let mut m = Map::new();
            m.insert("channelId".into(), json!(id));
            match state {
                gst_webrtc::WebRTCDataChannelState::Open => {
                    ep.st().channels.insert(id, ch.clone());
                    ep.raise("DataChannelOpened", m);
                }
                gst_webrtc::WebRTCDataChannelState::Closed
                    if ep.st().channels.remove(&id).is_some() =>
                {
                    ep.raise("DataChannelClosed", m);
                }
                _ => {}
            }
        });
        let w = self.me.clone();
        ch.connect("on-message-string", false, move |args| {
            let text = args[1]
                .get::<Option<String>>()
                .ok()
                .flatten()
                .unwrap_or_default();
            let ch = args[0].get::<gst_webrtc::WebRTCDataChannel>().ok();
            if let (Some(ep), Some(ch)) = (w.upgrade(), ch) {
                ep.data_received(text.as_bytes());
                ep.on_data(ch.property::<i32>("id"), &text);
            }
            None
        });
        let w = self.me.clone();
        ch.connect("on-message-data", false, move |args| {
            // No bytes: an empty message (webrtcbin 1.22 also reports a browser's empty
            // *string* this way, see data.rs).
            let d = args[1].get::<Option<glib::Bytes>>().ok().flatten();
            let d = d.as_deref().unwrap_or_default();
            let ch = args[0].get::<gst_webrtc::WebRTCDataChannel>().ok();
            if let (Some(ep), Some(ch)) = (w.upgrade(), ch) {
                ep.data_received(d);
                ep.on_data(ch.property::<i32>("id"), &String::from_utf8_lossy(d));
            }
            None
        });
        if ch.property::<gst_webrtc::WebRTCDataChannelState>("ready-state")
            == gst_webrtc::WebRTCDataChannelState::Open
        {
            self.st().channels.insert(id, ch);
            let mut m = Map::new();
            m.insert("channelId".into(), json!(id));
            self.raise("DataChannelOpened", m);
        }
    }

    fn on_data(&self, channel: i32, text: &str) {
        if let Some(h) = &*self.data_handler.lock().unwrap_or_else(|e| e.into_inner()) {
            h(channel, text);
        }
    }

    /// Where text received on any data channel goes (the element's data output).
    pub fn on_data_received(&self, handler: impl Fn(i32, &str) + Send + Sync + 'static) {
        *self.data_handler.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(handler));
    }

    /// Sends text on every open data channel (the element's data input).
    pub fn send_data(&self, text: &str) {
        let channels: Vec<_> = self.st().channels.values().cloned().collect();
        for ch in channels {
            let _ = ch.send_string_full(Some(text));
        }
    }

    /// `createDataChannel(label, ordered, maxPacketLifeTime, maxRetransmits, protocol)`.
    pub fn create_data_channel(
        &self,
        label: &str,
        ordered: bool,
        max_packet_life_time: i32,
        max_retransmits: i32,
        protocol: &str,
    ) -> Result<(), CoreError> {
        let mut opts = gst::Structure::builder("config")
            .field("ordered", ordered)
            .field("protocol", protocol);
        if max_packet_life_time >= 0 {
            opts = opts.field("max-packet-lifetime", max_packet_life_time);
        }
        if max_retransmits >= 0 {
            opts = opts.field("max-retransmits", max_retransmits);
        }
        let ch = self
            .webrtc
            .emit_by_name::<Option<gst_webrtc::WebRTCDataChannel>>(
                "create-data-channel",
                &[&label, &opts.build()],
            )
            .ok_or_else(|| CoreError::unexpected("Cannot create data channel"))?;
        self.track_channel(ch);
        Ok(())
    }

    /// `closeDataChannel(channelId)`.
    pub fn close_data_channel(&self, channel_id: i32) -> Result<(), CoreError> {
        let ch = self.st().channels.get(&channel_id).cloned();
        match ch {
            Some(ch) => {
                ch.close();
                Ok(())
            }
            None => Err(CoreError::unexpected(format!(
                "Data channel {channel_id} not found"
            ))),
        }
    }

    /// Stops webrtcbin and releases the element.
    pub fn release(&self) {
        let channels: Vec<_> = self.st().channels.values().cloned().collect();
        for ch in channels {
            ch.close();
        }
        self.element.release();
    }
}

fn state_change(on: bool) -> Map<String, Value> {
    let (old, new) = if on {
        ("DISCONNECTED", "CONNECTED")
    } else {
        ("CONNECTED", "DISCONNECTED")
    };
    let mut m = Map::new();
    m.insert("oldState".into(), json!(old));
    m.insert("newState".into(), json!(new));
    m
}

pub(crate) fn gst_vp8_resilient() -> glib::Value {
    // `error-resilient` is a flags property; set by nick so no gst-video dependency is needed.
    let p = gst::ElementFactory::make("vp8enc").build().ok();
    match p.and_then(|e| e.find_property("error-resilient")) {
        Some(spec) => glib::FlagsClass::with_type(spec.value_type())
            .and_then(|c| {
                c.builder()
                    .set_by_nick("default")
                    .set_by_nick("partitions")
                    .build()
            })
            .unwrap_or_else(|| spec.default_value().clone()),
        None => 0u32.to_value(),
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() as u32).max(1)
}

/// Restricts a webrtcbin (e.g. a test peer) to the addresses of the named interfaces.
pub fn restrict_ice_to_interfaces(webrtcbin: &gst::Element, names: &[&str]) -> Result<(), String> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    nice::restrict_to(webrtcbin, &nice::interface_addresses(&names))
}
