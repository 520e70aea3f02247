// SPDX-License-Identifier: MPL-2.0
//! The glue between a module crate's generated interface (`include!`d from `build.rs` output:
//! `Context`, `KurentoError`, `RemoteObject`, `ModuleObject`, …) and `kurento-core-runtime`,
//! the one implementation of MediaObject / MediaElement / MediaPipeline (DESIGN rule 5).
//! Every module crate uses it, so this glue is written once:
//!
//! * [`module_helpers!`]: expanded at the root of every module crate (after `use
//!   generated::*;`), the functions joining its generated types with the runtime: errors
//!   (`From<CoreError> for KurentoError`, `kurento_error`), ids to GStreamer elements
//!   (`element_of`, `pipeline_of`), the runtime object of a context (`core_object`) and the
//!   operations inherited from core (`invoke_core`). Macros because the generated types are
//!   per crate.
//! * [`Filter`] and [`filter_module_glue!`]: a module whose class is one GStreamer element in
//!   Kurento's filter host (chroma, crowddetector, platedetector, pointerdetector): the
//!   element's own messages ([`Filter::on_message`], turned into the module's generated
//!   events and raised with `ctx.emit`), the `ModuleObject` implementation and `new_filter`;
//! * the parameter checks several classes share ([`check_id`] (quirk Q-27),
//!   [`calibration_area`], [`illegal_param`]) and [`message_field`];
//! * [`testing`]: a small fake host driving a module library through its C ABI, for the
//!   modules' tests.

mod filter;
pub mod testing;

pub use filter::*;
pub use kurento_core_runtime::{self, CoreError};
pub use {gst, serde_json};

/// Expands, at the root of a module crate (after the `include!` of its generated code and
/// `use generated::*;`), the functions joining the crate's generated types with
/// `kurento-core-runtime`.
#[macro_export]
macro_rules! module_helpers {
    () => {
        impl From<$crate::CoreError> for generated::KurentoError {
            fn from(e: $crate::CoreError) -> Self {
                generated::KurentoError::new(e.code, e.error_type, e.message)
            }
        }

        /// A runtime error as the generated error type.
        #[allow(dead_code)]
        pub(crate) fn kurento_error(e: $crate::CoreError) -> generated::KurentoError {
            e.into()
        }

        /// The GStreamer element of another object (a pipeline, a sink), through the host.
        #[allow(dead_code)]
        pub(crate) fn element_of(
            ctx: &generated::Context,
            id: &str,
        ) -> Result<$crate::gst::Element, generated::KurentoError> {
            $crate::element_from_ptr(ctx.resolve(id)?.gst_element())
                .ok_or_else(|| generated::KurentoError::object_not_found(id))
        }

        /// The `GstPipeline` of a `mediaPipeline` constructor parameter.
        #[allow(dead_code)]
        pub(crate) fn pipeline_of(
            ctx: &generated::Context,
            pipeline: &generated::RemoteObject,
        ) -> Result<$crate::gst::Pipeline, generated::KurentoError> {
            use $crate::gst::prelude::Cast;
            element_of(ctx, pipeline.id())?
                .downcast::<$crate::gst::Pipeline>()
                .map_err(|_| {
                    generated::KurentoError::unexpected("'mediaPipeline' is not a MediaPipeline")
                })
        }

        /// The runtime's object for `ctx`: events go through the generated context, which
        /// knows the subscriptions, and the context's own events (`ctx.emit`) get their
        /// `source`, `timestampMillis` and `tags` from this object, as the runtime's do.
        #[allow(dead_code)]
        pub(crate) fn core_object(
            ctx: &generated::Context,
        ) -> $crate::kurento_core_runtime::MediaObject {
            let (emit, gate) = (ctx.clone(), ctx.clone());
            let object = $crate::kurento_core_runtime::MediaObject::with_gate(
                ctx.object_id(),
                std::sync::Arc::new(move |event: &str, data: $crate::serde_json::Value| {
                    emit.emit_json(event, data);
                }),
                Box::new(move |event: &str| gate.is_subscribed(event)),
            );
            let base = object.event_base();
            ctx.set_event_base(std::sync::Arc::new(move || base.fields()));
            object
        }

        /// Operations inherited from core's classes, answered by the runtime element.
        #[allow(dead_code)]
        pub(crate) fn invoke_core(
            ctx: &generated::Context,
            media: &$crate::kurento_core_runtime::MediaElement,
            op: &str,
            params: &$crate::serde_json::Value,
        ) -> Option<Result<$crate::serde_json::Value, generated::KurentoError>> {
            let resolve = |id: &str| {
                element_of(ctx, id).map_err(|e| {
                    $crate::CoreError::new(e.code, "MEDIA_OBJECT_NOT_FOUND", e.message)
                })
            };
            media
                .invoke_inherited(op, params, &resolve)
                .map(|r| r.map_err(kurento_error))
        }
    };
}

/// [`module_helpers!`] plus the glue of a module whose objects are a [`Filter`]: implements
/// `ModuleObject` for `$object` (which has fields `ctx: Context` and `filter: Filter`) and
/// defines `new_filter(ctx, pipeline, factory, configure)`. Call it at the crate root after
/// `use generated::*;`.
#[macro_export]
macro_rules! filter_module_glue {
    ($object:ty) => {
        $crate::module_helpers!();

        impl ModuleObject for $object {
            fn gst_element(&self) -> *mut std::ffi::c_void {
                self.filter.element_ptr()
            }

            fn invoke_inherited(
                &self,
                operation: &str,
                params: &$crate::serde_json::Value,
            ) -> Option<Result<$crate::serde_json::Value, KurentoError>> {
                invoke_core(&self.ctx, self.filter.media(), operation, params)
            }

            fn release(&self) {
                self.filter.release();
            }
        }

        /// The filter element `factory` of a new object, set up by `configure`, in the
        /// pipeline `pipeline`.
        fn new_filter(
            ctx: &Context,
            pipeline: &RemoteObject,
            factory: &str,
            configure: impl FnOnce(&$crate::gst::Element) -> Result<(), $crate::CoreError>,
        ) -> Result<$crate::Filter, KurentoError> {
            let pipeline = pipeline_of(ctx, pipeline)?;
            Ok($crate::Filter::new(
                core_object(ctx),
                &pipeline,
                factory,
                configure,
            )?)
        }
    };
}
