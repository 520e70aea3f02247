// SPDX-License-Identifier: MPL-2.0
//! Throughput of the server, as ratios against a peer measured in the same run:
//! * JSON-RPC `ping` with several pipelining clients vs a bare tokio-tungstenite echo server;
//! * `create` + `release` of a `MediaPipeline` of the real core module (a real `GstPipeline`
//!   through `kurento-core-runtime`) per second over the WebSocket.
//!
//! Run: `cargo bench -p kurento-media-server --bench protocol`

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use kurento_media_server::{Catalog, Config, Server, load_modules, transport};
use serde_json::{Value, json};
use tungstenite::Message;

const CLIENTS: usize = 4;
const WINDOW: usize = 16;
const RUN: Duration = Duration::from_secs(3);

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The peer: a WebSocket server echoing every message, nothing else.
fn echo_server(rt: &tokio::runtime::Runtime) -> u16 {
    let port = free_port();
    rt.spawn(async move {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        loop {
            let (s, _) = l.accept().await.unwrap();
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(s).await else {
                    return;
                };
                let (mut tx, mut rx) = ws.split();
                while let Some(Ok(m)) = rx.next().await {
                    if (m.is_text() || m.is_binary()) && tx.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    port
}

fn kms(rt: &tokio::runtime::Runtime, catalog: Catalog) -> u16 {
    let port = free_port();
    let config = Config {
        port,
        ..Config::default()
    };
    let server = Server::new(config, catalog);
    rt.spawn(async move {
        let _ = transport::run(server, std::future::pending()).await;
    });
    std::thread::sleep(Duration::from_millis(200));
    port
}

/// Runs `CLIENTS` threads, each with its own connection calling `step` (which returns how many
/// operations it completed) until stopped; returns operations per second after a warm-up.
fn measure(port: u16, step: fn(&mut Ws, &mut u64) -> u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (done, stop) = (done.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut ws, _) =
                    tungstenite::connect(format!("ws://127.0.0.1:{port}/kurento")).unwrap();
                let mut id = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    done.fetch_add(step(&mut ws, &mut id), Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300)); // warm-up
    let start_count = done.load(Ordering::Relaxed);
    let t = Instant::now();
    std::thread::sleep(RUN);
    let n = done.load(Ordering::Relaxed) - start_count;
    let rate = n as f64 / t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for th in threads {
        th.join().unwrap();
    }
    rate
}

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

/// `WINDOW` pings in flight, then their answers.
fn ping_window(ws: &mut Ws, id: &mut u64) -> u64 {
    for _ in 0..WINDOW {
        let req = json!({"jsonrpc": "2.0", "id": *id, "method": "ping"}).to_string();
        ws.write(Message::text(req)).unwrap();
        *id += 1;
    }
    ws.flush().unwrap();
    for _ in 0..WINDOW {
        assert!(ws.read().unwrap().is_text());
    }
    WINDOW as u64
}

fn request(ws: &mut Ws, v: Value) -> Value {
    ws.send(Message::text(v.to_string())).unwrap();
    loop {
        if let Message::Text(t) = ws.read().unwrap() {
            let r: Value = serde_json::from_str(t.as_str()).unwrap();
            if r.get("id").is_some() {
                return r;
            }
        }
    }
}

/// One pipeline created and released.
fn pipeline_cycle(ws: &mut Ws, id: &mut u64) -> u64 {
    let r = request(
        ws,
        json!({"jsonrpc": "2.0", "id": *id, "method": "create", "params": {"type": "MediaPipeline"}}),
    );
    let p = r["result"]["value"].as_str().expect("created").to_string();
    let r = request(
        ws,
        json!({"jsonrpc": "2.0", "id": *id + 1, "method": "release", "params": {"object": p}}),
    );
    assert!(r.get("result").is_some());
    *id += 2;
    1
}

fn core_catalog() -> Catalog {
    // The core module, built as a dev-dependency next to this benchmark.
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let so = deps.join("libkmscoremodule.so");
    let dir = std::env::temp_dir().join(format!("kms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&so, dir.join("libkmscoremodule.so")).unwrap();
    let catalog = Catalog::new(load_modules(std::slice::from_ref(&dir)));
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    catalog
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probing
    }
    let catalog = core_catalog();
    let echo_rt = runtime();
    let echo = echo_server(&echo_rt);
    let kms_rt = runtime();
    let kms_port = kms(&kms_rt, catalog);

    let echo_rate = measure(echo, ping_window);
    let kms_rate = measure(kms_port, ping_window);
    println!(
        "ping, {CLIENTS} clients x {WINDOW} in flight: kurento-media-server {kms_rate:.0}/s, bare echo {echo_rate:.0}/s, ratio {:.2}",
        kms_rate / echo_rate
    );
    let p = measure(kms_port, pipeline_cycle);
    println!("pipeline create+release over WebSocket, {CLIENTS} clients: {p:.0}/s");
}
