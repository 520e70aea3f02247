// SPDX-License-Identifier: MPL-2.0
//! [`Filter`]: a class made of one GStreamer element in Kurento's filter host (elements.md
//! §1.2), built on `kurento-core-runtime` (which answers everything inherited from core:
//! `connect`, `getName`, tags, media-flow and `Error` events), its element messages as events
//! (§1.4), and the parameter checks the filter classes share.

use std::ffi::c_void;
use std::sync::{Arc, LazyLock};

use gst::glib::translate::FromGlibPtrNone;
use gst::prelude::*;
use kurento_core_runtime::{CoreError, MediaElement, MediaObject, MediaType};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "kmsfiltermodule",
        gst::DebugColorFlags::empty(),
        Some("Kurento filter modules"),
    )
});

/// 40107 MEDIA_OBJECT_ILLEGAL_PARAM_ERROR.
pub fn illegal_param(message: impl Into<String>) -> CoreError {
    CoreError::new(40107, "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", message)
}

/// The element behind a borrowed `GstElement *` of the module ABI (a new reference).
pub fn element_from_ptr(ptr: *mut c_void) -> Option<gst::Element> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the host hands out valid, borrowed GstElement pointers; take our own reference.
    Some(unsafe { gst::Element::from_glib_none(ptr as *mut gst::ffi::GstElement) })
}

/// ids become GstStructure names (windows, regions), so they must be valid ones: a
/// letter first, then letters, digits or `/ - _ . : +`. `what` names the id in the message.
pub fn check_id(what: &str, id: &str) -> Result<(), CoreError> {
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || "/-_.:+".contains(c)) {
        Ok(())
    } else {
        Err(illegal_param(format!(
            "Invalid {what} '{id}': it must start with a letter and contain only letters, digits and / - _ . : +"
        )))
    }
}

/// The `calibration_area` structure of chroma and pointerdetector from a `WindowParam`
/// (whose `topRightCorner*` is the top-left corner). `what` names the parameter.
pub fn calibration_area(
    what: &str,
    x: i32,
    y: i32,
    width: i32,
    height: i32,
) -> Result<gst::Structure, CoreError> {
    if x < 0 || y < 0 {
        return Err(illegal_param(format!(
            "'{what}': the corner ({x}, {y}) must not be negative"
        )));
    }
    if width <= 0 || height <= 0 {
        return Err(illegal_param(format!(
            "'{what}': the size {width}x{height} must be positive"
        )));
    }
    Ok(gst::Structure::builder("calibration_area")
        .field("x", x)
        .field("y", y)
        .field("width", width)
        .field("height", height)
        .build())
}

/// Reads a typed field of an element message; a missing or mistyped field drops the message
/// with a warning (elements.md §1.4).
pub fn message_field<T>(s: &gst::StructureRef, name: &str) -> Option<T>
where
    T: for<'a> gst::glib::value::FromValue<'a> + 'static,
{
    match s.get::<T>(name) {
        Ok(v) => Some(v),
        Err(e) => {
            gst::warning!(CAT, "dropping message {s}: field '{name}': {e}");
            None
        }
    }
}

/// A filter object: the GStreamer element inside Kurento's filter host, in its pipeline.
pub struct Filter {
    media: Arc<MediaElement>,
    element: gst::Element,
}

impl Filter {
    /// Makes the element `factory`, lets `configure` set it up before it starts, and places it
    /// in the filter host of `object` inside `pipeline`.
    pub fn new(
        object: MediaObject,
        pipeline: &gst::Pipeline,
        factory: &str,
        configure: impl FnOnce(&gst::Element) -> Result<(), CoreError>,
    ) -> Result<Filter, CoreError> {
        kurento_core_runtime::init()?;
        let element = gst::ElementFactory::make(factory).build().map_err(|_| {
            CoreError::not_available(format!(
                "Media Object not available: GStreamer element '{factory}' not found (is its plugin in GST_PLUGIN_PATH?)"
            ))
        })?;
        configure(&element)?;
        let spec = kurento_core_runtime::filter_spec(&element, Some(MediaType::Video))?;
        let media = MediaElement::new(object, pipeline, spec)?;
        Ok(Filter { media, element })
    }

    /// The filter element itself (`chroma`, `pointerdetector`, …).
    pub fn element(&self) -> &gst::Element {
        &self.element
    }

    pub fn media(&self) -> &Arc<MediaElement> {
        &self.media
    }

    /// What the ABI's `gst_element` returns: the object's bin.
    pub fn element_ptr(&self) -> *mut c_void {
        self.media.element_ptr()
    }

    pub fn release(&self) {
        self.media.release();
    }

    /// Calls `handler` on the posting thread for every ELEMENT message of the filter element
    /// itself (not of the converters around it). The module turns them into its generated
    /// events and raises them with `ctx.emit` (elements.md §1.4).
    pub fn on_message(&self, handler: impl Fn(&gst::StructureRef) + Send + Sync + 'static) {
        let mine = self.element.as_ptr() as usize;
        self.media.on_element_message(move |s, src| {
            if src.as_ptr() as usize == mine {
                handler(s);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_structure_names() {
        for ok in ["w1", "top_right", "a/b-c.d:e+f", "Z9"] {
            assert!(check_id("window id", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1abc", "with space", "ñ", "_x", "a,b", "a;b"] {
            let e = check_id("window id", bad).unwrap_err();
            assert_eq!(e.code, 40107, "{bad}");
            assert!(e.message.contains(&format!("'{bad}'")), "{}", e.message);
        }
    }

    #[test]
    fn calibration_areas_are_checked() {
        gst::init().unwrap();
        let s = calibration_area("window", 5, 6, 40, 30).unwrap();
        assert_eq!(s.name(), "calibration_area");
        assert_eq!(s.get::<i32>("y").unwrap(), 6);
        assert_eq!(
            calibration_area("window", -1, 0, 4, 4).unwrap_err().code,
            40107
        );
        let e = calibration_area("window", 0, 0, 0, 4).unwrap_err();
        assert_eq!(e.message, "'window': the size 0x4 must be positive");
    }
}
