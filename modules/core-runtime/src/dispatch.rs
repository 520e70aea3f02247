// SPDX-License-Identifier: MPL-2.0
//! The operations of core's `MediaObject`, `MediaElement` and `MediaPipeline` by name, with
//! Kurento's parameter checks (server.md §7, §10): for objects whose class comes from another
//! module, whose generated dispatcher leaves these inherited operations to the implementation
//! (`ModuleObject::invoke_inherited`). `None` means "not a core operation".

use serde_json::{Value, json};

use crate::{CoreError, MediaElement, MediaObject, MediaPipeline, MediaType};

/// `operationParams` read with Kurento's messages.
struct Params<'a>(&'a Value);

impl Params<'_> {
    /// Checks the container: required when the operation has a required parameter.
    fn check(&self, has_required: bool) -> Result<(), CoreError> {
        match self.0 {
            Value::Null if has_required => {
                Err(CoreError::marshall("'operationParams' is required"))
            }
            Value::Null | Value::Object(_) => Ok(()),
            _ => Err(CoreError::marshall("'operationParams' should be an object")),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn kind(name: &str, kind: &str) -> CoreError {
        CoreError::marshall(format!("'{name}' parameter should be a {kind}"))
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, CoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(Self::kind(name, "string")),
        }
    }

    fn string(&self, name: &str) -> Result<String, CoreError> {
        self.opt_string(name)?
            .ok_or_else(|| Self::kind(name, "string"))
    }

    fn boolean(&self, name: &str) -> Result<bool, CoreError> {
        match self.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(Self::kind(name, "boolean")),
        }
    }

    fn int(&self, name: &str) -> Result<i32, CoreError> {
        let v = match self.get(name) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        v.and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| Self::kind(name, "integer"))
    }

    fn opt_media(&self, name: &str) -> Result<Option<MediaType>, CoreError> {
        self.opt_string(name)?
            .map(|s| MediaType::parse(&s))
            .transpose()
    }

    fn media(&self, name: &str) -> Result<MediaType, CoreError> {
        self.opt_media(name)?
            .ok_or_else(|| Self::kind(name, "string"))
    }
}

fn void(r: Result<(), CoreError>) -> Result<Value, CoreError> {
    r.map(|_| Value::Null)
}

/// `MediaObject` operations; `children` lists the object's children when asked.
pub fn invoke_media_object(
    obj: &MediaObject,
    children: impl FnOnce() -> Vec<String>,
    op: &str,
    params: &Value,
) -> Option<Result<Value, CoreError>> {
    let p = Params(params);
    let required = matches!(
        op,
        "setName" | "setSendTagsInEvents" | "addTag" | "removeTag" | "getTag"
    );
    let run = || -> Result<Value, CoreError> {
        p.check(required)?;
        Ok(match op {
            "getId" => json!(obj.id()),
            "getName" => json!(obj.name()),
            "setName" => {
                obj.set_name(&p.string("name")?);
                Value::Null
            }
            "getMediaPipeline" => json!(obj.pipeline_id()),
            "getParent" => json!(obj.parent_id()),
            "getChildren" => json!(children()),
            "getCreationTime" => json!(obj.creation_time()),
            "getSendTagsInEvents" => json!(obj.send_tags_in_events()),
            "setSendTagsInEvents" => {
                obj.set_send_tags_in_events(p.boolean("sendTagsInEvents")?);
                Value::Null
            }
            "addTag" => {
                obj.add_tag(&p.string("key")?, &p.string("value")?);
                Value::Null
            }
            "removeTag" => {
                obj.remove_tag(&p.string("key")?);
                Value::Null
            }
            "getTag" => json!(obj.get_tag(&p.string("key")?)?),
            _ => obj.get_tags(), // getTags
        })
    };
    matches!(
        op,
        "getId"
            | "getName"
            | "setName"
            | "getMediaPipeline"
            | "getParent"
            | "getChildren"
            | "getCreationTime"
            | "getSendTagsInEvents"
            | "setSendTagsInEvents"
            | "addTag"
            | "removeTag"
            | "getTag"
            | "getTags"
    )
    .then(run)
}

/// Resolves an object id (a `sink` parameter) to its GStreamer element, through the host.
pub type Resolver<'a> = &'a dyn Fn(&str) -> Result<gst::Element, CoreError>;

impl MediaElement {
    /// `MediaElement` and `MediaObject` operations of this element.
    pub fn invoke_inherited(
        &self,
        op: &str,
        params: &Value,
        resolve: Resolver<'_>,
    ) -> Option<Result<Value, CoreError>> {
        if let Some(r) = invoke_media_object(self.object(), || self.children(), op, params) {
            return Some(r);
        }
        let p = Params(params);
        let required = matches!(
            op,
            "connect"
                | "disconnect"
                | "isMediaFlowingIn"
                | "isMediaFlowingOut"
                | "isMediaTranscoding"
                | "setEncoderBitrate"
                | "setMinEncoderBitrate"
                | "setMaxEncoderBitrate"
                | "setAudioFormat"
                | "setVideoFormat"
        );
        let bitrate = |name: &str| match name {
            "EncoderBitrate" => Some(0),
            "MinEncoderBitrate" => Some(1),
            "MaxEncoderBitrate" => Some(2),
            _ => None,
        };
        let run = || -> Result<Value, CoreError> {
            p.check(required)?;
            match op {
                "connect" | "disconnect" => {
                    let sink = resolve(&p.string("sink")?)?;
                    // Present optional parameters are always checked; by the overload rule an
                    // optional parameter only counts when all earlier ones were given.
                    let media = p.opt_media("mediaType")?;
                    let src = p.opt_string("sourceMediaDescription")?;
                    let sink_desc = p.opt_string("sinkMediaDescription")?;
                    let src = media.and(src);
                    let sink_desc = src
                        .as_ref()
                        .and(sink_desc)
                        .unwrap_or_else(|| "default".into());
                    let src = src.unwrap_or_else(|| "default".into());
                    void(if op == "connect" {
                        self.connect(&sink, media, &src, &sink_desc)
                    } else {
                        self.disconnect(&sink, media, &src, &sink_desc)
                    })
                }
                "getSourceConnections" | "getSinkConnections" => {
                    let media = p.opt_media("mediaType")?;
                    let desc = p.opt_string("description")?;
                    let desc = media.and(desc);
                    let list = if op == "getSourceConnections" {
                        self.source_connections(media, desc.as_deref())
                    } else {
                        self.sink_connections(media, desc.as_deref())
                    };
                    Ok(Value::Array(list.iter().map(|c| c.to_json()).collect()))
                }
                "isMediaFlowingIn" | "isMediaFlowingOut" | "isMediaTranscoding" => {
                    let media = p.media("mediaType")?;
                    let key = match op {
                        "isMediaFlowingIn" => "sinkMediaDescription",
                        "isMediaFlowingOut" => "sourceMediaDescription",
                        _ => "binName",
                    };
                    let desc = p.opt_string(key)?.unwrap_or_else(|| "default".into());
                    Ok(json!(match op {
                        "isMediaFlowingIn" => self.is_media_flowing_in(media, &desc),
                        "isMediaFlowingOut" => self.is_media_flowing_out(media, &desc),
                        _ => self.is_media_transcoding(media, &desc),
                    }))
                }
                "getGstreamerDot" => Ok(json!(
                    self.gstreamer_dot(p.opt_string("details")?.as_deref())?
                )),
                "dumpGstreamerDot" => {
                    let details = crate::dot_details(p.opt_string("details")?.as_deref())?;
                    dump_dot(self.bin(), details, self.object().id());
                    Ok(Value::Null)
                }
                "getStats" => Ok(self.stats(p.opt_media("mediaType")?)),
                "setAudioFormat" | "setVideoFormat" => Err(CoreError::new(
                    40006,
                    "NOT_IMPLEMENTED",
                    format!("{op} is not supported by this server"),
                )),
                _ => {
                    let (set, which) = match (op.strip_prefix("get"), op.strip_prefix("set")) {
                        (Some(n), _) => (false, bitrate(n)),
                        (_, Some(n)) => (true, bitrate(n)),
                        _ => (false, None),
                    };
                    let which = which.ok_or_else(|| CoreError::unexpected("unreachable"))?;
                    if set {
                        let name = format!("{}{}", op[3..4].to_lowercase(), &op[4..]);
                        self.set_bitrate(which, p.int(&name)?);
                        Ok(Value::Null)
                    } else {
                        Ok(json!(self.bitrate(which)))
                    }
                }
            }
        };
        let known = matches!(
            op,
            "connect"
                | "disconnect"
                | "getSourceConnections"
                | "getSinkConnections"
                | "isMediaFlowingIn"
                | "isMediaFlowingOut"
                | "isMediaTranscoding"
                | "getGstreamerDot"
                | "dumpGstreamerDot"
                | "getStats"
                | "setAudioFormat"
                | "setVideoFormat"
        ) || op
            .strip_prefix("get")
            .or_else(|| op.strip_prefix("set"))
            .and_then(bitrate)
            .is_some();
        known.then(run)
    }
}

fn dump_dot(bin: &impl gst::prelude::IsA<gst::Bin>, details: gst::DebugGraphDetails, id: &str) {
    use gst::prelude::*;
    // GStreamer writes only when GST_DEBUG_DUMP_DOT_DIR is set; file names cannot hold '/'.
    bin.as_ref()
        .debug_to_dot_file(details, id.replace('/', "_"));
}

impl MediaPipeline {
    /// `MediaPipeline` and `MediaObject` operations of this pipeline.
    pub fn invoke_inherited(&self, op: &str, params: &Value) -> Option<Result<Value, CoreError>> {
        if let Some(r) = invoke_media_object(self.object(), || self.children(), op, params) {
            return Some(r);
        }
        let p = Params(params);
        let run = || -> Result<Value, CoreError> {
            p.check(op == "setLatencyStats")?;
            Ok(match op {
                "getGstreamerDot" => {
                    json!(self.gstreamer_dot(p.opt_string("details")?.as_deref())?)
                }
                "dumpGstreamerDot" => {
                    let details = crate::dot_details(p.opt_string("details")?.as_deref())?;
                    dump_dot(self.gst_pipeline(), details, self.object().id());
                    Value::Null
                }
                "getLatencyStats" => json!(self.latency_stats()),
                _ => {
                    self.set_latency_stats(p.boolean("latencyStats")?);
                    Value::Null
                }
            })
        };
        matches!(
            op,
            "getGstreamerDot" | "dumpGstreamerDot" | "getLatencyStats" | "setLatencyStats"
        )
        .then(run)
    }
}
