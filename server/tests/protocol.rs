// SPDX-License-Identifier: MPL-2.0
//! The Kurento Protocol against the started server over a real WebSocket, with the fixture module.

mod common;

use std::time::Duration;

use common::{Client, Kms, start, start_default, start_full};
use serde_json::{Value, json};
use tungstenite::Message;

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
}

fn pipeline(c: &mut Client) -> String {
    c.create("Pipeline", json!({}))
}

#[test]
fn first_contact_like_kurento_client() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    // The client's opening: ping with interval, describe the manager, getInfo.
    let pong = c.call("ping", json!({"interval": 5000}));
    assert_eq!(
        pong,
        json!({"value": "pong"}),
        "no session yet, so no sessionId"
    );
    let d = c.call("describe", json!({"object": "manager_ServerManager"}));
    let sid = d["sessionId"].as_str().unwrap().to_string();
    assert!(is_uuid(&sid), "server-created session id: {sid}");
    assert_eq!(d["type"], "ServerManager");
    assert_eq!(d["qualifiedType"], "kurento.ServerManager");
    assert_eq!(d["hierarchy"], json!(["kurento.MediaObject"]));
    let info = c.call(
        "invoke",
        json!({"object": "manager_ServerManager", "operation": "getInfo", "sessionId": sid}),
    );
    assert_eq!(info["sessionId"], sid.as_str());
    let info = &info["value"];
    assert_eq!(info["type"], "KMS");
    assert_eq!(info["capabilities"], json!(["transactions"]));
    assert_eq!(info["__type__"], "ServerInfo");
    let modules = info["modules"].as_array().unwrap();
    assert_eq!(
        modules.len(),
        1,
        "the GStreamer plugin next to it is not a module"
    );
    assert_eq!(modules[0]["name"], "fixture");
    assert_eq!(modules[0]["version"], "1.2.3");
    assert_eq!(modules[0]["generationTime"], "Jan 1 2026 00:00:00");
    assert_eq!(
        modules[0]["factories"],
        json!(["Pipeline", "Source", "Pass", "Crasher"])
    );
    // Later pings without params carry the injected session.
    let pong = c.call("ping", json!(null));
    assert_eq!(pong["sessionId"], sid.as_str());
    // Binary frames are read like text frames; answers are text.
    c.send(Message::binary(
        json!({"jsonrpc": "2.0", "id": 99, "method": "ping"})
            .to_string()
            .into_bytes(),
    ));
    let r = c.response();
    assert_eq!(
        (r["id"].clone(), r["result"]["value"].clone()),
        (json!(99), json!("pong"))
    );
    // Manager operations.
    let kmd = c.invoke(
        "manager_ServerManager",
        "getKmd",
        json!({"moduleName": "fixture"}),
    );
    let kmd: Value = serde_json::from_str(kmd.as_str().unwrap()).unwrap();
    assert_eq!(kmd["name"], "fixture");
    let e = c.fail(
        "invoke",
        Some(json!({"object": "manager_ServerManager", "operation": "getKmd", "operationParams": {"moduleName": "nope"}})),
    );
    assert_eq!(
        (e["code"].clone(), e["data"]["type"].clone()),
        (json!(40500), json!("UNDEFINED"))
    );
    let cpus = c.invoke("manager_ServerManager", "getCpuCount", json!({}));
    assert!(cpus.as_u64().unwrap() >= 1);
    let used = c.invoke(
        "manager_ServerManager",
        "getUsedCpu",
        json!({"interval": 100}),
    );
    assert!((0.0..=100.0).contains(&used.as_f64().unwrap()));
    let mem = c.invoke("manager_ServerManager", "getUsedMemory", json!({}));
    assert!(mem.as_i64().unwrap() > 1000, "RSS in KiB: {mem}");
    let md = c.invoke("manager_ServerManager", "getMetadata", json!({}));
    assert_eq!(
        serde_json::from_str::<Value>(md.as_str().unwrap()).unwrap(),
        json!({"site": "test"})
    );
    let sessions = c.invoke("manager_ServerManager", "getSessions", json!({}));
    assert!(sessions.as_array().unwrap().contains(&json!(sid)));
    c.invoke(
        "manager_ServerManager",
        "addTag",
        json!({"key": "k", "value": "v"}),
    );
    assert_eq!(
        c.invoke("manager_ServerManager", "getTag", json!({"key": "k"})),
        "v"
    );
    let e = c.fail(
        "invoke",
        Some(json!({"object": "manager_ServerManager", "operation": "getTag", "operationParams": {"key": "x"}})),
    );
    assert_eq!(e["code"], 40110);
}

#[test]
fn create_describe_invoke_and_release_cascade() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    let mut m = Client::connect(&kms);
    m.call(
        "subscribe",
        json!({"object": "manager_ServerManager", "type": "ObjectCreated"}),
    );
    m.call(
        "subscribe",
        json!({"object": "manager_ServerManager", "type": "ObjectDestroyed"}),
    );

    let p = pipeline(&mut c);
    let (uuid, class) = p.split_once('_').unwrap();
    assert!(is_uuid(uuid) && class == "fixture.Pipeline", "{p}");
    let created = m.event(|e| e["type"] == "ObjectCreated");
    assert_eq!(created["object"], "manager_ServerManager");
    assert_eq!(created["data"]["object"], p.as_str());
    assert_eq!(created["data"]["source"], "manager_ServerManager");

    // Qualified and bare names, children ids nested under the parent.
    let pass = c.create("fixture.Pass", json!({"mediaPipeline": p}));
    let src = c.create("Source", json!({"mediaPipeline": p}));
    let leaf = pass
        .strip_prefix(&format!("{p}/"))
        .expect("child id under its pipeline");
    assert!(
        leaf.ends_with("_fixture.Pass") && is_uuid(&leaf[..36]),
        "{pass}"
    );

    let d = c.call("describe", json!({"object": pass}));
    assert_eq!(d["type"], "Pass");
    assert_eq!(d["qualifiedType"], "fixture.Pass");
    assert_eq!(d["hierarchy"], json!(["fixture.Element", "fixture.Base"]));

    assert_eq!(c.invoke(&pass, "getName", json!({})), pass.as_str());
    let r = c.call(
        "invoke",
        json!({"object": pass, "operation": "setName", "operationParams": {"name": "pt"}}),
    );
    assert!(
        r["value"].is_null() && r["sessionId"].is_string(),
        "void result: {r}"
    );
    assert_eq!(c.invoke(&pass, "getName", json!({})), "pt");
    assert_eq!(c.invoke(&pass, "getParent", json!({})), p.as_str());
    let mut children: Vec<String> =
        serde_json::from_value(c.invoke(&p, "getChildren", json!({}))).unwrap();
    children.sort();
    let mut expected = vec![pass.clone(), src.clone()];
    expected.sort();
    assert_eq!(children, expected);
    let pipelines = c.invoke("manager_ServerManager", "getPipelines", json!({}));
    assert_eq!(pipelines, json!([p]));
    assert!(
        c.invoke(&p, "getGstreamerDot", json!({}))
            .as_str()
            .unwrap()
            .starts_with("digraph")
    );

    // Releasing the pipeline releases its children.
    let r = c.call("release", json!({"object": p}));
    assert!(r["sessionId"].is_string());
    let mut destroyed = Vec::new();
    for _ in 0..3 {
        destroyed.push(m.event(|e| e["type"] == "ObjectDestroyed")["data"]["objectId"].clone());
    }
    for id in [&p, &pass, &src] {
        assert!(
            destroyed.contains(&json!(id)),
            "{id} not destroyed: {destroyed:?}"
        );
        let e = c.fail(
            "invoke",
            Some(json!({"object": id, "operation": "getName"})),
        );
        assert_eq!(e["code"], 40101);
        assert_eq!(e["message"], format!("Object '{id}' not found"));
        assert_eq!(e["data"]["type"], "MEDIA_OBJECT_NOT_FOUND");
    }
    assert_eq!(
        c.invoke("manager_ServerManager", "getPipelines", json!({})),
        json!([])
    );
    // Releasing again is not an error.
    c.call("release", json!({"object": p}));
}

#[test]
fn every_error_code() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    // -32700: not JSON, id null; the connection goes on.
    c.send(Message::text("{this is not json"));
    let r = c.response();
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["error"]["code"], -32700);
    // -32600: bad envelope.
    for bad in [
        json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": [1], "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1}),
        json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
        json!("text"),
    ] {
        c.send(Message::text(bad.to_string()));
        let r = c.response();
        assert_eq!(r["error"]["code"], -32600, "{bad}: {r}");
        assert_eq!(r["error"]["message"], "Invalid JSON-RPC request.");
        assert_eq!(r["id"], Value::Null);
    }
    // -32601
    let e = c.fail("frobnicate", Some(json!({})));
    assert_eq!(
        (e["code"].clone(), e["message"].clone()),
        (json!(-32601), json!("Method not found."))
    );
    // -32602 (before any session exists on this connection)
    let e = c.fail("create", None);
    assert_eq!(
        e,
        json!({"code": -32602, "message": "'params' is required", "data": {"type": "INVALID_PARAMS"}})
    );
    // -32000: missing or mistyped members.
    let e = c.fail("create", Some(json!({"constructorParams": {}})));
    assert_eq!(
        e,
        json!({"code": -32000, "message": "'type' parameter is required"})
    );
    let e = c.fail("describe", Some(json!({"object": ["x"]})));
    assert_eq!(
        e,
        json!({"code": -32000, "message": "'object' parameter should be a string"})
    );
    // 40108: unknown factory, abstract classes.
    for ty in ["Nope", "Base", "fixture.Element", "kurento.Pipeline"] {
        let e = c.fail("create", Some(json!({"type": ty})));
        assert_eq!(e["code"], 40108);
        assert_eq!(e["message"], format!("Factory '{ty}' not found"));
        assert_eq!(e["data"]["type"], "MEDIA_OBJECT_NOT_AVAILABLE");
    }
    // 40101: unknown objects, as target and as parent.
    let e = c.fail("describe", Some(json!({"object": "nope_fixture.Pipeline"})));
    assert_eq!(e["code"], 40101);
    let e = c.fail(
        "create",
        Some(json!({"type": "Pass", "constructorParams": {"mediaPipeline": "nope"}})),
    );
    assert_eq!(e["code"], 40101);
    // 40109: newref outside a transaction.
    let e = c.fail("describe", Some(json!({"object": "newref:0"})));
    assert_eq!(e["code"], 40109);
    assert_eq!(
        e["data"]["type"],
        "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT"
    );
    // 40001: the module's parameter checks.
    let p = pipeline(&mut c);
    let e = c.fail(
        "create",
        Some(json!({"type": "Pass", "constructorParams": {}})),
    );
    assert_eq!(e["code"], 40001);
    assert_eq!(e["data"]["type"], "MARSHALL_ERROR");
    assert_eq!(e["message"], "'mediaPipeline' parameter should be a string");
    let e = c.fail(
        "invoke",
        Some(json!({"object": p, "operation": "echo", "operationParams": {"text": 3}})),
    );
    assert_eq!(e["code"], 40001);
    // 40008: unknown operation.
    let e = c.fail(
        "invoke",
        Some(json!({"object": p, "operation": "frobnicate", "operationParams": {"a": 1}})),
    );
    assert_eq!(e["code"], 40008);
    assert_eq!(
        e["message"],
        "Method 'frobnicate' with 1 parameters not found"
    );
    assert_eq!(e["data"]["type"], "MALFORMED_TRANSACTION");
    // 40106: event the class does not have.
    let e = c.fail(
        "subscribe",
        Some(json!({"object": p, "type": "ElementConnected"})),
    );
    assert_eq!(e["code"], 40106);
    assert_eq!(e["message"], "Event 'ElementConnected' not supported");
    assert_eq!(e["data"]["type"], "MEDIA_OBJECT_EVENT_NOT_SUPPORTED");
    // 40007: unknown sessions.
    let e = c.fail("connect", Some(json!({"sessionId": "no-such-session"})));
    assert_eq!(
        e,
        json!({"code": 40007, "message": "Invalid session", "data": {"type": "INVALID_SESSION"}})
    );
    let e = c.fail("keepAlive", Some(json!({"sessionId": "no-such-session"})));
    assert_eq!(e["code"], 40007);
    // 40004: elements of different pipelines.
    let p2 = pipeline(&mut c);
    let a = c.create("Source", json!({"mediaPipeline": p}));
    let b = c.create("Pass", json!({"mediaPipeline": p2}));
    let e = c.fail(
        "invoke",
        Some(json!({"object": a, "operation": "connect", "operationParams": {"sink": b}})),
    );
    assert_eq!(
        (e["code"].clone(), e["data"]["type"].clone()),
        (json!(40004), json!("CONNECT_ERROR"))
    );
}

#[test]
fn a_panicking_module_becomes_an_error_and_the_server_keeps_serving() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    let crasher = c.create("Crasher", json!({}));
    let e = c.fail(
        "invoke",
        Some(json!({"object": crasher, "operation": "explode"})),
    );
    assert_eq!(e["code"], -32603);
    assert_eq!(
        e["message"],
        "Unexpected error while processing method: kaboom"
    );
    let e = c.fail(
        "create",
        Some(json!({"type": "Crasher", "constructorParams": {"panicOnCreate": true}})),
    );
    assert_eq!(e["code"], -32603);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .ends_with("crashed while creating")
    );
    // Same connection, same session, same objects.
    assert_eq!(
        c.invoke(&crasher, "echo", json!({"text": "still here"})),
        "still here"
    );
    let mut other = Client::connect(&kms);
    assert_eq!(other.call("ping", json!({}))["value"], "pong");
}

#[test]
fn events_reach_subscribers_once_and_stop_after_unsubscribe() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    let p = pipeline(&mut c);
    let src = c.create("Source", json!({"mediaPipeline": p}));
    let pass = c.create("Pass", json!({"mediaPipeline": p}));
    let s1 = c.call(
        "subscribe",
        json!({"object": src, "type": "ElementConnected"}),
    )["value"]
        .clone();
    let s2 = c.call(
        "subscribe",
        json!({"object": src, "type": "ElementConnected"}),
    )["value"]
        .clone();
    assert_ne!(s1, s2);
    c.call(
        "subscribe",
        json!({"object": pass, "type": "MediaFlowInStateChanged"}),
    );
    c.invoke(&src, "connect", json!({"sink": pass, "mediaType": "VIDEO"}));
    let ev = c.event(|e| e["type"] == "ElementConnected");
    assert_eq!(ev["object"], src.as_str());
    let data = &ev["data"];
    assert_eq!(data["source"], src.as_str());
    assert_eq!(data["sink"], pass.as_str());
    assert_eq!(data["mediaType"], "VIDEO");
    assert_eq!(data["type"], "ElementConnected");
    assert_eq!(data["tags"], json!([]));
    assert!(
        data["timestampMillis"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1_600_000_000_000
    );
    let flow = c.event(|e| e["type"] == "MediaFlowInStateChanged");
    assert_eq!(flow["data"]["state"], "FLOWING");
    assert_eq!(flow["data"]["mediaType"], "VIDEO");
    assert_eq!(
        c.invoke(&pass, "isMediaFlowingIn", json!({"mediaType": "VIDEO"})),
        true
    );
    let conns = c.invoke(&pass, "getSourceConnections", json!({}));
    assert_eq!(conns[0]["source"], src.as_str());
    // Two subscriptions of one session: one delivery.
    c.invoke(&src, "disconnect", json!({"sink": pass}));
    c.invoke(&src, "connect", json!({"sink": pass, "mediaType": "VIDEO"}));
    c.event(|e| e["type"] == "ElementConnected");
    let _ = c.call("ping", json!({}));
    std::thread::sleep(Duration::from_millis(300));
    while let Some(m) = c.recv(Duration::from_millis(100)) {
        c.events.push(m);
    }
    assert!(
        !c.events
            .iter()
            .any(|e| e["params"]["value"]["type"] == "ElementConnected"),
        "a second delivery: {:?}",
        c.events
    );
    // Both subscriptions removed → no more deliveries.
    for s in [s1, s2] {
        c.call("unsubscribe", json!({"object": src, "subscription": s}));
    }
    c.call(
        "unsubscribe",
        json!({"object": src, "subscription": "unknown"}),
    );
    c.invoke(&src, "disconnect", json!({"sink": pass}));
    c.invoke(&src, "connect", json!({"sink": pass, "mediaType": "VIDEO"}));
    std::thread::sleep(Duration::from_millis(300));
    while let Some(m) = c.recv(Duration::from_millis(100)) {
        c.events.push(m);
    }
    assert!(
        !c.events
            .iter()
            .any(|e| e["params"]["value"]["type"] == "ElementConnected")
    );
}

#[test]
fn reconnect_keeps_the_session_and_its_events() {
    let kms = start(json!({"garbageCollectorPeriod": 1}), json!({}));
    let mut a = Client::connect(&kms);
    let p = pipeline(&mut a);
    let sid = a.call("ping", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let server_id = a.call("connect", json!({}))["serverId"].clone();
    let src = a.create("Source", json!({"mediaPipeline": p}));
    let pass = a.create("Pass", json!({"mediaPipeline": p}));
    a.call(
        "subscribe",
        json!({"object": src, "type": "ElementConnected"}),
    );
    drop(a);
    // Longer than the collector would wait for an abandoned session's first mark to lapse.
    std::thread::sleep(Duration::from_millis(1200));
    let mut b = Client::connect(&kms);
    b.call("ping", json!({}));
    let r = b.call("connect", json!({"sessionId": sid}));
    assert_eq!(r["sessionId"], sid.as_str());
    assert_eq!(r["serverId"], server_id);
    // Objects are alive and the subscription's events follow the client to the new socket.
    b.invoke(&src, "connect", json!({"sink": pass}));
    let ev = b.event(|e| e["type"] == "ElementConnected");
    assert_eq!(ev["data"]["sink"], pass.as_str());
    // While connected, the collector leaves the session alone.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(b.invoke(&pass, "getName", json!({})), pass.as_str());
}

#[test]
fn garbage_collector_releases_abandoned_sessions() {
    let kms = start(json!({"garbageCollectorPeriod": 1}), json!({}));
    let mut a = Client::connect(&kms);
    let p = pipeline(&mut a);
    let pass = a.create("Pass", json!({"mediaPipeline": p}));
    let sid = a.call("ping", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    drop(a);
    // Released between one and two periods after the client went away.
    std::thread::sleep(Duration::from_millis(3500));
    let mut b = Client::connect(&kms);
    assert_eq!(
        b.invoke("manager_ServerManager", "getPipelines", json!({})),
        json!([])
    );
    for id in [&p, &pass] {
        assert_eq!(
            b.fail("describe", Some(json!({"object": id})))["code"],
            40101
        );
    }
    assert_eq!(
        b.fail("connect", Some(json!({"sessionId": sid})))["code"],
        40007
    );
    let mut keep = Client::connect(&kms);
    let q = pipeline(&mut keep);
    let ksid = keep.call("ping", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    drop(keep);
    // keepAlive from another connection keeps an abandoned session alive.
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(500));
        b.call("keepAlive", json!({"sessionId": ksid}));
    }
    assert!(
        b.invoke("manager_ServerManager", "getPipelines", json!({}))
            .as_array()
            .unwrap()
            .contains(&json!(q))
    );
}

#[test]
fn malformed_and_oversized_frames_get_errors_and_the_connection_survives() {
    let kms = start(json!({}), json!({"maxFrameSize": 4096}));
    let mut c = Client::connect(&kms);
    let p = pipeline(&mut c);
    let big = json!({"jsonrpc": "2.0", "id": 1000, "method": "invoke",
        "params": {"object": p, "operation": "echo", "operationParams": {"text": "x".repeat(10_000)}}});
    c.send(Message::text(big.to_string()));
    let r = c.response();
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["error"]["code"], -32600);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the limit of 4096 bytes"),
        "{r}"
    );
    c.send(Message::binary(vec![0xff, 0xfe, 0x00]));
    assert_eq!(c.response()["error"]["code"], -32700);
    c.send(Message::text("{\"jsonrpc\":\"2.0\",\"id\":"));
    assert_eq!(c.response()["error"]["code"], -32700);
    // Same connection and session: the pipeline is still reachable without naming the session.
    assert_eq!(c.invoke(&p, "echo", json!({"text": "ok"})), "ok");
    // Two messages in one frame get two answers.
    c.send(Message::text(
        "{\"jsonrpc\":\"2.0\",\"id\":501,\"method\":\"ping\"}{\"jsonrpc\":\"2.0\",\"id\":502,\"method\":\"ping\"}",
    ));
    assert_eq!(c.response()["id"], 501);
    assert_eq!(c.response()["id"], 502);
    // Notifications are executed but not answered.
    c.send(Message::text(
        json!({"jsonrpc": "2.0", "method": "invoke", "params": {"object": p, "operation": "setName", "operationParams": {"name": "silent"}}}).to_string(),
    ));
    assert_eq!(c.invoke(&p, "getName", json!({})), "silent");
}

#[test]
fn transactions_with_newref() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    let ops = json!([
        {"jsonrpc": "2.0", "id": 0, "method": "create", "params": {"type": "Pipeline"}},
        {"jsonrpc": "2.0", "id": 1, "method": "create", "params": {"type": "Pass", "constructorParams": {"mediaPipeline": "newref:0"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "invoke", "params": {"object": "newref:1", "operation": "getParent"}},
    ]);
    let r = c.call("transaction", json!({"operations": ops}));
    let v = r["value"].as_array().unwrap();
    assert_eq!(v.len(), 3);
    let p = v[0]["result"]["value"].as_str().unwrap();
    let pass = v[1]["result"]["value"].as_str().unwrap();
    assert!(pass.starts_with(&format!("{p}/")));
    assert_eq!(v[2]["id"], 2);
    assert_eq!(v[2]["result"]["value"], p);
    assert_eq!(v[2]["result"]["sessionId"], r["sessionId"]);
    // Processing stops at the first failure.
    let ops = json!([
        {"jsonrpc": "2.0", "id": 0, "method": "create", "params": {"type": "Nope"}},
        {"jsonrpc": "2.0", "id": 1, "method": "create", "params": {"type": "Pipeline"}},
    ]);
    let v = c.call("transaction", json!({"operations": ops}))["value"].clone();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["error"]["code"], 40108);
    let ops = json!([{"jsonrpc": "2.0", "id": 0, "method": "invoke", "params": {"object": "newref:x", "operation": "getName"}}]);
    let v = c.call("transaction", json!({"operations": ops}))["value"].clone();
    assert_eq!(v[0]["error"]["message"], "Invalid index of newref 'x'");
    let ops = json!([{"jsonrpc": "2.0", "id": 0, "method": "invoke", "params": {"object": "newref:3", "operation": "getName"}}]);
    let v = c.call("transaction", json!({"operations": ops}))["value"].clone();
    assert_eq!(v[0]["error"]["message"], "Result not found on request 3");
    // Ids must be the indexes.
    let ops = json!([{"jsonrpc": "2.0", "id": 5, "method": "ping"}]);
    let e = c.fail("transaction", Some(json!({"operations": ops})));
    assert_eq!(e["code"], 40008);
    assert_eq!(e["message"], "Id of request '5' should be '0'");
}

#[test]
fn duplicate_requests_are_answered_from_the_cache() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    let sid = c.call("connect", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let req = json!({"jsonrpc": "2.0", "id": 7000, "method": "create", "params": {"type": "Pipeline", "sessionId": sid}});
    c.send(Message::text(req.to_string()));
    let first = c.response();
    c.send(Message::text(req.to_string()));
    let second = c.response();
    assert_eq!(first, second, "a retried request gets the stored answer");
    let pipelines = c.invoke("manager_ServerManager", "getPipelines", json!({}));
    assert_eq!(
        pipelines.as_array().unwrap().len(),
        1,
        "and is not executed twice"
    );
}

#[test]
fn ref_unref_and_close_session() {
    let kms = start_default();
    let mut a = Client::connect(&kms);
    let mut b = Client::connect(&kms);
    let p = pipeline(&mut a);
    let sa = a.call("ping", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let sb = b.call("connect", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    b.call("ref", json!({"object": p, "sessionId": sb}));
    assert_eq!(
        b.fail("ref", Some(json!({"object": "nope", "sessionId": sb})))["code"],
        40101
    );
    // A drops it; B still holds it.
    a.call("unref", json!({"object": p, "sessionId": sa}));
    a.call("unref", json!({"object": "nope", "sessionId": sa}));
    assert_eq!(b.invoke(&p, "getName", json!({})), p.as_str());
    // B closes its session: nobody holds the pipeline any more.
    let r = b.call("closeSession", json!({"sessionId": sb}));
    assert_eq!(r, json!({}));
    let mut c = Client::connect(&kms);
    assert_eq!(
        c.fail("describe", Some(json!({"object": p})))["code"],
        40101
    );
    // closeSession with release:true releases even what other sessions hold.
    let q = pipeline(&mut a);
    let sc = c.call("connect", json!({}))["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    c.call("ref", json!({"object": q, "sessionId": sc}));
    a.call("closeSession", json!({"sessionId": sa, "release": true}));
    assert_eq!(
        c.fail("describe", Some(json!({"object": q})))["code"],
        40101
    );
}

#[test]
fn wrong_path_is_closed_with_protocol_error() {
    let kms: Kms = start_default();
    let mut c = Client::connect_path(&kms, "other");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match c.ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(u16::from(f.code), 1002);
                assert_eq!(f.reason.as_str(), "Invalid path");
                break;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(_)) if std::time::Instant::now() < deadline => {}
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
    // Query strings are not part of the path.
    let mut ok = Client::connect_path(&kms, "kurento?x=1");
    assert_eq!(ok.call("ping", json!({}))["value"], "pong");
}

#[test]
fn create_is_refused_near_the_resource_limits() {
    // 64 open files allowed, 5% of them may be used: the server already uses more.
    let kms = start_full(json!({"exceptionLimit": 0.05}), json!({}), &[], Some(64));
    let mut c = Client::connect(&kms);
    let e = c.fail("create", Some(json!({"type": "Pipeline"})));
    assert_eq!(e["code"], 40009);
    assert_eq!(e["data"]["type"], "NOT_ENOUGH_RESOURCES");
    assert_eq!(e["message"], "Reached KMS files limit: 3");
    assert_eq!(c.call("ping", json!({}))["value"], "pong");
}

#[test]
fn sigterm_releases_everything_and_exits_cleanly() {
    let mut kms = start_default();
    let mut c = Client::connect(&kms);
    let p = pipeline(&mut c);
    let src = c.create("Source", json!({"mediaPipeline": p}));
    let pass = c.create("Pass", json!({"mediaPipeline": p}));
    c.invoke(&src, "connect", json!({"sink": pass}));
    assert!(
        kms.terminate(),
        "clean exit after releasing the running pipeline"
    );
    let log: Vec<String> = kms.log.try_iter().collect();
    assert!(log.iter().any(|l| l.contains("Stopping")), "{log:?}");
}

#[test]
fn gstreamer_errors_reach_error_subscribers() {
    let kms = start_default();
    let mut c = Client::connect(&kms);
    let p = pipeline(&mut c);
    let src = c.create("Source", json!({"mediaPipeline": p}));
    c.call("subscribe", json!({"object": src, "type": "Error"}));
    c.invoke(&src, "postError", json!({}));
    let ev = c.event(|e| e["type"] == "Error");
    assert_eq!(ev["object"], src.as_str());
    let d = &ev["data"];
    assert_eq!(d["type"], "RESOURCE_ERROR_OPEN");
    assert_eq!(d["errorCode"], 5);
    assert_eq!(d["source"], src.as_str());
    let description = d["description"].as_str().unwrap();
    assert!(
        description.starts_with("Error code 5: cannot open the test resource, source: ")
            && description.contains(&format!("element: {src}"))
            && description.ends_with(", debug info: fixture"),
        "{description}"
    );
}
