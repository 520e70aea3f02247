// SPDX-License-Identifier: MPL-2.0
//! Forwarded WebRTC streams per core (issue 7; Kurento 6.9 reported 116 per core).
//!
//! N concurrent loopback sessions (`ep.connect(ep)`, no filter) run in a child process (the
//! server side, measured alone through `/proc/<pid>/stat`); this process drives them with N
//! webrtcbin clients fed by ONE shared VP8 encoder (videotestsrc 320x240 @ 15 fps), so the
//! client side costs little and is not counted. A stream "keeps flowing" when its client
//! received back at least 90 % of the video frames (RTP marker bits) it sent during the
//! measurement window.
//!
//! Figures: forwarded streams per core = flowing streams / (server CPU seconds / wall
//! seconds), for the forwarding path and, in the same run, for the re-encoding path (each
//! loop goes through a raw filter host, so the server decodes and re-encodes every stream, as
//! this runtime did before forwarding); their ratio is the peer figure.
//!
//! Run: `cargo bench -p kurento-webrtc-runtime --bench forward`
//! (`BENCH_SESSIONS=N` sessions, default 50; `BENCH_SECONDS=S` window, default 10)

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use kurento_core_runtime::{MediaElement, MediaObject, MediaPipeline, MediaType, filter_spec, gst};
use kurento_webrtc_runtime::{Options, WebRtcEndpoint, restrict_ice_to_interfaces};
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn send(out: &Mutex<impl Write>, v: Value) {
    let mut o = out.lock().unwrap();
    let _ = writeln!(o, "{v}");
    let _ = o.flush();
}

/// The server side: reads offers and candidates on stdin, answers on stdout.
fn server(reencode: bool) {
    gst::init().unwrap();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let noop = Arc::new(|_: &str, _: Value| {});
    let pipeline = MediaPipeline::new(MediaObject::new("P", noop)).unwrap();
    let mut eps: HashMap<u64, Arc<WebRtcEndpoint>> = HashMap::new();
    let mut filters = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let id = msg["id"].as_u64().unwrap_or(0);
        match msg["type"].as_str() {
            Some("offer") => {
                let o = out.clone();
                let obj = MediaObject::new(
                    &format!("P/W{id}"),
                    Arc::new(move |t: &str, d: Value| {
                        if t == "IceCandidateFound" {
                            let c = &d["candidate"];
                            send(
                                &o,
                                json!({"type": "cand", "id": id,
                                "mline": c["sdpMLineIndex"], "cand": c["candidate"]}),
                            );
                        }
                    }),
                );
                obj.subscribe("IceCandidateFound");
                let ep =
                    WebRtcEndpoint::new(obj, pipeline.gst_pipeline(), Options::default()).unwrap();
                ep.set_ice_settings(|s| s.network_interfaces = "lo".into());
                let me = ep.element().bin().clone().upcast::<gst::Element>();
                if reencode {
                    let identity = gst::ElementFactory::make("identity").build().unwrap();
                    let spec = filter_spec(&identity, Some(MediaType::Video)).unwrap();
                    let noop = Arc::new(|_: &str, _: Value| {});
                    let f = MediaElement::new(
                        MediaObject::new(&format!("P/F{id}"), noop),
                        pipeline.gst_pipeline(),
                        spec,
                    )
                    .unwrap();
                    let fb = f.bin().clone().upcast::<gst::Element>();
                    ep.element()
                        .connect(&fb, Some(MediaType::Video), "default", "default")
                        .unwrap();
                    f.connect(&me, Some(MediaType::Video), "default", "default")
                        .unwrap();
                    filters.push(f);
                } else {
                    ep.element()
                        .connect(&me, None, "default", "default")
                        .unwrap();
                }
                let answer = ep.process_offer(msg["sdp"].as_str().unwrap()).unwrap();
                send(&out, json!({"type": "answer", "id": id, "sdp": answer}));
                ep.gather_candidates().unwrap();
                eps.insert(id, ep);
            }
            Some("cand") => {
                if let Some(ep) = eps.get(&id) {
                    let mline = msg["mline"].as_u64().unwrap_or(0) as u32;
                    let _ = ep.add_ice_candidate(msg["cand"].as_str().unwrap_or(""), mline);
                }
            }
            _ => {}
        }
    }
    for ep in eps.values() {
        ep.release();
    }
    for f in filters {
        f.release();
    }
    pipeline.release();
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / ticks
}

/// Counts RTP packets with the marker bit: the last packet of a video frame. Frames, not
/// packets, since a re-encoded stream is packetised differently from the one sent.
fn count_frame(info: &gst::PadProbeInfo, n: &AtomicU64) {
    if let Some(b) = info.buffer()
        && let Ok(m) = b.map_readable()
        && m.len() > 1
        && m[1] & 0x80 != 0
    {
        n.fetch_add(1, Ordering::Relaxed);
    }
}

struct Client {
    webrtc: gst::Element,
    received: Arc<AtomicU64>,
}

struct Figures {
    flowing: usize,
    cores: f64,
}

fn call(webrtc: &gst::Element, action: &str, arg: &dyn ToValue) -> Option<gst::Structure> {
    let promise = gst::Promise::new();
    webrtc.emit_by_name::<()>(action, &[arg, &promise]);
    promise.wait();
    promise.get_reply().map(|s| s.to_owned())
}

fn set_desc(webrtc: &gst::Element, which: &str, ty: gst_webrtc::WebRTCSDPType, sdp: &str) {
    let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
    let desc = gst_webrtc::WebRTCSessionDescription::new(ty, msg);
    call(webrtc, which, &desc);
}

/// One run: a server child with `n` sessions, driven until they flow, then measured.
fn run(n: u64, seconds: u64, reencode: bool) -> Figures {
    let exe = std::env::current_exe().unwrap();
    let mode = if reencode { "reencode" } else { "forward" };
    let mut child: Child = Command::new(exe)
        .args(["--server", mode])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server child");
    let stdin: Arc<Mutex<ChildStdin>> = Arc::new(Mutex::new(child.stdin.take().unwrap()));
    let stdout = child.stdout.take().unwrap();

    let pipeline = gst::Pipeline::new();
    // One encoder for every client.
    let src = gst::parse::bin_from_description(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 \
         ! vp8enc deadline=1 cpu-used=8 keyframe-max-dist=60 target-bitrate=300000 \
         ! rtpvp8pay name=pay pt=96 ! tee name=t allow-not-linked=true",
        false,
    )
    .unwrap();
    pipeline.add(&src).unwrap();
    let tee = src.by_name("t").unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let s = sent.clone();
    src.by_name("pay")
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            count_frame(info, &s);
            gst::PadProbeReturn::Ok
        });
    let mut clients = Vec::new();
    for id in 0..n {
        let webrtc = gst::ElementFactory::make("webrtcbin").build().unwrap();
        webrtc.set_property_from_str("bundle-policy", "max-bundle");
        let queue = gst::ElementFactory::make("queue").build().unwrap();
        let caps = gst::ElementFactory::make("capsfilter")
            .property(
                "caps",
                gst::Caps::builder("application/x-rtp")
                    .field("media", "video")
                    .field("encoding-name", "VP8")
                    .field("payload", 96i32)
                    .field("clock-rate", 90000i32)
                    .field("rtcp-fb-nack-pli", true)
                    .build(),
            )
            .build()
            .unwrap();
        pipeline.add_many([&queue, &caps, &webrtc]).unwrap();
        restrict_ice_to_interfaces(&webrtc, &["lo"]).unwrap();
        let agent = webrtc
            .property::<gst::glib::Object>("ice-agent")
            .property::<gst::glib::Object>("agent");
        agent.set_property("upnp", false);
        tee.link(&queue).unwrap();
        queue.link(&caps).unwrap();
        caps.link(&webrtc).unwrap();
        let received = Arc::new(AtomicU64::new(0));
        let (r, p) = (received.clone(), pipeline.clone());
        webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let sink = gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .property("async", false)
                .build()
                .unwrap();
            p.add(&sink).unwrap();
            sink.sync_state_with_parent().unwrap();
            let r = r.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                count_frame(info, &r);
                gst::PadProbeReturn::Ok
            });
            pad.link(&sink.static_pad("sink").unwrap()).unwrap();
        });
        let out = stdin.clone();
        webrtc.connect("on-ice-candidate", false, move |args| {
            let mline = args[1].get::<u32>().unwrap();
            let cand = args[2].get::<String>().unwrap();
            send(
                &out,
                json!({"type": "cand", "id": id, "mline": mline, "cand": cand}),
            );
            None
        });
        clients.push(Client { webrtc, received });
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let webrtcs: Vec<gst::Element> = clients.iter().map(|c| c.webrtc.clone()).collect();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let Some(w) = webrtcs.get(msg["id"].as_u64().unwrap_or(u64::MAX) as usize) else {
                continue;
            };
            match msg["type"].as_str() {
                Some("answer") => set_desc(
                    w,
                    "set-remote-description",
                    gst_webrtc::WebRTCSDPType::Answer,
                    msg["sdp"].as_str().unwrap(),
                ),
                Some("cand") => {
                    let mline = msg["mline"].as_u64().unwrap_or(0) as u32;
                    let cand = msg["cand"].as_str().unwrap_or("").to_string();
                    w.emit_by_name::<()>("add-ice-candidate", &[&mline, &cand]);
                }
                _ => {}
            }
        }
    });
    for (id, c) in clients.iter().enumerate() {
        let reply = call(&c.webrtc, "create-offer", &None::<gst::Structure>).unwrap();
        let offer = reply
            .get::<gst_webrtc::WebRTCSessionDescription>("offer")
            .unwrap();
        set_desc(
            &c.webrtc,
            "set-local-description",
            gst_webrtc::WebRTCSDPType::Offer,
            &offer.sdp().as_text().unwrap(),
        );
        send(
            &stdin,
            json!({"type": "offer", "id": id, "sdp": offer.sdp().as_text().unwrap()}),
        );
    }
    // Warm-up: until every session returns media (or 30 s), then 2 s more.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && clients
            .iter()
            .any(|c| c.received.load(Ordering::Relaxed) == 0)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.id();
    let (cpu0, t0, sent0) = (
        cpu_seconds(pid),
        Instant::now(),
        sent.load(Ordering::Relaxed),
    );
    let recv0: Vec<u64> = clients
        .iter()
        .map(|c| c.received.load(Ordering::Relaxed))
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, wall, sent1) = (
        cpu_seconds(pid),
        t0.elapsed().as_secs_f64(),
        sent.load(Ordering::Relaxed),
    );
    let expected = (sent1 - sent0) as f64;
    let flowing = clients
        .iter()
        .zip(recv0)
        .filter(|(c, r0)| (c.received.load(Ordering::Relaxed) - r0) as f64 >= 0.9 * expected)
        .count();
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let _ = pipeline.set_state(gst::State::Null);
    let _ = reader.join();
    Figures {
        flowing,
        cores: (cpu1 - cpu0) / wall,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--server") {
        server(args.get(i + 1).map(String::as_str) == Some("reencode"));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` / `cargo bench -- --list`
    }
    gst::init().unwrap();
    let n = env_num("BENCH_SESSIONS", 50);
    let seconds = env_num("BENCH_SECONDS", 10);
    println!(
        "{n} loopback WebRtcEndpoint sessions, VP8 320x240@15fps from one shared client encoder, {seconds} s window"
    );
    let mut per_core = Vec::new();
    for (reencode, name) in [
        (false, "forwarded"),
        (true, "re-encoded (raw filter in the loop)"),
    ] {
        let f = run(n, seconds, reencode);
        let pc = if f.cores > 0.0 {
            f.flowing as f64 / f.cores
        } else {
            0.0
        };
        println!(
            "{name:>36}: {}/{n} streams flowing, server CPU {:.2} cores -> {pc:.1} streams per core",
            f.flowing, f.cores
        );
        per_core.push(pc);
    }
    if per_core[1] > 0.0 {
        println!(
            "forwarded / re-encoded streams per core: {:.2}x",
            per_core[0] / per_core[1]
        );
    }
    println!("target (Kurento 6.9): 116 forwarded streams per core");
}
