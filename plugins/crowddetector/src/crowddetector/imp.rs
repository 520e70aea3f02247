// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-crowddetector
 *
 * Kurento's crowd detector on OpenCV 4. For every region of interest (`rois`) it measures
 * how much of the region is covered by people (occupancy), how much of that crowd is
 * standing still rather than moving (fluidity) and, when enabled per region, the dominant
 * direction of motion (optical flow). Changes of level are posted as element messages
 * `occupancy-event` (`roi`, `occupancy_percentage`, `occupancy_level`), `fluidity-event`
 * (`roi`, `fluidity_percentage`, `fluidity_level`) and `direction-event` (`roi`,
 * `direction_angle`), each after the configured number of frames agreeing. The video is
 * tinted (blue = fast-changing texture, red = standing crowd) and the regions are outlined.
 *
 * `rois` uses the server's layout: one field per region holding a structure whose fields
 * are the points (`x`, `y`: relative 0..1) followed by one last configuration structure
 * (`id`, `occupancy_level_min`…, see elements.md §11).
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 -m filesrc location=crowd_synth_640x480.webm ! matroskademux ! vp8dec ! videoconvert ! \
 *   crowddetector processing-width=640 'rois=rois,r1=(structure)"r1,p0=(structure)\"p,x=(float)0.1,y=(float)0.5\",p1=(structure)\"p,x=(float)0.9,y=(float)0.5\",p2=(structure)\"p,x=(float)0.9,y=(float)0.95\",p3=(structure)\"p,x=(float)0.1,y=(float)0.95\",config=(structure)\"config,id=(string)r1,occupancy_level_min=(int)2,occupancy_level_med=(int)5,occupancy_level_max=(int)10,send_optical_flow_event=(boolean)true\";"' ! \
 *   videoconvert ! autovideosink
 * ```
 *
 * ## Decisions on Kurento's quirks
 * * Q-12 (fixed): setting `rois` again at any time replaces the regions; all state restarts.
 * * Q-13 (fixed, correctness): the analysis image keeps the frame's aspect ratio (Kurento
 *   divided the height by the integer quotient of the widths, which distorts e.g. 400×300).
 * * Q-14 (fixed): region areas are recomputed whenever the sizes change (and measured on the
 *   polygon as drawn, so non-convex regions are right too).
 * * Q-15 (parity): the texture code keeps Kurento's top-left reference and doubled neighbour;
 *   it only has to detect texture change, and parity keeps the levels comparable.
 * * Q-16 (parity with Kurento's code, not its docs): `direction_angle` is 0 for motion to
 *   the right, 90 up, 180 left and 270 down, quantised to four sectors rotated by
 *   `optical_flow_angle_offset` (the result is kept within 0..360).
 * * Q-17 (fixed): "no qualifying motion" is told apart from motion straight to the right, so
 *   rightward motion is reported as 0 instead of being taken for stillness.
 * * Q-18 (fixed): regions with fewer than 3 usable points are dropped with a bus warning;
 *   points outside the frame are clamped to it with a warning.
 *
 * Notes: the background model starts black, as Kurento's, so levels settle after a few
 * seconds; displacements of 3 px or less at processing size are ignored for the direction,
 * so slow walkers need a larger `processing-width`. Without regions the frames pass
 * untouched and nothing is computed. `show-debug-info` is kept for compatibility and has
 * no effect (overlays are always drawn).
 *
 * Since: plugins-rs-0.1.0
 */
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::analysis::{Analyser, Event, Metric};
use super::rois::{Roi, parse_rois};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "crowddetector",
        gst::DebugColorFlags::empty(),
        Some("Crowd detector"),
    )
});

const DEFAULT_SHOW_DEBUG_INFO: bool = false;
const DEFAULT_PROCESSING_WIDTH: i32 = 320;
const MIN_PROCESSING_WIDTH: i32 = 160;
const MAX_PROCESSING_WIDTH: i32 = 1280;

#[derive(Debug, Clone)]
struct Settings {
    show_debug_info: bool,
    processing_width: i32,
    rois_structure: Option<gst::Structure>,
    rois: Vec<Roi>,
    /// Problems found in the last `rois`, posted as a warning from the streaming thread
    /// (the element may have no bus when the property is set).
    problems: Vec<String>,
    /// Bumped on every change that restarts the analysis.
    generation: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            show_debug_info: DEFAULT_SHOW_DEBUG_INFO,
            processing_width: DEFAULT_PROCESSING_WIDTH,
            rois_structure: None,
            rois: Vec::new(),
            problems: Vec::new(),
            generation: 0,
        }
    }
}

#[derive(Default)]
struct State {
    analyser: Option<Analyser>,
    generation: u64,
    failed: bool,
}

#[derive(Default)]
pub struct CrowdDetector {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl CrowdDetector {
    fn post(&self, event: Event) {
        let s = match event {
            Event::Level {
                metric,
                roi,
                percentage,
                level,
            } => {
                let (name, percentage_field, level_field) = match metric {
                    Metric::Occupancy => {
                        ("occupancy-event", "occupancy_percentage", "occupancy_level")
                    }
                    Metric::Fluidity => ("fluidity-event", "fluidity_percentage", "fluidity_level"),
                };
                gst::Structure::builder(name)
                    .field("roi", roi)
                    .field(percentage_field, percentage)
                    .field(level_field, level)
                    .build()
            }
            Event::Direction { roi, angle } => gst::Structure::builder("direction-event")
                .field("roi", roi)
                .field("direction_angle", angle)
                .build(),
        };
        gst::debug!(CAT, imp = self, "Posting {s}");
        let obj = self.obj();
        let _ = obj.post_message(gst::message::Element::builder(s).src(&*obj).build());
    }
}

#[glib::object_subclass]
impl ObjectSubclass for CrowdDetector {
    const NAME: &'static str = "GstCrowdDetector";
    type Type = super::CrowdDetector;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for CrowdDetector {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("show-debug-info")
                    .nick("Show debug info")
                    .blurb("Kept for compatibility with Kurento; has no effect")
                    .default_value(DEFAULT_SHOW_DEBUG_INFO)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("rois")
                    .nick("Regions of interest")
                    .blurb("One field per region: a structure of points (x, y relative 0..1) followed by a configuration structure")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt::builder("processing-width")
                    .nick("Processing width")
                    .blurb("Width of the internal analysis image (never more than the frame width)")
                    .minimum(MIN_PROCESSING_WIDTH)
                    .maximum(MAX_PROCESSING_WIDTH)
                    .default_value(DEFAULT_PROCESSING_WIDTH)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "show-debug-info" => {
                settings.show_debug_info = value.get().expect("type checked upstream");
            }
            "rois" => {
                let s = value
                    .get::<Option<gst::Structure>>()
                    .expect("type checked upstream");
                let (rois, problems) = match &s {
                    Some(s) => parse_rois(s),
                    None => (Vec::new(), Vec::new()),
                };
                gst::info!(CAT, imp = self, "{} region(s) set", rois.len());
                for p in &problems {
                    gst::warning!(CAT, imp = self, "{p}");
                }
                settings.rois_structure = s;
                settings.rois = rois;
                settings.problems = problems;
                settings.generation += 1;
            }
            "processing-width" => {
                let width = value.get().expect("type checked upstream");
                if width != settings.processing_width {
                    gst::info!(
                        CAT,
                        imp = self,
                        "Changing processing-width from {} to {}",
                        settings.processing_width,
                        width
                    );
                    settings.processing_width = width;
                    settings.generation += 1;
                }
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "show-debug-info" => settings.show_debug_info.to_value(),
            "rois" => settings
                .rois_structure
                .clone()
                .unwrap_or_else(|| gst::Structure::new_empty("rois"))
                .to_value(),
            "processing-width" => settings.processing_width.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for CrowdDetector {}

impl ElementImpl for CrowdDetector {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Crowd detector element",
                "Video/Filter",
                "Measures occupancy, fluidity and motion direction of crowds in regions of interest",
                "Kurento-rs developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(kms_plugin_common::templates::bgr_filter_pad_templates);
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for CrowdDetector {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = State::default();
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = State::default();
        Ok(())
    }
}

impl VideoFilterImpl for CrowdDetector {
    fn set_info(
        &self,
        _incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        gst::debug!(
            CAT,
            imp = self,
            "New format {}x{}",
            in_info.width(),
            in_info.height()
        );
        // The background model means nothing at another size: start again.
        self.state.lock().unwrap().analyser = None;
        Ok(())
    }

    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (processing_width, generation, rois, problems) = {
            let mut settings = self.settings.lock().unwrap();
            (
                settings.processing_width,
                settings.generation,
                settings.rois.clone(),
                std::mem::take(&mut settings.problems),
            )
        };
        if !problems.is_empty() {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                ["Invalid regions of interest: {}", problems.join("; ")]
            );
        }
        let (width, height) = (frame.width() as i32, frame.height() as i32);
        let stride = frame.plane_stride()[0] as usize;
        let mut events = Vec::new();
        {
            let mut state = self.state.lock().unwrap();
            let stale = match &state.analyser {
                Some(a) => a.frame_size() != (width, height) || state.generation != generation,
                None => true,
            };
            if stale {
                match Analyser::new(width, height, processing_width, &rois) {
                    Ok(a) => {
                        gst::debug!(
                            CAT,
                            imp = self,
                            "Analysing {}x{} at {:?} with {} region(s)",
                            width,
                            height,
                            a.processing_size(),
                            rois.len()
                        );
                        state.analyser = Some(a);
                        state.generation = generation;
                        state.failed = false;
                    }
                    Err(err) => {
                        gst::element_imp_error!(
                            self,
                            gst::LibraryError::Failed,
                            ["Cannot set up the crowd analysis: {}", err]
                        );
                        return Err(gst::FlowError::Error);
                    }
                }
            }
            let analyser = state.analyser.as_mut().expect("created above");
            let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
            if let Err(err) = analyser.process(data, stride, &mut events) {
                // One bad frame must not stop the video; warn once per analyser.
                if !state.failed {
                    state.failed = true;
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Failed,
                        [
                            "Crowd analysis failed on a frame, passing it through: {}",
                            err
                        ]
                    );
                }
                events.clear();
            }
        }
        for e in events {
            self.post(e);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
