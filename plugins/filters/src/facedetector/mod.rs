// SPDX-License-Identifier: MPL-2.0

use gst::glib;
use gst::prelude::*;

mod detector;
mod imp;

pub use detector::FORMATS;

glib::wrapper! {
    pub struct FaceDetector(ObjectSubclass<imp::FaceDetector>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "kmsfacedetector",
        gst::Rank::NONE,
        FaceDetector::static_type(),
    )
}
