// SPDX-License-Identifier: MPL-2.0
//! A hand-written module library for the server's tests: it implements the module ABI directly
//! (no generated code) for a handful of classes backed by `kurento-core-runtime`, plus `Crasher`,
//! whose `explode` method panics. It is inert unless `KURENTO_TEST_FIXTURE_MODULE` is set, so a
//! server scanning the build tree in production never offers it.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use kurento_core_runtime::gst::glib::translate::FromGlibPtrNone;
use kurento_core_runtime::gst::prelude::*;
use kurento_core_runtime::{
    Branch, CoreError, ElementSpec, MediaElement, MediaObject, MediaPipeline, gst,
    invoke_media_object, pass_through,
};
use kurento_module_abi::serde_json::{self, Map, Value, json};
use kurento_module_abi::{
    ABI_VERSION, HostApi, ModuleVTable, ObjectHandle, borrow_str, error_reply, free_c_string, guard,
};

const DESCRIPTOR: &str = r#"{"name":"fixture","version":"1.2.3","kurentoVersion":"^7.0.0","imports":[],
"code":{},"remoteClasses":[
 {"name":"Base","abstract":true,"properties":[{"name":"name","type":"String"}],
  "methods":[{"name":"echo","params":[{"name":"text","type":"String"}],"return":{"type":"String"}}],
  "events":["Error"]},
 {"name":"Pipeline","extends":"Base","constructor":{"params":[]},
  "methods":[{"name":"getGstreamerDot","params":[],"return":{"type":"String"}}]},
 {"name":"Element","extends":"Base","abstract":true,
  "methods":[{"name":"connect","params":[{"name":"sink","type":"Element"},{"name":"mediaType","type":"String","optional":true}]},
   {"name":"disconnect","params":[{"name":"sink","type":"Element"}]},
   {"name":"isMediaFlowingIn","params":[{"name":"mediaType","type":"String"}],"return":{"type":"boolean"}},
   {"name":"getSourceConnections","params":[],"return":{"type":"String[]"}},
   {"name":"postError","params":[]}],
  "events":["ElementConnected","ElementDisconnected","MediaFlowInStateChanged","MediaFlowOutStateChanged"]},
 {"name":"Source","extends":"Element","constructor":{"params":[{"name":"mediaPipeline","type":"Pipeline"}]}},
 {"name":"Pass","extends":"Element","constructor":{"params":[{"name":"mediaPipeline","type":"Pipeline"}]}},
 {"name":"Crasher","extends":"Base","constructor":{"params":[{"name":"panicOnCreate","type":"boolean","optional":true,"defaultValue":false}]},
  "methods":[{"name":"explode","params":[]}]}
],"complexTypes":[],"events":[
 {"name":"Error","properties":[]},{"name":"ElementConnected","properties":[]},
 {"name":"ElementDisconnected","properties":[]},{"name":"MediaFlowInStateChanged","properties":[]},
 {"name":"MediaFlowOutStateChanged","properties":[]}]}"#;

enum Obj {
    Pipeline(Arc<MediaPipeline>),
    Element(Arc<MediaElement>, &'static [&'static str]),
    Crasher(MediaObject),
}

const ELEMENT_EVENTS: &[&str] = &[
    "Error",
    "ElementConnected",
    "ElementDisconnected",
    "MediaFlowInStateChanged",
    "MediaFlowOutStateChanged",
];

impl Obj {
    fn object(&self) -> &MediaObject {
        match self {
            Obj::Pipeline(p) => p.object(),
            Obj::Element(e, _) => e.object(),
            Obj::Crasher(o) => o,
        }
    }
}

fn err(e: CoreError) -> Value {
    json!({"error": e.to_json()})
}

fn marshall(name: &str, kind: &str) -> Value {
    error_reply(
        40001,
        "MARSHALL_ERROR",
        &format!("'{name}' parameter should be {kind}"),
    )
}

fn str_param<'a>(params: &'a Value, name: &str) -> Result<&'a str, Value> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| marshall(name, "a string"))
}

/// Raises events through the host, naming this object.
fn emitter(host: *const HostApi, id: &str) -> kurento_core_runtime::EventEmitter {
    let host = host as usize;
    let id = CString::new(id).unwrap_or_default();
    Arc::new(move |event, data| {
        let host = unsafe { &*(host as *const HostApi) };
        let text =
            CString::new(json!({"type": event, "data": data}).to_string()).unwrap_or_default();
        unsafe { (host.emit_event)(host.ctx, id.as_ptr(), text.as_ptr()) };
    })
}

/// The GStreamer element of another object (any module), resolved through the host.
fn resolve_element(host: *const HostApi, id: &str) -> Result<gst::Element, Value> {
    let cid = CString::new(id).unwrap_or_default();
    let host = unsafe { &*host };
    let r = unsafe { (host.resolve_object)(host.ctx, cid.as_ptr()) };
    if r.module.is_null() {
        return Err(error_reply(
            40101,
            "MEDIA_OBJECT_NOT_FOUND",
            &format!("Object '{id}' not found"),
        ));
    }
    let ptr = unsafe { ((*r.module).gst_element)(r.handle) };
    if ptr.is_null() {
        return Err(error_reply(
            40001,
            "MARSHALL_ERROR",
            &format!("'{id}' is not a media object"),
        ));
    }
    Ok(unsafe { gst::Element::from_glib_none(ptr as *mut gst::ffi::GstElement) })
}

struct Handle {
    host: *const HostApi,
    obj: Obj,
}

unsafe extern "C" fn create(
    host: *const HostApi,
    class_name: *const c_char,
    object_id: *const c_char,
    params_json: *const c_char,
    out: *mut ObjectHandle,
) -> *mut c_char {
    guard(|| {
        let (class, id, params) = match unsafe {
            (
                borrow_str(class_name),
                borrow_str(object_id),
                borrow_str(params_json),
            )
        } {
            (Ok(c), Ok(i), Ok(p)) => (c, i, p),
            _ => return error_reply(-32603, "UNEXPECTED_ERROR", "bad strings"),
        };
        let params: Value = serde_json::from_str(params).unwrap_or(Value::Null);
        let obj = MediaObject::new(id, emitter(host, id));
        let made = match class {
            "Pipeline" => MediaPipeline::new(obj).map(Obj::Pipeline).map_err(err),
            "Source" | "Pass" => (|| {
                let pid = str_param(&params, "mediaPipeline")?;
                let pipeline = resolve_element(host, pid)?
                    .downcast::<gst::Pipeline>()
                    .map_err(|_| marshall("mediaPipeline", "a MediaPipeline"))?;
                let spec = if class == "Pass" {
                    pass_through()
                } else {
                    let src = gst::ElementFactory::make("videotestsrc")
                        .property("is-live", true)
                        .build()
                        .map_err(|_| {
                            error_reply(40108, "MEDIA_OBJECT_NOT_AVAILABLE", "no videotestsrc")
                        })?;
                    ElementSpec {
                        audio: Branch::None,
                        data: Branch::None,
                        video: Branch::Chain {
                            elements: vec![src],
                            input: false,
                            output: true,
                        },
                    }
                };
                MediaElement::new(obj, &pipeline, spec)
                    .map(|e| Obj::Element(e, ELEMENT_EVENTS))
                    .map_err(err)
            })(),
            "Crasher" => {
                if params.get("panicOnCreate") == Some(&Value::Bool(true)) {
                    panic!("crashed while creating");
                }
                Ok(Obj::Crasher(obj))
            }
            _ => Err(error_reply(
                40108,
                "MEDIA_OBJECT_NOT_AVAILABLE",
                &format!("Factory '{class}' not found"),
            )),
        };
        match made {
            Ok(obj) => {
                unsafe { *out = Box::into_raw(Box::new(Handle { host, obj })) as ObjectHandle };
                json!({"value": null})
            }
            Err(e) => e,
        }
    })
}

/// The fixture's own operations, then the core ones of `kurento-core-runtime`.
fn dispatch(h: &Handle, op: &str, params: &Value) -> Result<Value, Value> {
    match (op, &h.obj) {
        ("echo", _) => return Ok(json!(str_param(params, "text")?)),
        ("explode", Obj::Crasher(_)) => panic!("kaboom"),
        ("postError", Obj::Element(e, _)) => {
            // As if an element inside the bin failed to open its resource.
            let child = e
                .bin()
                .children()
                .into_iter()
                .next()
                .ok_or_else(|| marshall("bin", "non-empty"))?;
            let _ = child.post_message(
                gst::message::Error::builder(
                    gst::ResourceError::OpenRead,
                    "cannot open the test resource",
                )
                .src(&child)
                .debug("fixture")
                .build(),
            );
            return Ok(Value::Null);
        }
        _ => {}
    }
    let resolve = |id: &str| {
        resolve_element(h.host, id).map_err(|e| {
            CoreError::new(
                e["error"]["code"].as_i64().unwrap_or(40101),
                "MEDIA_OBJECT_NOT_FOUND",
                e["error"]["message"].as_str().unwrap_or_default(),
            )
        })
    };
    let inherited = match &h.obj {
        Obj::Pipeline(p) => p.invoke_inherited(op, params),
        Obj::Element(e, _) => e.invoke_inherited(op, params, &resolve),
        Obj::Crasher(o) => invoke_media_object(o, Vec::new, op, params),
    };
    match inherited {
        Some(r) => r.map_err(err),
        None => {
            let n = params.as_object().map_or(0, Map::len);
            Err(error_reply(
                40008,
                "MALFORMED_TRANSACTION",
                &format!("Method '{op}' with {n} parameters not found"),
            ))
        }
    }
}

unsafe extern "C" fn invoke(
    object: ObjectHandle,
    operation: *const c_char,
    params_json: *const c_char,
) -> *mut c_char {
    guard(|| {
        let h = unsafe { &*(object as *const Handle) };
        let (Ok(op), Ok(p)) = (unsafe { borrow_str(operation) }, unsafe {
            borrow_str(params_json)
        }) else {
            return error_reply(-32603, "UNEXPECTED_ERROR", "bad strings");
        };
        let params: Value = serde_json::from_str(p).unwrap_or(Value::Null);
        match dispatch(h, op, &params) {
            Ok(v) => json!({"value": v}),
            Err(e) => e,
        }
    })
}

unsafe extern "C" fn subscribe(object: ObjectHandle, event_type: *const c_char) -> *mut c_char {
    guard(|| {
        let h = unsafe { &*(object as *const Handle) };
        let Ok(ev) = (unsafe { borrow_str(event_type) }) else {
            return json!({"value": false});
        };
        let ok = match &h.obj {
            Obj::Element(_, events) => events.contains(&ev),
            _ => ev == "Error",
        };
        if ok {
            h.obj.object().subscribe(ev);
        }
        json!({"value": ok})
    })
}

unsafe extern "C" fn gst_element(object: ObjectHandle) -> *mut c_void {
    let h = unsafe { &*(object as *const Handle) };
    match &h.obj {
        Obj::Pipeline(p) => p.element_ptr(),
        Obj::Element(e, _) => e.element_ptr(),
        Obj::Crasher(_) => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn release(object: ObjectHandle) {
    let h = unsafe { Box::from_raw(object as *mut Handle) };
    match &h.obj {
        Obj::Pipeline(p) => p.release(),
        Obj::Element(e, _) => e.release(),
        Obj::Crasher(_) => {}
    }
}

struct Strings {
    name: CString,
    version: CString,
    time: CString,
    descriptor: CString,
}

static STRINGS: std::sync::LazyLock<Strings> = std::sync::LazyLock::new(|| Strings {
    name: CString::new("fixture").unwrap_or_default(),
    version: CString::new("1.2.3").unwrap_or_default(),
    time: CString::new("Jan 1 2026 00:00:00").unwrap_or_default(),
    descriptor: CString::new(DESCRIPTOR).unwrap_or_default(),
});

static VTABLE: std::sync::LazyLock<ModuleVTable> = std::sync::LazyLock::new(|| ModuleVTable {
    abi_version: ABI_VERSION,
    name: STRINGS.name.as_ptr(),
    version: STRINGS.version.as_ptr(),
    generation_time: STRINGS.time.as_ptr(),
    descriptor_json: STRINGS.descriptor.as_ptr(),
    create,
    invoke,
    subscribe,
    gst_element,
    release,
    free_string: free_c_string,
});

/// The same module claiming a future ABI version, for the loader's version check.
static FUTURE_VTABLE: std::sync::LazyLock<ModuleVTable> =
    std::sync::LazyLock::new(|| ModuleVTable {
        abi_version: ABI_VERSION + 1,
        ..*VTABLE
    });

/// The module entry point; null (not a module) unless the test environment asks for it
/// (`KURENTO_TEST_FIXTURE_MODULE=1`, or `=future-abi` to pose as a module of another ABI).
#[unsafe(no_mangle)]
pub extern "C" fn kurento_module_entry() -> *const ModuleVTable {
    match std::env::var("KURENTO_TEST_FIXTURE_MODULE").as_deref() {
        Ok("future-abi") => &*FUTURE_VTABLE,
        Ok(_) => {
            let _ = kurento_core_runtime::init();
            &*VTABLE
        }
        Err(_) => std::ptr::null(),
    }
}
