// SPDX-License-Identifier: MPL-2.0

use gst::glib;
use gst::prelude::*;

mod imp;
mod locate;
mod ocr;
mod plate;

pub use ocr::{DEFAULT_LANGUAGE, DEFAULT_TESSDATA};
pub use plate::{Plate, Stabiliser, validate};

glib::wrapper! {
    pub struct PlateDetector(ObjectSubclass<imp::PlateDetector>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "platedetector",
        gst::Rank::NONE,
        PlateDetector::static_type(),
    )
}
