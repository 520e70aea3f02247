// SPDX-License-Identifier: MPL-2.0
//! Kurento module `core` (`libkmscoremodule.so`): the creatable classes `MediaPipeline` and
//! `PassThrough` (`HubPort` answers 40006: no hub of this server makes ports yet). The generated
//! dispatcher checks the parameters of every operation of core's classes and calls the trait
//! methods below; each of them hands the operation to `kurento-core-runtime`, the one
//! implementation of MediaObject / MediaElement / MediaPipeline that every module links
//! (DESIGN rule 5), so a `PassThrough` and a `ChromaFilter` answer `connect` identically.
//!
//! `ServerManager` is not made here: the server answers `manager_ServerManager` itself
//! (`server/src/manager.rs`), as it knows the sessions and loaded modules.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

use generated::*;
use kurento_core_runtime::{CoreError, MediaElement as CoreElement};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::Arc;

kurento_module_glue::module_helpers!();

/// Reads the runtime's JSON answer as the type the generated trait returns.
fn typed<T: KmdValue>(op: &str, r: Option<Result<Value, CoreError>>) -> Result<T, KurentoError> {
    let v = r
        .unwrap_or_else(|| Err(CoreError::unexpected(format!("'{op}' not handled"))))
        .map_err(kurento_error)?;
    T::from_json(&v).map_err(|e| KurentoError::unexpected(format!("'{op}' answered {v}: {e:?}")))
}

fn unit(op: &str, r: Option<Result<Value, CoreError>>) -> Result<(), KurentoError> {
    r.unwrap_or_else(|| Err(CoreError::unexpected(format!("'{op}' not handled"))))
        .map(|_| ())
        .map_err(kurento_error)
}

fn opt<T: KmdValue>(v: &Option<T>) -> Value {
    v.as_ref().map(KmdValue::to_json).unwrap_or(Value::Null)
}

/// The runtime entry of an object: an operation of core's classes by name.
trait Core {
    fn core(&self, op: &str, params: Value) -> Option<Result<Value, CoreError>>;

    /// Operation `op` answered as the generated return type.
    fn call<T: KmdValue>(&self, op: &str, params: Value) -> Result<T, KurentoError> {
        typed(op, self.core(op, params))
    }

    /// Operation `op` without a return value.
    fn call_unit(&self, op: &str, params: Value) -> Result<(), KurentoError> {
        unit(op, self.core(op, params))
    }
}

/// `MediaObject` for a type implementing [`Core`].
macro_rules! media_object {
    ($t:ty) => {
        impl MediaObject for $t {
            fn add_tag(&self, key: String, value: String) -> Result<(), KurentoError> {
                self.call_unit("addTag", json!({"key": key, "value": value}))
            }
            fn remove_tag(&self, key: String) -> Result<(), KurentoError> {
                self.call_unit("removeTag", json!({"key": key}))
            }
            fn get_tag(&self, key: String) -> Result<String, KurentoError> {
                self.call("getTag", json!({"key": key}))
            }
            fn get_tags(&self) -> Result<Vec<generated::Tag>, KurentoError> {
                self.call("getTags", Value::Null)
            }
            fn get_media_pipeline(&self) -> Result<Option<ObjectId>, KurentoError> {
                self.call("getMediaPipeline", Value::Null)
            }
            /// `None` (`{"value": null}`) for a pipeline.
            fn get_parent(&self) -> Result<Option<ObjectId>, KurentoError> {
                self.call("getParent", Value::Null)
            }
            fn get_id(&self) -> Result<String, KurentoError> {
                self.call("getId", Value::Null)
            }
            fn get_children(&self) -> Result<Vec<ObjectId>, KurentoError> {
                self.call("getChildren", Value::Null)
            }
            fn get_name(&self) -> Result<String, KurentoError> {
                self.call("getName", Value::Null)
            }
            fn set_name(&self, name: String) -> Result<(), KurentoError> {
                self.call_unit("setName", json!({"name": name}))
            }
            fn get_send_tags_in_events(&self) -> Result<bool, KurentoError> {
                self.call("getSendTagsInEvents", Value::Null)
            }
            fn set_send_tags_in_events(&self, on: bool) -> Result<(), KurentoError> {
                let p = json!({ "sendTagsInEvents": on });
                self.call_unit("setSendTagsInEvents", p)
            }
            fn get_creation_time(&self) -> Result<i32, KurentoError> {
                self.call("getCreationTime", Value::Null)
            }
        }
    };
}

/// A media element of this module (PassThrough): a bin of the runtime inside the pipeline.
pub struct Element {
    ctx: Context,
    media: Arc<CoreElement>,
}

impl Core for Element {
    fn core(&self, op: &str, params: Value) -> Option<Result<Value, CoreError>> {
        let resolve = |id: &str| {
            element_of(&self.ctx, id)
                .map_err(|e| CoreError::new(e.code, "MEDIA_OBJECT_NOT_FOUND", e.message))
        };
        self.media.invoke_inherited(op, &params, &resolve)
    }
}

impl ModuleObject for Element {
    fn gst_element(&self) -> *mut c_void {
        self.media.element_ptr()
    }

    fn release(&self) {
        self.media.release();
    }
}

media_object!(Element);

impl MediaElement for Element {
    fn get_source_connections(
        &self,
        media_type: Option<MediaType>,
        description: Option<String>,
    ) -> Result<Vec<ElementConnectionData>, KurentoError> {
        let p = json!({"mediaType": opt(&media_type), "description": description});
        self.call("getSourceConnections", p)
    }
    fn get_sink_connections(
        &self,
        media_type: Option<MediaType>,
        description: Option<String>,
    ) -> Result<Vec<ElementConnectionData>, KurentoError> {
        let p = json!({"mediaType": opt(&media_type), "description": description});
        self.call("getSinkConnections", p)
    }
    fn connect(
        &self,
        sink: RemoteObject,
        media_type: Option<MediaType>,
        source_media_description: Option<String>,
        sink_media_description: Option<String>,
    ) -> Result<(), KurentoError> {
        let p = json!({"sink": sink.id(), "mediaType": opt(&media_type),
            "sourceMediaDescription": source_media_description,
            "sinkMediaDescription": sink_media_description});
        self.call_unit("connect", p)
    }
    fn disconnect(
        &self,
        sink: RemoteObject,
        media_type: Option<MediaType>,
        source_media_description: Option<String>,
        sink_media_description: Option<String>,
    ) -> Result<(), KurentoError> {
        let p = json!({"sink": sink.id(), "mediaType": opt(&media_type),
            "sourceMediaDescription": source_media_description,
            "sinkMediaDescription": sink_media_description});
        self.call_unit("disconnect", p)
    }
    fn set_audio_format(&self, caps: AudioCaps) -> Result<(), KurentoError> {
        self.call_unit("setAudioFormat", json!({"caps": caps.to_json()}))
    }
    fn set_video_format(&self, caps: VideoCaps) -> Result<(), KurentoError> {
        self.call_unit("setVideoFormat", json!({"caps": caps.to_json()}))
    }
    fn dump_gstreamer_dot(&self, details: Option<GstreamerDotDetails>) -> Result<(), KurentoError> {
        let p = json!({ "details": opt(&details) });
        self.call_unit("dumpGstreamerDot", p)
    }
    fn get_gstreamer_dot(
        &self,
        details: Option<GstreamerDotDetails>,
    ) -> Result<String, KurentoError> {
        let p = json!({ "details": opt(&details) });
        self.call("getGstreamerDot", p)
    }
    fn get_stats(
        &self,
        media_type: Option<MediaType>,
    ) -> Result<BTreeMap<String, StatsAny>, KurentoError> {
        let p = json!({ "mediaType": opt(&media_type) });
        self.call("getStats", p)
    }
    fn is_media_flowing_in(
        &self,
        media_type: MediaType,
        sink_media_description: Option<String>,
    ) -> Result<bool, KurentoError> {
        let p = json!({"mediaType": media_type.to_json(),
            "sinkMediaDescription": sink_media_description});
        self.call("isMediaFlowingIn", p)
    }
    fn is_media_flowing_out(
        &self,
        media_type: MediaType,
        source_media_description: Option<String>,
    ) -> Result<bool, KurentoError> {
        let p = json!({"mediaType": media_type.to_json(),
            "sourceMediaDescription": source_media_description});
        self.call("isMediaFlowingOut", p)
    }
    fn is_media_transcoding(
        &self,
        media_type: MediaType,
        bin_name: Option<String>,
    ) -> Result<bool, KurentoError> {
        let p = json!({"mediaType": media_type.to_json(), "binName": bin_name});
        self.call("isMediaTranscoding", p)
    }
    fn get_encoder_bitrate(&self) -> Result<i32, KurentoError> {
        self.call("getEncoderBitrate", Value::Null)
    }
    fn set_encoder_bitrate(&self, v: i32) -> Result<(), KurentoError> {
        let p = json!({ "encoderBitrate": v });
        self.call_unit("setEncoderBitrate", p)
    }
    fn get_min_encoder_bitrate(&self) -> Result<i32, KurentoError> {
        self.call("getMinEncoderBitrate", Value::Null)
    }
    fn set_min_encoder_bitrate(&self, v: i32) -> Result<(), KurentoError> {
        let p = json!({ "minEncoderBitrate": v });
        self.call_unit("setMinEncoderBitrate", p)
    }
    fn get_max_encoder_bitrate(&self) -> Result<i32, KurentoError> {
        self.call("getMaxEncoderBitrate", Value::Null)
    }
    fn set_max_encoder_bitrate(&self, v: i32) -> Result<(), KurentoError> {
        let p = json!({ "maxEncoderBitrate": v });
        self.call_unit("setMaxEncoderBitrate", p)
    }
}

impl PassThrough for Element {}

/// A `MediaPipeline`: the runtime's always-playing `GstPipeline`.
pub struct Pipeline {
    pipeline: Arc<kurento_core_runtime::MediaPipeline>,
}

impl Core for Pipeline {
    fn core(&self, op: &str, params: Value) -> Option<Result<Value, CoreError>> {
        self.pipeline.invoke_inherited(op, &params)
    }
}

impl ModuleObject for Pipeline {
    fn gst_element(&self) -> *mut c_void {
        self.pipeline.element_ptr()
    }

    fn release(&self) {
        self.pipeline.release();
    }
}

media_object!(Pipeline);

impl MediaPipeline for Pipeline {
    fn get_gstreamer_dot(
        &self,
        details: Option<GstreamerDotDetails>,
    ) -> Result<String, KurentoError> {
        let p = json!({ "details": opt(&details) });
        self.call("getGstreamerDot", p)
    }
    fn dump_gstreamer_dot(&self, details: Option<GstreamerDotDetails>) -> Result<(), KurentoError> {
        let p = json!({ "details": opt(&details) });
        self.call_unit("dumpGstreamerDot", p)
    }
    fn get_latency_stats(&self) -> Result<bool, KurentoError> {
        self.call("getLatencyStats", Value::Null)
    }
    fn set_latency_stats(&self, on: bool) -> Result<(), KurentoError> {
        let p = json!({ "latencyStats": on });
        self.call_unit("setLatencyStats", p)
    }
}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_media_pipeline(
        ctx: Context,
        _p: MediaPipelineConstructor,
    ) -> Result<Box<dyn MediaPipeline>, KurentoError> {
        let pipeline =
            kurento_core_runtime::MediaPipeline::new(core_object(&ctx)).map_err(kurento_error)?;
        Ok(Box::new(Pipeline { pipeline }))
    }

    fn create_pass_through(
        ctx: Context,
        p: PassThroughConstructor,
    ) -> Result<Box<dyn PassThrough>, KurentoError> {
        let pipeline = pipeline_of(&ctx, &p.media_pipeline)?;
        let media = CoreElement::new(
            core_object(&ctx),
            &pipeline,
            kurento_core_runtime::pass_through(),
        )
        .map_err(kurento_error)?;
        Ok(Box::new(Element { ctx, media }))
    }

    fn create_hub_port(
        _ctx: Context,
        _p: HubPortConstructor,
    ) -> Result<Box<dyn HubPort>, KurentoError> {
        // No hub (Composite, Dispatcher, …) is implemented by this server yet, so no object
        // could be this port's hub.
        Err(KurentoError::not_implemented(
            "HubPort is not implemented by this server yet (no Hub class is)",
        ))
    }
}

generated::export_module!(Module);
