// SPDX-License-Identifier: MPL-2.0
//! Errors with Kurento's codes and `data.type` strings, as modules reply them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreError {
    pub code: i64,
    pub error_type: &'static str,
    pub message: String,
}

impl CoreError {
    pub fn new(code: i64, error_type: &'static str, message: impl Into<String>) -> Self {
        CoreError {
            code,
            error_type,
            message: message.into(),
        }
    }

    pub fn marshall(message: impl Into<String>) -> Self {
        Self::new(40001, "MARSHALL_ERROR", message)
    }

    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::new(40003, "UNEXPECTED_ERROR", message)
    }

    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(40004, "CONNECT_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(40101, "MEDIA_OBJECT_NOT_FOUND", message)
    }

    pub fn not_available(message: impl Into<String>) -> Self {
        Self::new(40108, "MEDIA_OBJECT_NOT_AVAILABLE", message)
    }

    pub fn tag_not_found() -> Self {
        Self::new(40110, "MEDIA_OBJECT_TAG_KEY_NOT_FOUND", "Tag key not found")
    }

    /// The JSON-RPC error object (`{"code","message","data":{"type"}}`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code, "message": self.message, "data": {"type": self.error_type}})
    }
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.message, self.code, self.error_type)
    }
}

impl std::error::Error for CoreError {}
