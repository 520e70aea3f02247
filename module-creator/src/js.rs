// SPDX-License-Identifier: MPL-2.0
//! JavaScript client modules for the real `kurento-client` (`register()`), and TypeScript
//! declarations for the same classes, events and complex types (module-creator.md §1.8).
//!
//! Output files (relative to the target directory): `index.js`, one `<Class>.js` per class,
//! `complexTypes/<Type>.js` + `complexTypes/index.js`, `index.d.ts` and `package.json`.

use crate::error::{Diagnostic, Errors};
use crate::model::*;
use crate::resolve::Project;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn node_name(project: &Project, module: &str) -> String {
    project
        .module(module)
        .and_then(|m| m.code.pointer("/api/js/nodeName").and_then(Value::as_str))
        .map(String::from)
        .unwrap_or_else(|| format!("kurento-module-{module}"))
}

/// How a JS file of `module` reaches class or type `name` of module `owner`.
fn js_ref(project: &Project, module: &Module, owner: &str, name: &str, kind: TypeKind) -> String {
    let is_abstract =
        kind == TypeKind::RemoteClass && project.class(owner, name).is_some_and(|c| c.is_abstract);
    if owner == module.name {
        return match kind {
            TypeKind::RemoteClass => format!("require('./{name}')"),
            _ => format!("require('./complexTypes/{name}')"),
        };
    }
    let pkg = node_name(project, owner);
    match kind {
        TypeKind::RemoteClass if is_abstract => format!("require('{pkg}').abstracts.{name}"),
        TypeKind::RemoteClass => format!("require('{pkg}').{name}"),
        _ => format!("require('{pkg}').complexTypes.{name}"),
    }
}

fn qualified(r: &ResolvedType) -> String {
    match r.kind {
        TypeKind::Primitive => r.name.clone(),
        _ => format!("{}.{}", runtime_prefix(&r.module), r.name),
    }
}

/// A single remote object (not a list or map): returned as an id that may be null (a
/// pipeline's `parent`), which the client turns into an object (`_describe`) or `undefined`.
fn one_object(t: &TypeRef) -> bool {
    let r = t.resolved();
    r.kind == TypeKind::RemoteClass && r.collection == Collection::Single
}

fn kmd_js_type(t: &TypeRef) -> String {
    let r = t.resolved();
    let q = qualified(r);
    match r.collection {
        Collection::Single => q,
        Collection::List => format!("{q}[]"),
        Collection::Map => format!("{q}<>"),
    }
}

/// TypeScript names: declarations of other modules live in a namespace named after them.
struct Ts<'a> {
    module: &'a Module,
    used: BTreeSet<(String, String)>,
}

impl Ts<'_> {
    fn base(&mut self, r: &ResolvedType) -> String {
        match r.kind {
            TypeKind::Primitive => match r.name.as_str() {
                "String" => "string".into(),
                "boolean" => "boolean".into(),
                _ => "number".into(),
            },
            _ => {
                self.used.insert((r.module.clone(), r.name.clone()));
                if r.module == self.module.name {
                    r.name.clone()
                } else {
                    format!("{}.{}", r.module, r.name)
                }
            }
        }
    }

    /// What a method or getter resolves to: one remote object may be absent.
    fn returned(&mut self, t: &TypeRef) -> String {
        let ty = self.ty(t);
        if one_object(t) {
            format!("{ty} | undefined")
        } else {
            ty
        }
    }

    fn ty(&mut self, t: &TypeRef) -> String {
        let r = t.resolved().clone();
        let b = self.base(&r);
        match r.collection {
            Collection::Single => b,
            Collection::List => format!("Array<{b}>"),
            Collection::Map => format!("{{ [key: string]: {b} }}"),
        }
    }
}

fn doc(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("*/", "* /")
}

/// `name?: type` for each parameter.
fn ts_params(ts: &mut Ts, params: &[Param]) -> Vec<String> {
    params
        .iter()
        .map(|p| {
            format!(
                "{}{}: {}",
                p.name,
                if p.optional { "?" } else { "" },
                ts.ty(&p.ty)
            )
        })
        .collect()
}

fn ts_class(project: &Project, ts: &mut Ts, m: &Module, c: &RemoteClass) -> Value {
    let parent = project.parent_class(c).map(|(pm, pc)| {
        ts.used.insert((pm.name.clone(), pc.name.clone()));
        if pm.name == ts.module.name {
            pc.name.clone()
        } else {
            format!("{}.{}", pm.name, pc.name)
        }
    });
    let mut members = Vec::new();
    for meth in &c.methods {
        let params = ts_params(ts, &meth.params);
        let ret = meth
            .ret
            .as_ref()
            .map(|r| ts.returned(&r.ty))
            .unwrap_or_else(|| "void".into());
        let mut all = params.clone();
        all.push(format!("callback?: Callback<{ret}>"));
        members.push(json!({"doc": doc(&meth.doc), "sig": format!("{}({}): Promise<{ret}>;", meth.name, all.join(", "))}));
    }
    for p in &c.properties {
        let cap = crate::rust::cap_first_pub(&p.name);
        let ty = ts.ty(&p.ty);
        let got = ts.returned(&p.ty);
        members.push(json!({"doc": doc(&p.doc), "sig": format!("get{cap}(callback?: Callback<{got}>): Promise<{got}>;")}));
        if !p.read_only && !p.is_final {
            members.push(json!({"doc": doc(&p.doc), "sig": format!("set{cap}({}: {ty}, callback?: Callback<void>): Promise<void>;", p.name)}));
        }
    }
    // Every event of the hierarchy, so that a subclass's overloads stay compatible with its
    // parent's.
    for (em, ec) in project.class_chain(m, c) {
        for e in &ec.events {
            let r = e.resolved().clone();
            let t = ts.base(&r);
            let t = if em.name != ts.module.name && r.module == em.name && !t.contains('.') {
                format!("{}.{t}", r.module)
            } else {
                t
            };
            members.push(json!({"doc": format!("Raised as `{}`.", r.name), "sig": format!("on(event: '{}', listener: (event: {t}) => void): this;", r.name)}));
        }
    }
    members.push(json!({"doc": "Any other event name.", "sig": "on(event: string, listener: (event: any) => void): this;"}));
    let ctor_params = c
        .constructor
        .as_ref()
        .map(|k| ts_params(ts, &k.params))
        .unwrap_or_default();
    json!({"name": c.name, "doc": doc(&c.doc), "extends": parent, "members": members,
           "ctor_params": ctor_params, "creatable": !c.is_abstract && c.constructor.is_some()})
}

fn ts_type(project: &Project, ts: &mut Ts, t: &ComplexType, module: &str) -> Value {
    if t.format == TypeFormat::Enum {
        let values: Vec<String> = t.values.iter().map(|v| format!("'{v}'")).collect();
        return json!({"is_enum": true, "name": t.name, "doc": doc(&t.doc), "union": values.join(" | ")});
    }
    let fields: Vec<Value> = project
        .register_fields(module, t)
        .into_iter()
        .map(|p| json!({"name": p.name, "opt": p.optional, "ty": ts.ty(&p.ty), "doc": doc(&p.doc)}))
        .collect();
    json!({"is_enum": false, "name": t.name, "doc": doc(&t.doc), "fields": fields, "prefix": runtime_prefix(module)})
}

fn ts_event(project: &Project, ts: &mut Ts, e: &Event) -> Value {
    let fields: Vec<Value> = project
        .event_fields(e)
        .into_iter()
        .map(|(_, p)| {
            // Remote objects arrive as ids in event payloads.
            let ty = if p.ty.resolved().kind == TypeKind::RemoteClass {
                "string".to_string()
            } else {
                ts.ty(&p.ty)
            };
            json!({"name": p.name, "opt": p.optional, "ty": ty, "doc": doc(&p.doc)})
        })
        .collect();
    json!({"is_enum": false, "name": e.name, "doc": doc(&e.doc), "fields": fields})
}

/// The JavaScript client module of `module`, as (relative path, content) pairs.
pub fn generate(project: &Project, module: &Module) -> Result<Vec<(String, String)>, Errors> {
    let reg = crate::templates::registry();
    let render = |name: &str, ctx: &Value| {
        reg.render(name, ctx)
            .map_err(|e| Errors::from(Diagnostic::general(format!("template {name}: {e}"))))
    };
    let mut files = Vec::new();
    let prefix = module.runtime_prefix().to_string();
    let core_pkg = if module.name == "core" {
        None
    } else {
        Some(node_name(project, "core"))
    };
    let mut classes = Vec::new();
    for c in &module.remote_classes {
        let parent = project
            .parent_class(c)
            .map(|(pm, pc)| js_ref(project, module, &pm.name, &pc.name, TypeKind::RemoteClass));
        let parent_name = project.parent_class(c).map(|(_, pc)| pc.name.clone());
        let methods: Vec<Value> = c
            .methods
            .iter()
            .map(|m| {
                let args: Vec<String> = m.params.iter().map(|p| p.name.clone()).collect();
                let describe = m.ret.as_ref().is_some_and(|r| one_object(&r.ty));
                json!({"name": m.name, "args": args, "doc": doc(&m.doc), "describe": describe})
            })
            .chain(c.properties.iter().flat_map(|p| {
                let cap = crate::rust::cap_first_pub(&p.name);
                let mut v = vec![json!({"name": format!("get{cap}"), "args": [], "doc": doc(&p.doc),
                                        "describe": one_object(&p.ty)})];
                if !p.read_only && !p.is_final {
                    v.push(json!({"name": format!("set{cap}"), "args": [p.name.clone()], "doc": doc(&p.doc)}));
                }
                v
            }))
            .collect();
        let ctor: Vec<Value> = c
            .constructor
            .iter()
            .flat_map(|k| k.params.iter())
            .map(|p| json!({"name": p.name, "type": kmd_js_type(&p.ty), "required": !p.optional}))
            .collect();
        let events: Vec<String> = c
            .events
            .iter()
            .map(|e| format!("'{}'", e.resolved().name))
            .collect();
        let ctx = json!({"name": c.name, "doc": doc(&c.doc), "parent": parent, "parent_name": parent_name,
                         "methods": methods, "ctor": ctor, "events": events.join(", "), "prefix": prefix});
        files.push((format!("{}.js", c.name), render("js/class", &ctx)?));
        classes.push(json!({"name": c.name, "abstract": c.is_abstract}));
    }
    let mut types = Vec::new();
    for t in &module.complex_types {
        let parent = t.extends.as_ref().map(|e| {
            let r = e.resolved();
            js_ref(project, module, &r.module, &r.name, TypeKind::Register)
                .replace("./complexTypes/", "./")
        });
        let base = match (&parent, &core_pkg) {
            (Some(p), _) => p.clone(),
            (None, Some(pkg)) => format!("require('{pkg}').complexTypes.ComplexType"),
            (None, None) => "require('./ComplexType')".to_string(),
        };
        let fields: Vec<String> = t.properties.iter().map(|p| p.name.clone()).collect();
        let ctx = json!({"name": t.name, "doc": doc(&t.doc), "is_enum": t.format == TypeFormat::Enum,
                         "pattern": t.values.join("|"), "values": t.values.join(", "), "base": base, "fields": fields, "prefix": prefix});
        files.push((
            format!("complexTypes/{}.js", t.name),
            render("js/complexType", &ctx)?,
        ));
        types.push(t.name.clone());
    }
    if module.name == "core" {
        files.push((
            "complexTypes/ComplexType.js".into(),
            "'use strict';\n\nfunction ComplexType() {}\n\nComplexType.prototype.toJSON = function () {\n  var result = {};\n  for (var key in this) {\n    var value = this[key];\n    if (typeof value !== 'function') result[key] = value;\n  }\n  return result;\n};\n\nmodule.exports = ComplexType;\n".into(),
        ));
    }
    let version = module
        .code
        .pointer("/api/js/npmVersion")
        .and_then(Value::as_str)
        .unwrap_or(&module.version)
        .to_string();
    let deps: Vec<Value> = module
        .imports
        .iter()
        .map(|i| json!({"name": node_name(project, &i.name), "version": i.npm_version.clone().unwrap_or_else(|| i.version.clone())}))
        .collect();
    let index = json!({"module": module.name, "version": version, "classes": classes,
                       "has_abstracts": module.remote_classes.iter().any(|c| c.is_abstract),
                       "types": types, "has_types": !module.complex_types.is_empty(), "is_core": module.name == "core"});
    files.push(("index.js".into(), render("js/index", &index)?));

    // TypeScript declarations: own items, then what they use from other modules.
    let mut ts = Ts {
        module,
        used: BTreeSet::new(),
    };
    let own_classes: Vec<Value> = module
        .remote_classes
        .iter()
        .map(|c| ts_class(project, &mut ts, module, c))
        .collect();
    let own_types: Vec<Value> = module
        .complex_types
        .iter()
        .map(|t| ts_type(project, &mut ts, t, &module.name))
        .collect();
    let own_events: Vec<Value> = module
        .events
        .iter()
        .map(|e| ts_event(project, &mut ts, e))
        .collect();
    let mut foreign: Vec<(String, Vec<Value>)> = Vec::new();
    let mut done: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        let todo: Vec<(String, String)> = ts
            .used
            .iter()
            .filter(|k| k.0 != module.name && !done.contains(*k))
            .cloned()
            .collect();
        if todo.is_empty() {
            break;
        }
        for (m, n) in todo {
            done.insert((m.clone(), n.clone()));
            let dm = project.module(&m).expect("resolved");
            let saved = ts.module;
            ts.module = dm;
            let item = if let Some(c) = dm.class(&n) {
                Some(json!({"class": ts_class(project, &mut ts, dm, c)}))
            } else if let Some(t) = dm.complex_type(&n) {
                Some(json!({"type": ts_type(project, &mut ts, t, &m)}))
            } else {
                dm.event(&n)
                    .map(|e| json!({"type": ts_event(project, &mut ts, e)}))
            };
            ts.module = saved;
            // Names used inside another module's items refer to that module.
            let fixed: BTreeSet<(String, String)> = ts.used.iter().cloned().collect();
            ts.used = fixed;
            if let Some(item) = item {
                match foreign.iter_mut().find(|(fm, _)| *fm == m) {
                    Some((_, v)) => v.push(item),
                    None => foreign.push((m.clone(), vec![item])),
                }
            }
        }
    }
    let foreign: Vec<Value> = foreign
        .into_iter()
        .map(|(m, items)| json!({"module": m, "items": items}))
        .collect();
    let dts = json!({"module": module.name, "version": version, "classes": own_classes, "types": own_types,
                     "events": own_events, "foreign": foreign});
    files.push(("index.d.ts".into(), render("js/dts", &dts)?));
    let pkg = json!({"node_name": node_name(project, &module.name), "version": version,
                     "description": module.code.pointer("/api/js/npmDescription").and_then(Value::as_str).unwrap_or(""),
                     "deps": deps});
    files.push(("package.json".into(), render("js/package", &pkg)?));
    Ok(files)
}
