// SPDX-License-Identifier: MPL-2.0
//! Kurento module `platedetector`: the remote class `PlateDetectorFilter` (elements.md §12) on
//! the element `platedetector` (plugin `gst-plugin-platedetector`, OCR by Debian's Tesseract).
//!
//! * constructor `(mediaPipeline)`;
//! * `setPlateWidthPercentage(plateWidthPercentage)` sets `plate-width-percentage`; values
//!   outside (0, 1] are refused with 40107 (the element's range; Kurento passed them on);
//! * event `PlateDetected` (`plate`, e.g. `--2843KLM`) from the element's `plate-detected`
//!   message, whose `data.type` is `"plate-detected"` as in Kurento.
//!
//! OCR data: the folder holding `<language>.traineddata` is, in order, `tessdata` of the class
//! configuration (`<modules config dir>/platedetector/PlateDetectorFilter.conf.json`), then the
//! `TESSDATA_PREFIX` environment variable, then the element's default (Debian's
//! `tesseract-ocr-eng`); the language is `language` of the configuration, else the element's
//! (`eng`). When that file is missing the constructor fails with 40108 naming the file and how
//! to fix it (Kurento created a filter that silently passed every frame through).

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

use std::path::PathBuf;

use generated::*;
use gst::prelude::*;
use kurento_module_glue::{CoreError, Filter, filter_module_glue, illegal_param, message_field};

/// Factory name of the element.
pub const ELEMENT: &str = "platedetector";
/// `data.type` of `PlateDetected` events (the element's message name, as in Kurento).
pub const PLATE_DETECTED_TYPE: &str = "plate-detected";

/// One `PlateDetectorFilter`.
pub struct PlateDetector {
    ctx: Context,
    filter: Filter,
}

filter_module_glue!(PlateDetector);

impl PlateDetectorFilter for PlateDetector {
    fn set_plate_width_percentage(&self, plate_width_percentage: f32) -> Result<(), KurentoError> {
        if !(plate_width_percentage > 0.0 && plate_width_percentage <= 1.0) {
            return Err(illegal_param(format!(
                "plateWidthPercentage {plate_width_percentage} is not a fraction of the frame width in (0, 1]"
            ))
            .into());
        }
        self.filter
            .element()
            .set_property("plate-width-percentage", plate_width_percentage);
        Ok(())
    }
}

/// Applies the OCR data settings to the element and checks the model file is there.
fn configure_ocr(element: &gst::Element) -> Result<(), CoreError> {
    let config = kurento_core_runtime::class_config("platedetector", "PlateDetectorFilter");
    let setting = |key: &str| {
        config
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    if let Some(dir) = setting("tessdata").or_else(|| std::env::var("TESSDATA_PREFIX").ok()) {
        element.set_property("tessdata", dir);
    }
    if let Some(language) = setting("language") {
        element.set_property("language", language);
    }
    let dir = element.property::<String>("tessdata");
    let language = element.property::<String>("language");
    let model = PathBuf::from(&dir).join(format!("{language}.traineddata"));
    if model.is_file() {
        Ok(())
    } else {
        Err(CoreError::not_available(format!(
            "PlateDetectorFilter cannot read plates: OCR data {} not found (set 'tessdata' in platedetector/PlateDetectorFilter.conf.json or TESSDATA_PREFIX to the folder holding {language}.traineddata; Debian: apt-get install tesseract-ocr-{language})",
            model.display()
        )))
    }
}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_plate_detector_filter(
        ctx: Context,
        p: PlateDetectorFilterConstructor,
    ) -> Result<Box<dyn PlateDetectorFilter>, KurentoError> {
        let filter = new_filter(&ctx, &p.media_pipeline, ELEMENT, configure_ocr)?;
        let events = ctx.clone();
        filter.on_message(move |s| {
            if s.name() == PLATE_DETECTED_TYPE
                && let Some(plate) = message_field::<String>(s, "plate")
            {
                let mut event = PlateDetected::new(plate);
                // Kurento's `type` of this event is the message name, not the event's.
                event.type_ = PLATE_DETECTED_TYPE.to_string();
                events.emit(event);
            }
        });
        Ok(Box::new(PlateDetector { ctx, filter }))
    }
}

generated::export_module!(Module);
