// SPDX-License-Identifier: MPL-2.0
//! Loading, fusion (kmd-format.md §10), imports, type resolution (§6) and defaults (§4, §11).

use crate::error::{Diagnostic, Errors, Loc};
use crate::json;
use crate::model::*;
use crate::version;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const PRIMITIVES: [&str; 6] = ["String", "boolean", "int", "int64", "float", "double"];

/// Every `*.kmd.json` below `path` (or `path` itself), sorted for a stable order.
pub fn find_kmd_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".kmd.json"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one descriptor text.
pub fn read_document(file: &Path, text: &str) -> Result<Document, Errors> {
    let file: Arc<Path> = Arc::from(file);
    let root = json::parse(text).map_err(|e| {
        Diagnostic::at(
            Loc {
                file: file.clone(),
                pos: e.pos,
            },
            format!("malformed JSON: {}", e.message),
        )
    })?;
    let mut errors = Vec::new();
    let doc = Reader {
        file: &file,
        errors: &mut errors,
    }
    .document(&root);
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(Errors(errors))
    }
}

pub fn read_file(file: &Path) -> Result<Document, Errors> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Diagnostic::general(format!("{}: cannot read: {e}", file.display())))?;
    read_document(file, &text)
}

/// Fuses the files of one module (kmd-format.md §10).
pub fn fuse(docs: Vec<Document>) -> Result<Module, Errors> {
    let mut errors = Vec::new();
    let mut name: Option<Located<String>> = None;
    let mut version: Option<Located<String>> = None;
    let mut kurento_version: Option<Located<String>> = None;
    let mut imports: Option<Located<Vec<Import>>> = None;
    let mut code: Option<Located<Value>> = None;
    let first = docs.first().cloned();
    let mut classes = Vec::new();
    let mut types = Vec::new();
    let mut events = Vec::new();
    let mut files = Vec::new();
    for d in docs {
        files.push(d.file.clone());
        for (key, slot, item) in [
            ("name", &mut name, d.name),
            ("version", &mut version, d.version),
            ("kurentoVersion", &mut kurento_version, d.kurento_version),
        ] {
            if let Some(item) = item {
                if let Some(prev) = slot {
                    errors.push(Diagnostic::at(
                        item.loc.clone(),
                        format!(
                            "'{key}' can only be set in one kmd file (already set at {})",
                            prev.loc
                        ),
                    ));
                } else {
                    *slot = Some(item);
                }
            }
        }
        if let Some(i) = d.imports.filter(|i| !i.value.is_empty()) {
            if let Some(prev) = &imports {
                errors.push(Diagnostic::at(
                    i.loc.clone(),
                    format!(
                        "'imports' can only be set in one kmd file (already set at {})",
                        prev.loc
                    ),
                ));
            } else {
                imports = Some(i);
            }
        }
        if let Some(c) = d.code {
            if let Some(prev) = &code {
                errors.push(Diagnostic::at(
                    c.loc.clone(),
                    format!(
                        "'code' can only be set in one kmd file (already set at {})",
                        prev.loc
                    ),
                ));
            } else {
                code = Some(c);
            }
        }
        classes.extend(d.remote_classes);
        types.extend(d.complex_types);
        events.extend(d.events);
    }
    // A missing key is reported at the start of the module's first file.
    let where_ = files.first().map(|f| Loc {
        file: f.clone(),
        pos: crate::json::Pos { line: 1, col: 1 },
    });
    let missing = |key: &str| match &where_ {
        Some(l) => Diagnostic::at(
            l.clone(),
            format!("the module has no '{key}' in any of its kmd files"),
        ),
        None => Diagnostic::general(format!("no kmd file, so no '{key}'")),
    };
    let Some(name) = name else {
        errors.push(missing("name"));
        return Err(Errors(errors));
    };
    if version.is_none() {
        errors.push(missing("version"));
    }
    if kurento_version.is_none() && !is_builtin(&name.value) {
        errors.push(missing("kurentoVersion"));
    }
    if !errors.is_empty() {
        return Err(Errors(errors));
    }
    let version = version.map(|v| v.value).unwrap_or_default();
    let (kmv, knv, repo) = match first {
        Some(f) => (f.kurento_maven_version, f.kurento_npm_version, f.repository),
        None => (None, None, None),
    };
    Ok(Module {
        kurento_version: kurento_version
            .map(|k| k.value)
            .unwrap_or_else(|| version.clone()),
        version,
        kurento_maven_version: kmv,
        kurento_npm_version: knv,
        repository: repo,
        imports: imports.map(|i| i.value).unwrap_or_default(),
        code: code.map(|c| c.value).unwrap_or_else(|| json!({})),
        remote_classes: classes,
        complex_types: types,
        events,
        files,
        loc: name.loc,
        name: name.value,
    })
}

/// Loads the module made of every `*.kmd.json` under the given paths.
pub fn load_module<P: AsRef<Path>>(paths: &[P]) -> Result<Module, Errors> {
    let mut files = Vec::new();
    for p in paths {
        let found = find_kmd_files(p.as_ref())
            .map_err(|e| Diagnostic::general(format!("{}: {e}", p.as_ref().display())))?;
        files.extend(found);
    }
    if files.is_empty() {
        let names: Vec<String> = paths
            .iter()
            .map(|p| p.as_ref().display().to_string())
            .collect();
        return Err(Diagnostic::general(format!(
            "no *.kmd.json file found in {}",
            names.join(", ")
        ))
        .into());
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match read_file(&f) {
            Ok(d) => docs.push(d),
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(Errors(errors));
    }
    fuse(docs)
}

/// What a resolved type name stands for.
#[derive(Debug, Clone)]
struct TypeEntry {
    module: String,
    name: String,
    kind: TypeKind,
}

/// A set of resolved modules: the ones being generated and their dependencies.
#[derive(Debug, Clone)]
pub struct Project {
    pub modules: Vec<Module>,
    /// How many of `modules` (from the start) are being generated; the rest are dependencies.
    pub generated: usize,
}

impl Project {
    /// Resolves `generate` against `deps` (imports, versions, types, defaults).
    pub fn resolve(generate: Vec<Module>, deps: Vec<Module>) -> Result<Project, Errors> {
        let names: HashSet<String> = generate.iter().map(|m| m.name.clone()).collect();
        let generated = generate.len();
        let mut modules = generate;
        // A dependency with the name of a module being generated is dropped (module-creator.md §1.2).
        let mut seen = names.clone();
        for d in deps {
            if seen.insert(d.name.clone()) {
                modules.push(d);
            }
        }
        let mut errors = Vec::new();
        for m in &mut modules {
            add_implicit_imports(m);
        }
        check_imports(&modules, &mut errors);
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        let index: HashMap<String, usize> = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.clone(), i))
            .collect();
        let mut registry: HashMap<String, TypeEntry> = HashMap::new();
        for m in &modules {
            let mut own = HashSet::new();
            let items = m
                .remote_classes
                .iter()
                .map(|c| (&c.name, TypeKind::RemoteClass, &c.loc))
                .chain(m.complex_types.iter().map(|c| {
                    let kind = if c.format == TypeFormat::Enum {
                        TypeKind::Enum
                    } else {
                        TypeKind::Register
                    };
                    (&c.name, kind, &c.loc)
                }))
                .chain(m.events.iter().map(|e| (&e.name, TypeKind::Event, &e.loc)));
            for (name, kind, loc) in items {
                if !own.insert(name.clone()) {
                    errors.push(Diagnostic::at(
                        loc.clone(),
                        format!("duplicate type '{name}' in module {}: each class, complex type and event name must be unique", m.name),
                    ));
                    continue;
                }
                if PRIMITIVES.contains(&name.as_str()) {
                    errors.push(Diagnostic::at(
                        loc.clone(),
                        format!("'{name}' is a primitive type name"),
                    ));
                }
                let key = if m.is_builtin() {
                    name.clone()
                } else {
                    format!("{}.{name}", m.name)
                };
                registry.insert(
                    key,
                    TypeEntry {
                        module: m.name.clone(),
                        name: name.clone(),
                        kind,
                    },
                );
            }
        }
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        for i in 0..modules.len() {
            let visible = visible_modules(&modules, &index, i);
            let ctx = Ctx {
                module: &modules[i].name.clone(),
                visible: &visible,
                registry: &registry,
            };
            let m = &mut modules[i];
            resolve_module(m, &ctx, &mut errors);
            fill_code_defaults(m);
        }
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        for i in 0..modules.len() {
            let npm_git: HashMap<String, Option<String>> = modules
                .iter()
                .map(|m| {
                    (
                        m.name.clone(),
                        m.code
                            .pointer("/api/js/npmGit")
                            .and_then(Value::as_str)
                            .map(String::from),
                    )
                })
                .collect();
            for imp in &mut modules[i].imports {
                if imp.maven_version.is_none() {
                    match version::maven_range(&imp.version) {
                        Ok(r) => imp.maven_version = Some(r),
                        Err(e) => errors.push(Diagnostic::at(imp.loc.clone(), e)),
                    }
                }
                if imp.npm_version.is_none() {
                    let git = npm_git.get(&imp.name).cloned().flatten();
                    match version::npm_range(&imp.version, git.as_deref()) {
                        Ok(r) => imp.npm_version = Some(r),
                        Err(e) => errors.push(Diagnostic::at(imp.loc.clone(), e)),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        Ok(Project { modules, generated })
    }

    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }

    pub fn generated_modules(&self) -> &[Module] {
        &self.modules[..self.generated]
    }

    pub fn class(&self, module: &str, name: &str) -> Option<&RemoteClass> {
        self.module(module)?.class(name)
    }

    /// The parent of a class, with the module that declares it.
    pub fn parent_class(&self, class: &RemoteClass) -> Option<(&Module, &RemoteClass)> {
        let r = class.extends.as_ref()?.resolved();
        let m = self.module(&r.module)?;
        Some((m, m.class(&r.name)?))
    }

    /// `[(module, class)]` from the class itself up to the root.
    pub fn class_chain<'a>(
        &'a self,
        module: &'a Module,
        class: &'a RemoteClass,
    ) -> Vec<(&'a Module, &'a RemoteClass)> {
        let mut out = vec![(module, class)];
        while let Some(p) = self.parent_class(out.last().unwrap().1) {
            out.push(p);
        }
        out
    }

    /// Runtime hierarchy of a class: qualified ancestors, nearest first (kmd-format.md §13).
    pub fn hierarchy(&self, module: &Module, class: &RemoteClass) -> Vec<String> {
        self.class_chain(module, class)
            .into_iter()
            .skip(1)
            .map(|(m, c)| format!("{}.{}", m.runtime_prefix(), c.name))
            .collect()
    }

    /// Every event a class can emit: its own and its ancestors' (server.md §8).
    pub fn class_events(&self, module: &Module, class: &RemoteClass) -> Vec<String> {
        let mut out = Vec::new();
        for (_, c) in self.class_chain(module, class) {
            for e in &c.events {
                out.push(e.resolved().name.clone());
            }
        }
        out
    }

    pub fn complex_type(&self, module: &str, name: &str) -> Option<&ComplexType> {
        self.module(module)?.complex_type(name)
    }

    pub fn event(&self, module: &str, name: &str) -> Option<&Event> {
        self.module(module)?.event(name)
    }

    /// Fields of a complex type, inherited ones first.
    pub fn register_fields<'a>(&'a self, module: &'a str, t: &'a ComplexType) -> Vec<&'a Param> {
        let mut chain = vec![t];
        let mut cur = t;
        while let Some(p) = cur.extends.as_ref().and_then(|e| {
            let r = e.resolved();
            self.complex_type(&r.module, &r.name)
        }) {
            chain.push(p);
            cur = p;
        }
        let _ = module;
        chain
            .iter()
            .rev()
            .flat_map(|t| t.properties.iter())
            .collect()
    }

    /// Fields of an event, inherited ones first.
    pub fn event_fields<'a>(&'a self, e: &'a Event) -> Vec<(&'a str, &'a Param)> {
        let mut chain = vec![e];
        let mut cur = e;
        while let Some(p) = cur.extends.as_ref().and_then(|x| {
            let r = x.resolved();
            self.event(&r.module, &r.name)
        }) {
            chain.push(p);
            cur = p;
        }
        chain
            .iter()
            .rev()
            .flat_map(|ev| ev.properties.iter().map(move |p| (ev.name.as_str(), p)))
            .collect()
    }

    /// Whether an event descends from `Media` (its `type` field carries the event name).
    pub fn event_is_media(&self, e: &Event) -> bool {
        let mut cur = e;
        loop {
            if cur.name == "Media" {
                return true;
            }
            match cur.extends.as_ref().and_then(|x| {
                let r = x.resolved();
                self.event(&r.module, &r.name)
            }) {
                Some(p) => cur = p,
                None => return false,
            }
        }
    }

    /// Concrete REGISTER types deriving from `module.name` (for `__type__` checks).
    pub fn subtypes(&self, module: &str, name: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for m in &self.modules {
            for t in &m.complex_types {
                let mut cur = t;
                while let Some(p) = cur.extends.as_ref().map(|e| e.resolved()) {
                    if p.module == module && p.name == name {
                        out.push((m.name.clone(), t.name.clone()));
                        break;
                    }
                    match self.complex_type(&p.module, &p.name) {
                        Some(x) => cur = x,
                        None => break,
                    }
                }
            }
        }
        out
    }
}

fn add_implicit_imports(m: &mut Module) {
    let implicit: &[&str] = match m.name.as_str() {
        "core" => &[],
        "elements" => &["core"],
        "filters" => &["core", "elements"],
        _ => &["core", "elements", "filters"],
    };
    for name in implicit {
        if m.imports.iter().any(|i| i.name == *name) {
            continue;
        }
        m.imports.push(Import {
            name: name.to_string(),
            version: m.kurento_version.clone(),
            maven_version: m.kurento_maven_version.clone(),
            npm_version: m.kurento_npm_version.clone(),
            loc: m.loc.clone(),
        });
    }
}

fn check_imports(modules: &[Module], errors: &mut Vec<Diagnostic>) {
    let by_name: HashMap<&str, &Module> = modules.iter().map(|m| (m.name.as_str(), m)).collect();
    for m in modules {
        let release = !m.version.ends_with("-dev");
        for imp in &m.imports {
            if release && imp.version.ends_with("-dev") {
                errors.push(Diagnostic::at(
                    imp.loc.clone(),
                    format!(
                        "release module {} {} cannot import development version '{}' of {}",
                        m.name, m.version, imp.version, imp.name
                    ),
                ));
                continue;
            }
            let Some(dep) = by_name.get(imp.name.as_str()) else {
                let mut known: Vec<&str> =
                    by_name.keys().copied().filter(|n| *n != m.name).collect();
                known.sort();
                errors.push(Diagnostic::at(
                    imp.loc.clone(),
                    format!(
                        "import '{}' (version '{}') of module {} not found in any version; known modules: {}",
                        imp.name,
                        imp.version,
                        m.name,
                        known.join(", ")
                    ),
                ));
                continue;
            };
            match version::compatible(&imp.version, &dep.version) {
                Ok(true) => {}
                Ok(false) => errors.push(Diagnostic::at(
                    imp.loc.clone(),
                    format!(
                        "import {} with version {} not found, found version {}",
                        imp.name, imp.version, dep.version
                    ),
                )),
                Err(e) => errors.push(Diagnostic::at(
                    imp.loc.clone(),
                    format!(
                        "bad version '{}' of import '{}': {e}",
                        imp.version, imp.name
                    ),
                )),
            }
        }
    }
    // Cycles through explicit and implicit imports.
    fn visit<'a>(
        name: &'a str,
        by_name: &HashMap<&'a str, &'a Module>,
        stack: &mut Vec<&'a str>,
        done: &mut HashSet<&'a str>,
        errors: &mut Vec<Diagnostic>,
    ) {
        if done.contains(name) {
            return;
        }
        if let Some(pos) = stack.iter().position(|n| *n == name) {
            let m = by_name[name];
            let mut cycle: Vec<&str> = stack[pos..].to_vec();
            cycle.push(name);
            errors.push(Diagnostic::at(
                m.loc.clone(),
                format!("dependency cycle: {}", cycle.join(" -> ")),
            ));
            return;
        }
        let Some(m) = by_name.get(name) else { return };
        stack.push(name);
        for i in &m.imports {
            if let Some(dep) = by_name.get(i.name.as_str()) {
                visit(&dep.name, by_name, stack, done, errors);
            }
        }
        stack.pop();
        done.insert(name);
    }
    let mut done = HashSet::new();
    for m in modules {
        visit(&m.name, &by_name, &mut Vec::new(), &mut done, errors);
    }
}

/// The module itself and everything it imports, transitively.
fn visible_modules(
    modules: &[Module],
    index: &HashMap<String, usize>,
    i: usize,
) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut stack = vec![i];
    while let Some(j) = stack.pop() {
        if out.insert(modules[j].name.clone()) {
            for imp in &modules[j].imports {
                if let Some(&k) = index.get(&imp.name) {
                    stack.push(k);
                }
            }
        }
    }
    out
}

struct Ctx<'a> {
    module: &'a str,
    visible: &'a HashSet<String>,
    registry: &'a HashMap<String, TypeEntry>,
}

impl Ctx<'_> {
    fn lookup(&self, key: &str) -> Option<&TypeEntry> {
        self.registry
            .get(key)
            .filter(|e| self.visible.contains(&e.module))
    }

    fn available(&self, kinds: &[TypeKind]) -> String {
        let mut names: Vec<&str> = self
            .registry
            .iter()
            .filter(|(_, e)| self.visible.contains(&e.module) && kinds.contains(&e.kind))
            .map(|(k, _)| k.as_str())
            .collect();
        if kinds.contains(&TypeKind::Primitive) {
            names.extend(PRIMITIVES);
        }
        names.sort();
        names.join(", ")
    }

    fn resolve(
        &self,
        t: &mut TypeRef,
        allowed: &[TypeKind],
        what: &str,
        errors: &mut Vec<Diagnostic>,
    ) {
        let base = t.text.trim_end_matches("[]").trim_end_matches("<>");
        if base.matches('.').count() > 1 {
            errors.push(Diagnostic::at(
                t.loc.clone(),
                format!(
                    "type '{}' of {what} has more than one '.'; write Name or module.Name",
                    t.text
                ),
            ));
            return;
        }
        let (qual, name, coll) = t.parts();
        if name.is_empty() || name.ends_with("[]") || name.ends_with("<>") {
            errors.push(Diagnostic::at(
                t.loc.clone(),
                format!("malformed type '{}' of {what}", t.text),
            ));
            return;
        }
        let found = if qual.is_none() && PRIMITIVES.contains(&name) {
            Some(TypeEntry {
                module: String::new(),
                name: name.to_string(),
                kind: TypeKind::Primitive,
            })
        } else {
            let key = match qual {
                Some(q) => format!("{q}.{name}"),
                None => name.to_string(),
            };
            self.lookup(&key)
                .or_else(|| {
                    if qual.is_none() {
                        self.lookup(&format!("{}.{name}", self.module))
                    } else {
                        None
                    }
                })
                .cloned()
        };
        let Some(entry) = found else {
            errors.push(Diagnostic::at(
                t.loc.clone(),
                format!(
                    "The type '{}' is not defined in module {} neither in kurento. Used in module: {} ({what}). Valid names here: {}",
                    base,
                    self.module,
                    self.module,
                    self.available(allowed)
                ),
            ));
            return;
        };
        if !allowed.contains(&entry.kind) {
            let kind = match entry.kind {
                TypeKind::Primitive => "a primitive type",
                TypeKind::RemoteClass => "a remote class",
                TypeKind::Register => "a REGISTER complex type",
                TypeKind::Enum => "an ENUM complex type",
                TypeKind::Event => "an event",
            };
            errors.push(Diagnostic::at(
                t.loc.clone(),
                format!("type '{}' of {what} is {kind}, which is not allowed there. Valid names here: {}", t.text, self.available(allowed)),
            ));
            return;
        }
        if coll != Collection::Single && allowed == SINGLE_CLASS {
            errors.push(Diagnostic::at(
                t.loc.clone(),
                format!("{what} cannot be a list or map ('{}')", t.text),
            ));
            return;
        }
        t.resolved = Some(ResolvedType {
            module: entry.module,
            name: entry.name,
            kind: entry.kind,
            collection: coll,
        });
    }
}

const VALUE_KINDS: &[TypeKind] = &[
    TypeKind::Primitive,
    TypeKind::RemoteClass,
    TypeKind::Register,
    TypeKind::Enum,
];
const SINGLE_CLASS: &[TypeKind] = &[TypeKind::RemoteClass];

fn resolve_params(params: &mut [Param], ctx: &Ctx, what: &str, errors: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    for p in params {
        if !seen.insert(p.name.clone()) {
            errors.push(Diagnostic::at(
                p.loc.clone(),
                format!("duplicate name '{}' in {what}", p.name),
            ));
        }
        ctx.resolve(
            &mut p.ty,
            VALUE_KINDS,
            &format!("'{}' of {what}", p.name),
            errors,
        );
    }
}

fn resolve_module(m: &mut Module, ctx: &Ctx, errors: &mut Vec<Diagnostic>) {
    for c in &mut m.remote_classes {
        let what = format!("remote class {}", c.name);
        if let Some(e) = &mut c.extends {
            ctx.resolve(e, SINGLE_CLASS, &format!("'extends' of {what}"), errors);
        }
        if let Some(k) = &mut c.constructor {
            resolve_params(
                &mut k.params,
                ctx,
                &format!("the constructor of {}", c.name),
                errors,
            );
            for p in &k.params {
                if p.optional && p.default_value.is_none() {
                    errors.push(Diagnostic::at(
                        p.loc.clone(),
                        format!(
                            "optional constructor parameter '{}' of {} needs a 'defaultValue'",
                            p.name, c.name
                        ),
                    ));
                }
            }
        }
        let mut names = HashSet::new();
        for meth in &mut c.methods {
            if !names.insert(meth.name.clone()) {
                errors.push(Diagnostic::at(
                    meth.loc.clone(),
                    format!("duplicate method '{}' in {what}", meth.name),
                ));
            }
            resolve_params(
                &mut meth.params,
                ctx,
                &format!("method {}.{}", c.name, meth.name),
                errors,
            );
            if let Some(r) = &mut meth.ret {
                ctx.resolve(
                    &mut r.ty,
                    VALUE_KINDS,
                    &format!("the return of {}.{}", c.name, meth.name),
                    errors,
                );
            }
        }
        resolve_params(
            &mut c.properties,
            ctx,
            &format!("properties of {what}"),
            errors,
        );
        for e in &mut c.events {
            ctx.resolve(e, &[TypeKind::Event], &format!("events of {what}"), errors);
        }
    }
    for t in &mut m.complex_types {
        let what = format!("complex type {}", t.name);
        if let Some(e) = &mut t.extends {
            ctx.resolve(
                e,
                &[TypeKind::Register],
                &format!("'extends' of {what}"),
                errors,
            );
        }
        resolve_params(&mut t.properties, ctx, &what, errors);
    }
    for ev in &mut m.events {
        let what = format!("event {}", ev.name);
        if let Some(e) = &mut ev.extends {
            ctx.resolve(
                e,
                &[TypeKind::Event],
                &format!("'extends' of {what}"),
                errors,
            );
        }
        resolve_params(&mut ev.properties, ctx, &what, errors);
    }
}

fn obj<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let map = v.as_object_mut().expect("code sections are objects");
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().unwrap()
}

fn default(map: &mut Map<String, Value>, key: &str, value: String) {
    if !map.get(key).is_some_and(Value::is_string) {
        map.insert(key.to_string(), Value::String(value));
    }
}

/// Fills `code` defaults (kmd-format.md §4).
fn fill_code_defaults(m: &mut Module) {
    let name = m.name.clone();
    let ver = m.version.clone();
    let dev = ver.ends_with("-dev");
    let maven_version = if dev {
        format!("{}-SNAPSHOT", ver.trim_end_matches("-dev"))
    } else {
        ver.clone()
    };
    if !m.code.is_object() {
        m.code = json!({});
    }
    let code = &mut m.code;
    {
        let api = obj(code, "api");
        let java = api
            .entry("java")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap();
        default(java, "packageName", format!("org.kurento.module.{name}"));
        default(java, "mavenGroupId", "org.kurento.module".into());
        default(java, "mavenArtifactId", name.clone());
        default(java, "mavenVersion", maven_version.clone());
        let js = api
            .entry("js")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap();
        default(js, "nodeName", format!("kurento-module-{name}"));
        let npm_version = if dev {
            js.get("npmGit")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| ver.trim_end_matches("-dev").to_string())
        } else {
            ver.clone()
        };
        default(js, "npmVersion", npm_version);
        default(js, "npmDescription", String::new());
    }
    {
        let imp = obj(code, "implementation");
        default(imp, "cppNamespace", format!("kurento::module::{name}"));
        default(imp, "lib", format!("libkms{}", name.to_lowercase()));
    }
    if code.get("kmd").is_some_and(Value::is_object) {
        let kmd = obj(code, "kmd");
        let java = kmd
            .entry("java")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap();
        default(java, "mavenGroupId", "org.kurento.module".into());
        default(java, "mavenArtifactId", format!("{name}.kmd"));
        default(java, "mavenVersion", maven_version);
    }
}

// ---------------------------------------------------------------------------------------------
// Output model (kmd-format.md §11)

fn put_doc(map: &mut Map<String, Value>, doc: &str) {
    if !doc.is_empty() {
        map.insert("doc".into(), Value::String(doc.to_string()));
    }
}

fn param_json(p: &Param, with_access: bool) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), json!(p.name));
    put_doc(&mut map, &p.doc);
    map.insert("type".into(), json!(p.ty.text));
    if p.optional {
        map.insert("optional".into(), json!(true));
    }
    if let Some(d) = &p.default_value {
        map.insert("defaultValue".into(), d.clone());
    }
    if with_access && p.read_only {
        map.insert("readOnly".into(), json!(true));
    }
    if with_access && p.is_final {
        map.insert("final".into(), json!(true));
    }
    Value::Object(map)
}

fn method_json(m: &Method, constructor: bool) -> Value {
    let mut map = Map::new();
    if !constructor {
        map.insert("name".into(), json!(m.name));
    }
    put_doc(&mut map, &m.doc);
    map.insert(
        "params".into(),
        Value::Array(m.params.iter().map(|p| param_json(p, false)).collect()),
    );
    if let Some(r) = &m.ret {
        let mut rm = Map::new();
        rm.insert("type".into(), json!(r.ty.text));
        put_doc(&mut rm, &r.doc);
        map.insert("return".into(), Value::Object(rm));
    }
    Value::Object(map)
}

impl Module {
    /// The resolved descriptor, as installed for clients and embedded into the server module.
    pub fn output_model(&self) -> Value {
        let mut map = Map::new();
        map.insert("name".into(), json!(self.name));
        map.insert("version".into(), json!(self.version));
        map.insert("kurentoVersion".into(), json!(self.kurento_version));
        if let Some(v) = &self.kurento_maven_version {
            map.insert("kurentoMavenVersion".into(), json!(v));
        }
        if let Some(v) = &self.kurento_npm_version {
            map.insert("kurentoNpmVersion".into(), json!(v));
        }
        if let Some(v) = &self.repository {
            map.insert("repository".into(), json!(v));
        }
        let imports: Vec<Value> = self
            .imports
            .iter()
            .map(|i| {
                let mut im = Map::new();
                im.insert("name".into(), json!(i.name));
                im.insert("version".into(), json!(i.version));
                if let Some(v) = &i.maven_version {
                    im.insert("mavenVersion".into(), json!(v));
                }
                if let Some(v) = &i.npm_version {
                    im.insert("npmVersion".into(), json!(v));
                }
                Value::Object(im)
            })
            .collect();
        map.insert("imports".into(), Value::Array(imports));
        map.insert("code".into(), self.code.clone());
        let classes: Vec<Value> = self
            .remote_classes
            .iter()
            .map(|c| {
                let mut cm = Map::new();
                cm.insert("name".into(), json!(c.name));
                put_doc(&mut cm, &c.doc);
                if c.is_abstract {
                    cm.insert("abstract".into(), json!(true));
                }
                if let Some(e) = &c.extends {
                    cm.insert("extends".into(), json!(e.text));
                }
                if let Some(k) = &c.constructor {
                    cm.insert("constructor".into(), method_json(k, true));
                }
                cm.insert(
                    "properties".into(),
                    Value::Array(c.properties.iter().map(|p| param_json(p, true)).collect()),
                );
                cm.insert(
                    "methods".into(),
                    Value::Array(c.methods.iter().map(|m| method_json(m, false)).collect()),
                );
                cm.insert(
                    "events".into(),
                    Value::Array(c.events.iter().map(|e| json!(e.text)).collect()),
                );
                Value::Object(cm)
            })
            .collect();
        map.insert("remoteClasses".into(), Value::Array(classes));
        let types: Vec<Value> = self
            .complex_types
            .iter()
            .map(|t| {
                let mut tm = Map::new();
                tm.insert(
                    "typeFormat".into(),
                    json!(if t.format == TypeFormat::Enum {
                        "ENUM"
                    } else {
                        "REGISTER"
                    }),
                );
                put_doc(&mut tm, &t.doc);
                if let Some(e) = &t.extends {
                    tm.insert("extends".into(), json!(e.text));
                }
                if t.format == TypeFormat::Enum {
                    tm.insert("values".into(), json!(t.values));
                } else {
                    tm.insert(
                        "properties".into(),
                        Value::Array(t.properties.iter().map(|p| param_json(p, true)).collect()),
                    );
                }
                tm.insert("name".into(), json!(t.name));
                Value::Object(tm)
            })
            .collect();
        map.insert("complexTypes".into(), Value::Array(types));
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let mut em = Map::new();
                em.insert("name".into(), json!(e.name));
                put_doc(&mut em, &e.doc);
                if let Some(x) = &e.extends {
                    em.insert("extends".into(), json!(x.text));
                }
                em.insert(
                    "properties".into(),
                    Value::Array(e.properties.iter().map(|p| param_json(p, true)).collect()),
                );
                Value::Object(em)
            })
            .collect();
        map.insert("events".into(), Value::Array(events));
        Value::Object(map)
    }

    /// The resolved descriptor as text with the top-level keys in the order of kmd-format.md
    /// §11 (`name`, `version`, `kurentoVersion`, …, `remoteClasses`, `complexTypes`, `events`);
    /// pretty-printed or compact (one line, as embedded in a module library).
    pub fn output_model_text(&self, pretty: bool) -> String {
        const ORDER: [&str; 11] = [
            "name",
            "version",
            "kurentoVersion",
            "kurentoMavenVersion",
            "kurentoNpmVersion",
            "repository",
            "imports",
            "code",
            "remoteClasses",
            "complexTypes",
            "events",
        ];
        let model = self.output_model();
        let mut parts = Vec::new();
        for key in ORDER {
            let Some(v) = model.get(key) else { continue };
            let text = if pretty {
                serde_json::to_string_pretty(v)
                    .unwrap_or_default()
                    .replace('\n', "\n  ")
            } else {
                v.to_string()
            };
            let k = Value::String(key.to_string());
            parts.push(if pretty {
                format!("  {k}: {text}")
            } else {
                format!("{k}:{text}")
            });
        }
        if pretty {
            format!("{{\n{}\n}}\n", parts.join(",\n"))
        } else {
            format!("{{{}}}", parts.join(","))
        }
    }

    /// `-p` summary lines and their digest (module-creator.md §1.1).
    pub fn simple_summary(&self) -> Vec<String> {
        use md5::{Digest, Md5};
        let mut lines = Vec::new();
        let mut hasher = Md5::new();
        for c in &self.remote_classes {
            lines.push(format!("RemoteClass:\t{}", c.name));
            hasher.update(c.name.as_bytes());
        }
        for e in &self.events {
            lines.push(format!("Event:\t{}", e.name));
            hasher.update(e.name.as_bytes());
        }
        for t in &self.complex_types {
            lines.push(format!("ComplexType:\t{}", t.name));
            hasher.update(t.name.as_bytes());
        }
        for i in &self.imports {
            lines.push(format!("Dep: {} {}", i.name, i.version));
            hasher.update(format!("{} {}", i.name, i.version).as_bytes());
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        lines.push(format!("Digest: {digest}"));
        lines
    }
}

/// Looks up a dotted key (`code.implementation.lib`, `remoteClasses.0.name`) in a JSON value.
pub fn show_value(model: &Value, key: &str) -> Option<String> {
    let mut cur = model;
    for part in key.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(match cur {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Sorted map helper used by generators.
pub type Sorted<V> = BTreeMap<String, V>;
