// SPDX-License-Identifier: MPL-2.0
//! `ServerManager` (`manager_ServerManager`): the server's own object (server.md §10), with the
//! MediaObject operations it inherits.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::*;
use crate::modules::ClassInfo;
use crate::server::{Core, unix_seconds};

pub const MANAGER_ID: &str = "manager_ServerManager";

/// Protocol version reported by `getInfo` and `--version`: the Kurento release whose protocol
/// and APIs this server implements (clients compare against it).
pub const SERVER_VERSION: &str = "7.3.0";

pub struct ManagerState {
    name: String,
    tags: Vec<(String, String)>,
    send_tags_in_events: bool,
    creation_time: i64,
}

impl ManagerState {
    pub fn new() -> Self {
        ManagerState {
            name: MANAGER_ID.into(),
            tags: Vec::new(),
            send_tags_in_events: false,
            creation_time: unix_seconds(),
        }
    }
}

impl Default for ManagerState {
    fn default() -> Self {
        Self::new()
    }
}

pub fn class_info() -> Arc<ClassInfo> {
    Arc::new(ClassInfo {
        name: "ServerManager".into(),
        module: "core".into(),
        qualified: "kurento.ServerManager".into(),
        is_abstract: true,
        has_constructor: false,
        object_params: Vec::new(),
        hierarchy: vec!["kurento.MediaObject".into()],
        events: HashSet::from(["ObjectCreated", "ObjectDestroyed", "Error"].map(String::from)),
    })
}

fn tag_json(k: &str, v: &str) -> Value {
    json!({"key": k, "value": v, "__module__": "kurento", "__type__": "Tag"})
}

pub(crate) fn event_tags(core: &Core) -> Value {
    let m = core.manager.lock().unwrap_or_else(|e| e.into_inner());
    if m.send_tags_in_events {
        Value::Array(m.tags.iter().map(|(k, v)| tag_json(k, v)).collect())
    } else {
        json!([])
    }
}

/// Reads a required parameter with `convert`, failing with Kurento's 40001 messages.
fn param<T>(
    params: &Value,
    name: &str,
    kind: &str,
    convert: impl FnOnce(&Value) -> Option<T>,
) -> Result<T, RpcError> {
    if params.is_null() {
        return Err(RpcError::kurento(
            MARSHALL_ERROR,
            "'operationParams' is required",
        ));
    }
    params
        .get(name)
        .filter(|v| !v.is_null())
        .and_then(convert)
        .ok_or_else(|| {
            RpcError::kurento(
                MARSHALL_ERROR,
                format!("'{name}' parameter should be a {kind}"),
            )
        })
}

fn str_param(params: &Value, name: &str) -> Result<String, RpcError> {
    param(params, name, "string", |v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    })
}

fn bool_param(params: &Value, name: &str) -> Result<bool, RpcError> {
    param(params, name, "boolean", |v| match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

fn int_param(params: &Value, name: &str) -> Result<i64, RpcError> {
    param(params, name, "integer", |v| match v {
        Value::Number(n) => n.as_i64().filter(|i| i32::try_from(*i).is_ok()),
        Value::String(s) => s.trim().parse::<i32>().ok().map(i64::from),
        _ => None,
    })
}

pub(crate) fn invoke(core: &Core, operation: &str, params: &Value) -> Result<Value, RpcError> {
    let mut m = core.manager.lock().unwrap_or_else(|e| e.into_inner());
    Ok(match operation {
        "getInfo" => {
            let modules: Vec<Value> = core
                .catalog
                .modules
                .iter()
                .map(|m| {
                    json!({"version": m.version, "name": m.name, "generationTime": m.generation_time,
                        "factories": m.factories, "__module__": "kurento", "__type__": "ModuleInfo"})
                })
                .collect();
            json!({"version": SERVER_VERSION, "modules": modules, "type": "KMS",
                "capabilities": ["transactions"], "__module__": "kurento", "__type__": "ServerInfo"})
        }
        "getPipelines" => core.with_state(|st| {
            let mut ids: Vec<&String> = st
                .objects
                .iter()
                .filter(|(id, o)| {
                    o.parent.is_none() && id.as_str() != MANAGER_ID && !o.sessions.is_empty()
                })
                .map(|(id, _)| id)
                .collect();
            ids.sort();
            json!(ids)
        }),
        "getSessions" => core.with_state(|st| {
            let mut ids: Vec<&String> = st.sessions.keys().collect();
            ids.sort();
            json!(ids)
        }),
        "getMetadata" => match &core.config.metadata {
            Some(md) => Value::String(md.to_string()),
            None => Value::String(String::new()),
        },
        "getKmd" => {
            let name = str_param(params, "moduleName")?;
            match core.catalog.module_by_name(&name) {
                Some(module) => Value::String(module.descriptor_text.clone()),
                None => {
                    return Err(RpcError::kurento(
                        SERVER_MANAGER_ERROR_KMD_NOT_FOUND,
                        format!("Module '{name}' not found"),
                    ));
                }
            }
        }
        "getCpuCount" => json!(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        ),
        "getUsedCpu" => {
            let interval = int_param(params, "interval")?.clamp(1, 10_000);
            drop(m); // the measurement sleeps; do not hold the manager meanwhile
            return Ok(json!(used_cpu(Duration::from_millis(interval as u64))));
        }
        "getUsedMemory" => json!(used_memory_kib()),
        "getId" => json!(MANAGER_ID),
        "getName" => json!(m.name),
        "setName" => {
            m.name = str_param(params, "name")?;
            Value::Null
        }
        "getMediaPipeline" | "getParent" => Value::Null,
        "getChildren" => json!([]),
        "getCreationTime" => json!(m.creation_time),
        "getSendTagsInEvents" => json!(m.send_tags_in_events),
        "setSendTagsInEvents" => {
            m.send_tags_in_events = bool_param(params, "sendTagsInEvents")?;
            Value::Null
        }
        "addTag" => {
            let (k, v) = (str_param(params, "key")?, str_param(params, "value")?);
            m.tags.retain(|(key, _)| *key != k);
            m.tags.push((k, v));
            Value::Null
        }
        "removeTag" => {
            let k = str_param(params, "key")?;
            m.tags.retain(|(key, _)| *key != k);
            Value::Null
        }
        "getTag" => {
            let k = str_param(params, "key")?;
            match m.tags.iter().find(|(key, _)| *key == k) {
                Some((_, v)) => json!(v),
                None => {
                    return Err(RpcError::kurento(
                        MEDIA_OBJECT_TAG_KEY_NOT_FOUND,
                        "Tag key not found",
                    ));
                }
            }
        }
        "getTags" => Value::Array(m.tags.iter().map(|(k, v)| tag_json(k, v)).collect()),
        _ => {
            let n = params.as_object().map_or(0, |o| o.len());
            return Err(RpcError::kurento(
                MALFORMED_TRANSACTION,
                format!("Method '{operation}' with {n} parameters not found"),
            ));
        }
    })
}

/// Busy and total jiffies of the whole machine, from `/proc/stat`.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Average CPU use of the machine, in percent, over a blocking sleep of `interval`.
fn used_cpu(interval: Duration) -> f64 {
    let before = cpu_jiffies();
    std::thread::sleep(interval);
    match (before, cpu_jiffies()) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) as f64 * 100.0 / (t1 - t0) as f64,
        _ => 0.0,
    }
}

/// Resident set size of this process in KiB.
fn used_memory_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Threads and open files of this process against `limit` × their rlimits (server.md §3.1:
/// `create` fails with 40009 above it; unlimited resources are not checked).
pub(crate) fn check_resources(limit: f64) -> Result<(), RpcError> {
    let check = |resource, used: Option<u64>, what: &str| -> Result<(), RpcError> {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass.
        if unsafe { libc::getrlimit(resource, &mut rl) } != 0 || rl.rlim_cur == libc::RLIM_INFINITY
        {
            return Ok(());
        }
        let max = (rl.rlim_cur as f64 * limit) as u64;
        match used {
            Some(n) if n > max => Err(RpcError::kurento(
                NOT_ENOUGH_RESOURCES,
                format!("Reached KMS {what} limit: {max}"),
            )),
            _ => Ok(()),
        }
    };
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        });
    check(libc::RLIMIT_NPROC, threads, "threads")?;
    let files = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    check(libc::RLIMIT_NOFILE, files, "files")
}
