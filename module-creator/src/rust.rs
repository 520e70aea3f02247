// SPDX-License-Identifier: MPL-2.0
//! Rust server stubs for the module ABI (DESIGN.md rules 3 and 4; module-creator.md §1.6).
//!
//! The text comes from `templates/rust/*.hbs`; this file only prepares the data they show:
//! Rust names and types, and the decoding expression of every parameter and field.

use crate::error::{Diagnostic, Errors};
use crate::model::*;
use crate::resolve::Project;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// `ICECandidatePairs` → `ice_candidate_pairs`, `sendTagsInEvents` → `send_tags_in_events`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    ident(out)
}

/// Rust names for a list of wire names: snake_case, or the wire name itself when two would
/// collide (crowddetector events carry both `roiId` and the older `roiID`).
pub fn rust_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    // Names that are plain camelCase (`roiId`) get snake_case first; odd spellings (`roiID`)
    // fall back to themselves when their snake_case is taken.
    let camel = |s: &str| {
        let mut out = String::new();
        for (i, w) in s.split('_').enumerate() {
            out.push_str(&if i == 0 { w.to_string() } else { cap_first(w) });
        }
        out
    };
    let mut out: Vec<Option<String>> = vec![None; names.len()];
    let mut used: Vec<String> = Vec::new();
    for pass in 0..2 {
        for (i, n) in names.iter().enumerate() {
            let snake = snake_case(n);
            let canonical = camel(snake.trim_end_matches('_')) == *n;
            if out[i].is_some() || (pass == 0 && !canonical) {
                continue;
            }
            let mut r = snake;
            if used.contains(&r) {
                r = ident(
                    n.chars()
                        .map(|c| if c.is_alphanumeric() { c } else { '_' })
                        .collect(),
                );
            }
            while used.contains(&r) {
                r.push('_');
            }
            used.push(r.clone());
            out[i] = Some(r);
        }
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

fn ident(s: String) -> String {
    if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

/// Upper-cases the first character only (`ICECandidatePairs` stays, `name` → `Name`).
pub fn cap_first_pub(s: &str) -> String {
    cap_first(s)
}

fn cap_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// Complex-type field, event field, return value: objects are ids.
    Value,
    /// Method or constructor parameter: objects are resolved through the host.
    Param,
}

struct Gen<'a> {
    project: &'a Project,
    module: &'a Module,
    errors: Vec<Diagnostic>,
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

impl Gen<'_> {
    /// Path of a complex type from inside the generated module.
    fn type_path(&self, r: &ResolvedType) -> String {
        if r.module == self.module.name {
            r.name.clone()
        } else {
            format!("{}_types::{}", r.module, r.name)
        }
    }

    fn base_type(&self, r: &ResolvedType, place: Place) -> String {
        match r.kind {
            TypeKind::Primitive => match r.name.as_str() {
                "String" => "String",
                "boolean" => "bool",
                "int" => "i32",
                "int64" => "i64",
                "float" => "f32",
                _ => "f64",
            }
            .to_string(),
            TypeKind::RemoteClass if place == Place::Param && r.collection != Collection::Map => {
                "RemoteObject".into()
            }
            TypeKind::RemoteClass | TypeKind::Event => "ObjectId".into(),
            TypeKind::Register if !self.project.subtypes(&r.module, &r.name).is_empty() => {
                format!("{}Any", self.type_path(r))
            }
            TypeKind::Enum | TypeKind::Register => self.type_path(r),
        }
    }

    fn rust_type(&self, t: &TypeRef, place: Place) -> String {
        let r = t.resolved();
        let b = self.base_type(r, place);
        match r.collection {
            Collection::Single => b,
            Collection::List => format!("Vec<{b}>"),
            Collection::Map => format!("BTreeMap<String, {b}>"),
        }
    }

    /// Type of a method's return value or a property's getter. One remote object is
    /// `Option<ObjectId>`: Kurento's answer is a reference that may be null (a pipeline's
    /// `parent`), sent as `{"value": null}`, which the client resolves to `undefined`.
    fn return_type(&self, t: &TypeRef) -> String {
        let r = t.resolved();
        let ty = self.rust_type(t, Place::Value);
        if r.kind == TypeKind::RemoteClass && r.collection == Collection::Single {
            format!("Option<{ty}>")
        } else {
            ty
        }
    }

    fn is_remote_param(&self, t: &TypeRef) -> bool {
        let r = t.resolved();
        r.kind == TypeKind::RemoteClass && r.collection != Collection::Map
    }

    /// Checks a `defaultValue` literal against its declared type (so the runtime never fails).
    fn check_default(&self, v: &Value, r: &ResolvedType, single: bool) -> Result<(), String> {
        if !single || r.collection != Collection::Single {
            return match (r.collection, v) {
                (Collection::List, Value::Array(items)) => {
                    let inner = ResolvedType {
                        collection: Collection::Single,
                        ..r.clone()
                    };
                    items
                        .iter()
                        .try_for_each(|i| self.check_default(i, &inner, true))
                }
                (Collection::Map, Value::Object(m)) => {
                    let inner = ResolvedType {
                        collection: Collection::Single,
                        ..r.clone()
                    };
                    m.values()
                        .try_for_each(|i| self.check_default(i, &inner, true))
                }
                (Collection::Single, _) => self.check_default(v, r, true),
                _ => Err(format!(
                    "{v} is not a {}",
                    if r.collection == Collection::List {
                        "list"
                    } else {
                        "map"
                    }
                )),
            };
        }
        let ok = match (r.kind, r.name.as_str()) {
            (TypeKind::Primitive, "String") => v.is_string() || v.is_number() || v.is_boolean(),
            (TypeKind::Primitive, "boolean") => v.is_boolean(),
            (TypeKind::Primitive, "int") => v.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            (TypeKind::Primitive, "int64") => v.is_i64(),
            (TypeKind::Primitive, _) => v.is_number(),
            (TypeKind::Enum, _) => {
                let t = self.project.complex_type(&r.module, &r.name);
                let s = v.as_str().unwrap_or_default();
                if !t.is_some_and(|t| t.values.iter().any(|x| x == s)) {
                    let values = t.map(|t| t.values.join(", ")).unwrap_or_default();
                    return Err(format!(
                        "{v} is not a value of {} (valid: {values})",
                        r.name
                    ));
                }
                true
            }
            (TypeKind::Register, _) => {
                let Some(m) = v.as_object() else {
                    return Err(format!("{v} is not an object"));
                };
                let t = self
                    .project
                    .complex_type(&r.module, &r.name)
                    .expect("resolved");
                for f in self.project.register_fields(&r.module, t) {
                    match m.get(&f.name) {
                        Some(x) => self.check_default(x, f.ty.resolved(), false)?,
                        None if !f.optional => {
                            return Err(format!(
                                "{v} lacks the required field '{}' of {}",
                                f.name, r.name
                            ));
                        }
                        None => {}
                    }
                }
                true
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{v} is not a {}", r.name))
        }
    }

    fn default_expr(&mut self, p: &Param, ty: &str) -> Option<String> {
        let d = p.default_value.as_ref()?;
        if let Err(e) = self.check_default(d, p.ty.resolved(), false) {
            self.errors.push(Diagnostic::at(
                p.loc.clone(),
                format!("bad defaultValue of '{}': {e}", p.name),
            ));
            return None;
        }
        Some(format!("default_value::<{ty}>({})", lit(&d.to_string())))
    }

    /// Field of a complex type or event: Rust name/type and its decode/encode statements.
    fn field(&mut self, p: &Param, inherited_default: bool, rust: String) -> Value {
        let ty = self.rust_type(&p.ty, Place::Value);
        let wire = lit(&p.name);
        let default = if p.optional && inherited_default {
            self.default_expr(p, &ty)
        } else {
            None
        };
        let (field_ty, decode, encode) = if !p.optional {
            (
                ty.clone(),
                format!("field::<{ty}>(map, {wire})?"),
                format!("map.insert({wire}.into(), self.{rust}.to_json());"),
            )
        } else if let Some(d) = default {
            (
                ty.clone(),
                format!("optional_field::<{ty}>(map, {wire})?.unwrap_or_else(|| {d})"),
                format!("map.insert({wire}.into(), self.{rust}.to_json());"),
            )
        } else {
            (
                format!("Option<{ty}>"),
                format!("optional_field::<{ty}>(map, {wire})?"),
                format!(
                    "if let Some(v) = &self.{rust} {{ map.insert({wire}.into(), v.to_json()); }}"
                ),
            )
        };
        json!({"rust": rust, "wire": p.name, "ty": field_ty, "doc": doc_lines(&p.doc), "decode": decode, "encode": encode})
    }

    fn complex_type(&mut self, m: &Module, t: &ComplexType) -> Value {
        let key = format!("{}.{}", m.runtime_prefix(), t.name);
        if t.format == TypeFormat::Enum {
            let values: Vec<Value> = t
                .values
                .iter()
                .map(|v| {
                    let variant = if KEYWORDS.contains(&v.as_str()) || v == "Self" {
                        format!("V{v}")
                    } else if v.starts_with(|c: char| c.is_ascii_digit()) {
                        format!("_{v}")
                    } else {
                        v.chars()
                            .map(|c| if c.is_alphanumeric() { c } else { '_' })
                            .collect()
                    };
                    json!({"variant": variant, "wire": v})
                })
                .collect();
            return json!({"is_enum": true, "any": null, "name": t.name, "doc": doc_lines(&t.doc), "key": key, "values": values,
                          "first": values.first().map(|v| v["variant"].clone())});
        }
        let names = rust_names(
            self.project
                .register_fields(&m.name, t)
                .into_iter()
                .map(|p| p.name.as_str()),
        );
        let fields: Vec<Value> = self
            .project
            .register_fields(&m.name, t)
            .into_iter()
            .zip(names)
            .map(|(p, rust)| self.field(p, true, rust))
            .collect();
        let accepted: Vec<String> = self
            .project
            .subtypes(&m.name, &t.name)
            .into_iter()
            .map(|(mm, n)| format!("{}.{n}", runtime_prefix(&mm)))
            .collect();
        // A type with subtypes is referenced through `<Type>Any`, which keeps the concrete type
        // named by `__module__`/`__type__` (e.g. the `Stats<>` of getStats).
        let any = if accepted.is_empty() {
            Value::Null
        } else {
            let mut variants = vec![json!({"variant": t.name, "path": t.name, "key": key})];
            for (mm, n) in self.project.subtypes(&m.name, &t.name) {
                let r = ResolvedType {
                    module: mm.clone(),
                    name: n.clone(),
                    kind: TypeKind::Register,
                    collection: Collection::Single,
                };
                // Relative to the group the base type is rendered in, which sees every group.
                let path = if mm == m.name {
                    n.clone()
                } else {
                    self.type_path(&r)
                };
                variants.push(json!({"variant": n, "path": path, "key": format!("{}.{n}", runtime_prefix(&mm))}));
            }
            json!({"name": format!("{}Any", t.name), "variants": variants})
        };
        json!({"is_enum": false, "name": t.name, "doc": doc_lines(&t.doc), "key": key, "module_prefix": m.runtime_prefix(),
               "fields": fields, "accepted": accepted, "any": any})
    }

    fn event(&mut self, e: &Event) -> Value {
        let is_media = self.project.event_is_media(e);
        let mut fields = Vec::new();
        let mut args = Vec::new();
        let mut inits = Vec::new();
        let mut stamps = Vec::new();
        let names = rust_names(
            self.project
                .event_fields(e)
                .into_iter()
                .map(|(_, p)| p.name.as_str()),
        );
        for ((declarer, p), rust) in self.project.event_fields(e).into_iter().zip(names) {
            let f = self.field(p, false, rust);
            let rust = f["rust"].as_str().unwrap().to_string();
            let runtime_owned = (declarer == "RaiseBase"
                && matches!(p.name.as_str(), "source" | "timestampMillis" | "tags"))
                || (declarer == "Media" && p.name == "type");
            if runtime_owned {
                let init = if p.name == "type" {
                    format!("{}.to_string()", lit(&e.name))
                } else {
                    "Default::default()".to_string()
                };
                inits.push(json!({"rust": rust, "init": init}));
                if p.name == "type" {
                    stamps.push(format!(
                        "if self.{rust}.is_empty() {{ self.{rust} = {}.to_string(); }}",
                        lit(&e.name)
                    ));
                }
            } else {
                args.push(format!("{rust}: {}", f["ty"].as_str().unwrap()));
                inits.push(json!({"rust": rust, "init": rust}));
            }
            fields.push(f);
        }
        let _ = is_media;
        json!({"name": e.name, "doc": doc_lines(&e.doc), "key": format!("{}.{}", self.module.runtime_prefix(), e.name),
               "module_prefix": self.module.runtime_prefix(), "fields": fields, "args": args.join(", "), "inits": inits, "stamps": stamps})
    }

    /// The statements reading parameters `params` of a method or constructor into `a0, a1, …`.
    fn decode_params(&mut self, params: &[Param], constructor: bool) -> (Vec<String>, Vec<String>) {
        let mut lines = Vec::new();
        let mut names = Vec::new();
        let mut last_optional: Option<String> = None;
        for (i, p) in params.iter().enumerate() {
            let a = format!("a{i}");
            let wire = lit(&p.name);
            let ty = self.rust_type(&p.ty, Place::Param);
            let remote = self.is_remote_param(&p.ty);
            let list = p.ty.resolved().collection == Collection::List;
            let expr = match (p.optional, remote, list) {
                (false, true, false) => format!("object_param(p, {wire}, ctx)?"),
                (false, true, true) => format!("object_list_param(p, {wire}, ctx)?"),
                (false, false, _) => format!("param::<{ty}>(p, {wire})?"),
                (true, true, false) => format!("optional_object_param(p, {wire}, ctx)?"),
                (true, true, true) => format!("optional_object_list_param(p, {wire}, ctx)?"),
                (true, false, _) => format!("optional_param::<{ty}>(p, {wire})?"),
            };
            let expr = if constructor && p.optional {
                if remote {
                    self.errors.push(Diagnostic::at(
                        p.loc.clone(),
                        format!("optional constructor parameter '{}' refers to a remote object: give it no default and make it required", p.name),
                    ));
                }
                match self.default_expr(p, &ty) {
                    Some(d) => format!("{expr}.unwrap_or_else(|| {d})"),
                    None => expr,
                }
            } else {
                expr
            };
            lines.push(format!("let {a} = {expr};"));
            // Kurento's overloads: an optional parameter only counts when every optional one
            // before it was given (kmd-format.md §7.3).
            if p.optional && !constructor {
                if let Some(prev) = &last_optional {
                    lines.push(format!(
                        "let {a} = if {prev}.is_some() {{ {a} }} else {{ None }};"
                    ));
                }
                last_optional = Some(a.clone());
            }
            names.push(a);
        }
        (lines, names)
    }

    fn param_decl(&self, p: &Param, constructor: bool, rust: &str) -> String {
        let ty = self.rust_type(&p.ty, Place::Param);
        let ty = if p.optional && !(constructor && p.default_value.is_some()) {
            format!("Option<{ty}>")
        } else {
            ty
        };
        format!("{rust}: {ty}")
    }

    fn class(&mut self, c: &RemoteClass) -> Value {
        let parent = self.project.parent_class(c);
        let local_parent = parent
            .filter(|(pm, _)| pm.name == self.module.name)
            .map(|(_, pc)| pc.name.clone());
        let supertrait = local_parent
            .clone()
            .unwrap_or_else(|| "ModuleObject".into());
        let mut methods = Vec::new();
        let mut arms = Vec::new();
        for m in &c.methods {
            let rust = snake_case(&m.name);
            let pnames = rust_names(m.params.iter().map(|p| p.name.as_str()));
            let args: Vec<String> = m
                .params
                .iter()
                .zip(&pnames)
                .map(|(p, r)| self.param_decl(p, false, r))
                .collect();
            let ret = m
                .ret
                .as_ref()
                .map(|r| self.return_type(&r.ty))
                .unwrap_or_else(|| "()".into());
            let mut doc = doc_lines(&m.doc);
            for (p, r) in m.params.iter().zip(&pnames) {
                if let Value::Array(a) = &mut doc {
                    a.push(json!(format!(
                        "* `{}`{}: {}",
                        r,
                        if p.optional { " (optional)" } else { "" },
                        one_line(&p.doc)
                    )));
                }
            }
            methods.push(json!({"rust": rust, "doc": doc, "args": args.join(", "), "ret": ret}));
            let required = m.params.iter().any(|p| !p.optional);
            let (lines, names) = self.decode_params(&m.params, false);
            let call = format!(
                "<T as {}>::{rust}(obj{})",
                c.name,
                names.iter().map(|n| format!(", {n}")).collect::<String>()
            );
            let result = if m.ret.is_some() {
                format!("{call}.map(|r| to_json(&r))")
            } else {
                format!("{call}.map(|()| Value::Null)")
            };
            arms.push(json!({"op": m.name, "needs_p": true, "required": required, "lines": lines, "result": result}));
        }
        for p in &c.properties {
            let cap = cap_first(&p.name);
            let rust = snake_case(&p.name);
            let ty = self.return_type(&p.ty);
            methods.push(json!({"rust": format!("get_{rust}"), "doc": doc_lines(&p.doc), "args": "", "ret": ty}));
            arms.push(json!({"op": format!("get{cap}"), "needs_p": false, "required": false, "lines": [],
                             "result": format!("<T as {}>::get_{rust}(obj).map(|r| to_json(&r))", c.name)}));
            if !p.read_only && !p.is_final {
                let pty = self.rust_type(&p.ty, Place::Param);
                methods.push(json!({"rust": format!("set_{rust}"), "doc": doc_lines(&p.doc), "args": format!("{rust}: {pty}"), "ret": "()"}));
                let single = Param {
                    optional: false,
                    ..p.clone()
                };
                let (lines, _) = self.decode_params(std::slice::from_ref(&single), false);
                arms.push(json!({"op": format!("set{cap}"), "needs_p": true, "required": true, "lines": lines,
                                 "result": format!("<T as {}>::set_{rust}(obj, a0).map(|()| Value::Null)", c.name)}));
            }
        }
        let constructor = if c.is_abstract {
            None
        } else {
            c.constructor.as_ref().map(|k| {
                let pnames = rust_names(k.params.iter().map(|p| p.name.as_str()));
                let fields: Vec<Value> = k
                    .params
                    .iter()
                    .zip(&pnames)
                    .map(|(p, r)| json!({"decl": self.param_decl(p, true, r), "doc": doc_lines(&p.doc)}))
                    .collect();
                let (lines, names) = self.decode_params(&k.params, true);
                let inits: Vec<String> = pnames.iter().zip(&names).map(|(r, a)| format!("{r}: {a}")).collect();
                json!({"struct": format!("{}Constructor", c.name), "doc": doc_lines(&k.doc), "fields": fields, "lines": lines,
                       "inits": inits.join(", "), "required": k.params.iter().any(|p| !p.optional),
                       "factory_fn": format!("create_{}", snake_case(&c.name))})
            })
        };
        let events = self.project.class_events(self.module, c);
        json!({
            "name": c.name, "doc": doc_lines(&c.doc), "supertrait": supertrait, "methods": methods, "arms": arms,
            "dispatch_fn": format!("dispatch_{}", snake_case(&c.name)),
            "parent_dispatch": local_parent.map(|p| format!("dispatch_{}", snake_case(&p))),
            "constructor": constructor, "events": events,
            "hierarchy": self.project.hierarchy(self.module, c),
        })
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn doc_lines(s: &str) -> Value {
    let lines: Vec<String> = s.lines().map(|l| l.trim_end().to_string()).collect();
    json!(if lines.is_empty() {
        vec![String::new()]
    } else {
        lines
    })
}

/// Complex types of other modules that `module` uses (transitively), grouped by module.
fn foreign_types(project: &Project, module: &Module) -> Vec<(String, Vec<String>)> {
    let mut todo: Vec<(String, String)> = Vec::new();
    let push_ref = |t: &TypeRef, todo: &mut Vec<(String, String)>| {
        let r = t.resolved();
        if matches!(r.kind, TypeKind::Enum | TypeKind::Register) {
            todo.push((r.module.clone(), r.name.clone()));
        }
    };
    for c in &module.remote_classes {
        for m in c.methods.iter().chain(c.constructor.iter()) {
            for p in &m.params {
                push_ref(&p.ty, &mut todo);
            }
            if let Some(r) = &m.ret {
                push_ref(&r.ty, &mut todo);
            }
        }
        for p in &c.properties {
            push_ref(&p.ty, &mut todo);
        }
    }
    for t in &module.complex_types {
        for p in &t.properties {
            push_ref(&p.ty, &mut todo);
        }
        if let Some(e) = &t.extends {
            push_ref(e, &mut todo);
        }
    }
    for e in &module.events {
        for (_, p) in project.event_fields(e) {
            push_ref(&p.ty, &mut todo);
        }
    }
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    while let Some((m, n)) = todo.pop() {
        if !seen.insert((m.clone(), n.clone())) {
            continue;
        }
        if let Some(t) = project.complex_type(&m, &n) {
            for p in project.register_fields(&m, t) {
                push_ref(&p.ty, &mut todo);
            }
            todo.extend(project.subtypes(&m, &n));
        }
    }
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (m, n) in seen {
        if m == module.name {
            continue;
        }
        match groups.iter_mut().find(|(gm, _)| *gm == m) {
            Some((_, v)) => v.push(n),
            None => groups.push((m, vec![n])),
        }
    }
    groups
}

/// `Apr 19 2026 11:12:45`, the format of Kurento's generation time (UTC here); honours
/// `SOURCE_DATE_EPOCH` for reproducible builds.
pub fn generation_time() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:2} {y} {:02}:{:02}:{:02}",
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The Rust source of module `module` (one of `project.modules`), to be `include!`d.
pub fn generate(project: &Project, module: &Module) -> Result<String, Errors> {
    let mut g = Gen {
        project,
        module,
        errors: Vec::new(),
    };
    let mut type_groups = vec![
        json!({"submodule": null, "types": module.complex_types.iter().map(|t| g.complex_type(module, t)).collect::<Vec<_>>()}),
    ];
    for (m, names) in foreign_types(project, module) {
        let dep = project.module(&m).expect("resolved");
        let types: Vec<Value> = names
            .iter()
            .filter_map(|n| dep.complex_type(n))
            .map(|t| g.complex_type(dep, t))
            .collect();
        type_groups.push(json!({"submodule": format!("{m}_types"), "dep": m, "types": types}));
    }
    let events: Vec<Value> = module.events.iter().map(|e| g.event(e)).collect();
    let classes: Vec<Value> = module.remote_classes.iter().map(|c| g.class(c)).collect();
    let concrete: Vec<&Value> = classes
        .iter()
        .filter(|c| !c["constructor"].is_null())
        .collect();
    let mut known: Vec<String> = Vec::new();
    for m in &project.modules {
        for t in &m.complex_types {
            if t.format == TypeFormat::Register {
                known.push(format!("{}.{}", m.runtime_prefix(), t.name));
            }
        }
    }
    if !g.errors.is_empty() {
        return Err(Errors(g.errors));
    }
    let descriptor = module.output_model_text(false);
    let ctx = json!({
        "module": module.name,
        "prefix": module.runtime_prefix(),
        "version_lit": lit(&module.version),
        "descriptor_lit": lit(&descriptor),
        "generation_time_lit": lit(&generation_time()),
        "known_register_types": known,
        "type_groups": type_groups,
        "events": events,
        "classes": classes,
        "concrete": concrete,
    });
    let reg = crate::templates::registry();
    let runtime = reg
        .render("rust/runtime", &ctx)
        .map_err(|e| Diagnostic::general(format!("template rust/runtime: {e}")))?;
    let body = reg
        .render("rust/module", &ctx)
        .map_err(|e| Diagnostic::general(format!("template rust/module: {e}")))?;
    Ok(body.replacen("//@RUNTIME@", &runtime, 1))
}
