// SPDX-License-Identifier: MPL-2.0
//! Module discovery and loading through the C ABI of `kurento-module-abi` (server.md §2), and
//! the class catalog built from the modules' resolved descriptors (kmd-format.md §11).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kurento_module_abi::{
    ABI_VERSION, ENTRY_POINT, EntryPoint, HostApi, ModuleVTable, ObjectHandle,
};
use serde_json::Value;

use crate::error::RpcError;

/// The compiled-in default module directory (server.md §2.1), searched after the given paths.
pub const DEFAULT_MODULES_DIR: &str = "/usr/lib/x86_64-linux-gnu/kurento/modules";

/// One loaded module library. The library stays resident for the life of the process.
pub struct Module {
    pub file_name: String,
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub generation_time: String,
    pub descriptor_text: String,
    /// Bare names of the classes it can create (non-abstract).
    pub factories: Vec<String>,
    vtable: &'static ModuleVTable,
}

/// `kurento` for the three built-in modules, the module name otherwise (kmd-format.md §6.4).
pub fn runtime_prefix(module_name: &str) -> &str {
    match module_name {
        "core" | "elements" | "filters" => "kurento",
        other => other,
    }
}

/// A remote class with its hierarchy resolved across every loaded descriptor.
#[derive(Debug)]
pub struct ClassInfo {
    pub name: String,
    pub module: String,
    pub qualified: String,
    pub is_abstract: bool,
    pub has_constructor: bool,
    /// Constructor parameters whose type is a remote class, in order: the first is the parent.
    pub object_params: Vec<String>,
    /// Qualified ancestors, nearest first.
    pub hierarchy: Vec<String>,
    /// Events of the class and all its ancestors.
    pub events: HashSet<String>,
}

/// What the server knows of the loaded modules.
#[derive(Default)]
pub struct Catalog {
    pub modules: Vec<Arc<Module>>,
    /// Factory name (bare and qualified) → (class, module index).
    pub factories: BTreeMap<String, (Arc<ClassInfo>, usize)>,
    pub classes: HashMap<String, Arc<ClassInfo>>,
}

struct RawClass {
    module: String,
    name: String,
    extends: Option<String>,
    is_abstract: bool,
    ctor: Option<Vec<(String, String)>>,
    events: Vec<String>,
}

/// Registry key of a class at descriptor level (kmd-format.md §6.3).
fn type_key(module: &str, name: &str) -> String {
    if runtime_prefix(module) == "kurento" {
        name.to_string()
    } else {
        format!("{module}.{name}")
    }
}

fn raw_classes(module: &str, descriptor: &Value) -> Vec<RawClass> {
    let Some(classes) = descriptor.get("remoteClasses").and_then(Value::as_array) else {
        return Vec::new();
    };
    classes
        .iter()
        .filter_map(|c| {
            let name = c.get("name")?.as_str()?.to_string();
            let ctor = c.get("constructor").map(|ctor| {
                ctor.get("params")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| {
                                Some((
                                    p.get("name")?.as_str()?.to_string(),
                                    p.get("type")?.as_str()?.to_string(),
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            });
            Some(RawClass {
                module: module.to_string(),
                name,
                extends: c.get("extends").and_then(Value::as_str).map(str::to_string),
                is_abstract: c.get("abstract").and_then(Value::as_bool).unwrap_or(false),
                ctor,
                events: c
                    .get("events")
                    .and_then(Value::as_array)
                    .map(|es| {
                        es.iter()
                            .filter_map(|e| e.as_str())
                            .map(|e| e.rsplit('.').next().unwrap_or(e).to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

impl Catalog {
    /// Builds the catalog from loaded modules; factories of classes that clash with an earlier
    /// module's classes were already refused at load time.
    pub fn new(modules: Vec<Arc<Module>>) -> Self {
        let descriptors: Vec<(String, Value)> = modules
            .iter()
            .map(|m| {
                let d = serde_json::from_str(&m.descriptor_text).unwrap_or(Value::Null);
                (m.name.clone(), d)
            })
            .collect();
        let classes = resolve_classes(&descriptors);
        let mut factories = BTreeMap::new();
        for (idx, m) in modules.iter().enumerate() {
            for f in &m.factories {
                if let Some(class) = classes.get(&type_key(&m.name, f)) {
                    factories.insert(f.clone(), (class.clone(), idx));
                    factories.insert(class.qualified.clone(), (class.clone(), idx));
                }
            }
        }
        Catalog {
            modules,
            factories,
            classes,
        }
    }

    pub fn module_by_name(&self, name: &str) -> Option<&Arc<Module>> {
        self.modules.iter().find(|m| m.name == name)
    }
}

/// Resolves the remote classes of `(module name, descriptor)` pairs across all of them: class
/// references as in kmd-format.md §6.3, hierarchy nearest first, events of all ancestors.
fn resolve_classes(descriptors: &[(String, Value)]) -> HashMap<String, Arc<ClassInfo>> {
    let mut raw: HashMap<String, RawClass> = HashMap::new();
    for (name, descriptor) in descriptors {
        for c in raw_classes(name, descriptor) {
            raw.entry(type_key(&c.module, &c.name)).or_insert(c);
        }
    }
    let resolve = |from_module: &str, reference: &str| -> Option<String> {
        let reference = reference.trim_end_matches("[]").trim_end_matches("<>");
        if raw.contains_key(reference) {
            Some(reference.to_string())
        } else {
            let k = format!("{from_module}.{reference}");
            raw.contains_key(&k).then_some(k)
        }
    };
    let mut classes = HashMap::new();
    for (key, c) in &raw {
        let mut hierarchy = Vec::new();
        let mut events: HashSet<String> = c.events.iter().cloned().collect();
        let mut seen = HashSet::from([key.clone()]);
        let mut cur = c;
        while let Some(parent) = cur.extends.as_deref().and_then(|e| resolve(&cur.module, e)) {
            if !seen.insert(parent.clone()) {
                break; // a cycle in broken descriptors must not hang the server
            }
            let p = &raw[&parent];
            hierarchy.push(format!("{}.{}", runtime_prefix(&p.module), p.name));
            events.extend(p.events.iter().cloned());
            cur = p;
        }
        let object_params = c
            .ctor
            .iter()
            .flatten()
            .filter(|(_, t)| resolve(&c.module, t).is_some() && !t.ends_with("[]"))
            .map(|(n, _)| n.clone())
            .collect();
        classes.insert(
            key.clone(),
            Arc::new(ClassInfo {
                name: c.name.clone(),
                module: c.module.clone(),
                qualified: format!("{}.{}", runtime_prefix(&c.module), c.name),
                is_abstract: c.is_abstract,
                has_constructor: c.ctor.is_some(),
                object_params,
                hierarchy,
                events,
            }),
        );
    }
    classes
}

/// Takes ownership of a string a module returned and frees it with the module's allocator.
fn take_reply(vt: &ModuleVTable, s: *mut c_char) -> Result<Value, RpcError> {
    if s.is_null() {
        return Err(RpcError::internal("module returned no reply"));
    }
    let text = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    unsafe { (vt.free_string)(s) };
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| RpcError::internal(format!("module reply is not JSON: {e}")))?;
    if let Some(err) = v.get("error") {
        return Err(RpcError::from_module(err));
    }
    Ok(v.get("value").cloned().unwrap_or(Value::Null))
}

fn cstring(s: &str) -> CString {
    // Interior NULs cannot come from JSON text or ids; strip them rather than fail.
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl Module {
    pub fn vtable(&self) -> *const ModuleVTable {
        self.vtable
    }

    pub fn create(
        &self,
        host: &HostApi,
        class: &str,
        object_id: &str,
        params: &Value,
    ) -> Result<ObjectHandle, RpcError> {
        let (c, id, p) = (
            cstring(class),
            cstring(object_id),
            cstring(&params.to_string()),
        );
        let mut out: ObjectHandle = std::ptr::null_mut();
        let reply =
            unsafe { (self.vtable.create)(host, c.as_ptr(), id.as_ptr(), p.as_ptr(), &mut out) };
        take_reply(self.vtable, reply)?;
        if out.is_null() {
            return Err(RpcError::internal(format!(
                "module '{}' created no object",
                self.name
            )));
        }
        Ok(out)
    }

    /// `handle` is an object this module created and has not released.
    pub(crate) fn invoke(
        &self,
        handle: usize,
        operation: &str,
        params: &Value,
    ) -> Result<Value, RpcError> {
        let (op, p) = (cstring(operation), cstring(&params.to_string()));
        let reply =
            unsafe { (self.vtable.invoke)(handle as ObjectHandle, op.as_ptr(), p.as_ptr()) };
        take_reply(self.vtable, reply)
    }

    pub(crate) fn subscribe(&self, handle: usize, event: &str) -> Result<bool, RpcError> {
        let e = cstring(event);
        let reply = unsafe { (self.vtable.subscribe)(handle as ObjectHandle, e.as_ptr()) };
        Ok(take_reply(self.vtable, reply)?.as_bool().unwrap_or(false))
    }

    pub(crate) fn release(&self, handle: usize) {
        unsafe { (self.vtable.release)(handle as ObjectHandle) }
    }
}

/// Why a candidate library was not loaded.
#[derive(Debug)]
enum Skip {
    /// Not a module (no entry symbol, or it declined): skipped quietly.
    NotAModule,
    Failed(String),
}

unsafe fn static_str(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn load_one(path: &Path, registered: &HashSet<String>) -> Result<Module, Skip> {
    // Libraries that do not export the entry point are never opened (no initialiser of an
    // unrelated library runs in the server); files that are not ELF64 are left to dlopen.
    let entry_name = std::str::from_utf8(&ENTRY_POINT[..ENTRY_POINT.len() - 1]).unwrap_or_default();
    if crate::elf::defines_dynamic_symbol(path, entry_name) == Some(false) {
        return Err(Skip::NotAModule);
    }
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| Skip::Failed(format!("cannot open: {e}")))?;
    let entry: EntryPoint = match unsafe { lib.get::<EntryPoint>(ENTRY_POINT) } {
        Ok(sym) => *sym,
        Err(_) => return Err(Skip::NotAModule),
    };
    let vt = unsafe { entry() };
    if vt.is_null() {
        return Err(Skip::NotAModule);
    }
    // Safety: a module's vtable is static data of the library, which we keep resident below.
    let vt: &'static ModuleVTable = unsafe { &*vt };
    if vt.abi_version != ABI_VERSION {
        return Err(Skip::Failed(format!(
            "module ABI version {} is not supported (this server speaks version {ABI_VERSION})",
            vt.abi_version
        )));
    }
    let (name, version, generation_time, descriptor_text) = unsafe {
        (
            static_str(vt.name),
            static_str(vt.version),
            static_str(vt.generation_time),
            static_str(vt.descriptor_json),
        )
    };
    let descriptor: Value = serde_json::from_str(&descriptor_text)
        .map_err(|e| Skip::Failed(format!("descriptor of module '{name}' is not JSON: {e}")))?;
    if name.is_empty() {
        return Err(Skip::Failed("module has no name".into()));
    }
    let classes = raw_classes(&name, &descriptor);
    let factories: Vec<String> = classes
        .iter()
        .filter(|c| !c.is_abstract)
        .map(|c| c.name.clone())
        .collect();
    if let Some(clash) = classes
        .iter()
        .map(|c| type_key(&name, &c.name))
        .find(|k| registered.contains(k))
    {
        return Err(Skip::Failed(format!(
            "class '{clash}' of module '{name}' is already registered"
        )));
    }
    // Modules are never unloaded: objects and GStreamer elements may reference their code.
    std::mem::forget(lib);
    Ok(Module {
        file_name: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_path_buf(),
        name,
        version,
        generation_time,
        descriptor_text,
        factories,
        vtable: vt,
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, out);
        } else if meta.is_file() && p.extension().is_some_and(|e| e == "so") {
            out.push(p);
        }
    }
}

/// Scans the search path (each directory recursively, in order), loading every module found.
/// The first library of a given file name wins; libraries that are not modules are skipped
/// quietly; modules that fail are skipped with a warning.
pub fn load_modules(search_path: &[PathBuf]) -> Vec<Arc<Module>> {
    let mut seen_files = HashSet::new();
    let mut registered = HashSet::new();
    let mut modules = Vec::new();
    for dir in search_path {
        let Ok(dir) = dir.canonicalize() else {
            continue;
        };
        if !dir.is_dir() {
            continue;
        }
        let mut candidates = Vec::new();
        walk(&dir, &mut candidates);
        for path in candidates {
            let Some(file) = path.file_name().map(|f| f.to_os_string()) else {
                continue;
            };
            if seen_files.contains(&file) {
                continue;
            }
            let loaded = std::panic::catch_unwind(|| load_one(&path, &registered))
                .unwrap_or_else(|_| Err(Skip::Failed("panicked while loading".into())));
            match loaded {
                Ok(m) => {
                    seen_files.insert(file);
                    for f in raw_classes(
                        &m.name,
                        &serde_json::from_str(&m.descriptor_text).unwrap_or(Value::Null),
                    ) {
                        registered.insert(type_key(&m.name, &f.name));
                    }
                    tracing::info!(
                        "Loaded module '{}' version {} from {}",
                        m.name,
                        m.version,
                        path.display()
                    );
                    modules.push(Arc::new(m));
                }
                Err(Skip::NotAModule) => {
                    tracing::trace!("{} is not a Kurento module", path.display());
                }
                Err(Skip::Failed(why)) => {
                    tracing::warn!("Module {} not loaded: {why}", path.display());
                }
            }
        }
    }
    modules
}

/// Splits a colon-separated path list, dropping empty entries.
pub fn split_path_list(s: &str) -> Vec<PathBuf> {
    s.split(':')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hierarchy_and_events_resolve_across_modules() {
        let core = json!({"name": "core", "remoteClasses": [
            {"name": "MediaObject", "abstract": true, "events": ["Error"]},
            {"name": "MediaPipeline", "extends": "MediaObject", "constructor": {"params": []}},
            {"name": "MediaElement", "extends": "MediaObject", "abstract": true,
             "events": ["ElementConnected", "MediaFlowInStateChanged"]},
            {"name": "Filter", "extends": "MediaElement", "abstract": true},
            {"name": "Hub", "extends": "MediaObject", "abstract": true},
            {"name": "HubPort", "extends": "MediaElement",
             "constructor": {"params": [{"name": "hub", "type": "Hub"}]}}]});
        let chroma = json!({"name": "chroma", "remoteClasses": [
            {"name": "ChromaFilter", "extends": "Filter",
             "constructor": {"params": [{"name": "mediaPipeline", "type": "MediaPipeline"},
                {"name": "window", "type": "WindowParam"}, {"name": "backgroundImage", "type": "String"}]}}],
            "events": []});
        let classes = resolve_classes(&[("core".into(), core), ("chroma".into(), chroma)]);
        let c = &classes["chroma.ChromaFilter"];
        assert_eq!(c.qualified, "chroma.ChromaFilter");
        assert_eq!(
            c.hierarchy,
            [
                "kurento.Filter",
                "kurento.MediaElement",
                "kurento.MediaObject"
            ]
        );
        assert!(c.events.contains("Error") && c.events.contains("MediaFlowInStateChanged"));
        assert_eq!(
            c.object_params,
            ["mediaPipeline"],
            "complex types and strings are not parents"
        );
        let port = &classes["HubPort"];
        assert_eq!(port.qualified, "kurento.HubPort");
        assert_eq!(port.object_params, ["hub"]);
        assert_eq!(classes["MediaPipeline"].hierarchy, ["kurento.MediaObject"]);
        assert!(classes["Filter"].is_abstract);
    }

    #[test]
    fn search_path_lists_split_on_colons() {
        assert_eq!(
            split_path_list("/a::/b:"),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }
}
