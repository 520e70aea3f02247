// SPDX-License-Identifier: MPL-2.0
//! Kurento module `datachannelexample` (elements.md §14), on the elements of the plugin
//! `gst-plugin-datachannelexample` (found through `GST_PLUGIN_PATH`):
//!
//! * `KmsSendData` (extends MediaElement): `kmssenddata` in the element's bin. Video goes
//!   through it, audio passes, and the text of every bar code its `zbar` child reads leaves
//!   on the DATA output (`element.connect(webRtcEndpoint)` sends it over data channels).
//!   Kurento's server emitted `configure-bus-watcher` after creating the element; ours needs
//!   no such call.
//! * `KmsShowData` (extends MediaElement): `kmsshowdata`. Text arriving on its DATA input
//!   (`webRtcEndpoint.connect(kmsShowData)`) is drawn over the video going through it; the
//!   data is forwarded to its DATA output as well.
//! * `KmsDetectFaces` / `KmsShowFaces` (extend Filter): the filter host around
//!   `facedetectormetadata` / `imageoverlaymetadata`, elements no plugin of this project
//!   provides yet, so creating them answers MEDIA_OBJECT_NOT_AVAILABLE naming the element.
//!
//! A missing GStreamer dependency (`zbar`, `textoverlay`) is refused when the object is
//! created (MEDIA_OBJECT_NOT_AVAILABLE naming the element and its Debian package) rather than
//! giving an object whose element cannot start. Everything inherited from core (`connect`,
//! `getName`, media-flow and error events …) is kurento-core-runtime's.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

use generated::*;

kurento_module_glue::module_helpers!();

use std::sync::Arc;

use gst::prelude::*;
use kurento_core_runtime::{Branch, CoreError, ElementSpec, MediaElement, MediaType};
use serde_json::Value;

/// Factory names of the elements behind the classes.
pub const SEND_DATA: &str = "kmssenddata";
pub const SHOW_DATA: &str = "kmsshowdata";
pub const DETECT_FACES: &str = "facedetectormetadata";
pub const SHOW_FACES: &str = "imageoverlaymetadata";

/// Makes `factory` after checking the stock elements it needs (`(factory, package)`).
fn make(factory: &str, needs: &[(&str, &str)]) -> Result<gst::Element, KurentoError> {
    kurento_core_runtime::init().map_err(kurento_error)?;
    for (dep, package) in needs {
        if gst::ElementFactory::find(dep).is_none() {
            return Err(kurento_error(CoreError::not_available(format!(
                "Media Object not available: '{factory}' needs the GStreamer element '{dep}' (install {package})"
            ))));
        }
    }
    gst::ElementFactory::make(factory).build().map_err(|_| {
        kurento_error(CoreError::not_available(format!(
            "Media Object not available: GStreamer element '{factory}' not found (is its plugin in GST_PLUGIN_PATH?)"
        )))
    })
}

/// One object of the module: its runtime element.
pub struct Element {
    ctx: Context,
    media: Arc<MediaElement>,
}

impl Element {
    /// A data element: video through `element`, audio passing, DATA on its data pads.
    fn data(
        ctx: Context,
        pipeline: &RemoteObject,
        element: gst::Element,
    ) -> Result<Element, KurentoError> {
        let pipeline = pipeline_of(&ctx, pipeline)?;
        let spec = ElementSpec {
            audio: Branch::Pass,
            data: Branch::Pads {
                input: element.static_pad("data_sink"),
                output: element.static_pad("data_src"),
            },
            video: Branch::Chain {
                elements: vec![element],
                input: true,
                output: true,
            },
        };
        let media = MediaElement::new(core_object(&ctx), &pipeline, spec).map_err(kurento_error)?;
        Ok(Element { ctx, media })
    }

    /// A Filter: `element` in the filter host (elements.md §1.2).
    fn filter(
        ctx: Context,
        pipeline: &RemoteObject,
        element: gst::Element,
    ) -> Result<Element, KurentoError> {
        let pipeline = pipeline_of(&ctx, pipeline)?;
        let spec = kurento_core_runtime::filter_spec(&element, Some(MediaType::Video))
            .map_err(kurento_error)?;
        let media = MediaElement::new(core_object(&ctx), &pipeline, spec).map_err(kurento_error)?;
        Ok(Element { ctx, media })
    }
}

impl ModuleObject for Element {
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

impl KmsSendData for Element {}
impl KmsShowData for Element {}
impl KmsDetectFaces for Element {}
impl KmsShowFaces for Element {}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_kms_send_data(
        ctx: Context,
        p: KmsSendDataConstructor,
    ) -> Result<Box<dyn KmsSendData>, KurentoError> {
        let e = make(SEND_DATA, &[("zbar", "gstreamer1.0-plugins-bad")])?;
        Ok(Box::new(Element::data(ctx, &p.media_pipeline, e)?))
    }

    fn create_kms_show_data(
        ctx: Context,
        p: KmsShowDataConstructor,
    ) -> Result<Box<dyn KmsShowData>, KurentoError> {
        let e = make(SHOW_DATA, &[("textoverlay", "gstreamer1.0-x")])?;
        Ok(Box::new(Element::data(ctx, &p.media_pipeline, e)?))
    }

    fn create_kms_detect_faces(
        ctx: Context,
        p: KmsDetectFacesConstructor,
    ) -> Result<Box<dyn KmsDetectFaces>, KurentoError> {
        let e = make(DETECT_FACES, &[])?;
        Ok(Box::new(Element::filter(ctx, &p.media_pipeline, e)?))
    }

    fn create_kms_show_faces(
        ctx: Context,
        p: KmsShowFacesConstructor,
    ) -> Result<Box<dyn KmsShowFaces>, KurentoError> {
        let e = make(SHOW_FACES, &[])?;
        Ok(Box::new(Element::filter(ctx, &p.media_pipeline, e)?))
    }
}

generated::export_module!(Module);
