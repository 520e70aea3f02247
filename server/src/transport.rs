// SPDX-License-Identifier: MPL-2.0
//! WebSocket transport (server.md §4.1): accepts `ws://` and optional `wss://` connections,
//! checks the path, and feeds every frame to the socket-free [`Server`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc::channel;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::server::Server;

/// Messages (answers and events) queued for one connection.
const OUTGOING_QUEUE: usize = 4096;

/// Frames above the configured limit still get an error reply (the connection survives); only
/// frames far above it are refused by the WebSocket layer itself, which closes the connection.
fn transport_limit(max_frame: usize) -> usize {
    max_frame
        .saturating_mul(4)
        .max(max_frame.saturating_add(64 * 1024))
}

fn tls_acceptor(cert: &std::path::Path) -> Result<TlsAcceptor, String> {
    let pem = std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in {}: {e}", cert.display()))?;
    let key = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| format!("bad private key in {}: {e}", cert.display()))?
        .ok_or_else(|| format!("{} holds no (unencrypted) private key", cert.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate {}: {e}", cert.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn serve_stream<S>(server: Server, stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max_frame = server.config().max_frame_size;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(transport_limit(max_frame)))
        .max_frame_size(Some(transport_limit(max_frame)));
    let mut path = String::new();
    // The error type is tungstenite's; it is never built here.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| {
        path = req.uri().path().to_string();
        Ok(resp)
    };
    let mut ws =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config))
            .await
        {
            Ok(ws) => ws,
            Err(e) => {
                tracing::debug!("WebSocket handshake with {peer} failed: {e}");
                return;
            }
        };
    if path.strip_prefix('/').unwrap_or(&path) != server.config().path {
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::Protocol,
                reason: "Invalid path".into(),
            }))
            .await;
        return;
    }
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = channel::<String>(OUTGOING_QUEUE);
    let conn = server.open_connection(tx.clone());
    tracing::debug!("connection {conn} from {peer}");
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(msg) = source.next().await {
        let payload = match msg {
            Ok(Message::Text(t)) => t.as_bytes().to_vec(),
            Ok(Message::Binary(b)) => b.to_vec(),
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!("connection {conn}: {e}");
                break;
            }
        };
        // Module calls may block (GStreamer state changes, getUsedCpu): keep them off the
        // reactor while still answering this connection's requests in arrival order.
        let replies =
            server.handle_frame_with(conn, &payload, &|work| tokio::task::block_in_place(work));
        // Answers wait for room (a client that does not read slows its own requests down);
        // events never wait and are dropped instead.
        for r in replies {
            if tx.send(r).await.is_err() {
                break;
            }
        }
    }
    server.close_connection(conn);
    drop(tx);
    let _ = writer.await;
    tracing::debug!("connection {conn} closed");
}

async fn accept_loop(server: Server, listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_stream(server, stream, peer).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => serve_stream(server, s, peer).await,
                    Err(e) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                },
            }
        });
    }
}

/// Binds the configured listeners and serves until `shutdown` completes. Listening addresses
/// are logged as `Listening on ws://…` / `wss://…`.
pub async fn run(server: Server, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let cfg = server.config().clone();
    let mut tasks = Vec::new();
    if cfg.port != 0 {
        let listener = TcpListener::bind((cfg.address.as_str(), cfg.port))
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", cfg.address, cfg.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("Listening on ws://{addr}/{}", cfg.path);
        tasks.push(tokio::spawn(accept_loop(server.clone(), listener, None)));
    }
    if cfg.secure_port != 0 {
        match cfg.certificate.as_deref().filter(|c| c.exists()) {
            None => tracing::warn!("wss disabled: no certificate configured or found"),
            Some(cert) => {
                let acceptor = tls_acceptor(cert)?;
                let listener = TcpListener::bind((cfg.address.as_str(), cfg.secure_port))
                    .await
                    .map_err(|e| {
                        format!("cannot listen on {}:{}: {e}", cfg.address, cfg.secure_port)
                    })?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                tracing::info!("Listening on wss://{addr}/{}", cfg.path);
                tasks.push(tokio::spawn(accept_loop(
                    server.clone(),
                    listener,
                    Some(acceptor),
                )));
            }
        }
    }
    if tasks.is_empty() {
        return Err("neither ws nor wss is listening".into());
    }
    let gc_server = server.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(gc_server.config().gc_period);
        tick.tick().await;
        loop {
            tick.tick().await;
            let s = gc_server.clone();
            let _ = tokio::task::spawn_blocking(move || s.collect_garbage()).await;
        }
    }));
    shutdown.await;
    for t in tasks {
        t.abort();
    }
    Ok(())
}
