// SPDX-License-Identifier: MPL-2.0

use gst::glib;
use gst::prelude::*;

mod analysis;
mod imp;
mod rois;

pub use analysis::{displacement_angle, kurento_flow, level, processing_size, quantise_angle};
pub use rois::{Roi, RoiConfig, build_rois, parse_rois};

glib::wrapper! {
    pub struct CrowdDetector(ObjectSubclass<imp::CrowdDetector>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "crowddetector",
        gst::Rank::NONE,
        CrowdDetector::static_type(),
    )
}
