// SPDX-License-Identifier: MPL-2.0
//! Starts the real server binary with the fixture module and talks to it over WebSocket.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub const SERVER: &str = env!("CARGO_BIN_EXE_kurento-media-server");

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "kms-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A modules directory holding the fixture module (in a sub-directory: the scan is recursive)
/// and a GStreamer plugin, which is not a module and must be skipped quietly.
pub fn modules_dir() -> PathBuf {
    let build_dir = Path::new(SERVER).parent().unwrap();
    let d = temp_dir("modules");
    std::fs::create_dir_all(d.join("nested/deeper")).unwrap();
    // deps/: a dev-dependency is built there and not always copied up to the build directory.
    std::fs::copy(
        build_dir.join("deps/libkurento_fixture_module.so"),
        d.join("nested/deeper/libkurento_fixture_module.so"),
    )
    .expect("the fixture module is built as a dev-dependency");
    let plugin = Path::new("/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstcoreelements.so");
    if plugin.exists() {
        std::fs::copy(plugin, d.join("libgstcoreelements.so")).unwrap();
    }
    std::fs::write(d.join("notes.txt"), "not a library").unwrap();
    d
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Kms {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub log: mpsc::Receiver<String>,
}

impl Kms {
    /// Sends SIGTERM and waits: true when the server stopped cleanly.
    pub fn terminate(&mut self) -> bool {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Kms {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a server on an ephemeral port; `conf` is merged into `mediaServer`.
pub fn start(resources: Value, websocket: Value) -> Kms {
    start_with_files(resources, websocket, &[])
}

/// Like [`start`], with extra files written next to the configuration file.
pub fn start_with_files(resources: Value, websocket: Value, files: &[(&str, &str)]) -> Kms {
    start_full(resources, websocket, files, None)
}

/// Like [`start_with_files`], optionally lowering the server's open-files limit.
pub fn start_full(
    resources: Value,
    websocket: Value,
    files: &[(&str, &str)],
    nofile: Option<u64>,
) -> Kms {
    spawn(resources, websocket, files, nofile, None, &[])
}

/// A server loading the modules of `modules` (kept), with extra environment variables.
pub fn start_modules(modules: &Path, resources: Value, env: &[(&str, &Path)]) -> Kms {
    spawn(resources, json!({}), &[], None, Some(modules), env)
}

fn spawn(
    resources: Value,
    websocket: Value,
    files: &[(&str, &str)],
    nofile: Option<u64>,
    own_modules: Option<&Path>,
    env: &[(&str, &Path)],
) -> Kms {
    let dir = temp_dir("conf");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    // Port 0 disables ws (as in Kurento): pick a free port.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut ws = json!({"port": free, "path": "kurento"});
    for (k, v) in websocket.as_object().unwrap() {
        ws[k] = v.clone();
    }
    let conf = json!({"mediaServer": {"resources": resources, "net": {"websocket": ws}},
        "metadata": {"site": "test"}});
    let conf_file = dir.join("kurento.conf.json");
    std::fs::write(&conf_file, conf.to_string()).unwrap();
    let modules = own_modules
        .map(Path::to_path_buf)
        .unwrap_or_else(modules_dir);
    let mut cmd = Command::new(SERVER);
    cmd.envs(env.iter().copied());
    if let Some(n) = nofile {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            cmd.pre_exec(move || {
                let rl = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd
        .arg("--conf-file")
        .arg(&conf_file)
        .arg("--modules-path")
        .arg(&modules)
        .env("KURENTO_TEST_FIXTURE_MODULE", "1")
        .env("KURENTO_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("server did not start");
        if let Some(rest) = line.split("Listening on ws://").nth(1) {
            let addr = rest.split('/').next().unwrap();
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    if own_modules.is_none() {
        let _ = std::fs::remove_dir_all(&modules);
    }
    Kms {
        child,
        port,
        dir,
        log: rx,
    }
}

pub fn start_default() -> Kms {
    start(json!({}), json!({}))
}

pub struct Client {
    pub ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pub events: Vec<Value>,
}

impl Client {
    pub fn connect(kms: &Kms) -> Client {
        Self::connect_path(kms, "kurento")
    }

    pub fn connect_path(kms: &Kms, path: &str) -> Client {
        let (ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{}/{path}", kms.port)).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
        }
        Client {
            ws,
            next_id: 0,
            events: Vec::new(),
        }
    }

    pub fn send(&mut self, msg: Message) {
        self.ws.send(msg).unwrap();
    }

    /// Next message within `timeout`, or None.
    pub fn recv(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Ok(Message::Binary(_)) => panic!("the server answers with text frames"),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => panic!("connection failed: {e}"),
            }
        }
        None
    }

    /// Next response (events are kept aside).
    pub fn response(&mut self) -> Value {
        loop {
            let m = self.recv(Duration::from_secs(20)).expect("no response");
            if m.get("method").is_some_and(|x| x == "onEvent") {
                self.events.push(m);
            } else {
                return m;
            }
        }
    }

    /// Sends a request and returns the whole response.
    pub fn request(&mut self, method: &str, params: Option<Value>) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(p) = params {
            req["params"] = p;
        }
        self.send(Message::text(req.to_string()));
        let r = self.response();
        assert_eq!(r["id"], id, "{r}");
        assert_eq!(r["jsonrpc"], "2.0");
        r
    }

    /// A request that must succeed; returns `result`.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let r = self.request(method, Some(params));
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        assert!(r["result"].is_object(), "result must be an object: {r}");
        r["result"].clone()
    }

    /// A request that must fail; returns `error`.
    pub fn fail(&mut self, method: &str, params: Option<Value>) -> Value {
        let r = self.request(method, params);
        assert!(r.get("result").is_none(), "{method} should fail: {r}");
        r["error"].clone()
    }

    pub fn create(&mut self, ty: &str, ctor: Value) -> String {
        self.call("create", json!({"type": ty, "constructorParams": ctor}))["value"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn invoke(&mut self, object: &str, op: &str, params: Value) -> Value {
        self.call(
            "invoke",
            json!({"object": object, "operation": op, "operationParams": params}),
        )["value"]
            .clone()
    }

    /// Waits for an `onEvent` matching `pred` (already received or arriving).
    pub fn event(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.event_within(Duration::from_secs(15), pred)
    }

    /// [`Client::event`] with another deadline.
    pub fn event_within(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(i) = self.events.iter().position(|e| pred(&e["params"]["value"])) {
                return self.events.remove(i)["params"]["value"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "event not received; got {:?}",
                self.events
            );
            if let Some(m) = self.recv(Duration::from_millis(200)) {
                assert_eq!(m["method"], "onEvent", "unexpected message {m}");
                assert!(m.get("id").is_none());
                self.events.push(m);
            }
        }
    }
}

/// A fresh directory holding copies of the built libraries `names` (module libraries,
/// plugins); dev-dependencies land in deps/ and are not always copied up.
pub fn built_libraries(tag: &str, names: &[&str]) -> PathBuf {
    let build = Path::new(SERVER).parent().unwrap();
    let dir = temp_dir(tag);
    for name in names {
        let from = [build.join("deps").join(name), build.join(name)]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{name} is built as a dev-dependency"));
        std::fs::copy(from, dir.join(name)).unwrap();
    }
    dir
}
