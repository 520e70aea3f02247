// SPDX-License-Identifier: MPL-2.0
//! The boundary between `kurento-media-server` and a module library (DESIGN.md rule 3).
//!
//! A module is a `cdylib` that exports one symbol, [`ENTRY_POINT`], returning a pointer to a
//! static [`ModuleVTable`]. Everything else crosses as:
//! * JSON text (NUL-terminated UTF-8) for parameters, results, errors and events;
//! * opaque [`ObjectHandle`]s for objects a module created;
//! * GObject pointers (`GstElement *`) for media, which are reference-counted C objects and so
//!   safe to share between two Rust copies of gstreamer-rs.
//!
//! Strings a module returns are owned by the module and freed with its `free_string`; strings
//! the host passes in are borrowed for the duration of the call. No Rust type crosses, so a
//! module built by a different compiler version still loads. Panics never cross: the module
//! side wraps each call in [`guard`].
//!
//! Reply format of `create` and `invoke`: `{"value": <json>}` on success or
//! `{"error": {"code": <int>, "message": <string>, "data": {"type": <string>}}}`, the
//! JSON-RPC error object the server sends as is.
//!
//! This is version 1: a change to any struct below bumps [`ABI_VERSION`], and the server refuses
//! modules of another version with a clear message.

use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use serde_json;

pub const ABI_VERSION: u32 = 1;

/// The one symbol a module exports: `extern "C" fn kurento_module_entry() -> *const ModuleVTable`.
pub const ENTRY_POINT: &[u8] = b"kurento_module_entry\0";

pub type EntryPoint = unsafe extern "C" fn() -> *const ModuleVTable;

/// An object created by a module. Only that module can interpret it.
pub type ObjectHandle = *mut c_void;

/// What the host offers a module for the lifetime of an object.
#[repr(C)]
pub struct HostApi {
    /// Opaque host state passed back to every callback.
    pub ctx: *const c_void,
    /// Raises an event: `event_json` is `{"type": <event name>, "data": <event object>}`;
    /// the host adds the source `object` id and delivers `onEvent` to subscribed sessions.
    /// Never blocks on a client.
    pub emit_event: unsafe extern "C" fn(
        ctx: *const c_void,
        object_id: *const c_char,
        event_json: *const c_char,
    ),
    /// Resolves an object id (as found in parameters) to the module and handle that own it.
    /// Returns a null `module` when the id is unknown.
    pub resolve_object:
        unsafe extern "C" fn(ctx: *const c_void, object_id: *const c_char) -> ObjectRef,
}

// The host guarantees the callbacks are callable from any thread.
unsafe impl Send for HostApi {}
unsafe impl Sync for HostApi {}

/// A reference to another object, possibly owned by another module.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ObjectRef {
    pub module: *const ModuleVTable,
    pub handle: ObjectHandle,
}

/// What a module exports. All strings are static and NUL-terminated.
#[repr(C)]
pub struct ModuleVTable {
    pub abi_version: u32,
    /// Descriptor `name`, e.g. `core`, `filters`, `chroma`.
    pub name: *const c_char,
    pub version: *const c_char,
    pub generation_time: *const c_char,
    /// The resolved descriptor (kmd-format.md §11), compact JSON.
    pub descriptor_json: *const c_char,
    /// Creates an object of a non-abstract class (bare name) from `constructorParams` JSON.
    /// The host chooses the id (it knows the parent). On success stores the handle in `out`
    /// and replies `{"value": null}`.
    pub create: unsafe extern "C" fn(
        host: *const HostApi,
        class_name: *const c_char,
        object_id: *const c_char,
        params_json: *const c_char,
        out: *mut ObjectHandle,
    ) -> *mut c_char,
    /// Invokes a method or `get<Prop>`/`set<Prop>` with `operationParams` JSON.
    pub invoke: unsafe extern "C" fn(
        object: ObjectHandle,
        operation: *const c_char,
        params_json: *const c_char,
    ) -> *mut c_char,
    /// Starts delivering events of `event_type` through `emit_event`. Replies `{"value": true}`
    /// when the class (or an ancestor) has that event, `{"value": false}` otherwise.
    pub subscribe:
        unsafe extern "C" fn(object: ObjectHandle, event_type: *const c_char) -> *mut c_char,
    /// The object's GStreamer element (a `GstElement *`, borrowed, not a new reference), or
    /// null for objects that have none (e.g. `ServerManager`).
    pub gst_element: unsafe extern "C" fn(object: ObjectHandle) -> *mut c_void,
    /// Releases the object; the handle is invalid afterwards.
    pub release: unsafe extern "C" fn(object: ObjectHandle),
    /// Frees a string returned by `create`, `invoke` or `subscribe`.
    pub free_string: unsafe extern "C" fn(s: *mut c_char),
}

unsafe impl Send for ModuleVTable {}
unsafe impl Sync for ModuleVTable {}

/// A JSON-RPC error as modules report it.
pub fn error_reply(code: i64, error_type: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"code": code, "message": message, "data": {"type": error_type}}})
}

/// Turns a reply into an owned C string for the host. Interior NULs cannot occur in JSON text.
pub fn into_c_string(reply: &serde_json::Value) -> *mut c_char {
    CString::new(reply.to_string())
        .unwrap_or_else(|_| {
            CString::from(c"{\"error\":{\"code\":-32603,\"message\":\"reply contained NUL\"}}")
        })
        .into_raw()
}

/// Frees a string made by [`into_c_string`]; modules export this as `free_string`.
///
/// # Safety
/// `s` must come from [`into_c_string`] of the same module, and be freed once.
pub unsafe extern "C" fn free_c_string(s: *mut c_char) {
    if !s.is_null() {
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Borrows a C string argument as `&str`.
///
/// # Safety
/// `s` must be null or a valid NUL-terminated string living for the call.
pub unsafe fn borrow_str<'a>(s: *const c_char) -> Result<&'a str, serde_json::Value> {
    if s.is_null() {
        return Err(error_reply(
            -32603,
            "UNEXPECTED_ERROR",
            "null string across the module ABI",
        ));
    }
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| error_reply(-32603, "UNEXPECTED_ERROR", "string is not UTF-8"))
}

/// Runs one ABI call, turning a panic into a JSON-RPC error instead of unwinding into C.
pub fn guard(call: impl FnOnce() -> serde_json::Value) -> *mut c_char {
    let reply = catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        error_reply(
            -32603,
            "UNEXPECTED_ERROR",
            &format!("Unexpected error while processing method: {what}"),
        )
    });
    into_c_string(&reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_panics_into_errors() {
        let s = guard(|| panic!("boom"));
        let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_owned();
        unsafe { free_c_string(s) };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], -32603);
        assert!(v["error"]["message"].as_str().unwrap().ends_with("boom"));
    }

    #[test]
    fn borrow_rejects_null() {
        assert!(unsafe { borrow_str(std::ptr::null()) }.is_err());
        assert_eq!(unsafe { borrow_str(c"x".as_ptr()) }.unwrap(), "x");
    }
}
