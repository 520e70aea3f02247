// SPDX-License-Identifier: MPL-2.0
//! `FaceOverlayFilter` on `kmsfaceoverlay` (elements.md §4): the image goes into the element's
//! `image-to-overlay` structure named `image`, ratios as doubles.

use gst::prelude::*;
use kurento_core_runtime::MediaType;

use crate::generated::*;
use crate::{FilterObject, make};

pub fn create(
    ctx: Context,
    p: FaceOverlayFilterConstructor,
) -> Result<Box<dyn FaceOverlayFilter>, KurentoError> {
    let element = make("kmsfaceoverlay")?;
    Ok(Box::new(FilterObject::new(
        ctx,
        &p.media_pipeline,
        element,
        Some(MediaType::Video),
    )?))
}

fn layout(uri: Option<&str>, ratios: [f32; 4]) -> gst::Structure {
    let [x, y, w, h] = ratios.map(f64::from);
    gst::Structure::builder("image")
        .field("offsetXPercent", x)
        .field("offsetYPercent", y)
        .field("widthPercent", w)
        .field("heightPercent", h)
        .field_if_some("url", uri)
        .build()
}

impl FaceOverlayFilter for FilterObject {
    fn unset_overlayed_image(&self) -> Result<(), KurentoError> {
        self.element
            .set_property("image-to-overlay", layout(None, [0.0; 4]));
        Ok(())
    }

    fn set_overlayed_image(
        &self,
        uri: String,
        offset_x_percent: f32,
        offset_y_percent: f32,
        width_percent: f32,
        height_percent: f32,
    ) -> Result<(), KurentoError> {
        let s = layout(
            Some(&uri),
            [
                offset_x_percent,
                offset_y_percent,
                width_percent,
                height_percent,
            ],
        );
        self.element.set_property("image-to-overlay", s);
        Ok(())
    }
}
