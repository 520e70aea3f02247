// SPDX-License-Identifier: MPL-2.0
//! Kurento module `chroma`: the remote class `ChromaFilter` (elements.md §10) on the element
//! `chroma` (plugin `gst-plugin-chroma`, found through `GST_PLUGIN_PATH`).
//!
//! * constructor `(mediaPipeline, window: WindowParam, backgroundImage = "")`: `window` becomes
//!   the element's `calibration-area` (its `topRightCorner*` is the top-left corner); a
//!   non-empty `backgroundImage` is set as `image-background`;
//! * `setBackground(uri)` sets `image-background`; `unsetBackground()` clears it, which
//!   restores the original video.
//!
//! Beyond Kurento, bad input is refused with 40107 instead of reaching the element: a window
//! with a negative corner or an empty size, an empty `uri` (use `unsetBackground`). An image
//! that cannot be loaded keeps the previous background and becomes an `Error` event (the
//! element's bus warning, turned into the event by kurento-core-runtime). Everything inherited
//! from core (`connect`, `getName`, tags, media-flow events …) is kurento-core-runtime's.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

use generated::*;
use gst::prelude::*;
use kurento_module_glue::{Filter, calibration_area, filter_module_glue, illegal_param};

/// Factory name of the element.
pub const ELEMENT: &str = "chroma";

/// One `ChromaFilter`.
pub struct Chroma {
    ctx: Context,
    filter: Filter,
}

filter_module_glue!(Chroma);

fn check_uri(uri: &str) -> Result<(), KurentoError> {
    if uri.trim().is_empty() {
        return Err(illegal_param(
            "'uri' is empty: give an image location, or call unsetBackground",
        )
        .into());
    }
    Ok(())
}

impl ChromaFilter for Chroma {
    fn set_background(&self, uri: String) -> Result<(), KurentoError> {
        check_uri(&uri)?;
        self.filter
            .element()
            .set_property("image-background", Some(uri));
        Ok(())
    }

    fn unset_background(&self) -> Result<(), KurentoError> {
        self.filter
            .element()
            .set_property("image-background", None::<String>);
        Ok(())
    }
}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_chroma_filter(
        ctx: Context,
        p: ChromaFilterConstructor,
    ) -> Result<Box<dyn ChromaFilter>, KurentoError> {
        let w = &p.window;
        let area = calibration_area(
            "window",
            w.top_right_corner_x,
            w.top_right_corner_y,
            w.width,
            w.height,
        )?;
        let background = p.background_image;
        let filter = new_filter(&ctx, &p.media_pipeline, ELEMENT, move |e| {
            e.set_property("calibration-area", area);
            if !background.is_empty() {
                e.set_property("image-background", Some(background));
            }
            Ok(())
        })?;
        Ok(Box::new(Chroma { ctx, filter }))
    }
}

generated::export_module!(Module);
