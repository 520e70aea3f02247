// SPDX-License-Identifier: MPL-2.0
//! Kurento module `crowddetector`: the remote class `CrowdDetectorFilter` (elements.md §11.5)
//! on the element `crowddetector` (plugin `gst-plugin-crowddetector`).
//!
//! * constructor `(mediaPipeline, rois: RegionOfInterest[])`: the regions become the element's
//!   `rois` structure `Rois`, one field per region (named by its id) holding a structure named
//!   after the id with fields `point0`…`pointN-1` = {x, y: gfloat} and a last field `config`
//!   (the id and the twelve thresholds in snake_case);
//! * property `processingWidth` (get/set `processing-width`, 160..1280);
//! * events `CrowdDetectorOccupancy`, `CrowdDetectorFluidity`, `CrowdDetectorDirection` from the
//!   element's `occupancy-event`, `fluidity-event`, `direction-event` messages. The region is
//!   given twice, as `roiId` and under the older name `roiID` that existing clients read.
//!
//! Refused with 40107 (Kurento: "Invalid roi name" for the first, nothing for the rest): a
//! region id that cannot be a GstStructure name (Q-27), a duplicate id, fewer than 3 points,
//! a point outside 0..1, levels not ordered min ≤ med ≤ max within 0..100 (occupancy may go
//! higher), frame counts below 1, a processing width outside 160..1280.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

use generated::*;
use gst::prelude::*;
use kurento_module_glue::{Filter, check_id, filter_module_glue, illegal_param, message_field};

/// Factory name of the element.
pub const ELEMENT: &str = "crowddetector";
const MIN_PROCESSING_WIDTH: i32 = 160;
const MAX_PROCESSING_WIDTH: i32 = 1280;

/// One `CrowdDetectorFilter`.
pub struct CrowdDetector {
    ctx: Context,
    filter: Filter,
}

filter_module_glue!(CrowdDetector);

fn bad(roi: &str, what: String) -> KurentoError {
    illegal_param(format!("region '{roi}': {what}")).into()
}

fn check_config(id: &str, c: &RegionOfInterestConfig) -> Result<(), KurentoError> {
    for (name, [min, med, max]) in [
        (
            "occupancyLevel",
            [
                c.occupancy_level_min,
                c.occupancy_level_med,
                c.occupancy_level_max,
            ],
        ),
        (
            "fluidityLevel",
            [
                c.fluidity_level_min,
                c.fluidity_level_med,
                c.fluidity_level_max,
            ],
        ),
    ] {
        if !(0 <= min && min <= med && med <= max) {
            return Err(bad(
                id,
                format!(
                    "{name}Min/Med/Max ({min}, {med}, {max}) must satisfy 0 <= min <= med <= max"
                ),
            ));
        }
    }
    for (name, v) in [
        ("occupancyNumFramesToEvent", c.occupancy_num_frames_to_event),
        ("fluidityNumFramesToEvent", c.fluidity_num_frames_to_event),
        (
            "opticalFlowNumFramesToEvent",
            c.optical_flow_num_frames_to_event,
        ),
        (
            "opticalFlowNumFramesToReset",
            c.optical_flow_num_frames_to_reset,
        ),
    ] {
        if v < 1 {
            return Err(bad(id, format!("{name} is {v}, it must be at least 1")));
        }
    }
    Ok(())
}

/// The element's `rois` structure (elements.md §11.5), after checking every region.
fn rois_structure(rois: &[RegionOfInterest]) -> Result<gst::Structure, KurentoError> {
    let mut all = gst::Structure::new_empty("Rois");
    for roi in rois {
        let id = roi.id.as_str();
        check_id("roi name", id)?;
        if all.has_field(id) {
            return Err(bad(id, "the id is used by another region".into()));
        }
        if roi.points.len() < 3 {
            return Err(bad(
                id,
                format!("{} points; a region needs at least 3", roi.points.len()),
            ));
        }
        let c = &roi.region_of_interest_config;
        check_config(id, c)?;
        let mut s = gst::Structure::new_empty(id);
        for (i, p) in roi.points.iter().enumerate() {
            if !((0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y)) {
                return Err(bad(
                    id,
                    format!("point {i} ({}, {}) is outside 0..1", p.x, p.y),
                ));
            }
            s.set(
                format!("point{i}").as_str(),
                gst::Structure::builder(format!("point{i}").as_str())
                    .field("x", p.x)
                    .field("y", p.y)
                    .build(),
            );
        }
        let config = gst::Structure::builder("config")
            .field("id", id)
            .field("occupancy_level_min", c.occupancy_level_min)
            .field("occupancy_level_med", c.occupancy_level_med)
            .field("occupancy_level_max", c.occupancy_level_max)
            .field(
                "occupancy_num_frames_to_event",
                c.occupancy_num_frames_to_event,
            )
            .field("fluidity_level_min", c.fluidity_level_min)
            .field("fluidity_level_med", c.fluidity_level_med)
            .field("fluidity_level_max", c.fluidity_level_max)
            .field(
                "fluidity_num_frames_to_event",
                c.fluidity_num_frames_to_event,
            )
            .field("send_optical_flow_event", c.send_optical_flow_event)
            .field(
                "optical_flow_num_frames_to_event",
                c.optical_flow_num_frames_to_event,
            )
            .field(
                "optical_flow_num_frames_to_reset",
                c.optical_flow_num_frames_to_reset,
            )
            .field("optical_flow_angle_offset", c.optical_flow_angle_offset)
            .build();
        s.set("config", config);
        all.set(id, s);
    }
    Ok(all)
}

impl CrowdDetectorFilter for CrowdDetector {
    fn get_processing_width(&self) -> Result<i32, KurentoError> {
        Ok(self.filter.element().property::<i32>("processing-width"))
    }

    fn set_processing_width(&self, processing_width: i32) -> Result<(), KurentoError> {
        if !(MIN_PROCESSING_WIDTH..=MAX_PROCESSING_WIDTH).contains(&processing_width) {
            return Err(illegal_param(format!(
                "processingWidth {processing_width} is outside {MIN_PROCESSING_WIDTH}..{MAX_PROCESSING_WIDTH}"
            ))
            .into());
        }
        self.filter
            .element()
            .set_property("processing-width", processing_width);
        Ok(())
    }
}

/// Raises the event of an element message (§1.4) through the generated `ctx.emit`, which fills
/// `source`, `timestampMillis` and `tags`; other messages, or messages missing a field, are
/// dropped.
fn raise_event(ctx: &Context, s: &gst::StructureRef) {
    let name = s.name();
    if !matches!(
        name.as_str(),
        "occupancy-event" | "fluidity-event" | "direction-event"
    ) {
        return;
    }
    let Some(roi) = message_field::<String>(s, "roi") else {
        return;
    };
    match name.as_str() {
        "occupancy-event" => {
            if let (Some(percentage), Some(level)) = (
                message_field::<f64>(s, "occupancy_percentage"),
                message_field::<i32>(s, "occupancy_level"),
            ) {
                ctx.emit(CrowdDetectorOccupancy::new(
                    percentage as f32,
                    level,
                    roi.clone(),
                    roi,
                ));
            }
        }
        "fluidity-event" => {
            if let (Some(percentage), Some(level)) = (
                message_field::<f64>(s, "fluidity_percentage"),
                message_field::<i32>(s, "fluidity_level"),
            ) {
                ctx.emit(CrowdDetectorFluidity::new(
                    percentage as f32,
                    level,
                    roi.clone(),
                    roi,
                ));
            }
        }
        _ => {
            if let Some(angle) = message_field::<f64>(s, "direction_angle") {
                ctx.emit(CrowdDetectorDirection::new(angle as f32, roi.clone(), roi));
            }
        }
    }
}

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_crowd_detector_filter(
        ctx: Context,
        p: CrowdDetectorFilterConstructor,
    ) -> Result<Box<dyn CrowdDetectorFilter>, KurentoError> {
        let rois = rois_structure(&p.rois)?;
        let filter = new_filter(&ctx, &p.media_pipeline, ELEMENT, move |e| {
            e.set_property("rois", rois);
            Ok(())
        })?;
        let events = ctx.clone();
        filter.on_message(move |s| raise_event(&events, s));
        Ok(Box::new(CrowdDetector { ctx, filter }))
    }
}

generated::export_module!(Module);
