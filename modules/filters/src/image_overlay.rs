// SPDX-License-Identifier: MPL-2.0
//! `ImageOverlayFilter` on `kmslogooverlay` (elements.md §5): the layout is read, changed by
//! one `image_position` field named after the image id (ratios as floats), and written back.

use gst::prelude::*;
use kurento_core_runtime::MediaType;

use crate::generated::*;
use crate::{FilterObject, make};

pub fn create(
    ctx: Context,
    p: ImageOverlayFilterConstructor,
) -> Result<Box<dyn ImageOverlayFilter>, KurentoError> {
    let element = make("kmslogooverlay")?;
    Ok(Box::new(FilterObject::new(
        ctx,
        &p.media_pipeline,
        element,
        Some(MediaType::Video),
    )?))
}

impl FilterObject {
    fn images(&self) -> gst::Structure {
        self.element
            .property::<Option<gst::Structure>>("images-to-overlay")
            .unwrap_or_else(|| gst::Structure::new_empty("images"))
    }
}

impl ImageOverlayFilter for FilterObject {
    fn remove_image(&self, id: String) -> Result<(), KurentoError> {
        let mut images = self.images();
        if images.n_fields() == 0 {
            // As Kurento: nothing to remove is not an error.
            gst::warning!(gst::CAT_DEFAULT, "removeImage('{id}'): no image to remove");
            return Ok(());
        }
        images.remove_field(id.as_str());
        self.element.set_property("images-to-overlay", images);
        Ok(())
    }

    fn add_image(
        &self,
        id: String,
        uri: String,
        offset_x_percent: f32,
        offset_y_percent: f32,
        width_percent: f32,
        height_percent: f32,
        keep_aspect_ratio: bool,
        center: bool,
    ) -> Result<(), KurentoError> {
        let position = gst::Structure::builder("image_position")
            .field("id", id.as_str())
            .field("uri", uri.as_str())
            .field("offsetXPercent", offset_x_percent)
            .field("offsetYPercent", offset_y_percent)
            .field("widthPercent", width_percent)
            .field("heightPercent", height_percent)
            .field("keepAspectRatio", keep_aspect_ratio)
            .field("center", center)
            .build();
        let mut images = self.images();
        images.set(id.as_str(), position);
        self.element.set_property("images-to-overlay", images);
        Ok(())
    }
}
