// SPDX-License-Identifier: MPL-2.0
//! The `rois` property: Kurento's positional layout, parsed into plain values.

/// Per-region configuration (Kurento's `RegionOfInterestConfig`, with its defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct RoiConfig {
    pub id: String,
    pub occupancy_level_min: i32,
    pub occupancy_level_med: i32,
    pub occupancy_level_max: i32,
    pub occupancy_num_frames_to_event: i32,
    pub fluidity_level_min: i32,
    pub fluidity_level_med: i32,
    pub fluidity_level_max: i32,
    pub fluidity_num_frames_to_event: i32,
    pub send_optical_flow_event: bool,
    pub optical_flow_num_frames_to_event: i32,
    pub optical_flow_num_frames_to_reset: i32,
    pub optical_flow_angle_offset: i32,
}

impl RoiConfig {
    pub fn new(id: &str) -> Self {
        RoiConfig {
            id: id.to_owned(),
            occupancy_level_min: 10,
            occupancy_level_med: 35,
            occupancy_level_max: 65,
            occupancy_num_frames_to_event: 5,
            fluidity_level_min: 10,
            fluidity_level_med: 35,
            fluidity_level_max: 65,
            fluidity_num_frames_to_event: 5,
            send_optical_flow_event: false,
            optical_flow_num_frames_to_event: 3,
            optical_flow_num_frames_to_reset: 3,
            optical_flow_angle_offset: 0,
        }
    }
}

/// A region: polygon in relative coordinates (0..1) and its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Roi {
    pub points: Vec<(f32, f32)>,
    pub config: RoiConfig,
}

/// Reads a number field that the server writes as gfloat; gdouble and gint are accepted too
/// so hand-written launch lines work.
fn number(s: &gst::StructureRef, name: &str) -> Option<f64> {
    if let Ok(v) = s.get::<f32>(name) {
        Some(v as f64)
    } else if let Ok(v) = s.get::<f64>(name) {
        Some(v)
    } else {
        s.get::<i32>(name).ok().map(|v| v as f64)
    }
}

fn int_field(s: &gst::StructureRef, name: &str, default: i32, problems: &mut Vec<String>) -> i32 {
    if !s.has_field(name) {
        return default;
    }
    match s.get::<i32>(name) {
        Ok(v) => v,
        Err(_) => match number(s, name) {
            Some(v) => v as i32,
            None => {
                problems.push(format!("field {name} is not a number, using {default}"));
                default
            }
        },
    }
}

/// Parses the `rois` structure. Regions that cannot be used are dropped and explained in the
/// returned problem list (Kurento could loop forever on a region without points, Q-18);
/// coordinates outside 0..1 are clamped to the frame.
pub fn parse_rois(rois: &gst::StructureRef) -> (Vec<Roi>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (field, value) in rois.iter() {
        let Ok(roi) = value.get::<gst::Structure>() else {
            problems.push(format!("region {field}: not a structure, ignored"));
            continue;
        };
        let n = roi.n_fields();
        if n == 0 {
            problems.push(format!("region {field}: empty, ignored"));
            continue;
        }
        // Positional layout: every field but the last is a point, the last is the config.
        let mut points = Vec::new();
        let mut clamped = false;
        for (name, pv) in roi.iter().take(n - 1) {
            let Ok(p) = pv.get::<gst::Structure>() else {
                problems.push(format!("region {field}: point {name} is not a structure"));
                continue;
            };
            match (number(&p, "x"), number(&p, "y")) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                    let cx = x.clamp(0.0, 1.0);
                    let cy = y.clamp(0.0, 1.0);
                    clamped |= cx != x || cy != y;
                    points.push((cx as f32, cy as f32));
                }
                _ => {
                    problems.push(format!(
                        "region {field}: point {name} has no numeric x and y"
                    ));
                }
            }
        }
        if clamped {
            problems.push(format!(
                "region {field}: points outside the frame (relative coordinates must be within 0..1) were moved to its edge"
            ));
        }
        let config_value = roi.iter().last().map(|(_, v)| v);
        let config = config_value.and_then(|v| v.get::<gst::Structure>().ok());
        let Some(config) = config else {
            problems.push(format!(
                "region {field}: the last field is not a configuration structure, ignored"
            ));
            continue;
        };
        if points.len() < 3 {
            problems.push(format!(
                "region {field}: {} usable point(s), a region needs at least 3, ignored",
                points.len()
            ));
            continue;
        }
        let id = config
            .get::<String>("id")
            .unwrap_or_else(|_| field.to_string());
        let d = RoiConfig::new(&id);
        let c = &config;
        let p = &mut problems;
        let cfg = RoiConfig {
            occupancy_level_min: int_field(c, "occupancy_level_min", d.occupancy_level_min, p),
            occupancy_level_med: int_field(c, "occupancy_level_med", d.occupancy_level_med, p),
            occupancy_level_max: int_field(c, "occupancy_level_max", d.occupancy_level_max, p),
            occupancy_num_frames_to_event: int_field(
                c,
                "occupancy_num_frames_to_event",
                d.occupancy_num_frames_to_event,
                p,
            ),
            fluidity_level_min: int_field(c, "fluidity_level_min", d.fluidity_level_min, p),
            fluidity_level_med: int_field(c, "fluidity_level_med", d.fluidity_level_med, p),
            fluidity_level_max: int_field(c, "fluidity_level_max", d.fluidity_level_max, p),
            fluidity_num_frames_to_event: int_field(
                c,
                "fluidity_num_frames_to_event",
                d.fluidity_num_frames_to_event,
                p,
            ),
            send_optical_flow_event: c
                .get::<bool>("send_optical_flow_event")
                .unwrap_or(d.send_optical_flow_event),
            optical_flow_num_frames_to_event: int_field(
                c,
                "optical_flow_num_frames_to_event",
                d.optical_flow_num_frames_to_event,
                p,
            ),
            optical_flow_num_frames_to_reset: int_field(
                c,
                "optical_flow_num_frames_to_reset",
                d.optical_flow_num_frames_to_reset,
                p,
            ),
            optical_flow_angle_offset: int_field(
                c,
                "optical_flow_angle_offset",
                d.optical_flow_angle_offset,
                p,
            ),
            id,
        };
        out.push(Roi {
            points,
            config: cfg,
        });
    }
    (out, problems)
}

/// Builds the `rois` structure in the server's layout (`point0`…, then `config`); the inverse of
/// [`parse_rois`], used by tests and applications.
pub fn build_rois(rois: &[Roi]) -> gst::Structure {
    let mut all = gst::Structure::new_empty("Rois");
    for roi in rois {
        let c = &roi.config;
        let mut s = gst::Structure::new_empty(c.id.as_str());
        for (i, (x, y)) in roi.points.iter().enumerate() {
            s.set(
                format!("point{i}").as_str(),
                gst::Structure::builder(format!("point{i}").as_str())
                    .field("x", *x)
                    .field("y", *y)
                    .build(),
            );
        }
        s.set(
            "config",
            gst::Structure::builder("config")
                .field("id", c.id.as_str())
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
                .build(),
        );
        all.set(c.id.as_str(), s);
    }
    all
}
