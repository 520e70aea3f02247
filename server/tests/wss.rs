// SPDX-License-Identifier: MPL-2.0
//! `wss://` with the certificate named in the configuration file.

mod common;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::{free_port, start_with_files};
use serde_json::{Value, json};
use tungstenite::Message;

#[test]
fn secure_websocket_serves_the_same_protocol() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = format!("{}{}", ck.cert.pem(), ck.key_pair.serialize_pem());
    let port = free_port();
    let kms = start_with_files(
        json!({}),
        json!({"secure": {"port": port, "certificate": "cert+key.pem"}}),
        &[("cert+key.pem", &pem)],
    );
    // The wss listener is announced after the plain one.
    let line = kms
        .log
        .recv_timeout(Duration::from_secs(10))
        .expect("wss listener");
    assert!(
        line.contains(&format!("Listening on wss://127.0.0.1:{port}/kurento")),
        "{line}"
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tls =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let stream = rustls::StreamOwned::new(tls, tcp);
    let (mut ws, _) =
        tungstenite::client(format!("wss://localhost:{port}/kurento"), stream).unwrap();
    ws.send(Message::text(
        json!({"jsonrpc": "2.0", "id": 0, "method": "describe", "params": {"object": "manager_ServerManager"}})
            .to_string(),
    ))
    .unwrap();
    let reply: Value = match ws.read().unwrap() {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(reply["result"]["type"], "ServerManager");
}
