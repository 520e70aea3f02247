// SPDX-License-Identifier: MPL-2.0
//! The behaviour of Kurento's core classes, implemented once on GStreamer and linked into every
//! module library (DESIGN.md rule 5): [`MediaObject`] (id, name, tags, parent, children, creation
//! time, event raising), [`MediaPipeline`] (one `GstPipeline` each), [`MediaElement`] (a plain
//! bin with Kurento's pad naming, connect/disconnect by media type, media-flow and error
//! events, stats, Graphviz dumps), [`pass_through`] and the filter wrapper [`filter_spec`].
//! Media may cross between elements encoded (a WebRTC endpoint forwards what it receives):
//! raw consumers decode on their input ([`decoder`], [`CapsSwitch`]), and
//! `isMediaTranscoding` reports the encoders and decoders actually in an element.
//!
//! Everything here is plain Rust over stock GStreamer elements: no GObject subclass is
//! registered (DESIGN.md rule 2), so several modules can each carry their own copy. Objects of
//! different modules cooperate only through GStreamer itself: an element's bin is named by its
//! object id and added to its pipeline, sink pads are `sink_<type>_<description>`, source pads
//! `<type>_src_<description>_<n>`, so any copy can connect to, list and disconnect any element.

mod codec;
mod config;
mod dispatch;
mod element;
mod error;
mod flow;
mod object;
mod pipeline;

pub use codec::{
    CapsSwitch, caps_kind, decode_plan, decoder, find_decoder, is_codec, is_raw, request_key_unit,
};
pub use config::class_config;
pub use dispatch::{Resolver, invoke_media_object};
pub use element::{Branch, ConnectionData, ElementSpec, MediaElement, filter_spec, pass_through};
pub use error::CoreError;
pub use object::{EventBase, EventEmitter, MediaObject, SubscriptionGate};
pub use pipeline::MediaPipeline;

pub use gst;

/// Kurento's `MediaType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Audio,
    Video,
    Data,
}

impl MediaType {
    pub const ALL: [MediaType; 3] = [MediaType::Audio, MediaType::Video, MediaType::Data];

    /// The literal used on the wire (`AUDIO`, `VIDEO`, `DATA`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Audio => "AUDIO",
            MediaType::Video => "VIDEO",
            MediaType::Data => "DATA",
        }
    }

    /// The word used in pad names (`audio`, `video`, `data`).
    pub fn pad_word(self) -> &'static str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Data => "data",
        }
    }

    pub fn parse(s: &str) -> Result<MediaType, CoreError> {
        match s {
            "AUDIO" => Ok(MediaType::Audio),
            "VIDEO" => Ok(MediaType::Video),
            "DATA" => Ok(MediaType::Data),
            _ => Err(CoreError::marshall("Invalid value for 'MediaType'")),
        }
    }

    fn from_pad_word(s: &str) -> Option<MediaType> {
        match s {
            "audio" => Some(MediaType::Audio),
            "video" => Some(MediaType::Video),
            "data" => Some(MediaType::Data),
            _ => None,
        }
    }
}

/// Initializes GStreamer once for this copy of the runtime (idempotent in the C library).
pub fn init() -> Result<(), CoreError> {
    gst::init().map_err(|e| CoreError::unexpected(format!("GStreamer cannot start: {e}")))
}

/// Milliseconds since the Unix epoch as a decimal string, as Kurento's events carry them.
pub fn timestamp_millis() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string()
}

/// Parses the `details` argument of `getGstreamerDot` (`GstreamerDotDetails`, default
/// `SHOW_VERBOSE`).
pub fn dot_details(details: Option<&str>) -> Result<gst::DebugGraphDetails, CoreError> {
    use gst::DebugGraphDetails as D;
    Ok(match details.unwrap_or("SHOW_VERBOSE") {
        "SHOW_MEDIA_TYPE" => D::MEDIA_TYPE,
        "SHOW_CAPS_DETAILS" => D::CAPS_DETAILS,
        "SHOW_NON_DEFAULT_PARAMS" => D::NON_DEFAULT_PARAMS,
        "SHOW_STATES" => D::STATES,
        "SHOW_FULL_PARAMS" => D::FULL_PARAMS,
        "SHOW_ALL" => D::ALL,
        "SHOW_VERBOSE" => D::VERBOSE,
        _ => {
            return Err(CoreError::marshall(
                "Invalid value for 'GstreamerDotDetails'",
            ));
        }
    })
}
