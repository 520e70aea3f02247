// SPDX-License-Identifier: MPL-2.0
//! The one error type of the server: a JSON-RPC error object with Kurento's codes, messages and
//! `data.type` strings (server.md §4.2, §9).

use serde_json::{Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
pub const SERVER_ERROR: i64 = -32000;

pub const MARSHALL_ERROR: i64 = 40001;
pub const INVALID_SESSION: i64 = 40007;
pub const MALFORMED_TRANSACTION: i64 = 40008;
pub const NOT_ENOUGH_RESOURCES: i64 = 40009;
pub const MEDIA_OBJECT_NOT_FOUND: i64 = 40101;
pub const MEDIA_OBJECT_EVENT_NOT_SUPPORTED: i64 = 40106;
pub const MEDIA_OBJECT_NOT_AVAILABLE: i64 = 40108;
pub const MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT: i64 = 40109;
pub const MEDIA_OBJECT_TAG_KEY_NOT_FOUND: i64 = 40110;
pub const SERVER_MANAGER_ERROR_KMD_NOT_FOUND: i64 = 40500;

/// `data.type` of a Kurento domain code; codes without a mapped name report `UNDEFINED`.
pub fn kurento_type(code: i64) -> &'static str {
    match code {
        40000 => "MEDIA_ERROR",
        40001 => "MARSHALL_ERROR",
        40002 => "UNMARSHALL_ERROR",
        40003 => "UNEXPECTED_ERROR",
        40004 => "CONNECT_ERROR",
        40005 => "UNSUPPORTED_MEDIA_TYPE",
        40006 => "NOT_IMPLEMENTED",
        40007 => "INVALID_SESSION",
        40008 => "MALFORMED_TRANSACTION",
        40009 => "NOT_ENOUGH_RESOURCES",
        40100 => "MEDIA_OBJECT_TYPE_NOT_FOUND",
        40101 => "MEDIA_OBJECT_NOT_FOUND",
        40104 => "MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND",
        40105 => "MEDIA_OBJECT_METHOD_NOT_FOUND",
        40106 => "MEDIA_OBJECT_EVENT_NOT_SUPPORTED",
        40107 => "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        40108 => "MEDIA_OBJECT_NOT_AVAILABLE",
        40109 => "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT",
        40110 => "MEDIA_OBJECT_TAG_KEY_NOT_FOUND",
        40111 => "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED",
        40200 => "SDP_CREATE_ERROR",
        40201 => "SDP_PARSE_ERROR",
        40202 => "SDP_END_POINT_NO_LOCAL_SDP_ERROR",
        40203 => "SDP_END_POINT_NO_REMOTE_SDP_ERROR",
        40204 => "SDP_END_POINT_GENERATE_OFFER_ERROR",
        40205 => "SDP_END_POINT_PROCESS_OFFER_ERROR",
        40206 => "SDP_END_POINT_PROCESS_ANSWER_ERROR",
        40207 => "SDP_CONFIGURATION_ERROR",
        40208 => "SDP_END_POINT_ALREADY_NEGOTIATED",
        40209 => "SDP_END_POINT_NOT_OFFER_GENERATED",
        40210 => "SDP_END_POINT_ANSWER_ALREADY_PROCCESED",
        40211 => "SDP_END_POINT_CANNOT_CREATE_SESSON",
        40300 => "HTTP_END_POINT_REGISTRATION_ERROR",
        40400 => "ICE_GATHER_CANDIDATES_ERROR",
        40401 => "ICE_ADD_CANDIDATE_ERROR",
        40600 => "URI_PATH_FILE_NOT_FOUND",
        40700 => "PLAYER_SEEK_FAIL",
        _ => "UNDEFINED",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    /// A JSON-RPC-level error (no `data`).
    pub fn plain(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// A Kurento domain error with `data.type`.
    pub fn kurento(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: Some(json!({ "type": kurento_type(code) })),
        }
    }

    pub fn parse_error() -> Self {
        Self::plain(PARSE_ERROR, "Parse error.")
    }

    pub fn invalid_request() -> Self {
        Self::plain(INVALID_REQUEST, "Invalid JSON-RPC request.")
    }

    pub fn method_not_found() -> Self {
        Self::plain(METHOD_NOT_FOUND, "Method not found.")
    }

    pub fn params_required() -> Self {
        RpcError {
            code: INVALID_PARAMS,
            message: "'params' is required".into(),
            data: Some(json!({"type": "INVALID_PARAMS"})),
        }
    }

    pub fn member_required(name: &str) -> Self {
        Self::plain(SERVER_ERROR, format!("'{name}' parameter is required"))
    }

    pub fn member_kind(name: &str, kind: &str) -> Self {
        Self::plain(SERVER_ERROR, format!("'{name}' parameter should be {kind}"))
    }

    pub fn object_not_found(id: &str) -> Self {
        if id.starts_with("newref:") {
            return Self::kurento(
                MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT,
                format!(
                    "Object '{id}' not found: 'newref:' ids are only valid inside a transaction"
                ),
            );
        }
        Self::kurento(MEDIA_OBJECT_NOT_FOUND, format!("Object '{id}' not found"))
    }

    pub fn invalid_session() -> Self {
        Self::kurento(INVALID_SESSION, "Invalid session")
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::plain(
            INTERNAL_ERROR,
            format!("Unexpected error while processing method: {what}"),
        )
    }

    /// Reads an error object as a module replies it (`{"code","message","data"}`); anything
    /// malformed becomes an internal error rather than being passed on.
    pub fn from_module(v: &Value) -> Self {
        match (v.get("code").and_then(Value::as_i64), v.get("message")) {
            (Some(code), Some(Value::String(message))) => RpcError {
                code,
                message: message.clone(),
                data: v.get("data").cloned(),
            },
            _ => Self::internal("module returned a malformed error"),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.data {
            e["data"] = d.clone();
        }
        e
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}
