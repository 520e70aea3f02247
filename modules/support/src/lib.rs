// SPDX-License-Identifier: MPL-2.0
//! `module_helpers!()` expands, at the root of a module crate (after the `include!` of its
//! generated code), the few functions joining the generated types (`Context`, `KurentoError`)
//! with `kurento-core-runtime`. A macro because the generated types are per crate.
//! The crate must depend on `gst`, `serde_json` and `kurento-core-runtime`.

#[macro_export]
macro_rules! module_helpers {
    () => {
        /// A runtime error as the generated error type.
        #[allow(dead_code)]
        pub(crate) fn kurento_error(e: kurento_core_runtime::CoreError) -> generated::KurentoError {
            generated::KurentoError::new(e.code, e.error_type, e.message)
        }

        /// The GStreamer element of another object (a pipeline, a sink), through the host.
        #[allow(dead_code)]
        pub(crate) fn element_of(
            ctx: &generated::Context,
            id: &str,
        ) -> Result<gst::Element, generated::KurentoError> {
            use gst::glib::translate::FromGlibPtrNone;
            let ptr = ctx.resolve(id)?.gst_element();
            if ptr.is_null() {
                return Err(generated::KurentoError::object_not_found(id));
            }
            // SAFETY: the host's objects hand out GstElement pointers (borrowed: take a new
            // reference).
            Ok(unsafe { gst::Element::from_glib_none(ptr as *mut gst::ffi::GstElement) })
        }

        /// The `GstPipeline` of a `mediaPipeline` constructor parameter.
        #[allow(dead_code)]
        pub(crate) fn pipeline_of(
            ctx: &generated::Context,
            pipeline: &generated::RemoteObject,
        ) -> Result<gst::Pipeline, generated::KurentoError> {
            use gst::prelude::Cast;
            element_of(ctx, pipeline.id())?
                .downcast::<gst::Pipeline>()
                .map_err(|_| {
                    generated::KurentoError::unexpected("'mediaPipeline' is not a MediaPipeline")
                })
        }

        /// The runtime's object for `ctx`: events go through the generated context, which
        /// knows the subscriptions.
        #[allow(dead_code)]
        pub(crate) fn core_object(ctx: &generated::Context) -> kurento_core_runtime::MediaObject {
            let (emit, gate) = (ctx.clone(), ctx.clone());
            kurento_core_runtime::MediaObject::with_gate(
                ctx.object_id(),
                std::sync::Arc::new(move |event: &str, data: serde_json::Value| {
                    emit.emit_json(event, data);
                }),
                Box::new(move |event: &str| gate.is_subscribed(event)),
            )
        }

        /// Operations inherited from core's classes, answered by the runtime element.
        #[allow(dead_code)]
        pub(crate) fn invoke_core(
            ctx: &generated::Context,
            media: &kurento_core_runtime::MediaElement,
            op: &str,
            params: &serde_json::Value,
        ) -> Option<Result<serde_json::Value, generated::KurentoError>> {
            let resolve = |id: &str| {
                element_of(ctx, id).map_err(|e| {
                    kurento_core_runtime::CoreError::new(
                        e.code,
                        "MEDIA_OBJECT_NOT_FOUND",
                        e.message,
                    )
                })
            };
            media
                .invoke_inherited(op, params, &resolve)
                .map(|r| r.map_err(kurento_error))
        }
    };
}
