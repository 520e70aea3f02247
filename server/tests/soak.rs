// SPDX-License-Identifier: MPL-2.0
//! Leaks and load over the real protocol: repeated pipelines with a player, the filters of
//! the filters module, a PassThrough, a negotiated WebRtcEndpoint and DATA-capable elements leave the server's
//! threads and open files where they were; abandoned sessions are collected with their threads
//! and files; many clients at once all get answers; hostile requests get JSON-RPC errors.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Kms};
use serde_json::{Value, json};

const OFFER: &str = include_str!("../js-test/test/chromium-offer.sdp");

/// The module libraries and the plugins, copied from the build (dev-dependencies land in deps/).
fn start(resources: Value) -> Kms {
    start_with(resources, &[])
}

/// [`start`] with extra environment variables for the server.
fn start_with(resources: Value, env: &[(&str, &Path)]) -> Kms {
    let modules = common::built_libraries(
        "soak-modules",
        &[
            "libkmscoremodule.so",
            "libkmselementsmodule.so",
            "libkmsfiltersmodule.so",
            "libkmsdatachannelexamplemodule.so",
        ],
    );
    let plugins = common::built_libraries(
        "soak-plugins",
        &["libgstkmsfilters.so", "libgstdatachannelexample.so"],
    );
    let mut kms = common::start_modules(
        &modules,
        resources,
        &[
            ("GST_PLUGIN_PATH", &*plugins),
            // ICE gathering on loopback only: quick and deterministic.
            ("KMS_NETWORK_INTERFACES", Path::new("lo")),
            // Fewer malloc arenas: RSS then follows what is alive rather than how many
            // threads happened to allocate (glibc's default is 8 per core).
            ("MALLOC_ARENA_MAX", Path::new("2")),
        ]
        .into_iter()
        .chain(env.iter().copied())
        .collect::<Vec<_>>(),
    );
    kms.keep.extend([modules, plugins]);
    kms
}

fn media(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gst-tests/media")
        .join(name);
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// Threads, open files and resident kB of the server process.
#[derive(Debug, Clone, Copy)]
struct Usage {
    threads: usize,
    fds: usize,
    rss_kb: u64,
}

fn usage(pid: u32) -> Usage {
    let count = |d: &str| {
        std::fs::read_dir(format!("/proc/{pid}/{d}"))
            .unwrap()
            .count()
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    Usage {
        threads: count("task"),
        fds: count("fd"),
        rss_kb,
    }
}

/// GStreamer objects alive in the server by type, as GStreamer's leaks tracer lists them on
/// SIGUSR1 (the server runs with `LEAKS_TRACER`).
fn alive_objects(kms: &Kms) -> BTreeMap<String, usize> {
    while kms.log.try_recv().is_ok() {}
    unsafe { libc::kill(kms.pid() as i32, libc::SIGUSR1) };
    let mut counts = BTreeMap::new();
    let mut listed = false;
    // The list is logged at once; it is complete when the log goes quiet.
    while let Ok(line) =
        kms.log
            .recv_timeout(Duration::from_millis(if listed { 500 } else { 5000 }))
    {
        if let Some(t) = line.split("type-name=(string)").nth(1) {
            listed = true;
            let ty = t.split([',', ' ', ';']).next().unwrap_or_default();
            *counts.entry(ty.to_string()).or_default() += 1;
        }
    }
    assert!(listed, "the leaks tracer listed nothing");
    counts
}

/// True when the server lists no pipeline.
fn kms_has_no_pipelines(kms: &Kms) -> bool {
    let mut c = Client::connect(kms);
    c.invoke("manager_ServerManager", "getPipelines", json!({})) == json!([])
}

/// The server lists no pipeline any more.
fn assert_no_pipelines(kms: &Kms) {
    assert!(kms_has_no_pipelines(kms), "pipelines left");
}

/// No object type grew by `by` or more between the two lists.
fn assert_no_growth(before: &BTreeMap<String, usize>, after: &BTreeMap<String, usize>, by: usize) {
    let grown: Vec<_> = after
        .iter()
        .filter(|(ty, n)| **n >= before.get(*ty).copied().unwrap_or(0) + by)
        .collect();
    assert!(grown.is_empty(), "objects left behind: {grown:?}");
}

const LEAKS_TRACER: [(&str, &str); 3] = [
    ("GST_TRACERS", "leaks"),
    ("GST_LEAKS_TRACER_SIG", "1"),
    ("GST_DEBUG", "GST_TRACER:7"),
];

/// [`start`] with the leaks tracer, for [`alive_objects`].
fn start_traced(resources: Value) -> Kms {
    let env: Vec<_> = LEAKS_TRACER
        .iter()
        .map(|(k, v)| (*k, Path::new(v)))
        .collect();
    start_with(resources, &env)
}

/// The usage once the thread count has stayed the same for a second (releases finish after
/// their answers; idle blocking threads end after 10 s).
fn quiet_usage(pid: u32) -> Usage {
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut last, mut same) = (usage(pid), 0);
    while same < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let u = usage(pid);
        same = if u.threads == last.threads {
            same + 1
        } else {
            0
        };
        last = u;
    }
    last
}

/// Waits until threads and fds are back within `slack` of `base`; returns the last reading.
/// The runtime's blocking threads (requests that call modules, the garbage collector) end
/// after 10 s idle, hence the deadline.
fn settles(pid: u32, base: Usage, slack: usize) -> Usage {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let u = usage(pid);
        if u.threads <= base.threads + slack && u.fds <= base.fds + slack {
            return u;
        }
        assert!(
            Instant::now() < deadline,
            "threads/fds did not return to the baseline: before {base:?}, now {u:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One pipeline with every kind of element, connected, media flowing briefly; not released.
fn build_pipeline(c: &mut Client, clip: &str) -> String {
    let p = c.create("MediaPipeline", json!({}));
    let player = c.create("PlayerEndpoint", json!({"mediaPipeline": p, "uri": clip}));
    let face = c.create("FaceOverlayFilter", json!({"mediaPipeline": p}));
    let hat = media("hat.png");
    // Images load on the plugins' worker pool.
    c.invoke(
        &face,
        "setOverlayedImage",
        json!({"uri": hat, "offsetXPercent": -0.35, "offsetYPercent": -1.2,
            "widthPercent": 1.6, "heightPercent": 1.6}),
    );
    let logo = c.create("ImageOverlayFilter", json!({"mediaPipeline": p}));
    c.invoke(
        &logo,
        "addImage",
        json!({"id": "hat", "uri": hat, "offsetXPercent": 0.7, "offsetYPercent": 0.05,
            "widthPercent": 0.25, "heightPercent": 0.25, "keepAspectRatio": true,
            "center": true}),
    );
    let flip = c.create(
        "GStreamerFilter",
        json!({"mediaPipeline": p, "command": "videoflip method=horizontal-flip"}),
    );
    let zbar = c.create("ZBarFilter", json!({"mediaPipeline": p}));
    let pass = c.create("PassThrough", json!({"mediaPipeline": p}));
    let webrtc = c.create("WebRtcEndpoint", json!({"mediaPipeline": p}));
    let send = c.create("KmsSendData", json!({"mediaPipeline": p}));
    let show = c.create("KmsShowData", json!({"mediaPipeline": p}));
    // A data-channel endpoint making an offer (its DATA branch and data channel are built).
    let data_ep = c.create(
        "WebRtcEndpoint",
        json!({"mediaPipeline": p, "useDataChannels": true}),
    );
    c.call(
        "subscribe",
        json!({"object": webrtc, "type": "IceCandidateFound"}),
    );
    c.call(
        "subscribe",
        json!({"object": player, "type": "EndOfStream"}),
    );
    c.invoke(&player, "connect", json!({"sink": face}));
    c.invoke(&face, "connect", json!({"sink": logo}));
    c.invoke(&logo, "connect", json!({"sink": flip}));
    c.invoke(&flip, "connect", json!({"sink": zbar}));
    c.invoke(&zbar, "connect", json!({"sink": pass}));
    c.invoke(&pass, "connect", json!({"sink": webrtc}));
    c.invoke(&pass, "connect", json!({"sink": send}));
    c.invoke(&send, "connect", json!({"sink": show}));
    c.invoke(
        &send,
        "connect",
        json!({"sink": data_ep, "mediaType": "DATA"}),
    );
    let offer = c.invoke(&data_ep, "generateOffer", json!({}));
    assert!(offer.as_str().unwrap().contains("m=application"), "{offer}");
    // A loopback (proxysink/proxysrc pairs), and a connection undone and made again.
    c.invoke(&data_ep, "connect", json!({"sink": data_ep}));
    c.invoke(&zbar, "disconnect", json!({"sink": pass}));
    c.invoke(&zbar, "connect", json!({"sink": pass}));
    let answer = c.invoke(&webrtc, "processOffer", json!({"offer": OFFER}));
    assert!(answer.as_str().unwrap().starts_with("v=0"), "{answer}");
    c.invoke(&webrtc, "gatherCandidates", json!({}));
    c.invoke(&player, "play", json!({}));
    c.event(|e| e["type"] == "IceCandidateFound");
    // Media reaches the end of the chain.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.invoke(&pass, "isMediaFlowingOut", json!({"mediaType": "VIDEO"})) != json!(true) {
        assert!(Instant::now() < deadline, "no video through the chain");
        std::thread::sleep(Duration::from_millis(50));
    }
    p
}

fn cycle(c: &mut Client, clip: &str) {
    let p = build_pipeline(c, clip);
    c.call("release", json!({"object": p}));
    c.events.clear();
}

#[test]
fn repeated_pipelines_leave_threads_and_files_as_they_were() {
    let kms = start_traced(json!({}));
    let pid = kms.pid();
    let clip = media("faces_640x480.webm");
    let mut c = Client::connect(&kms);
    // Warm-up: plugin loading, thread pools and caches that live for the whole process.
    for _ in 0..3 {
        cycle(&mut c, &clip);
    }
    let base = quiet_usage(pid);
    let objects = alive_objects(&kms);
    // KMS_SOAK_CYCLES=200 for a longer soak by hand.
    let n: usize = std::env::var("KMS_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
        .max(2);
    let mut mid = base;
    for i in 0..n {
        cycle(&mut c, &clip);
        if i == n / 2 - 1 {
            mid = usage(pid);
        }
    }
    let after = settles(pid, base, 2);
    eprintln!("soak: {n} cycles: before {base:?}, half-way {mid:?}, after {after:?}");
    // Objects of one type left behind by every cycle (an element, its pads) are a leak; the
    // few that live for the whole process (caps caches, the DTLS agent) do not grow with the cycles.
    // Listed twice: objects of the last cycle may still be finalizing.
    let first = alive_objects(&kms);
    std::thread::sleep(Duration::from_secs(2));
    let second = alive_objects(&kms);
    let now: BTreeMap<String, usize> = first
        .into_iter()
        .map(|(ty, count)| {
            let later = second.get(&ty).copied().unwrap_or(0);
            (ty, count.min(later))
        })
        .collect();
    assert_no_growth(&objects, &now, n / 2);
    // RSS, a coarse check (objects are counted exactly below): the allocator keeps freed memory
    // in its arenas and grows them for a while (with at most two arenas, see `start`, it
    // levels off after about ten cycles, within ~20 MB of noise); buffers or pipelines leaked
    // every cycle would keep growing through the second half.
    assert!(
        after.rss_kb < mid.rss_kb + 32 * 1024 + (n / 2) as u64 * 2 * 1024,
        "RSS keeps growing: before {base:?}, half-way {mid:?}, after {after:?}"
    );
    assert_no_pipelines(&kms);
}

#[test]
fn abandoned_sessions_are_collected_with_their_threads_and_files() {
    const SESSIONS: usize = 3;
    let kms = start_traced(json!({"garbageCollectorPeriod": 1}));
    let pid = kms.pid();
    let clip = media("faces_640x480.webm");
    let abandon = || {
        for _ in 0..SESSIONS {
            let mut c = Client::connect(&kms);
            build_pipeline(&mut c, &clip);
            // The socket drops without any release.
        }
    };
    // Warm-up with the same load: pools that live for the whole process (OpenCV's workers)
    // grow with the number of pipelines running at once.
    abandon();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kms_has_no_pipelines(&kms) {
        assert!(
            Instant::now() < deadline,
            "abandoned pipelines not collected"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let base = quiet_usage(pid);
    let objects = alive_objects(&kms);
    abandon();
    assert!(
        usage(pid).threads > base.threads,
        "the pipelines run threads"
    );
    let after = settles(pid, base, 2);
    eprintln!("gc: before {base:?}, after {after:?}");
    assert_no_growth(&objects, &alive_objects(&kms), SESSIONS);
    assert_no_pipelines(&kms);
}

#[test]
fn fifty_clients_at_once_all_get_answers() {
    let kms = start(json!({}));
    let pid = kms.pid();
    let base = usage(pid);
    let port = kms.port;
    std::thread::scope(|s| {
        for _ in 0..50 {
            s.spawn(move || {
                let mut c = Client::connect_port(port);
                for _ in 0..4 {
                    let p = c.create("MediaPipeline", json!({}));
                    let a = c.create("PassThrough", json!({"mediaPipeline": p}));
                    let b = c.create("PassThrough", json!({"mediaPipeline": p}));
                    c.invoke(&a, "connect", json!({"sink": b}));
                    c.call("release", json!({"object": p}));
                }
            });
        }
    });
    let after = settles(pid, base, 2);
    eprintln!("load: 50 clients: before {base:?}, after {after:?}");
    assert_no_pipelines(&kms);
}

#[test]
fn hostile_requests_get_errors_and_the_server_keeps_serving() {
    let kms = start(json!({}));
    let mut c = Client::connect(&kms);
    let p = c.create("MediaPipeline", json!({}));
    let ep = c.create("WebRtcEndpoint", json!({"mediaPipeline": p}));
    let code = |c: &mut Client, method: &str, params: Value| -> i64 {
        let e = c.fail(method, Some(params));
        assert!(e["message"].is_string(), "{e}");
        e["code"].as_i64().unwrap()
    };
    let invoke = |object: &str, op: &str, params: Value| json!({"object": object, "operation": op, "operationParams": params});
    // Garbage SDP, wrong types, missing fields, out-of-range numbers.
    let host = "candidate:1 1 udp 1 127.0.0.1 1 typ host";
    let mut bad: Vec<(&str, Value)> = [
        json!("garbage"),
        json!(""),
        json!(42),
        json!({"a": [1]}),
        json!(null),
    ]
    .into_iter()
    .map(|offer| ("processOffer", json!({"offer": offer})))
    .collect();
    bad.extend(
        [
            json!({}),
            json!({"sdpMid": "0", "sdpMLineIndex": 0}),
            json!({"candidate": 7, "sdpMid": "0", "sdpMLineIndex": 0}),
            json!({"candidate": host, "sdpMLineIndex": -1}),
            json!({"candidate": host, "sdpMLineIndex": 1e300}),
            json!("not an object"),
        ]
        .into_iter()
        .map(|cand| ("addIceCandidate", json!({"candidate": cand}))),
    );
    bad.extend([
        ("processOffer", json!({})),
        ("processAnswer", json!({"answer": "v=0\r\nm=x"})),
        ("processAnswer", json!({"answer": ""})),
        ("addIceCandidate", json!({})),
        ("setMaxVideoRecvBandwidth", json!({"value": "x"})),
        ("setMaxVideoRecvBandwidth", json!({"value": 1e300})),
        (
            "setMaxVideoRecvBandwidth",
            json!({"value": -99999999999999999i64}),
        ),
        ("connect", json!({"sink": ep, "mediaType": "NOPE"})),
    ]);
    for (op, params) in bad {
        code(&mut c, "invoke", invoke(&ep, op, params));
    }
    // Unicode and huge ids.
    code(
        &mut c,
        "describe",
        json!({"object": "ü🎥\u{0}/../..", "sessionId": 1}),
    );
    code(&mut c, "describe", json!({"object": "x".repeat(100_000)}));
    code(
        &mut c,
        "create",
        json!({"type": "PassThrough", "constructorParams": {"mediaPipeline": "管道"}}),
    );
    // Huge numbers where an id or a count is expected.
    let r = c.request("ping", Some(json!({"interval": 1e308})));
    assert!(r.get("result").is_some() || r.get("error").is_some(), "{r}");
    code(
        &mut c,
        "invoke",
        invoke(&p, "setLatencyStats", json!({"latencyStats": 1e308})),
    );
    // Deeply nested JSON: an error, not a stack overflow.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    c.send(tungstenite::Message::text(format!(
        r#"{{"jsonrpc":"2.0","id":900,"method":"ping","params":{{"x":{deep}}}}}"#
    )));
    let r = c.response();
    assert!(r["error"].is_object(), "{r}");
    // Raw frames: numbers beyond any type, odd ids, params of the wrong shape; each gets an
    // answer (an error, or the ping's result for an id the server echoes).
    for frame in [
        r#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":18446744073709551616123,"method":"ping"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":"🎥ü\u0000","method":"describe","params":{"object":"🎥"}}"#
            .to_string(),
        format!(
            r#"{{"jsonrpc":"2.0","id":901,"method":"invoke","params":{{"object":"{ep}","operation":"processOffer","operationParams":["v=0"]}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":902,"method":"invoke","params":{{"object":"{ep}","operation":{{"x":1}}}}}}"#
        ),
        r#"{"jsonrpc":"2.0","id":903,"method":"create","params":{"type":["MediaPipeline"]}}"#
            .to_string(),
    ] {
        c.send(tungstenite::Message::text(frame.clone()));
        let r = c.response();
        assert!(
            r["error"]["code"].is_i64() || frame.contains("ping"),
            "{frame}: {r}"
        );
    }
    // A released object: its operations fail with 40101.
    c.call("release", json!({"object": p}));
    assert_eq!(
        code(
            &mut c,
            "invoke",
            invoke(&ep, "processOffer", json!({"offer": OFFER}))
        ),
        40101
    );
    // Releasing again is not an error (as in Kurento).
    c.call("release", json!({"object": ep}));
    assert_eq!(
        code(&mut c, "subscribe", json!({"object": ep, "type": "Error"})),
        40101
    );
    // Still serving.
    let p = c.create("MediaPipeline", json!({}));
    let ep = c.create("WebRtcEndpoint", json!({"mediaPipeline": p}));
    let answer = c.invoke(&ep, "processOffer", json!({"offer": OFFER}));
    assert!(answer.as_str().unwrap().contains("BUNDLE"), "{answer}");
    c.call("release", json!({"object": p}));
}

/// Releases that must not wait for a streaming thread: a pipeline paused or stopped, and an
/// element in the middle of a flowing chain.
#[test]
fn paused_and_finished_pipelines_release() {
    let kms = start(json!({}));
    let mut c = Client::connect(&kms);
    let clip = media("faces_640x480.webm");
    for pause in [true, false] {
        let p = build_pipeline(&mut c, &clip);
        let children = c.invoke(&p, "getChildren", json!({}));
        let child = |class: &str| {
            children
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .find(|o| o.ends_with(class))
                .unwrap()
                .to_string()
        };
        c.call("release", json!({"object": child("ZBarFilter")}));
        let player = child("PlayerEndpoint");
        if pause {
            c.invoke(&player, "pause", json!({}));
        } else {
            c.invoke(&player, "stop", json!({}));
        }
        c.call("release", json!({"object": p}));
    }
    assert_no_pipelines(&kms);
}
