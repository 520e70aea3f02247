// SPDX-License-Identifier: MPL-2.0
//! Kurento module `pointerdetector`: the remote class `PointerDetectorFilter` (elements.md §13)
//! on the element `pointerdetector` (plugin `gst-plugin-pointerdetector`).
//!
//! * constructor `(mediaPipeline, calibrationRegion: WindowParam, windows = [])`: the region
//!   becomes `calibration-area`, the windows `windows-layout` (one field per window, holding a
//!   structure named after the window id: `upRightCornerX/Y` = `upperRightX/Y` (the top-left
//!   corner), `width`, `height`, `id`, and `inactive_uri` = `image`, `active_uri` =
//!   `activeImage`, `transparency` = `imageTransparency` when given);
//! * `addWindow` adds or replaces a window, `removeWindow` removes one (an unknown id is
//!   ignored, as in Kurento), `clearWindows` removes all, `trackColorFromCalibrationRegion`
//!   emits `calibrate-color` (the element samples the next frame);
//! * events `WindowIn` / `WindowOut` (`windowId`) from the element's `window-in` /
//!   `window-out` messages. Going straight from window A to window B gives only `WindowIn` B
//!   (Kurento's behaviour, Q-26).
//!
//! window ids become GstStructure names, so an id that cannot be one (it must start with
//! a letter and hold only letters, digits and `/ - _ . : +`) is refused with 40107, as are
//! windows of non-positive size, a transparency outside 0..1 and a calibration region with a
//! negative corner or an empty size.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

use std::sync::Mutex;

use generated::*;
use gst::prelude::*;
use kurento_module_glue::{
    Filter, calibration_area, check_id, filter_module_glue, illegal_param, message_field,
};

/// Factory name of the element.
pub const ELEMENT: &str = "pointerdetector";

/// One `PointerDetectorFilter`.
pub struct PointerDetector {
    ctx: Context,
    filter: Filter,
    /// Serialises read-modify-write cycles of `windows-layout`.
    layout: Mutex<()>,
}

filter_module_glue!(PointerDetector);

/// The element's entry for one window.
fn window_structure(w: &PointerDetectorWindowMediaParam) -> Result<gst::Structure, KurentoError> {
    check_id("window id", &w.id)?;
    if w.width <= 0 || w.height <= 0 {
        return Err(illegal_param(format!(
            "window '{}': the size {}x{} must be positive",
            w.id, w.width, w.height
        ))
        .into());
    }
    let mut s = gst::Structure::builder(w.id.as_str())
        .field("upRightCornerX", w.upper_right_x)
        .field("upRightCornerY", w.upper_right_y)
        .field("width", w.width)
        .field("height", w.height)
        .field("id", w.id.as_str())
        .build();
    if let Some(image) = &w.image {
        s.set("inactive_uri", image.as_str());
    }
    if let Some(t) = w.image_transparency {
        if !(0.0..=1.0).contains(&t) {
            return Err(illegal_param(format!(
                "window '{}': imageTransparency {t} is not between 0 and 1",
                w.id
            ))
            .into());
        }
        s.set("transparency", t as f64);
    }
    if let Some(active) = &w.active_image {
        s.set("active_uri", active.as_str());
    }
    Ok(s)
}

impl PointerDetector {
    fn edit_layout(&self, edit: impl FnOnce(&mut gst::Structure)) {
        let _guard = self.layout.lock().unwrap_or_else(|e| e.into_inner());
        let element = self.filter.element();
        let mut layout = element.property::<gst::Structure>("windows-layout");
        edit(&mut layout);
        element.set_property("windows-layout", layout);
    }
}

impl PointerDetectorFilter for PointerDetector {
    fn add_window(&self, window: PointerDetectorWindowMediaParam) -> Result<(), KurentoError> {
        let s = window_structure(&window)?;
        self.edit_layout(|layout| layout.set(window.id.as_str(), s));
        Ok(())
    }

    fn clear_windows(&self) -> Result<(), KurentoError> {
        let _guard = self.layout.lock().unwrap_or_else(|e| e.into_inner());
        self.filter
            .element()
            .set_property("windows-layout", gst::Structure::new_empty("buttonsLayout"));
        Ok(())
    }

    fn track_color_from_calibration_region(&self) -> Result<(), KurentoError> {
        self.filter
            .element()
            .emit_by_name::<()>("calibrate-color", &[]);
        Ok(())
    }

    fn remove_window(&self, window_id: String) -> Result<(), KurentoError> {
        check_id("window id", &window_id)?;
        self.edit_layout(|layout| layout.remove_field(window_id.as_str()));
        Ok(())
    }
}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_pointer_detector_filter(
        ctx: Context,
        p: PointerDetectorFilterConstructor,
    ) -> Result<Box<dyn PointerDetectorFilter>, KurentoError> {
        let r = &p.calibration_region;
        let area = calibration_area(
            "calibrationRegion",
            r.top_right_corner_x,
            r.top_right_corner_y,
            r.width,
            r.height,
        )?;
        let mut layout = gst::Structure::new_empty("windowsLayout");
        for w in &p.windows {
            layout.set(w.id.as_str(), window_structure(w)?);
        }
        let filter = new_filter(&ctx, &p.media_pipeline, ELEMENT, move |e| {
            e.set_property("calibration-area", area);
            e.set_property("windows-layout", layout);
            Ok(())
        })?;
        let events = ctx.clone();
        filter.on_message(move |s| {
            let entering = match s.name().as_str() {
                "window-in" => true,
                "window-out" => false,
                _ => return,
            };
            let Some(window) = message_field::<String>(s, "window") else {
                return;
            };
            if entering {
                events.emit(WindowIn::new(window));
            } else {
                events.emit(WindowOut::new(window));
            }
        });
        let object = PointerDetector {
            ctx,
            filter,
            layout: Mutex::new(()),
        };
        Ok(Box::new(object))
    }
}

generated::export_module!(Module);
