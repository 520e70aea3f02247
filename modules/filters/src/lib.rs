// SPDX-License-Identifier: MPL-2.0
//! Kurento module `filters` (`libkmsfiltersmodule.so`): `FaceOverlayFilter` (`kmsfaceoverlay`),
//! `ImageOverlayFilter` (`kmslogooverlay`), `GStreamerFilter` (one allowed element from a
//! launch line) and `ZBarFilter` (GStreamer's `zbar`, `CodeFound` events); `OpenCVFilter` is
//! abstract. Each runs inside the runtime's filter host (leaky queue ▸ convert ▸ element ▸
//! convert, elements.md §1.2), and everything inherited from core is `kurento-core-runtime`'s.
//! The plugin elements are found through `GST_PLUGIN_PATH`.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

kurento_module_glue::module_helpers!();

mod face_overlay;
mod gstreamer_filter;
mod image_overlay;
mod zbar;

use generated::*;
use kurento_core_runtime::{MediaElement as CoreElement, MediaType, filter_spec};
use serde_json::Value;
use std::sync::Arc;

/// A filter object: the runtime element around one GStreamer element.
pub struct FilterObject {
    ctx: Context,
    media: Arc<CoreElement>,
    element: gst::Element,
}

impl FilterObject {
    /// Wraps `element` in the filter host inside the `mediaPipeline`'s pipeline.
    fn new(
        ctx: Context,
        pipeline: &RemoteObject,
        element: gst::Element,
        media: Option<MediaType>,
    ) -> Result<FilterObject, KurentoError> {
        let pipeline = pipeline_of(&ctx, pipeline)?;
        let spec = filter_spec(&element, media).map_err(kurento_error)?;
        let media = CoreElement::new(core_object(&ctx), &pipeline, spec).map_err(kurento_error)?;
        Ok(FilterObject {
            ctx,
            media,
            element,
        })
    }
}

/// Makes a plugin element, or MEDIA_OBJECT_NOT_AVAILABLE naming it.
fn make(factory: &str) -> Result<gst::Element, KurentoError> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        KurentoError::new(
            40102,
            "MEDIA_OBJECT_NOT_AVAILABLE",
            format!("GStreamer element '{factory}' not available (is GST_PLUGIN_PATH set?)"),
        )
    })
}

impl ModuleObject for FilterObject {
    fn gst_element(&self) -> *mut std::ffi::c_void {
        self.media.element_ptr()
    }

    fn invoke_inherited(&self, op: &str, params: &Value) -> Option<Result<Value, KurentoError>> {
        invoke_core(&self.ctx, &self.media, op, params)
    }

    fn release(&self) {
        self.media.release();
    }
}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_face_overlay_filter(
        ctx: Context,
        p: FaceOverlayFilterConstructor,
    ) -> Result<Box<dyn FaceOverlayFilter>, KurentoError> {
        face_overlay::create(ctx, p)
    }

    fn create_g_streamer_filter(
        ctx: Context,
        p: GStreamerFilterConstructor,
    ) -> Result<Box<dyn GStreamerFilter>, KurentoError> {
        gstreamer_filter::create(ctx, p)
    }

    fn create_image_overlay_filter(
        ctx: Context,
        p: ImageOverlayFilterConstructor,
    ) -> Result<Box<dyn ImageOverlayFilter>, KurentoError> {
        image_overlay::create(ctx, p)
    }

    fn create_z_bar_filter(
        ctx: Context,
        p: ZBarFilterConstructor,
    ) -> Result<Box<dyn ZBarFilter>, KurentoError> {
        zbar::create(ctx, p)
    }
}

generated::export_module!(Module);
