// SPDX-License-Identifier: MPL-2.0
//! The descriptor model: what one `*.kmd.json` file says (kmd-format.md §3–§9), read leniently
//! and with the position of every item kept for error messages.

use crate::error::{Diagnostic, Loc};
use crate::json::{Key, Node, Spanned};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// A type reference as written (`MediaType`, `chroma.WindowParam`, `float[]`, `String<>`),
/// with what it resolved to once the model is resolved.
#[derive(Debug, Clone)]
pub struct TypeRef {
    pub text: String,
    pub loc: Loc,
    /// Filled by resolution.
    pub resolved: Option<ResolvedType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Single,
    List,
    Map,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Primitive,
    RemoteClass,
    Register,
    Enum,
    Event,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedType {
    /// Descriptor module declaring the type (`core`, `chroma`); empty for primitives.
    pub module: String,
    /// Bare type name (`MediaType`, `String`, `int`).
    pub name: String,
    pub kind: TypeKind,
    pub collection: Collection,
}

impl TypeRef {
    pub fn resolved(&self) -> &ResolvedType {
        self.resolved
            .as_ref()
            .expect("type references are resolved before code generation")
    }

    /// Splits `[module.]Name[[]|<>]`.
    pub fn parts(&self) -> (Option<&str>, &str, Collection) {
        let (base, coll) = if let Some(b) = self.text.strip_suffix("[]") {
            (b, Collection::List)
        } else if let Some(b) = self.text.strip_suffix("<>") {
            (b, Collection::Map)
        } else {
            (self.text.as_str(), Collection::Single)
        };
        match base.split_once('.') {
            Some((m, n)) => (Some(m), n, coll),
            None => (None, base, coll),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Import {
    pub name: String,
    pub version: String,
    pub maven_version: Option<String>,
    pub npm_version: Option<String>,
    pub loc: Loc,
}

/// A parameter, a property of a class, a field of a complex type or of an event.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub doc: String,
    pub ty: TypeRef,
    pub optional: bool,
    pub default_value: Option<Value>,
    pub read_only: bool,
    pub is_final: bool,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Return {
    pub ty: TypeRef,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub doc: String,
    pub params: Vec<Param>,
    pub ret: Option<Return>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct RemoteClass {
    pub name: String,
    pub doc: String,
    pub is_abstract: bool,
    pub extends: Option<TypeRef>,
    pub constructor: Option<Method>,
    pub methods: Vec<Method>,
    pub properties: Vec<Param>,
    pub events: Vec<TypeRef>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFormat {
    Register,
    Enum,
}

#[derive(Debug, Clone)]
pub struct ComplexType {
    pub name: String,
    pub doc: String,
    pub format: TypeFormat,
    pub values: Vec<String>,
    pub properties: Vec<Param>,
    pub extends: Option<TypeRef>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub doc: String,
    pub extends: Option<TypeRef>,
    pub properties: Vec<Param>,
    pub loc: Loc,
}

/// A header value together with where it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub loc: Loc,
}

/// One file as read, before fusion.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: Arc<Path>,
    pub name: Option<Located<String>>,
    pub version: Option<Located<String>>,
    pub kurento_version: Option<Located<String>>,
    pub kurento_maven_version: Option<String>,
    pub kurento_npm_version: Option<String>,
    pub repository: Option<String>,
    pub imports: Option<Located<Vec<Import>>>,
    pub code: Option<Located<Value>>,
    pub remote_classes: Vec<RemoteClass>,
    pub complex_types: Vec<ComplexType>,
    pub events: Vec<Event>,
}

/// A module: its files fused (kmd-format.md §10) and, after resolution, completed (§11).
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub version: String,
    pub kurento_version: String,
    pub kurento_maven_version: Option<String>,
    pub kurento_npm_version: Option<String>,
    pub repository: Option<String>,
    pub imports: Vec<Import>,
    pub code: Value,
    pub remote_classes: Vec<RemoteClass>,
    pub complex_types: Vec<ComplexType>,
    pub events: Vec<Event>,
    pub files: Vec<Arc<Path>>,
    /// Location of the `name` key, for errors about the module as a whole.
    pub loc: Loc,
}

impl Module {
    /// `kurento` for the three built-in modules, the module name otherwise (kmd-format.md §6.4).
    pub fn runtime_prefix(&self) -> &str {
        runtime_prefix(&self.name)
    }

    pub fn is_builtin(&self) -> bool {
        is_builtin(&self.name)
    }

    pub fn class(&self, name: &str) -> Option<&RemoteClass> {
        self.remote_classes.iter().find(|c| c.name == name)
    }

    pub fn complex_type(&self, name: &str) -> Option<&ComplexType> {
        self.complex_types.iter().find(|c| c.name == name)
    }

    pub fn event(&self, name: &str) -> Option<&Event> {
        self.events.iter().find(|c| c.name == name)
    }
}

pub fn is_builtin(module: &str) -> bool {
    matches!(module, "core" | "elements" | "filters")
}

pub fn runtime_prefix(module: &str) -> &str {
    if is_builtin(module) {
        "kurento"
    } else {
        module
    }
}

// ---------------------------------------------------------------------------------------------
// Reading one document

pub(crate) struct Reader<'a> {
    pub file: &'a Arc<Path>,
    pub errors: &'a mut Vec<Diagnostic>,
}

type Members<'n> = &'n [(Key, Spanned)];

impl Reader<'_> {
    fn loc(&self, pos: crate::json::Pos) -> Loc {
        Loc {
            file: self.file.clone(),
            pos,
        }
    }

    fn err(&mut self, pos: crate::json::Pos, message: String) {
        let loc = self.loc(pos);
        self.errors.push(Diagnostic::at(loc, message));
    }

    fn get<'n>(&self, members: Members<'n>, key: &str) -> Option<&'n Spanned> {
        members.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    fn key_pos(&self, members: Members<'_>, key: &str) -> Option<crate::json::Pos> {
        members
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k.pos)
    }

    fn string(&mut self, members: Members<'_>, key: &str, what: &str) -> Option<String> {
        let v = self.get(members, key)?;
        match &v.node {
            Node::Str(s) => Some(s.clone()),
            Node::Null => None,
            _ => {
                let kind = v.kind();
                self.err(
                    v.pos,
                    format!("'{key}' of {what} must be a string, found {kind}"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, members: Members<'_>, key: &str, what: &str) -> bool {
        match self.get(members, key) {
            None => false,
            Some(v) => match &v.node {
                Node::Bool(b) => *b,
                Node::Null => false,
                _ => {
                    let kind = v.kind();
                    self.err(
                        v.pos,
                        format!("'{key}' of {what} must be true or false, found {kind}"),
                    );
                    false
                }
            },
        }
    }

    fn required_name(
        &mut self,
        members: Members<'_>,
        pos: crate::json::Pos,
        what: &str,
    ) -> Option<String> {
        match self.string(members, "name", what) {
            Some(n) if !n.is_empty() => Some(n),
            Some(_) => {
                let p = self.key_pos(members, "name").unwrap_or(pos);
                self.err(p, format!("{what} has an empty 'name'"));
                None
            }
            None => {
                if self.get(members, "name").is_none() {
                    self.err(pos, format!("{what} has no 'name'"));
                }
                None
            }
        }
    }

    /// An array member; `null` entries (left by trailing commas) are skipped.
    fn array<'n>(&mut self, members: Members<'n>, key: &str, what: &str) -> Vec<&'n Spanned> {
        match self.get(members, key) {
            None => Vec::new(),
            Some(v) => match &v.node {
                Node::Arr(items) => items
                    .iter()
                    .filter(|i| !matches!(i.node, Node::Null))
                    .collect(),
                Node::Null => Vec::new(),
                _ => {
                    let kind = v.kind();
                    self.err(
                        v.pos,
                        format!("'{key}' of {what} must be an array, found {kind}"),
                    );
                    Vec::new()
                }
            },
        }
    }

    fn object<'n>(&mut self, v: &'n Spanned, what: &str) -> Option<Members<'n>> {
        match &v.node {
            Node::Obj(m) => Some(m),
            _ => {
                let kind = v.kind();
                self.err(v.pos, format!("{what} must be an object, found {kind}"));
                None
            }
        }
    }

    fn type_ref(&mut self, v: &Spanned, what: &str) -> Option<TypeRef> {
        match &v.node {
            Node::Str(s) => Some(TypeRef {
                text: s.trim().to_string(),
                loc: self.loc(v.pos),
                resolved: None,
            }),
            _ => {
                let kind = v.kind();
                self.err(
                    v.pos,
                    format!("{what} must be a type name (a string), found {kind}"),
                );
                None
            }
        }
    }

    fn member_type(
        &mut self,
        members: Members<'_>,
        key: &str,
        pos: crate::json::Pos,
        what: &str,
    ) -> Option<TypeRef> {
        match self.get(members, key) {
            Some(v) => self.type_ref(v, &format!("'{key}' of {what}")),
            None => {
                self.err(pos, format!("{what} has no '{key}'"));
                None
            }
        }
    }

    fn param(&mut self, v: &Spanned, element: &str, container: &str) -> Option<Param> {
        let what = format!("{element} of {container}");
        let m = self.object(v, &what)?;
        let name = self.required_name(m, v.pos, &what)?;
        let what = format!("{element} '{name}' of {container}");
        let ty = self.member_type(m, "type", v.pos, &what)?;
        Some(Param {
            doc: self.string(m, "doc", &what).unwrap_or_default(),
            optional: self.boolean(m, "optional", &what),
            default_value: self.get(m, "defaultValue").map(Spanned::to_value),
            read_only: self.boolean(m, "readOnly", &what),
            is_final: self.boolean(m, "final", &what),
            ty,
            name,
            loc: self.loc(v.pos),
        })
    }

    fn params(&mut self, m: Members<'_>, key: &str, what: &str) -> Vec<Param> {
        let items = self.array(m, key, what);
        let element = if key == "params" {
            "parameter"
        } else {
            "property"
        };
        items
            .into_iter()
            .filter_map(|p| self.param(p, element, what))
            .collect()
    }

    fn method(&mut self, v: &Spanned, container: &str, is_constructor: bool) -> Option<Method> {
        let element = if is_constructor {
            "constructor"
        } else {
            "method"
        };
        let m = self.object(v, &format!("{element} of {container}"))?;
        let name = if is_constructor {
            "constructor".to_string()
        } else {
            self.required_name(m, v.pos, &format!("method of {container}"))?
        };
        let what = if is_constructor {
            format!("constructor of {container}")
        } else {
            format!("method '{name}' of {container}")
        };
        let ret = match self.get(m, "return") {
            None => None,
            Some(r) => {
                let rm = self.object(r, &format!("'return' of {what}"))?;
                let ty = self.member_type(rm, "type", r.pos, &format!("'return' of {what}"))?;
                Some(Return {
                    ty,
                    doc: self.string(rm, "doc", &what).unwrap_or_default(),
                })
            }
        };
        Some(Method {
            doc: self.string(m, "doc", &what).unwrap_or_default(),
            params: self.params(m, "params", &what),
            ret,
            name,
            loc: self.loc(v.pos),
        })
    }

    fn remote_class(&mut self, v: &Spanned) -> Option<RemoteClass> {
        let m = self.object(v, "a remote class")?;
        let name = self.required_name(m, v.pos, "remote class")?;
        let what = format!("remote class '{name}'");
        let extends = match self.get(m, "extends") {
            Some(e) => self.type_ref(e, &format!("'extends' of {what}")),
            None => None,
        };
        let constructor = match self.get(m, "constructor") {
            Some(c) => self.method(c, &what, true),
            None => None,
        };
        let methods = self
            .array(m, "methods", &what)
            .into_iter()
            .filter_map(|x| self.method(x, &what, false))
            .collect();
        let events = self
            .array(m, "events", &what)
            .into_iter()
            .filter_map(|x| self.type_ref(x, &format!("event of {what}")))
            .collect();
        Some(RemoteClass {
            doc: self.string(m, "doc", &what).unwrap_or_default(),
            is_abstract: self.boolean(m, "abstract", &what),
            properties: self.params(m, "properties", &what),
            extends,
            constructor,
            methods,
            events,
            name,
            loc: self.loc(v.pos),
        })
    }

    fn complex_type(&mut self, v: &Spanned) -> Option<ComplexType> {
        let m = self.object(v, "a complex type")?;
        let name = self.required_name(m, v.pos, "complex type")?;
        let what = format!("complex type '{name}'");
        let format = match self.string(m, "typeFormat", &what).as_deref() {
            Some("REGISTER") => TypeFormat::Register,
            Some("ENUM") => TypeFormat::Enum,
            Some(other) => {
                let p = self.get(m, "typeFormat").map(|x| x.pos).unwrap_or(v.pos);
                self.err(
                    p,
                    format!("'typeFormat' of {what} is '{other}'; valid: REGISTER, ENUM"),
                );
                return None;
            }
            None => {
                self.err(
                    v.pos,
                    format!("{what} has no 'typeFormat' (REGISTER or ENUM)"),
                );
                return None;
            }
        };
        let mut values = Vec::new();
        for x in self.array(m, "values", &what) {
            match &x.node {
                Node::Str(s) => values.push(s.clone()),
                _ => {
                    let kind = x.kind();
                    self.err(
                        x.pos,
                        format!("values of {what} must be strings, found {kind}"),
                    );
                }
            }
        }
        if format == TypeFormat::Enum && values.is_empty() {
            self.err(v.pos, format!("enum {what} has no 'values'"));
        }
        let extends = match self.get(m, "extends") {
            Some(e) => self.type_ref(e, &format!("'extends' of {what}")),
            None => None,
        };
        Some(ComplexType {
            doc: self.string(m, "doc", &what).unwrap_or_default(),
            properties: self.params(m, "properties", &what),
            format,
            values,
            extends,
            name,
            loc: self.loc(v.pos),
        })
    }

    fn event(&mut self, v: &Spanned) -> Option<Event> {
        let m = self.object(v, "an event")?;
        let name = self.required_name(m, v.pos, "event")?;
        let what = format!("event '{name}'");
        let extends = match self.get(m, "extends") {
            Some(e) => self.type_ref(e, &format!("'extends' of {what}")),
            None => None,
        };
        Some(Event {
            doc: self.string(m, "doc", &what).unwrap_or_default(),
            properties: self.params(m, "properties", &what),
            extends,
            name,
            loc: self.loc(v.pos),
        })
    }

    fn located_string(&mut self, m: Members<'_>, key: &str) -> Option<Located<String>> {
        let pos = self.key_pos(m, key)?;
        let value = self.string(m, key, "the module")?;
        Some(Located {
            value,
            loc: self.loc(pos),
        })
    }

    pub fn document(&mut self, root: &Spanned) -> Document {
        let mut doc = Document {
            file: self.file.clone(),
            name: None,
            version: None,
            kurento_version: None,
            kurento_maven_version: None,
            kurento_npm_version: None,
            repository: None,
            imports: None,
            code: None,
            remote_classes: Vec::new(),
            complex_types: Vec::new(),
            events: Vec::new(),
        };
        let Some(m) = self.object(root, "a kmd file") else {
            return doc;
        };
        doc.name = self.located_string(m, "name");
        doc.version = self.located_string(m, "version");
        doc.kurento_version = self.located_string(m, "kurentoVersion");
        doc.kurento_maven_version = self.string(m, "kurentoMavenVersion", "the module");
        doc.kurento_npm_version = self.string(m, "kurentoNpmVersion", "the module");
        doc.repository = self.string(m, "repository", "the module");
        if let Some(pos) = self.key_pos(m, "imports") {
            let mut imports = Vec::new();
            for i in self.array(m, "imports", "the module") {
                let Some(im) = self.object(i, "an import") else {
                    continue;
                };
                let Some(name) = self.required_name(im, i.pos, "import") else {
                    continue;
                };
                let what = format!("import '{name}'");
                let Some(version) = self.string(im, "version", &what) else {
                    self.err(i.pos, format!("{what} has no 'version'"));
                    continue;
                };
                imports.push(Import {
                    maven_version: self.string(im, "mavenVersion", &what),
                    npm_version: self.string(im, "npmVersion", &what),
                    name,
                    version,
                    loc: self.loc(i.pos),
                });
            }
            doc.imports = Some(Located {
                value: imports,
                loc: self.loc(pos),
            });
        }
        if let Some(c) = self.get(m, "code")
            && self.object(c, "'code'").is_some()
        {
            doc.code = Some(Located {
                value: c.to_value(),
                loc: self.loc(c.pos),
            });
        }
        for c in self.array(m, "remoteClasses", "the module") {
            if let Some(c) = self.remote_class(c) {
                doc.remote_classes.push(c);
            }
        }
        for c in self.array(m, "complexTypes", "the module") {
            if let Some(c) = self.complex_type(c) {
                doc.complex_types.push(c);
            }
        }
        for c in self.array(m, "events", "the module") {
            if let Some(c) = self.event(c) {
                doc.events.push(c);
            }
        }
        doc
    }
}
