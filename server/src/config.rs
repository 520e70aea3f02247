// SPDX-License-Identifier: MPL-2.0
//! Command line, `KURENTO_*` environment and `kurento.conf.json` (server.md §1, §3).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

pub const DEFAULT_CONF_FILE: &str = "/etc/kurento/kurento.conf.json";

/// Options of the command line (server.md §1); every one can also come from `KURENTO_<NAME>`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    pub help: bool,
    pub version: bool,
    pub list: bool,
    pub modules_path: Option<String>,
    pub conf_file: Option<String>,
    pub logs_path: Option<String>,
    pub modules_config_path: Option<String>,
    pub log_file_size: Option<String>,
    pub number_log_files: Option<String>,
}

const VALUED: &[(&str, char)] = &[
    ("modules-path", 'p'),
    ("conf-file", 'f'),
    ("logs-path", 'd'),
    ("modules-config-path", 'c'),
    ("log-file-size", 's'),
    ("number-log-files", 'n'),
];

impl Options {
    /// Parses arguments (without the program name), then fills unset options from the
    /// environment. GStreamer's `--gst-*` options and unknown options are ignored.
    pub fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Options {
        let mut o = Options::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            let (name, inline): (String, Option<String>) =
                if let Some(long) = arg.strip_prefix("--") {
                    match long.split_once('=') {
                        Some((n, v)) => (n.to_string(), Some(v.to_string())),
                        None => (long.to_string(), None),
                    }
                } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
                    let mut chars = short.chars();
                    let c = chars.next().unwrap_or_default();
                    let rest: String = chars.collect();
                    let long = match c {
                        'h' => "help",
                        'v' => "version",
                        'l' => "list",
                        _ => VALUED
                            .iter()
                            .find(|(_, s)| *s == c)
                            .map(|(l, _)| *l)
                            .unwrap_or(""),
                    };
                    (long.to_string(), (!rest.is_empty()).then_some(rest))
                } else {
                    continue;
                };
            match name.as_str() {
                "help" => o.help = true,
                "version" => o.version = true,
                "list" => o.list = true,
                n if VALUED.iter().any(|(l, _)| *l == n) => {
                    let value = inline.or_else(|| {
                        let v = args.get(i).cloned();
                        i += 1;
                        v
                    });
                    *o.slot(n) = value;
                }
                _ => {} // --gst-* and unknown options
            }
        }
        for (long, _) in VALUED {
            let var = format!("KURENTO_{}", long.to_uppercase().replace('-', "_"));
            let slot = o.slot(long);
            if slot.is_none() {
                *slot = env(&var);
            }
        }
        o
    }

    fn slot(&mut self, long: &str) -> &mut Option<String> {
        match long {
            "modules-path" => &mut self.modules_path,
            "conf-file" => &mut self.conf_file,
            "logs-path" => &mut self.logs_path,
            "modules-config-path" => &mut self.modules_config_path,
            "log-file-size" => &mut self.log_file_size,
            _ => &mut self.number_log_files,
        }
    }
}

pub const USAGE: &str = "kurento-media-server usage:
  -h [ --help ]                  Display this help message
  -v [ --version ]               Display the version number
  -l [ --list ]                  Lists all available factories
  -p [ --modules-path ] arg      Path where kurento modules can be found
  -f [ --conf-file ] arg         Configuration file location (default /etc/kurento/kurento.conf.json)
  -d [ --logs-path ] arg         Path where debug files will be stored
  -c [ --modules-config-path ] arg  Path where modules config files can be found
  -s [ --log-file-size ] arg     Maximum file size for log files in MB
  -n [ --number-log-files ] arg  Maximum number of log files to keep
Every option can also be given as KURENTO_<OPTION> (e.g. KURENTO_MODULES_PATH).
";

/// The server's settings, with safe defaults beyond Kurento (bind 127.0.0.1, a frame limit).
#[derive(Debug, Clone)]
pub struct Config {
    /// Plain `ws://` port; 0 disables it.
    pub port: u16,
    pub address: String,
    pub path: String,
    /// `wss://` port; 0 disables it.
    pub secure_port: u16,
    pub certificate: Option<PathBuf>,
    pub gc_period: Duration,
    pub disable_request_cache: bool,
    /// Fraction of the process's thread and file limits above which `create` fails (40009).
    pub exception_limit: f64,
    /// Largest accepted frame in bytes; bigger frames get an error reply.
    pub max_frame_size: usize,
    pub metadata: Option<Value>,
    pub config_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 8888,
            address: "127.0.0.1".into(),
            path: "kurento".into(),
            secure_port: 0,
            certificate: None,
            gc_period: Duration::from_secs(240),
            disable_request_cache: false,
            exception_limit: 0.8,
            max_frame_size: 1024 * 1024,
            metadata: None,
            config_dir: PathBuf::from("/etc/kurento"),
        }
    }
}

/// Values of the tree are strings in Kurento's property tree; accept JSON numbers and booleans too.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |v, k| v.get(k))
}

fn parse_num<T: std::str::FromStr>(root: &Value, path: &str) -> Result<Option<T>, String> {
    match get(root, path).and_then(as_text) {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("'{path}' has an invalid value '{t}'")),
    }
}

impl Config {
    /// Loads the main configuration file. The default file may be absent (defaults apply);
    /// a file named explicitly must exist.
    pub fn load(conf_file: Option<&str>) -> Result<Config, String> {
        let (path, explicit) = match conf_file {
            Some(p) => (PathBuf::from(p), true),
            None => (PathBuf::from(DEFAULT_CONF_FILE), false),
        };
        if !path.exists() && !explicit {
            return Ok(Config::default());
        }
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(".conf.") {
            return Err(format!(
                "configuration file '{}' must be named <name>.conf.json",
                path.display()
            ));
        }
        if !name.ends_with(".conf.json") {
            return Err(format!(
                "configuration file '{}': only the JSON format is supported",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read configuration file '{}': {e}", path.display()))?;
        let root: Value = serde_json::from_str(&text)
            .map_err(|e| format!("configuration file '{}' is not JSON: {e}", path.display()))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::from_tree(&root, dir)
    }

    pub fn from_tree(root: &Value, config_dir: PathBuf) -> Result<Config, String> {
        let mut c = Config {
            config_dir,
            ..Config::default()
        };
        if let Some(net) = get(root, "mediaServer.net") {
            let children = net
                .as_object()
                .map(|o| o.keys().filter(|k| *k != "//").count());
            if children != Some(1) || net.get("websocket").is_none() {
                return Err("'mediaServer.net' must have exactly one child, 'websocket'".into());
            }
        }
        let ws = "mediaServer.net.websocket";
        if let Some(p) = parse_num(root, &format!("{ws}.port"))? {
            c.port = p;
        }
        if let Some(a) = get(root, &format!("{ws}.address")).and_then(as_text) {
            c.address = a;
        }
        if let Some(p) = get(root, &format!("{ws}.path")).and_then(as_text) {
            c.path = p.trim_start_matches('/').to_string();
        }
        if let Some(p) = parse_num(root, &format!("{ws}.secure.port"))? {
            c.secure_port = p;
        }
        if let Some(cert) = get(root, &format!("{ws}.secure.certificate")).and_then(as_text) {
            let cert = PathBuf::from(cert);
            c.certificate = Some(if cert.is_relative() {
                c.config_dir.join(cert)
            } else {
                cert
            });
        }
        if let Some(n) = parse_num::<usize>(root, &format!("{ws}.maxFrameSize"))? {
            if n == 0 {
                return Err("'maxFrameSize' must be positive".into());
            }
            c.max_frame_size = n;
        }
        let res = "mediaServer.resources";
        if let Some(p) = parse_num::<f64>(root, &format!("{res}.garbageCollectorPeriod"))? {
            if !(p > 0.0 && p.is_finite()) {
                return Err("'garbageCollectorPeriod' must be positive".into());
            }
            c.gc_period = Duration::from_secs_f64(p);
        }
        if let Some(l) = parse_num::<f64>(root, &format!("{res}.exceptionLimit"))? {
            if !(l > 0.0 && l <= 1.0) {
                return Err("'exceptionLimit' must be in (0, 1]".into());
            }
            c.exception_limit = l;
        }
        if let Some(t) = get(root, &format!("{res}.disableRequestCache")).and_then(as_text) {
            c.disable_request_cache = t == "true" || t == "1";
        }
        c.metadata = root.get("metadata").cloned();
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_wins_over_environment() {
        let env = |k: &str| match k {
            "KURENTO_MODULES_PATH" => Some("/env/mods".to_string()),
            "KURENTO_CONF_FILE" => Some("/env/k.conf.json".to_string()),
            _ => None,
        };
        let o = Options::parse(
            &args(&["--gst-debug=3", "-p", "/a:/b", "--list", "--bogus"]),
            env,
        );
        assert!(o.list && !o.version);
        assert_eq!(o.modules_path.as_deref(), Some("/a:/b"));
        assert_eq!(o.conf_file.as_deref(), Some("/env/k.conf.json"));
        let o = Options::parse(&args(&["--conf-file=/x/y.conf.json", "-v"]), |_| None);
        assert!(o.version);
        assert_eq!(o.conf_file.as_deref(), Some("/x/y.conf.json"));
    }

    #[test]
    fn tree_values_are_read_as_strings_or_numbers() {
        let t = json!({"mediaServer": {"resources": {"garbageCollectorPeriod": "2"},
            "net": {"websocket": {"port": 9999, "path": "/rpc", "address": "0.0.0.0",
            "maxFrameSize": "4096", "secure": {"port": 8433, "certificate": "cert.pem"}}}},
            "metadata": {"a": 1}});
        let c = Config::from_tree(&t, PathBuf::from("/etc/k")).unwrap();
        assert_eq!(
            (c.port, c.path.as_str(), c.address.as_str()),
            (9999, "rpc", "0.0.0.0")
        );
        assert_eq!(c.gc_period, Duration::from_secs(2));
        assert_eq!(c.max_frame_size, 4096);
        assert_eq!(c.certificate, Some(PathBuf::from("/etc/k/cert.pem")));
        assert_eq!(c.metadata, Some(json!({"a": 1})));
        let bad = json!({"mediaServer": {"net": {"websocket": {"port": "x"}}}});
        assert!(Config::from_tree(&bad, PathBuf::new()).is_err());
        let two = json!({"mediaServer": {"net": {"websocket": {}, "rabbitmq": {}}}});
        assert!(Config::from_tree(&two, PathBuf::new()).is_err());
    }

    #[test]
    fn defaults_are_safe() {
        let c = Config::load(None).unwrap_or_default();
        assert_eq!(Config::default().address, "127.0.0.1");
        assert!(c.max_frame_size > 0);
        assert!(Config::load(Some("/nonexistent/kurento.conf.json")).is_err());
        assert!(Config::load(Some("/nonexistent/kurento.yaml")).is_err());
    }
}
