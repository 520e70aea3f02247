// SPDX-License-Identifier: MPL-2.0
//! The socket-free core: sessions, connections, the object registry, event routing and every
//! JSON-RPC method (server.md §4–§8). The transport feeds it frames and forwards what it returns;
//! unit tests drive it without sockets.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kurento_module_abi::{HostApi, ObjectRef};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;

use crate::config::Config;
use crate::error::*;
use crate::manager::{self, MANAGER_ID, ManagerState};
use crate::modules::{Catalog, ClassInfo, Module};

/// Runs a piece of request handling that may block; see [`Server::handle_frame_with`].
pub type Offload<'a> = &'a dyn Fn(&mut dyn FnMut());

pub type ConnId = u64;

/// How long a response stays in the duplicate-request cache (server.md §4.6).
const REQUEST_CACHE_TTL: Duration = Duration::from_secs(20);
/// At most this many cached responses: a flood of requests within the TTL must not grow the
/// cache without bound (the oldest are forgotten first; a retry comes within seconds).
const REQUEST_CACHE_MAX: usize = 50_000;

/// A module object's handle; the lock keeps `release` from racing a call in flight.
pub(crate) struct Live {
    module: Arc<Module>,
    raw: usize,
    released: RwLock<bool>,
}

impl Live {
    fn invoke(&self, op: &str, params: &Value) -> Result<Value, RpcError> {
        let g = self.released.read().unwrap_or_else(|e| e.into_inner());
        if *g {
            return Err(RpcError::kurento(
                MEDIA_OBJECT_NOT_FOUND,
                "Object was released",
            ));
        }
        self.module.invoke(self.raw, op, params)
    }

    fn subscribe(&self, event: &str) -> Result<bool, RpcError> {
        let g = self.released.read().unwrap_or_else(|e| e.into_inner());
        if *g {
            return Ok(false);
        }
        self.module.subscribe(self.raw, event)
    }

    fn release(&self) {
        let mut g = self.released.write().unwrap_or_else(|e| e.into_inner());
        if !*g {
            *g = true;
            let (module, raw) = (&self.module, self.raw);
            if catch_unwind(AssertUnwindSafe(|| module.release(raw))).is_err() {
                tracing::error!(
                    "module '{}' panicked while releasing an object",
                    module.name
                );
            }
        }
    }
}

pub(crate) struct Obj {
    pub class: Arc<ClassInfo>,
    live: Option<Arc<Live>>,
    pub parent: Option<String>,
    pub children: BTreeSet<String>,
    pub sessions: HashSet<String>,
}

#[derive(Default)]
pub(crate) struct Session {
    objects: HashSet<String>,
    alive: bool,
    conn: Option<ConnId>,
    /// Subscription id → (object, event).
    subscriptions: HashMap<String, (String, String)>,
}

struct Conn {
    tx: Sender<String>,
    /// Events are being dropped because the client stopped reading (logged once per burst).
    dropping: bool,
    session: Option<String>,
}

#[derive(Default)]
pub(crate) struct State {
    pub objects: HashMap<String, Obj>,
    pub sessions: HashMap<String, Session>,
    conns: HashMap<ConnId, Conn>,
    /// (object, event) → sessions with at least one subscription.
    listeners: HashMap<(String, String), HashSet<String>>,
    /// (object, event) pairs the module was already asked to deliver.
    module_subscribed: HashSet<(String, String)>,
}

pub(crate) struct Core {
    pub config: Config,
    pub catalog: Catalog,
    pub server_id: String,
    state: Mutex<State>,
    cache: Mutex<RequestCache>,
    host: &'static HostApi,
    next_conn: AtomicU64,
    pub manager: Mutex<ManagerState>,
}

/// Responses of the last [`REQUEST_CACHE_TTL`], expired in insertion order.
#[derive(Default)]
struct RequestCache {
    entries: HashMap<(String, String), Value>,
    order: std::collections::VecDeque<(Instant, (String, String))>,
}

impl RequestCache {
    fn expire(&mut self) {
        while let Some((t, _)) = self.order.front() {
            if t.elapsed() < REQUEST_CACHE_TTL {
                break;
            }
            if let Some((_, k)) = self.order.pop_front() {
                self.entries.remove(&k);
            }
        }
    }

    fn get(&mut self, key: &(String, String)) -> Option<Value> {
        self.expire();
        self.entries.get(key).cloned()
    }

    fn insert(&mut self, key: (String, String), response: Value) {
        self.expire();
        if self.entries.insert(key.clone(), response).is_none() {
            self.order.push_back((Instant::now(), key));
        }
        while self.order.len() > REQUEST_CACHE_MAX {
            if let Some((_, k)) = self.order.pop_front() {
                self.entries.remove(&k);
            }
        }
    }
}

/// The server: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Server(Arc<Core>);

fn now_millis() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

pub(crate) fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads a string-typed member: any scalar converts to a string (server.md §4.2).
fn opt_str(params: &Map<String, Value>, name: &str) -> Result<Option<String>, RpcError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(RpcError::member_kind(name, "a string")),
    }
}

fn req_str(params: &Map<String, Value>, name: &str) -> Result<String, RpcError> {
    opt_str(params, name)?.ok_or_else(|| RpcError::member_required(name))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn event_message(object: &str, event_type: &str, data: &Value) -> String {
    json!({"jsonrpc": "2.0", "method": "onEvent", "params": {"value": {
        "data": data, "object": object, "type": event_type}}})
    .to_string()
}

unsafe extern "C" fn host_emit_event(
    ctx: *const c_void,
    object_id: *const c_char,
    event_json: *const c_char,
) {
    let _ = catch_unwind(|| {
        if ctx.is_null() || object_id.is_null() || event_json.is_null() {
            return;
        }
        let weak = unsafe { &*(ctx as *const Weak<Core>) };
        let (Ok(id), Ok(ev)) = (
            unsafe { CStr::from_ptr(object_id) }.to_str(),
            unsafe { CStr::from_ptr(event_json) }.to_str(),
        ) else {
            return;
        };
        if let (Some(core), Ok(ev)) = (weak.upgrade(), serde_json::from_str::<Value>(ev)) {
            core.emit_module_event(id, ev);
        }
    });
}

unsafe extern "C" fn host_resolve_object(
    ctx: *const c_void,
    object_id: *const c_char,
) -> ObjectRef {
    let none = ObjectRef {
        module: std::ptr::null(),
        handle: std::ptr::null_mut(),
    };
    catch_unwind(|| {
        if ctx.is_null() || object_id.is_null() {
            return none;
        }
        let weak = unsafe { &*(ctx as *const Weak<Core>) };
        let Ok(id) = unsafe { CStr::from_ptr(object_id) }.to_str() else {
            return none;
        };
        let Some(core) = weak.upgrade() else {
            return none;
        };
        let st = lock(&core.state);
        match st.objects.get(id).and_then(|o| o.live.as_ref()) {
            // try_read: an object being released right now is already gone (and waiting for
            // its lock here could deadlock against events raised by that release).
            Some(live) if live.released.try_read().is_ok_and(|g| !*g) => ObjectRef {
                module: live.module.vtable(),
                handle: live.raw as *mut c_void,
            },
            _ => none,
        }
    })
    .unwrap_or(none)
}

impl Server {
    pub fn new(config: Config, catalog: Catalog) -> Server {
        let core = Arc::new_cyclic(|weak: &Weak<Core>| {
            // Modules keep the host pointer for the lifetime of their objects, which may outlive
            // a `Server` in tests: leak the small host structure instead of risking a dangling one.
            let ctx = Box::into_raw(Box::new(weak.clone())) as *const c_void;
            let host: &'static HostApi = Box::leak(Box::new(HostApi {
                ctx,
                emit_event: host_emit_event,
                resolve_object: host_resolve_object,
            }));
            let mut state = State::default();
            state.objects.insert(
                MANAGER_ID.to_string(),
                Obj {
                    class: manager::class_info(),
                    live: None,
                    parent: None,
                    children: BTreeSet::new(),
                    sessions: HashSet::new(),
                },
            );
            Core {
                config,
                catalog,
                server_id: new_uuid(),
                state: Mutex::new(state),
                cache: Mutex::new(RequestCache::default()),
                host,
                next_conn: AtomicU64::new(1),
                manager: Mutex::new(ManagerState::new()),
            }
        });
        Server(core)
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// Registers a connection; events of its associated session go to `tx`. When `tx` is full
    /// (the client stopped reading) events for it are dropped: an event never waits on a client.
    pub fn open_connection(&self, tx: Sender<String>) -> ConnId {
        let id = self.0.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.0.state).conns.insert(
            id,
            Conn {
                tx,
                session: None,
                dropping: false,
            },
        );
        id
    }

    /// A closed connection only loses its association; its session lives until collected.
    pub fn close_connection(&self, conn: ConnId) {
        let mut st = lock(&self.0.state);
        if let Some(c) = st.conns.remove(&conn)
            && let Some(s) = c.session.and_then(|s| st.sessions.get_mut(&s))
            && s.conn == Some(conn)
        {
            s.conn = None;
            s.alive = true; // the keep-alive task marked it until now
        }
    }

    /// Handles one frame (text or binary payload) and returns the frames to send back.
    pub fn handle_frame(&self, conn: ConnId, payload: &[u8]) -> Vec<String> {
        self.handle_frame_with(conn, payload, &|work| work())
    }

    /// As [`Server::handle_frame`], running every request that may block (anything that calls
    /// a module: GStreamer state changes, `getUsedCpu`...) through `offload`. The transport
    /// passes `tokio::task::block_in_place`; `ping` is answered inline, since moving a worker
    /// off the reactor for it would cost more than the answer itself.
    pub fn handle_frame_with(
        &self,
        conn: ConnId,
        payload: &[u8],
        offload: Offload<'_>,
    ) -> Vec<String> {
        let max = self.0.config.max_frame_size;
        if payload.len() > max {
            return vec![
                error_response(
                    &Value::Null,
                    &RpcError::plain(
                        INVALID_REQUEST,
                        format!(
                            "Frame of {} bytes exceeds the limit of {max} bytes",
                            payload.len()
                        ),
                    ),
                )
                .to_string(),
            ];
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            return vec![error_response(&Value::Null, &RpcError::parse_error()).to_string()];
        };
        // Several concatenated messages in one frame are accepted (kurento-client.md §1).
        let mut out = Vec::new();
        for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            match v {
                Ok(v) => out.extend(
                    self.handle_message_with(conn, v, offload)
                        .map(|r| r.to_string()),
                ),
                Err(_) => {
                    out.push(error_response(&Value::Null, &RpcError::parse_error()).to_string());
                    break;
                }
            }
        }
        out
    }

    /// Handles one parsed message; `None` for notifications (they get no reply).
    pub fn handle_message(&self, conn: ConnId, msg: Value) -> Option<Value> {
        self.handle_message_with(conn, msg, &|work| work())
    }

    fn handle_message_with(&self, conn: ConnId, msg: Value, offload: Offload<'_>) -> Option<Value> {
        let Value::Object(mut req) = msg else {
            return Some(error_response(&Value::Null, &RpcError::invalid_request()));
        };
        let id = req.get("id").cloned();
        let valid = req.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
            && !matches!(id, Some(Value::Array(_)) | Some(Value::Object(_)))
            && req.get("method").is_some_and(Value::is_string);
        if !valid {
            return Some(error_response(&Value::Null, &RpcError::invalid_request()));
        }
        let method = req["method"].as_str().unwrap_or_default().to_string();
        let mut params = match req.remove("params") {
            Some(Value::Object(p)) => Some(p),
            _ => None,
        };
        // Inject the connection's session into requests that lack one (server.md §4.3).
        let associated = lock(&self.0.state)
            .conns
            .get(&conn)
            .and_then(|c| c.session.clone());
        if let Some(sid) = associated {
            let p = params.get_or_insert_with(Map::new);
            if !p.contains_key("sessionId") {
                p.insert("sessionId".into(), Value::String(sid));
            }
        }
        let id = id.filter(|i| !i.is_null());
        let request_sid = params
            .as_ref()
            .and_then(|p| p.get("sessionId"))
            .and_then(Value::as_str)
            .map(str::to_string);
        // Kurento keys the cache on (session, id) only; a retry is the same request, so the
        // method and params are part of the key too and a reused id never replays another
        // request's answer (e.g. a reconnecting client that restarts its ids).
        let body = format!(
            "{method}\n{}",
            params
                .as_ref()
                .map(|p| Value::Object(p.clone()).to_string())
                .unwrap_or_default()
        );
        let cache_key = |sid: &str, id: &Value| (sid.to_string(), format!("{id}\n{body}"));
        if let (Some(sid), Some(id), false) =
            (&request_sid, &id, self.0.config.disable_request_cache)
            && let Some(stored) = lock(&self.0.cache).get(&cache_key(sid, id))
        {
            return Some(stored);
        }
        let mut result = None;
        let mut run = || {
            result = Some(
                catch_unwind(AssertUnwindSafe(|| {
                    self.0.dispatch(Some(conn), &method, params.as_ref())
                }))
                .unwrap_or_else(|_| Err(RpcError::internal("internal error"))),
            );
        };
        if method == "ping" {
            run();
        } else {
            offload(&mut run);
        }
        let result = result.unwrap_or_else(|| Err(RpcError::internal("request not run")));
        let id = id?; // a notification is executed but not answered
        let response = match &result {
            Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
            Err(e) => error_response(&id, e),
        };
        let result_sid = result
            .as_ref()
            .ok()
            .and_then(|r| r.get("sessionId"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(sid) = &result_sid {
            self.0.associate(conn, sid);
        }
        if let (Some(sid), false) = (
            result_sid.or(request_sid),
            self.0.config.disable_request_cache,
        ) {
            lock(&self.0.cache).insert(cache_key(&sid, &id), response.clone());
        }
        Some(response)
    }

    /// One garbage-collector pass (server.md §5.4): sessions neither connected nor marked alive
    /// since the previous pass lose their objects.
    pub fn collect_garbage(&self) {
        let mut dead = Vec::new();
        {
            let mut st = lock(&self.0.state);
            for (id, s) in st.sessions.iter_mut() {
                if s.conn.is_some() {
                    continue;
                }
                if s.alive {
                    s.alive = false;
                } else {
                    dead.push(id.clone());
                }
            }
        }
        for sid in dead {
            tracing::info!("Session {sid} timed out: releasing its objects");
            self.0.close_session(&sid, false);
        }
    }

    /// Releases every remaining object (graceful stop).
    pub fn release_all(&self) {
        let roots: Vec<String> = lock(&self.0.state)
            .objects
            .iter()
            .filter(|(id, o)| o.parent.is_none() && id.as_str() != MANAGER_ID)
            .map(|(id, _)| id.clone())
            .collect();
        for r in roots {
            self.0.release_object(&r);
        }
    }

    /// Ids of live objects (for tests and the manager).
    pub fn object_ids(&self) -> Vec<String> {
        lock(&self.0.state).objects.keys().cloned().collect()
    }
}

pub(crate) fn error_response(id: &Value, e: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()})
}

impl Core {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn associate(&self, conn: ConnId, sid: &str) {
        let mut st = self.state();
        let Some(c) = st.conns.get_mut(&conn) else {
            return;
        };
        let old = c.session.replace(sid.to_string());
        if let Some(old) = old.filter(|o| o != sid)
            && let Some(s) = st.sessions.get_mut(&old)
            && s.conn == Some(conn)
        {
            s.conn = None;
            s.alive = true;
        }
        // One connection ↔ one session: the session's previous connection loses it.
        let s = st.sessions.entry(sid.to_string()).or_default();
        let previous = s.conn.replace(conn);
        s.alive = true;
        if let Some(prev) = previous.filter(|p| *p != conn)
            && let Some(pc) = st.conns.get_mut(&prev)
            && pc.session.as_deref() == Some(sid)
        {
            pc.session = None;
        }
    }

    /// The request's session, or a new one registered now.
    fn session_for(&self, params: Option<&Map<String, Value>>) -> Result<String, RpcError> {
        if let Some(sid) = params
            .map(|p| opt_str(p, "sessionId"))
            .transpose()?
            .flatten()
        {
            return Ok(sid);
        }
        let sid = new_uuid();
        self.state().sessions.entry(sid.clone()).or_default();
        Ok(sid)
    }

    /// Adds the object and its ancestors to the session and marks the session alive.
    fn ref_into(st: &mut State, sid: &str, id: &str) {
        let mut cur = Some(id.to_string());
        while let Some(oid) = cur {
            let Some(o) = st.objects.get_mut(&oid) else {
                break;
            };
            o.sessions.insert(sid.to_string());
            cur = o.parent.clone();
            let s = st.sessions.entry(sid.to_string()).or_default();
            s.objects.insert(oid);
            s.alive = true;
        }
    }

    /// Looks up a request's target object and refs it into the session.
    fn target(&self, sid: &str, id: &str) -> Result<(Arc<ClassInfo>, Option<Arc<Live>>), RpcError> {
        let mut st = self.state();
        let found = st
            .objects
            .get(id)
            .filter(|o| id == MANAGER_ID || !o.sessions.is_empty())
            .map(|o| (o.class.clone(), o.live.clone()));
        let Some(found) = found else {
            return Err(RpcError::object_not_found(id));
        };
        Self::ref_into(&mut st, sid, id);
        Ok(found)
    }

    pub(crate) fn dispatch(
        &self,
        conn: Option<ConnId>,
        method: &str,
        params: Option<&Map<String, Value>>,
    ) -> Result<Value, RpcError> {
        let needs_params = !matches!(method, "ping" | "connect");
        let known = matches!(
            method,
            "ping"
                | "connect"
                | "create"
                | "invoke"
                | "describe"
                | "subscribe"
                | "unsubscribe"
                | "release"
                | "ref"
                | "unref"
                | "keepAlive"
                | "transaction"
                | "closeSession"
        );
        if !known {
            return Err(RpcError::method_not_found());
        }
        if needs_params && params.is_none() {
            return Err(RpcError::params_required());
        }
        let empty = Map::new();
        let p = params.unwrap_or(&empty);
        match method {
            "ping" => {
                let mut r = json!({"value": "pong"});
                if let Some(sid) = opt_str(p, "sessionId")? {
                    r["sessionId"] = Value::String(sid);
                }
                Ok(r)
            }
            "connect" => match opt_str(p, "sessionId")? {
                Some(sid) => {
                    let mut st = self.state();
                    let s = st
                        .sessions
                        .get_mut(&sid)
                        .ok_or_else(RpcError::invalid_session)?;
                    s.alive = true;
                    Ok(json!({"sessionId": sid, "serverId": self.server_id}))
                }
                None => {
                    let sid = self.session_for(None)?;
                    Ok(json!({"sessionId": sid, "serverId": self.server_id}))
                }
            },
            "create" => self.create(p),
            "invoke" => self.invoke(p),
            "describe" => {
                let object = req_str(p, "object")?;
                let sid = self.session_for(Some(p))?;
                let (class, _) = self.target(&sid, &object)?;
                Ok(
                    json!({"sessionId": sid, "type": class.name, "qualifiedType": class.qualified,
                    "hierarchy": class.hierarchy}),
                )
            }
            "subscribe" => self.subscribe(p),
            "unsubscribe" => {
                let object = req_str(p, "object")?;
                let sub = req_str(p, "subscription")?;
                let sid = req_str(p, "sessionId")?;
                let mut st = self.state();
                let removed = st
                    .sessions
                    .get_mut(&sid)
                    .and_then(|s| s.subscriptions.remove(&sub));
                if let Some((obj, event)) = removed.filter(|(o, _)| *o == object) {
                    Self::drop_listener_if_unused(&mut st, &sid, &obj, &event);
                }
                Ok(json!({"sessionId": sid}))
            }
            "release" => {
                let object = req_str(p, "object")?;
                let sid = self.session_for(Some(p))?;
                if object != MANAGER_ID {
                    self.release_object(&object);
                }
                Ok(json!({"sessionId": sid}))
            }
            "ref" => {
                let object = req_str(p, "object")?;
                let sid = req_str(p, "sessionId")?;
                self.target(&sid, &object)?;
                Ok(json!({"sessionId": sid}))
            }
            "unref" => {
                let object = req_str(p, "object")?;
                let sid = req_str(p, "sessionId")?;
                self.unref(&sid, &object);
                Ok(json!({"sessionId": sid}))
            }
            "keepAlive" => {
                let sid = req_str(p, "sessionId")?;
                let mut st = self.state();
                st.sessions
                    .get_mut(&sid)
                    .ok_or_else(RpcError::invalid_session)?
                    .alive = true;
                Ok(json!({"sessionId": sid}))
            }
            "transaction" => self.transaction(conn, p),
            "closeSession" => {
                let sid = req_str(p, "sessionId")?;
                let release = match p.get("release") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(RpcError::member_kind("release", "a boolean")),
                };
                self.close_session(&sid, release);
                // Kurento answers `null`; clients need an object (kurento-client.md §4.2).
                Ok(json!({}))
            }
            _ => Err(RpcError::method_not_found()),
        }
    }

    fn create(&self, p: &Map<String, Value>) -> Result<Value, RpcError> {
        let type_name = req_str(p, "type")?;
        // Absent (or not an object) reaches the module as `null`, like `operationParams`, so
        // its generated parsing can tell "no parameters" from "empty parameters".
        let ctor_params = match p.get("constructorParams") {
            Some(Value::Object(o)) => Value::Object(o.clone()),
            _ => Value::Null,
        };
        let sid = self.session_for(Some(p))?;
        let (class, module_idx) =
            self.catalog
                .factories
                .get(&type_name)
                .cloned()
                .ok_or_else(|| {
                    RpcError::kurento(
                        MEDIA_OBJECT_NOT_AVAILABLE,
                        format!("Factory '{type_name}' not found"),
                    )
                })?;
        manager::check_resources(self.config.exception_limit)?;
        let module = self.catalog.modules[module_idx].clone();
        // The parent is the first remote-object constructor parameter (e.g. `mediaPipeline`,
        // HubPort's `hub`); a missing or mistyped one is left to the module's own checks.
        let parent = class
            .object_params
            .first()
            .and_then(|name| ctor_params.get(name))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(parent) = &parent {
            let st = self.state();
            if st.objects.get(parent).is_none_or(|o| o.sessions.is_empty()) {
                return Err(RpcError::object_not_found(parent));
            }
        }
        let leaf = format!("{}_{}", new_uuid(), class.qualified);
        let id = match &parent {
            Some(p) => format!("{p}/{leaf}"),
            None => leaf,
        };
        let handle = module.create(self.host, &class.name, &id, &ctor_params)?;
        let live = Arc::new(Live {
            module,
            raw: handle as usize,
            released: RwLock::new(false),
        });
        {
            let mut st = self.state();
            let parent_alive = parent.as_ref().is_none_or(|p| st.objects.contains_key(p));
            if !parent_alive {
                drop(st);
                live.release(); // the parent went away while we were creating
                return Err(RpcError::object_not_found(
                    parent.as_deref().unwrap_or_default(),
                ));
            }
            let parent_sessions: Vec<String> = parent
                .as_ref()
                .and_then(|p| st.objects.get_mut(p))
                .map(|o| {
                    o.children.insert(id.clone());
                    o.sessions.iter().cloned().collect()
                })
                .unwrap_or_default();
            st.objects.insert(
                id.clone(),
                Obj {
                    class,
                    live: Some(live),
                    parent,
                    children: BTreeSet::new(),
                    sessions: HashSet::new(),
                },
            );
            Self::ref_into(&mut st, &sid, &id);
            for s in parent_sessions {
                Self::ref_into(&mut st, &s, &id);
            }
        }
        self.emit_manager_event("ObjectCreated", json!({"object": id}));
        Ok(json!({"value": id, "sessionId": sid}))
    }

    fn invoke(&self, p: &Map<String, Value>) -> Result<Value, RpcError> {
        let object = req_str(p, "object")?;
        let operation = req_str(p, "operation")?;
        let op_params = match p.get("operationParams") {
            Some(Value::Object(o)) => Value::Object(o.clone()),
            _ => Value::Null,
        };
        let sid = self.session_for(Some(p))?;
        let (_, live) = self.target(&sid, &object)?;
        let value = match live {
            Some(live) => live.invoke(&operation, &op_params)?,
            None => manager::invoke(self, &operation, &op_params)?,
        };
        Ok(json!({"value": value, "sessionId": sid}))
    }

    fn subscribe(&self, p: &Map<String, Value>) -> Result<Value, RpcError> {
        let event = req_str(p, "type")?;
        let object = req_str(p, "object")?;
        let sid = self.session_for(Some(p))?;
        let (class, live) = self.target(&sid, &object)?;
        let unsupported = || {
            RpcError::kurento(
                MEDIA_OBJECT_EVENT_NOT_SUPPORTED,
                format!("Event '{event}' not supported"),
            )
        };
        if !class.events.contains(&event) {
            return Err(unsupported());
        }
        let key = (object.clone(), event.clone());
        let first = !self.state().module_subscribed.contains(&key);
        if first && let Some(live) = &live {
            if !live.subscribe(&event)? {
                return Err(unsupported());
            }
            self.state().module_subscribed.insert(key.clone());
        }
        let sub = new_uuid();
        let mut st = self.state();
        st.listeners.entry(key).or_default().insert(sid.clone());
        st.sessions
            .entry(sid.clone())
            .or_default()
            .subscriptions
            .insert(sub.clone(), (object, event));
        Ok(json!({"value": sub, "sessionId": sid}))
    }

    fn drop_listener_if_unused(st: &mut State, sid: &str, object: &str, event: &str) {
        let still = st.sessions.get(sid).is_some_and(|s| {
            s.subscriptions
                .values()
                .any(|(o, e)| o == object && e == event)
        });
        if !still {
            let key = (object.to_string(), event.to_string());
            if let Some(set) = st.listeners.get_mut(&key) {
                set.remove(sid);
                if set.is_empty() {
                    st.listeners.remove(&key);
                }
            }
        }
    }

    fn transaction(&self, conn: Option<ConnId>, p: &Map<String, Value>) -> Result<Value, RpcError> {
        let ops = match p.get("operations") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => return Err(RpcError::member_required("operations")),
            Some(_) => return Err(RpcError::member_kind("operations", "an array")),
        };
        let sid = self.session_for(Some(p))?;
        for (i, op) in ops.iter().enumerate() {
            if op.get("id").and_then(Value::as_u64) != Some(i as u64) {
                let given = op.get("id").map(|v| v.to_string()).unwrap_or_default();
                return Err(RpcError::kurento(
                    MALFORMED_TRANSACTION,
                    format!("Id of request '{given}' should be '{i}'"),
                ));
            }
        }
        let mut responses: Vec<Value> = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            let outcome = (|| {
                let method = op
                    .get("method")
                    .and_then(Value::as_str)
                    .ok_or_else(RpcError::invalid_request)?;
                if method == "transaction" {
                    return Err(RpcError::kurento(
                        MALFORMED_TRANSACTION,
                        "Transactions cannot be nested",
                    ));
                }
                let mut params = match op.get("params") {
                    Some(Value::Object(o)) => o.clone(),
                    _ => Map::new(),
                };
                params.insert("sessionId".into(), Value::String(sid.clone()));
                let mut params = Value::Object(params);
                replace_newrefs(&mut params, &responses)?;
                self.dispatch(conn, method, params.as_object())
            })();
            let failed = outcome.is_err();
            responses.push(match outcome {
                Ok(r) => json!({"jsonrpc": "2.0", "id": i, "result": r}),
                Err(e) => error_response(&json!(i), &e),
            });
            if failed {
                break;
            }
        }
        Ok(json!({"value": responses, "sessionId": sid}))
    }

    /// Unrefs an object (and its subtree) from one session, releasing what no session holds.
    fn unref(&self, sid: &str, id: &str) {
        let mut orphans = Vec::new();
        {
            let mut st = self.state();
            let mut stack = vec![id.to_string()];
            while let Some(oid) = stack.pop() {
                let Some(o) = st.objects.get_mut(&oid) else {
                    continue;
                };
                if oid == MANAGER_ID {
                    o.sessions.remove(sid);
                    continue;
                }
                o.sessions.remove(sid);
                stack.extend(o.children.iter().cloned());
                if o.sessions.is_empty() {
                    orphans.push(oid.clone());
                }
                if let Some(s) = st.sessions.get_mut(sid) {
                    s.objects.remove(&oid);
                }
            }
        }
        for o in orphans {
            self.release_object(&o);
        }
    }

    /// Releases an object and its whole subtree, children first; unknown ids are ignored.
    pub(crate) fn release_object(&self, id: &str) {
        let mut doomed = Vec::new();
        {
            let mut st = self.state();
            if !st.objects.contains_key(id) || id == MANAGER_ID {
                return;
            }
            // Post-order: collect the subtree, then remove leaves first.
            let mut order = Vec::new();
            let mut stack = vec![id.to_string()];
            while let Some(oid) = stack.pop() {
                if let Some(o) = st.objects.get(&oid) {
                    stack.extend(o.children.iter().cloned());
                    order.push(oid);
                }
            }
            for oid in order.into_iter().rev() {
                let Some(o) = st.objects.remove(&oid) else {
                    continue;
                };
                if let Some(parent) = o.parent.as_ref().and_then(|p| st.objects.get_mut(p)) {
                    parent.children.remove(&oid);
                }
                for sid in &o.sessions {
                    if let Some(s) = st.sessions.get_mut(sid) {
                        s.objects.remove(&oid);
                        s.subscriptions.retain(|_, (obj, _)| *obj != oid);
                    }
                }
                st.listeners.retain(|(obj, _), _| *obj != oid);
                st.module_subscribed.retain(|(obj, _)| *obj != oid);
                doomed.push((oid, o.live));
            }
        }
        for (oid, live) in doomed {
            if let Some(live) = live {
                live.release();
            }
            self.emit_manager_event("ObjectDestroyed", json!({"objectId": oid}));
        }
    }

    fn close_session(&self, sid: &str, release: bool) {
        let objects: Vec<String> = {
            let st = self.state();
            let Some(s) = st.sessions.get(sid) else {
                return;
            };
            // Roots first: releasing or unrefing a parent covers its children.
            let mut v: Vec<String> = s.objects.iter().cloned().collect();
            v.sort_by_key(|o| o.matches('/').count());
            v
        };
        for o in objects {
            if release {
                self.release_object(&o);
            } else {
                self.unref(sid, &o);
            }
        }
        let mut st = self.state();
        if let Some(s) = st.sessions.remove(sid) {
            for (obj, event) in s.subscriptions.values() {
                let key = (obj.clone(), event.clone());
                if let Some(set) = st.listeners.get_mut(&key) {
                    set.remove(sid);
                }
            }
            if let Some(c) = s.conn.and_then(|c| st.conns.get_mut(&c)) {
                c.session = None;
            }
        }
        if let Some(m) = st.objects.get_mut(MANAGER_ID) {
            m.sessions.remove(sid);
        }
    }

    /// Delivers an event to every session listening on (object, event), once per session.
    fn deliver(&self, object: &str, event_type: &str, data: &Value) {
        let msg = event_message(object, event_type, data);
        let mut st = self.state();
        let State {
            listeners,
            sessions,
            conns,
            ..
        } = &mut *st;
        let Some(targets) = listeners.get(&(object.to_string(), event_type.to_string())) else {
            return;
        };
        for sid in targets {
            let conn = sessions.get(sid).and_then(|s| s.conn);
            let Some((cid, c)) = conn.and_then(|c| conns.get_mut(&c).map(|x| (c, x))) else {
                continue;
            };
            // Never waits on a client (DESIGN rule 6): a full queue drops the event.
            match c.tx.try_send(msg.clone()) {
                Ok(()) => c.dropping = false,
                Err(TrySendError::Full(_)) if !c.dropping => {
                    c.dropping = true;
                    tracing::warn!("connection {cid} does not read: dropping its events");
                }
                Err(_) => {}
            }
        }
    }

    fn emit_module_event(&self, object: &str, ev: Value) {
        let Some(event_type) = ev.get("type").and_then(Value::as_str).map(str::to_string) else {
            tracing::warn!("event without type from {object} dropped");
            return;
        };
        let mut data = ev.get("data").cloned().unwrap_or_else(|| json!({}));
        if let Some(d) = data.as_object_mut() {
            d.entry("source")
                .or_insert_with(|| Value::String(object.to_string()));
            d.entry("timestampMillis")
                .or_insert_with(|| Value::String(now_millis()));
            d.entry("tags").or_insert_with(|| json!([]));
        }
        self.deliver(object, &event_type, &data);
    }

    fn emit_manager_event(&self, event_type: &str, own: Value) {
        let mut data = json!({"source": MANAGER_ID, "timestampMillis": now_millis(),
            "tags": manager::event_tags(self)});
        if let (Some(d), Some(o)) = (data.as_object_mut(), own.as_object()) {
            d.extend(o.clone());
        }
        self.deliver(MANAGER_ID, event_type, &data);
    }

    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state())
    }
}

/// Replaces every `newref:<k>` string in `v` with the value created by operation `k`.
fn replace_newrefs(v: &mut Value, responses: &[Value]) -> Result<(), RpcError> {
    match v {
        Value::String(s) => {
            if let Some(k) = s.strip_prefix("newref:") {
                let idx: usize = k.parse().map_err(|_| {
                    RpcError::kurento(
                        MALFORMED_TRANSACTION,
                        format!("Invalid index of newref '{k}'"),
                    )
                })?;
                let value = responses
                    .get(idx)
                    .and_then(|r| r.get("result"))
                    .and_then(|r| r.get("value"))
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| {
                        RpcError::kurento(
                            MALFORMED_TRANSACTION,
                            format!("Result not found on request {idx}"),
                        )
                    })?;
                *v = value.clone();
            }
            Ok(())
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| replace_newrefs(x, responses)),
        Value::Object(o) => o
            .values_mut()
            .try_for_each(|x| replace_newrefs(x, responses)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_request_cache_is_bounded() {
        let mut cache = super::RequestCache::default();
        let key = |i: usize| ("s".to_string(), i.to_string());
        for i in 0..super::REQUEST_CACHE_MAX + 10 {
            cache.insert(key(i), serde_json::json!(i));
        }
        assert_eq!(cache.entries.len(), super::REQUEST_CACHE_MAX);
        assert_eq!(cache.order.len(), super::REQUEST_CACHE_MAX);
        assert!(cache.get(&key(0)).is_none());
        assert!(cache.get(&key(super::REQUEST_CACHE_MAX + 9)).is_some());
    }

    use super::*;
    use tokio::sync::mpsc::{Receiver, channel};

    fn server() -> Server {
        let config = Config {
            max_frame_size: 256,
            ..Config::default()
        };
        Server::new(config, Catalog::default())
    }

    fn conn(s: &Server) -> (ConnId, Receiver<String>) {
        let (tx, rx) = channel(8);
        (s.open_connection(tx), rx)
    }

    fn call(s: &Server, c: ConnId, id: u64, method: &str, params: Value) -> Value {
        let mut req = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            req["params"] = params;
        }
        s.handle_message(c, req).expect("a response")
    }

    #[test]
    fn sessions_are_created_associated_and_injected() {
        let s = server();
        let (c, _rx) = conn(&s);
        let r = call(&s, c, 0, "ping", json!({"interval": 5000}));
        assert_eq!(r["result"], json!({"value": "pong"}));
        let r = call(&s, c, 1, "describe", json!({"object": MANAGER_ID}));
        let sid = r["result"]["sessionId"].as_str().unwrap().to_string();
        let r = call(&s, c, 2, "ping", Value::Null);
        assert_eq!(r["result"]["sessionId"], sid.as_str());
        // Injection means a missing `params` is no error on an associated connection.
        let r = call(&s, c, 3, "keepAlive", Value::Null);
        assert_eq!(r["result"]["sessionId"], sid.as_str());
        assert!(
            s.handle_message(c, json!({"jsonrpc": "2.0", "method": "ping"}))
                .is_none()
        );
    }

    #[test]
    fn events_follow_the_session_to_its_new_connection() {
        let s = server();
        let (c1, mut rx1) = conn(&s);
        let r = call(
            &s,
            c1,
            0,
            "subscribe",
            json!({"object": MANAGER_ID, "type": "ObjectCreated"}),
        );
        let sid = r["result"]["sessionId"].as_str().unwrap().to_string();
        s.0.emit_manager_event("ObjectCreated", json!({"object": "x"}));
        let ev: Value = serde_json::from_str(&rx1.try_recv().unwrap()).unwrap();
        assert_eq!(ev["method"], "onEvent");
        assert_eq!(ev["params"]["value"]["data"]["object"], "x");
        assert_eq!(ev["params"]["value"]["object"], MANAGER_ID);
        let (c2, mut rx2) = conn(&s);
        let r = call(&s, c2, 0, "connect", json!({"sessionId": sid}));
        assert_eq!(r["result"]["sessionId"], sid.as_str());
        s.0.emit_manager_event("ObjectCreated", json!({"object": "y"}));
        assert!(
            rx1.try_recv().is_err(),
            "the old connection lost the session"
        );
        assert!(rx2.try_recv().is_ok());
        let e = call(
            &s,
            c2,
            1,
            "subscribe",
            json!({"object": MANAGER_ID, "type": "Nope"}),
        );
        assert_eq!(e["error"]["code"], 40106);
    }

    #[test]
    fn a_client_that_stops_reading_loses_events_not_the_server() {
        let s = server();
        let (c, mut rx) = conn(&s);
        call(
            &s,
            c,
            0,
            "subscribe",
            json!({"object": MANAGER_ID, "type": "ObjectCreated"}),
        );
        for i in 0..20 {
            s.0.emit_manager_event("ObjectCreated", json!({"object": i}));
        }
        let mut got = 0;
        while rx.try_recv().is_ok() {
            got += 1;
        }
        assert_eq!(
            got, 8,
            "the queue holds 8; the rest were dropped without blocking"
        );
        s.0.emit_manager_event("ObjectCreated", json!({"object": "after"}));
        assert!(
            rx.try_recv().is_ok(),
            "delivery resumes once the client reads"
        );
    }

    #[test]
    fn abandoned_sessions_are_collected_after_two_passes() {
        let s = server();
        let (c, _rx) = conn(&s);
        let sid = call(&s, c, 0, "connect", Value::Null)["result"]["sessionId"].clone();
        s.collect_garbage();
        s.collect_garbage();
        let (c2, _rx2) = conn(&s);
        // A connected session survives; keepAlive's answer moves the session to `c2`.
        assert!(call(&s, c2, 0, "keepAlive", json!({"sessionId": sid}))["result"].is_object());
        s.close_connection(c2);
        s.collect_garbage(); // clears the mark the connection left
        s.collect_garbage(); // collects
        let (c3, _rx3) = conn(&s);
        let e = call(&s, c3, 1, "keepAlive", json!({"sessionId": sid}));
        assert_eq!(e["error"]["code"], 40007);
    }

    #[test]
    fn frames_are_checked_before_parsing() {
        let s = server();
        let (c, _rx) = conn(&s);
        let big = vec![b' '; 300];
        let r: Value = serde_json::from_str(&s.handle_frame(c, &big)[0]).unwrap();
        assert_eq!(r["error"]["code"], -32600);
        let r: Value = serde_json::from_str(&s.handle_frame(c, b"nope")[0]).unwrap();
        assert_eq!(r["error"]["code"], -32700);
        let two =
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}"#;
        assert_eq!(s.handle_frame(c, two).len(), 2);
    }

    #[test]
    fn newrefs_are_replaced_deeply() {
        let responses = vec![json!({"result": {"value": "A"}})];
        let mut v = json!({"x": ["newref:0", {"y": "newref:0"}], "z": "plain"});
        replace_newrefs(&mut v, &responses).unwrap();
        assert_eq!(v, json!({"x": ["A", {"y": "A"}], "z": "plain"}));
        assert_eq!(
            replace_newrefs(&mut json!("newref:1"), &responses)
                .unwrap_err()
                .code,
            40008
        );
    }
}
