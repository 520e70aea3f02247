// SPDX-License-Identifier: MPL-2.0
//! The WebRtcEndpoint against a second webrtcbin in the same process, on 127.0.0.1 only:
//! offer/answer both ways, ICE over loopback, video from the peer's videotestsrc looped back
//! by `ep.connect(ep)` and decoded by the peer, candidate queueing, mDNS candidates, events,
//! data channels.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use kurento_core_runtime::{
    Branch, ElementSpec, MediaElement, MediaObject, MediaPipeline, MediaType, filter_spec, gst,
};
use kurento_webrtc_runtime::{Options, WebRtcEndpoint, restrict_ice_to_interfaces};
use serde_json::Value;

type Events = Arc<Mutex<Vec<(String, Value)>>>;

const EVENTS: [&str; 12] = [
    "IceCandidateFound",
    "IceGatheringDone",
    "IceComponentStateChanged",
    "NewCandidatePairSelected",
    "ConnectionStateChanged",
    "MediaStateChanged",
    "MediaFlowInStateChanged",
    "MediaFlowOutStateChanged",
    "DataChannelOpened",
    "DataChannelClosed",
    "Error",
    "ElementConnected",
];

fn object(events: &Events, id: &str) -> MediaObject {
    let ev = events.clone();
    let o = MediaObject::new(
        id,
        Arc::new(move |t, d| ev.lock().unwrap().push((t.to_string(), d))),
    );
    for e in EVENTS {
        o.subscribe(e);
    }
    o
}

fn wait_until(what: &str, timeout: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(events: &Events, t: &str) -> usize {
    events.lock().unwrap().iter().filter(|e| e.0 == t).count()
}

fn find(events: &Events, t: &str) -> Vec<Value> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.0 == t)
        .map(|e| e.1.clone())
        .collect()
}

/// The browser stand-in: videotestsrc ▸ VP8 ▸ webrtcbin, and whatever comes back decoded and
/// counted.
struct Peer {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    frames: Arc<AtomicU32>,
    candidates: Arc<Mutex<Vec<(u32, String)>>>,
    messages: Arc<Mutex<Vec<String>>>,
    channel: Arc<Mutex<Option<gst_webrtc::WebRTCDataChannel>>>,
}

impl Peer {
    fn new(send_video: bool) -> Peer {
        Peer::build(
            send_video.then_some(
                "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=15/1 \
                 ! vp8enc name=enc deadline=1 keyframe-max-dist=100000 ! rtpvp8pay pt=96 \
                 ! capsfilter caps=application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000,rtcp-fb-nack-pli=true",
            ),
            "rtpvp8depay name=depay wait-for-keyframe=true ! vp8dec name=dec ! fakesink sync=false",
        )
    }

    /// A peer sending what `send` (a bin description ending in RTP caps) makes and decoding
    /// what comes back with `recv` (a bin description with a decoder named `dec`).
    fn build(send: Option<&str>, recv: &'static str) -> Peer {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let webrtc = gst::ElementFactory::make("webrtcbin").build().unwrap();
        webrtc.set_property_from_str("bundle-policy", "max-bundle");
        pipeline.add(&webrtc).unwrap();
        restrict_ice_to_interfaces(&webrtc, &["lo"]).unwrap();
        if let Some(send) = send {
            let src = gst::parse::bin_from_description(send, true).unwrap();
            pipeline.add(&src).unwrap();
            src.link(&webrtc).unwrap();
        }
        let frames = Arc::new(AtomicU32::new(0));
        let (f, p) = (frames.clone(), pipeline.clone());
        webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let bin = gst::parse::bin_from_description(recv, true).unwrap();
            p.add(&bin).unwrap();
            let f = f.clone();
            bin.by_name("dec")
                .unwrap()
                .static_pad("src")
                .unwrap()
                .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                    f.fetch_add(1, Ordering::Relaxed);
                    gst::PadProbeReturn::Ok
                });
            bin.sync_state_with_parent().unwrap();
            pad.link(&bin.static_pad("sink").unwrap()).unwrap();
        });
        let candidates = Arc::new(Mutex::new(Vec::new()));
        let c = candidates.clone();
        webrtc.connect("on-ice-candidate", false, move |args| {
            c.lock().unwrap().push((
                args[1].get::<u32>().unwrap(),
                args[2].get::<String>().unwrap(),
            ));
            None
        });
        let messages = Arc::new(Mutex::new(Vec::new()));
        let channel = Arc::new(Mutex::new(None));
        let (m, ch) = (messages.clone(), channel.clone());
        webrtc.connect("on-data-channel", false, move |args| {
            let dc = args[1].get::<gst_webrtc::WebRTCDataChannel>().unwrap();
            let m = m.clone();
            dc.connect("on-message-string", false, move |args| {
                if let Ok(Some(s)) = args[1].get::<Option<String>>() {
                    m.lock().unwrap().push(s);
                }
                None
            });
            *ch.lock().unwrap() = Some(dc);
            None
        });
        pipeline.set_state(gst::State::Playing).unwrap();
        Peer {
            pipeline,
            webrtc,
            frames,
            candidates,
            messages,
            channel,
        }
    }

    fn call(&self, action: &str, arg: &dyn ToValue) -> Option<gst::Structure> {
        let promise = gst::Promise::new();
        self.webrtc.emit_by_name::<()>(action, &[arg, &promise]);
        assert_eq!(promise.wait(), gst::PromiseResult::Replied, "{action}");
        promise.get_reply().map(|s| s.to_owned())
    }

    fn set(&self, which: &str, ty: gst_webrtc::WebRTCSDPType, sdp: &str) {
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let desc = gst_webrtc::WebRTCSessionDescription::new(ty, msg);
        let reply = self.call(which, &desc);
        if let Some(r) = reply {
            assert!(r.get::<gst::glib::Error>("error").is_err(), "{which}: {r}");
        }
    }

    fn create(&self, what: &str) -> String {
        let reply = self
            .call(&format!("create-{what}"), &None::<gst::Structure>)
            .unwrap();
        reply
            .get::<gst_webrtc::WebRTCSessionDescription>(what)
            .unwrap()
            .sdp()
            .as_text()
            .unwrap()
    }

    /// Takes a remote offer and answers it.
    fn answer(&self, offer: &str) -> String {
        self.set(
            "set-remote-description",
            gst_webrtc::WebRTCSDPType::Offer,
            offer,
        );
        let answer = self.create("answer");
        self.set(
            "set-local-description",
            gst_webrtc::WebRTCSDPType::Answer,
            &answer,
        );
        answer
    }

    fn add_candidate(&self, c: &Value) {
        let mline = c["sdpMLineIndex"].as_u64().unwrap() as u32;
        let cand = c["candidate"].as_str().unwrap().to_string();
        self.webrtc
            .emit_by_name::<()>("add-ice-candidate", &[&mline, &cand]);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn setup(opts: Options) -> (Events, Arc<MediaPipeline>, Arc<WebRtcEndpoint>) {
    gst::init().unwrap();
    let events: Events = Arc::default();
    let pipeline = MediaPipeline::new(object(&events, "P_kurento.MediaPipeline")).unwrap();
    let ep = WebRtcEndpoint::new(
        object(&events, "P_kurento.MediaPipeline/W_kurento.WebRtcEndpoint"),
        pipeline.gst_pipeline(),
        opts,
    )
    .unwrap();
    ep.set_ice_settings(|s| s.network_interfaces = "lo".into());
    (events, pipeline, ep)
}

/// Forwards the endpoint's IceCandidateFound events to the peer as they come.
fn relay_endpoint_candidates(events: &Events, peer: &Peer, sent: &mut usize) {
    let found = find(events, "IceCandidateFound");
    for e in &found[*sent..] {
        peer.add_candidate(&e["candidate"]);
    }
    *sent = found.len();
}

/// Trickles candidates both ways.
fn exchange(
    events: &Events,
    peer: &Peer,
    ep: &WebRtcEndpoint,
    sent: &mut usize,
    peer_sent: &mut usize,
) {
    relay_endpoint_candidates(events, peer, sent);
    let pc = peer.candidates.lock().unwrap().clone();
    for (m, c) in &pc[*peer_sent..] {
        ep.add_ice_candidate(c, *m).unwrap();
    }
    *peer_sent = pc.len();
}

#[test]
fn browser_offers_loopback_video_and_events() {
    let (events, pipeline, ep) = setup(Options::default());
    // Hello-world: the endpoint sends back what it receives.
    ep.element()
        .connect(ep.element().bin().upcast_ref(), None, "default", "default")
        .unwrap();
    let peer = Peer::new(true);
    let offer = peer.create("offer");
    peer.set(
        "set-local-description",
        gst_webrtc::WebRTCSDPType::Offer,
        &offer,
    );
    // The peer's candidates arrive before the offer: queued by the endpoint.
    wait_until("peer candidates", 10, || {
        !peer.candidates.lock().unwrap().is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    for (m, c) in peer.candidates.lock().unwrap().clone() {
        assert!(
            c.contains(" 127.0.0.1 ") || c.contains(" ::1 "),
            "loopback only: {c}"
        );
        ep.add_ice_candidate(&c, m).unwrap();
    }
    // A browser's mDNS candidate is ignored, not an error.
    ep.add_ice_candidate(
        "candidate:2 1 udp 2113937151 6b3f2c9e-1d2a-4b1e-9c8e-0e1f2a3b4c5d.local 50000 typ host generation 0",
        0,
    )
    .unwrap();
    assert!(ep.local_session_descriptor().is_err());
    let answer = ep.process_offer(&offer).unwrap();
    assert!(answer.contains("VP8/90000"), "{answer}");
    assert!(answer.contains("a=rtcp-fb:96 nack pli"), "{answer}");
    assert!(!answer.contains("a=ssrc-group:FID 0"), "{answer}");
    assert_eq!(ep.remote_session_descriptor().unwrap(), offer);
    assert_eq!(ep.local_session_descriptor().unwrap(), answer);
    peer.set(
        "set-remote-description",
        gst_webrtc::WebRTCSDPType::Answer,
        &answer,
    );
    // No IceCandidateFound before gatherCandidates.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&events, "IceCandidateFound"), 0);
    ep.gather_candidates().unwrap();
    let mut sent = 0;
    wait_until("IceGatheringDone", 10, || {
        relay_endpoint_candidates(&events, &peer, &mut sent);
        count(&events, "IceGatheringDone") == 1
    });
    relay_endpoint_candidates(&events, &peer, &mut sent);
    let cands = find(&events, "IceCandidateFound");
    assert!(!cands.is_empty());
    for c in &cands {
        let c = &c["candidate"];
        assert_eq!(c["__type__"], "IceCandidate");
        let s = c["candidate"].as_str().unwrap();
        assert!(s.contains(" 127.0.0.1 ") || s.contains(" ::1 "), "{c}");
        assert_eq!(c["sdpMLineIndex"], 0);
        assert_eq!(c["sdpMid"], "0");
    }
    // Video goes peer ▸ endpoint ▸ (loopback) ▸ endpoint ▸ peer, decoded there.
    wait_until("looped-back frames", 20, || {
        peer.frames.load(Ordering::Relaxed) > 10
    });
    wait_until("connection events", 10, || {
        count(&events, "ConnectionStateChanged") >= 1 && count(&events, "MediaStateChanged") >= 1
    });
    assert_eq!(ep.connection_state(), "CONNECTED");
    assert_eq!(ep.media_state(), "CONNECTED");
    let c = &find(&events, "ConnectionStateChanged")[0];
    assert_eq!(
        (c["oldState"].as_str(), c["newState"].as_str()),
        (Some("DISCONNECTED"), Some("CONNECTED"))
    );
    assert_eq!(c["type"], "ConnectionStateChanged");
    assert_eq!(
        c["source"],
        "P_kurento.MediaPipeline/W_kurento.WebRtcEndpoint"
    );
    wait_until("flow events", 10, || {
        find(&events, "MediaFlowInStateChanged")
            .iter()
            .any(|e| e["state"] == "FLOWING" && e["mediaType"] == "VIDEO")
            && find(&events, "MediaFlowOutStateChanged")
                .iter()
                .any(|e| e["state"] == "FLOWING" && e["mediaType"] == "VIDEO")
    });
    let states = find(&events, "IceComponentStateChanged");
    assert!(
        states
            .iter()
            .any(|s| s["state"] == "READY" || s["state"] == "CONNECTED"),
        "{states:?}"
    );
    assert!(
        states
            .iter()
            .all(|s| s["streamId"].is_u64() && s["componentId"] == 1)
    );
    let pairs = find(&events, "NewCandidatePairSelected");
    assert!(!pairs.is_empty());
    let pair = &pairs[0]["candidatePair"];
    assert_eq!(pair["__type__"], "IceCandidatePair");
    for side in ["localCandidate", "remoteCandidate"] {
        let c = pair[side].as_str().unwrap();
        assert!(c.contains(" 127.0.0.1 ") || c.contains(" ::1 "), "{pair}");
    }
    assert_eq!(ep.ice_candidate_pairs().as_array().unwrap().len(), 1);
    assert!(
        ep.ice_connection_state()
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["state"] == "READY" || c["state"] == "CONNECTED")
    );
    ep.request_keyframe().unwrap();
    let before = peer.frames.load(Ordering::Relaxed);
    wait_until("frames keep coming", 10, || {
        peer.frames.load(Ordering::Relaxed) > before + 10
    });
    assert_no_errors(&events);
    ep.release();
    pipeline.release();
}

#[test]
fn endpoint_offers_and_peer_answers() {
    let (events, pipeline, ep) = setup(Options::default());
    ep.element()
        .connect(ep.element().bin().upcast_ref(), None, "default", "default")
        .unwrap();
    let peer = Peer::new(true);
    ep.gather_candidates().unwrap();
    assert_eq!(
        ep.process_answer("v=0").unwrap_err().code,
        40209,
        "no offer generated yet"
    );
    let offer = ep.generate_offer().unwrap();
    assert!(
        offer.contains("VP8/90000") && offer.to_lowercase().contains("opus/48000"),
        "{offer}"
    );
    assert!(offer.contains("a=group:BUNDLE"), "{offer}");
    assert_eq!(ep.generate_offer().unwrap_err().code, 40208);
    let answer = peer.answer(&offer);
    ep.process_answer(&answer).unwrap();
    assert_eq!(ep.process_answer(&answer).unwrap_err().code, 40210);
    let (mut sent, mut peer_sent) = (0, 0);
    wait_until("looped-back frames", 30, || {
        exchange(&events, &peer, &ep, &mut sent, &mut peer_sent);
        peer.frames.load(Ordering::Relaxed) > 10
    });
    assert_eq!(ep.connection_state(), "CONNECTED");
    ep.release();
    pipeline.release();
}

/// Negotiates an endpoint with data channels against `peer` and waits for the channel the
/// endpoint creates to be open on both sides: (channel id, the peer's channel).
fn open_data_channel(
    events: &Events,
    peer: &Peer,
    ep: &WebRtcEndpoint,
) -> (i64, gst_webrtc::WebRTCDataChannel) {
    ep.gather_candidates().unwrap();
    let offer = ep.generate_offer().unwrap();
    assert!(offer.contains("m=application"), "{offer}");
    let answer = peer.answer(&offer);
    ep.process_answer(&answer).unwrap();
    let (mut sent, mut peer_sent) = (0, 0);
    wait_until("DataChannelOpened", 30, || {
        exchange(events, peer, ep, &mut sent, &mut peer_sent);
        count(events, "DataChannelOpened") == 1 && peer.channel.lock().unwrap().is_some()
    });
    let id = find(events, "DataChannelOpened")[0]["channelId"]
        .as_i64()
        .unwrap();
    let ch = peer.channel.lock().unwrap().clone().unwrap();
    wait_until("peer channel open", 10, || {
        ch.property::<gst_webrtc::WebRTCDataChannelState>("ready-state")
            == gst_webrtc::WebRTCDataChannelState::Open
    });
    (id, ch)
}

#[test]
fn data_pads_loop_back_and_feed_other_elements() {
    let (events, pipeline, ep) = setup(Options {
        use_data_channels: true,
        ..Options::default()
    });
    let bin = ep.element().bin().clone();
    assert!(bin.static_pad("sink_data_default").is_some());
    // The tutorial's DATA loopback, through the element's data pads (no handler).
    ep.element()
        .connect(
            bin.upcast_ref(),
            Some(MediaType::Data),
            "default",
            "default",
        )
        .unwrap();
    // And an element with only a data input (as KmsShowData's): connect without a type
    // connects the one type both sides have.
    let received = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let fakesink = gst::ElementFactory::make("fakesink")
        .property("async", false)
        .property("sync", false)
        .property("signal-handoffs", true)
        .build()
        .unwrap();
    let r = received.clone();
    fakesink.connect("handoff", false, move |args| {
        let b = args[1].get::<gst::Buffer>().unwrap();
        r.lock().unwrap().push(b.map_readable().unwrap().to_vec());
        None
    });
    let reader = MediaElement::new(
        object(&events, "P_kurento.MediaPipeline/R_kurento.PassThrough"),
        pipeline.gst_pipeline(),
        ElementSpec {
            audio: Branch::None,
            video: Branch::None,
            data: Branch::Split {
                input: Some(fakesink),
                output: None,
            },
        },
    )
    .unwrap();
    ep.element()
        .connect(reader.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    let types: Vec<_> = ep
        .element()
        .sink_connections(None, None)
        .iter()
        .map(|c| (c.sink.clone(), c.media_type))
        .collect();
    assert_eq!(types.len(), 2, "{types:?}");
    assert!(types.iter().all(|(_, m)| *m == MediaType::Data));

    let peer = Peer::new(false);
    let (_, ch) = open_data_channel(&events, &peer, &ep);
    ch.send_string_full(Some("hello")).unwrap();
    wait_until("echo through the DATA loopback", 10, || {
        peer.messages.lock().unwrap().iter().any(|m| m == "hello")
    });
    // Binary messages go through byte for byte.
    ch.send_data_full(Some(&gst::glib::Bytes::from(&[0xffu8, 0, 1][..])))
        .unwrap();
    wait_until("data at the reader", 10, || {
        let r = received.lock().unwrap();
        r.iter().any(|b| b == b"hello") && r.iter().any(|b| b == &[0xff, 0, 1])
    });
    // Another element feeding the endpoint's data input instead of the loopback. An empty
    // buffer is not sent (webrtcbin 1.22 cannot send an empty message without breaking the
    // channel); what follows still arrives.
    let appsrc = gst::ElementFactory::make("appsrc")
        .property("caps", gst::Caps::new_empty_simple("application/data"))
        .property("is-live", true)
        .property("do-timestamp", true)
        .property_from_str("format", "time")
        .build()
        .unwrap();
    let writer = MediaElement::new(
        object(&events, "P_kurento.MediaPipeline/T_kurento.PassThrough"),
        pipeline.gst_pipeline(),
        ElementSpec {
            audio: Branch::None,
            video: Branch::None,
            data: Branch::Split {
                input: None,
                output: Some(appsrc.clone()),
            },
        },
    )
    .unwrap();
    ep.element()
        .disconnect(
            bin.upcast_ref(),
            Some(MediaType::Data),
            "default",
            "default",
        )
        .unwrap();
    writer
        .connect(bin.upcast_ref(), None, "default", "default")
        .unwrap();
    let sources = ep.element().source_connections(None, None);
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].source, writer.object().id());
    for text in ["", "after an empty one"] {
        let b = gst::Buffer::from_slice(text.as_bytes().to_vec());
        appsrc
            .emit_by_name::<gst::FlowReturn>("push-buffer", &[&b])
            .into_result()
            .unwrap();
    }
    wait_until("the text after the empty buffer", 10, || {
        peer.messages
            .lock()
            .unwrap()
            .iter()
            .any(|m| m == "after an empty one")
    });
    assert!(!peer.messages.lock().unwrap().iter().any(|m| m.is_empty()));
    writer.release();
    reader.release();
    ep.release();
    pipeline.release();
}

#[test]
fn no_data_pads_without_data_channels() {
    let (_events, pipeline, ep) = setup(Options::default());
    let bin = ep.element().bin().clone();
    assert!(bin.static_pad("sink_data_default").is_none());
    assert!(
        ep.element()
            .connect(
                bin.upcast_ref(),
                Some(MediaType::Data),
                "default",
                "default"
            )
            .is_err()
    );
    ep.release();
    pipeline.release();
}

#[test]
fn data_channel_opens_echoes_and_closes() {
    let (events, pipeline, ep) = setup(Options {
        use_data_channels: true,
        ..Options::default()
    });
    // The DATA loopback of the tutorial: what arrives on a channel is sent back.
    let w = Arc::downgrade(&ep);
    ep.on_data_received(move |_, text| {
        if let Some(ep) = w.upgrade() {
            ep.send_data(text);
        }
    });
    let peer = Peer::new(false);
    let (id, ch) = open_data_channel(&events, &peer, &ep);
    ch.send_string_full(Some("hello kurento")).unwrap();
    wait_until("echo", 10, || {
        peer.messages
            .lock()
            .unwrap()
            .iter()
            .any(|m| m == "hello kurento")
    });
    ep.close_data_channel(id as i32).unwrap();
    wait_until("DataChannelClosed", 10, || {
        count(&events, "DataChannelClosed") == 1
    });
    assert_eq!(find(&events, "DataChannelClosed")[0]["channelId"], id);
    assert!(ep.close_data_channel(id as i32).is_err());
    ep.release();
    pipeline.release();
}

#[test]
fn unknown_network_interface_is_a_clear_error() {
    let (_events, pipeline, ep) = setup(Options::default());
    ep.set_ice_settings(|s| s.network_interfaces = "nosuchif0".into());
    let e = ep.generate_offer().unwrap_err();
    assert_eq!(
        (e.code, e.error_type),
        (40400, "ICE_GATHER_CANDIDATES_ERROR")
    );
    assert!(e.message.contains("nosuchif0"), "{}", e.message);
    ep.release();
    pipeline.release();
}

fn assert_no_errors(events: &Events) {
    let errors = find(events, "Error");
    assert!(errors.is_empty(), "{errors:?}");
}

/// Counts the key frames the peer's encoder makes (it makes none unless asked: its
/// keyframe-max-dist is out of reach).
fn count_keyframes(peer: &Peer) -> Arc<AtomicU32> {
    let n = Arc::new(AtomicU32::new(0));
    let c = n.clone();
    let enc = peer.pipeline.by_name("enc").unwrap();
    enc.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer()
                && !b.flags().contains(gst::BufferFlags::DELTA_UNIT)
            {
                c.fetch_add(1, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    n
}

/// The peer offers, the endpoint answers, candidates are trickled both ways until the peer
/// has decoded more than 10 frames.
fn negotiate_until_frames(events: &Events, peer: &Peer, ep: &WebRtcEndpoint) {
    let offer = peer.create("offer");
    peer.set(
        "set-local-description",
        gst_webrtc::WebRTCSDPType::Offer,
        &offer,
    );
    let answer = ep.process_offer(&offer).unwrap();
    peer.set(
        "set-remote-description",
        gst_webrtc::WebRTCSDPType::Answer,
        &answer,
    );
    ep.gather_candidates().unwrap();
    let (mut sent, mut peer_sent) = (0, 0);
    wait_until("looped-back frames", 30, || {
        exchange(events, peer, ep, &mut sent, &mut peer_sent);
        peer.frames.load(Ordering::Relaxed) > 10
    });
}

fn frames_keep_coming(peer: &Peer, what: &str) {
    let before = peer.frames.load(Ordering::Relaxed);
    wait_until(what, 15, || {
        peer.frames.load(Ordering::Relaxed) > before + 10
    });
}

/// Names of the encoders and decoders inside the endpoint's bin.
fn codecs_in(bin: &gst::Bin) -> Vec<String> {
    bin.iterate_recurse()
        .into_iter()
        .flatten()
        .filter(|e| {
            e.factory().is_some_and(|f| {
                let k = f.klass();
                k.contains("Codec") && (k.contains("Encoder") || k.contains("Decoder"))
            })
        })
        .map(|e| e.name().to_string())
        .collect()
}

fn tee_caps(ep: &WebRtcEndpoint) -> String {
    let pad = ep
        .element()
        .bin()
        .by_name("video_tee")
        .unwrap()
        .static_pad("sink")
        .unwrap();
    pad.current_caps()
        .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
        .unwrap_or_default()
}

#[test]
fn loopback_forwards_vp8_and_key_frame_requests_reach_the_sender() {
    let (events, pipeline, ep) = setup(Options::default());
    ep.element()
        .connect(ep.element().bin().upcast_ref(), None, "default", "default")
        .unwrap();
    let peer = Peer::new(true);
    let keyframes = count_keyframes(&peer);
    negotiate_until_frames(&events, &peer, &ep);
    // Forwarded: the VP8 the peer sent crosses the tee encoded; nothing decodes or encodes it.
    assert_eq!(tee_caps(&ep), "video/x-vp8");
    let bin = ep.element().bin();
    assert!(codecs_in(bin).is_empty(), "{:?}", codecs_in(bin));
    assert!(!ep.element().is_media_transcoding(MediaType::Video, ""));
    // The peer asks for a key frame (PLI): the endpoint's sending side passes the request
    // through the loopback to its receiving side, which asks the peer's encoder.
    let k = keyframes.load(Ordering::Relaxed);
    let depay_src = peer
        .pipeline
        .by_name("depay")
        .unwrap()
        .static_pad("src")
        .unwrap();
    assert!(kurento_core_runtime::request_key_unit(&depay_src));
    wait_until("key frame after the peer's PLI", 10, || {
        keyframes.load(Ordering::Relaxed) > k
    });
    // requestKeyframe asks the sender too.
    let k = keyframes.load(Ordering::Relaxed);
    ep.request_keyframe().unwrap();
    wait_until("key frame after requestKeyframe", 10, || {
        keyframes.load(Ordering::Relaxed) > k
    });
    frames_keep_coming(&peer, "frames after key frames");
    assert_no_errors(&events);
    ep.release();
    pipeline.release();
}

#[test]
fn filter_inserted_while_flowing_decodes_and_endpoint_reencodes() {
    let (events, pipeline, ep) = setup(Options::default());
    let me = ep.element().bin().clone().upcast::<gst::Element>();
    ep.element()
        .connect(&me, None, "default", "default")
        .unwrap();
    let peer = Peer::new(true);
    negotiate_until_frames(&events, &peer, &ep);
    // A raw filter goes into the loop while media flows (filter_spec host, as every filter).
    let flip = gst::ElementFactory::make("videoflip")
        .property_from_str("method", "horizontal-flip")
        .build()
        .unwrap();
    let filter = MediaElement::new(
        object(&events, "P_kurento.MediaPipeline/F_kurento.Filter"),
        pipeline.gst_pipeline(),
        filter_spec(&flip, Some(MediaType::Video)).unwrap(),
    )
    .unwrap();
    let fbin = filter.bin().clone().upcast::<gst::Element>();
    ep.element()
        .connect(&fbin, Some(MediaType::Video), "default", "default")
        .unwrap();
    // The filter takes the endpoint's video input over from the loopback (audio stays looped).
    filter
        .connect(&me, Some(MediaType::Video), "default", "default")
        .unwrap();
    let sources = ep
        .element()
        .source_connections(Some(MediaType::Video), None);
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0].source, filter.object().id());
    assert_eq!(
        ep.element()
            .source_connections(Some(MediaType::Audio), None)
            .len(),
        1
    );
    // The filter decodes the forwarded VP8, the endpoint encodes the filter's raw output.
    let flowed = Arc::new(AtomicU32::new(0));
    let f = flowed.clone();
    flip.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            f.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    wait_until("frames through the filter", 15, || {
        flowed.load(Ordering::Relaxed) > 10
    });
    frames_keep_coming(&peer, "frames through the filter to the peer");
    assert!(filter.is_media_transcoding(MediaType::Video, ""));
    assert!(ep.element().is_media_transcoding(MediaType::Video, ""));
    assert!(!ep.element().is_media_transcoding(MediaType::Audio, ""));
    // Back to the plain loopback: the encoder goes away, forwarding again.
    filter
        .disconnect(&me, Some(MediaType::Video), "default", "default")
        .unwrap();
    ep.element()
        .connect(&me, None, "default", "default")
        .unwrap();
    wait_until("encoder removed", 10, || {
        !ep.element().is_media_transcoding(MediaType::Video, "")
    });
    frames_keep_coming(&peer, "forwarded frames after the filter left");
    assert_no_errors(&events);
    filter.release();
    ep.release();
    pipeline.release();
}

#[test]
fn late_viewer_gets_a_key_frame_from_the_presenter() {
    let (events, pipeline, presenter) = setup(Options::default());
    let me = presenter.element().bin().clone().upcast::<gst::Element>();
    presenter
        .element()
        .connect(&me, None, "default", "default")
        .unwrap();
    let peer = Peer::new(true);
    let keyframes = count_keyframes(&peer);
    negotiate_until_frames(&events, &peer, &presenter);
    // one2many: a viewer joins while the presenter's stream flows.
    let viewer_events: Events = Arc::default();
    let viewer = WebRtcEndpoint::new(
        object(
            &viewer_events,
            "P_kurento.MediaPipeline/V_kurento.WebRtcEndpoint",
        ),
        pipeline.gst_pipeline(),
        Options::default(),
    )
    .unwrap();
    viewer.set_ice_settings(|s| s.network_interfaces = "lo".into());
    let viewer_peer = Peer::new(false);
    viewer.gather_candidates().unwrap();
    let offer = viewer.generate_offer().unwrap();
    viewer.process_answer(&viewer_peer.answer(&offer)).unwrap();
    let (mut sent, mut peer_sent) = (0, 0);
    wait_until("viewer connected", 20, || {
        exchange(
            &viewer_events,
            &viewer_peer,
            &viewer,
            &mut sent,
            &mut peer_sent,
        );
        viewer.connection_state() == "CONNECTED"
    });
    let k = keyframes.load(Ordering::Relaxed);
    presenter
        .element()
        .connect(
            viewer.element().bin().upcast_ref(),
            None,
            "default",
            "default",
        )
        .unwrap();
    // The presenter's sender makes key frames only when asked: the viewer can decode only
    // because joining asked for one.
    wait_until("viewer decodes", 10, || {
        viewer_peer.frames.load(Ordering::Relaxed) > 10
    });
    assert!(keyframes.load(Ordering::Relaxed) > k);
    // The viewer's endpoint only sends: its media state comes from the peer's RTCP.
    wait_until("viewer MediaStateChanged CONNECTED", 10, || {
        viewer.media_state() == "CONNECTED"
    });
    assert_eq!(count(&viewer_events, "MediaStateChanged"), 1);
    assert!(!viewer.element().is_media_transcoding(MediaType::Video, ""));
    frames_keep_coming(&peer, "presenter's loopback keeps flowing");
    viewer.release();
    presenter.release();
    pipeline.release();
}

/// Loops `peer`'s stream back through the endpoint and checks it crossed the `media` tee
/// encoded as `caps_name`, with no encoder or decoder in the endpoint.
fn assert_forwarded_loopback(peer: &Peer, media: MediaType, caps_name: &str) {
    let (events, pipeline, ep) = setup(Options::default());
    let me = ep.element().bin().clone().upcast::<gst::Element>();
    ep.element()
        .connect(&me, None, "default", "default")
        .unwrap();
    negotiate_until_frames(&events, peer, &ep);
    let tee = ep
        .element()
        .bin()
        .by_name(&format!("{}_tee", media.pad_word()))
        .unwrap();
    let caps = tee.static_pad("sink").unwrap().current_caps().unwrap();
    assert_eq!(caps.structure(0).unwrap().name(), caps_name);
    let bin = ep.element().bin();
    assert!(codecs_in(bin).is_empty(), "{:?}", codecs_in(bin));
    assert!(!ep.element().is_media_transcoding(media, ""));
    frames_keep_coming(peer, "decoded media keeps coming");
    assert_no_errors(&events);
    ep.release();
    pipeline.release();
}

#[test]
fn loopback_forwards_opus() {
    let peer = Peer::build(
        Some(
            "audiotestsrc is-live=true wave=ticks ! opusenc ! rtpopuspay pt=111 \
         ! capsfilter caps=application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000",
        ),
        "rtpopusdepay ! opusdec name=dec ! fakesink sync=false async=false",
    );
    assert_forwarded_loopback(&peer, MediaType::Audio, "audio/x-opus");
}

#[test]
fn loopback_forwards_h264() {
    gst::init().unwrap();
    if gst::ElementFactory::find("x264enc").is_none()
        || gst::ElementFactory::find("avdec_h264").is_none()
    {
        eprintln!("no H.264 encoder/decoder on this system: H.264 is not offered");
        return;
    }
    let peer = Peer::build(
        Some(
            "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=15/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 \
         ! rtph264pay pt=102 config-interval=-1 \
         ! capsfilter caps=\"application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,packetization-mode=(string)1,rtcp-fb-nack-pli=true\"",
        ),
        "rtph264depay ! avdec_h264 name=dec ! fakesink sync=false async=false",
    );
    assert_forwarded_loopback(&peer, MediaType::Video, "video/x-h264");
}
