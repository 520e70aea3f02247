// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-kmsfacedetector
 *
 * Finds frontal faces and reports them without touching the video. For every frame with at
 * least one face it pushes a serialized custom downstream event named `faces` just before the
 * frame (Kurento's layout: see `faces.rs`; `kmsimageoverlay` consumes it) and posts an element
 * message with the same structure on the bus, so `gst-launch-1.0 -m` and bus watchers see
 * detections too.
 *
 * Input: packed RGB (BGR, RGB, BGRx, BGRA, RGBx, RGBA) or YUV/grey (I420, YV12, NV12, NV21,
 * GRAY8). YUV is read through its luma plane, so a decoder's output needs no conversion.
 *
 * Algorithm: Kurento's (frame scaled to 320 wide, Haar or LBP frontal-face cascade, scale
 * 1.2, 3 neighbours, faces between 1/20 and 1/2 of the working image), run in full every
 * `full-scan-interval` frames; in between, known faces are re-found in a window around their
 * last position. `full-scan-interval=1` is Kurento's every-frame behaviour.
 *
 * Under QoS pressure (jitter above 1/7 s) up to five frames in a row skip detection and repeat
 * the previous faces with the current timestamps, as Kurento does; the jitter is read as a
 * 64-bit value (Kurento truncated it to 32 bits, Q-01).
 *
 * A missing or broken cascade file gives a warning on the bus and the video passes untouched
 * (Kurento aborted for a missing LBP cascade, Q-02).
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 -m filesrc location=faces.webm ! matroskademux ! vp8dec ! kmsfacedetector ! fakesink
 * ```
 */
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::detector::{Detector, FORMATS, PlaneView};
use crate::faces::{Face, FacesEvent};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "kmsfacedetector",
        gst::DebugColorFlags::empty(),
        Some("Kurento face detector"),
    )
});

pub const DEFAULT_HAAR_CASCADE: &str =
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
pub const DEFAULT_LBP_CASCADE: &str = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
const DEFAULT_SHOW_DEBUG_REGION: bool = false;
const DEFAULT_FILTER_VERSION: bool = true;
const DEFAULT_FULL_SCAN_INTERVAL: u32 = 5;
const MAX_FULL_SCAN_INTERVAL: u32 = 60;

/// Kurento's QoS thresholds: detection is skipped while late by more than 1/7 s, at most
/// five frames in a row.
const QOS_MAX_JITTER_NS: i64 = 1_000_000_000 / 7;
const QOS_MAX_SKIPPED: u32 = 5;

#[derive(Debug, Clone)]
struct Settings {
    show_debug_region: bool,
    /// `true` = Haar cascade, `false` = LBP cascade.
    filter_version: bool,
    haar_cascade: String,
    lbp_cascade: String,
    full_scan_interval: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            show_debug_region: DEFAULT_SHOW_DEBUG_REGION,
            filter_version: DEFAULT_FILTER_VERSION,
            haar_cascade: DEFAULT_HAAR_CASCADE.into(),
            lbp_cascade: DEFAULT_LBP_CASCADE.into(),
            full_scan_interval: DEFAULT_FULL_SCAN_INTERVAL,
        }
    }
}

impl Settings {
    fn cascade(&self) -> &str {
        if self.filter_version {
            &self.haar_cascade
        } else {
            &self.lbp_cascade
        }
    }
}

#[derive(Default)]
struct State {
    /// The cascade the detector was loaded from (also set when loading failed, so a broken
    /// file is reported once, not on every frame).
    cascade: Option<String>,
    detector: Option<Detector>,
    skipping: bool,
    skipped: u32,
    last_faces: Vec<Face>,
}

#[derive(Default)]
pub struct FaceDetector {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl FaceDetector {
    /// (Re)loads the cascade when the wanted file changed since the last attempt.
    fn ensure_detector(&self, state: &mut State, wanted: &str) {
        if state.cascade.as_deref() == Some(wanted) {
            return;
        }
        state.cascade = Some(wanted.to_owned());
        state.last_faces.clear();
        match Detector::load(wanted) {
            Ok(detector) => {
                gst::info!(CAT, imp = self, "Loaded cascade {wanted}");
                state.detector = Some(detector);
            }
            Err(err) => {
                state.detector = None;
                gst::element_imp_warning!(
                    self,
                    gst::ResourceError::OpenRead,
                    ("Face detection disabled: {}", err),
                    ["Video passes through without detection until a valid cascade is set"]
                );
            }
        }
    }

    fn handle_qos(&self, jitter_ns: i64) {
        let mut state = self.state.lock().unwrap();
        if jitter_ns > QOS_MAX_JITTER_NS && state.skipped <= QOS_MAX_SKIPPED {
            state.skipping = true;
        } else {
            state.skipping = false;
            state.skipped = 0;
        }
    }

    fn announce(&self, faces: &FacesEvent) {
        let structure = faces.to_structure();
        let obj = self.obj();
        let event = gst::event::CustomDownstream::new(structure.clone());
        if !obj.src_pad().push_event(event) {
            gst::debug!(CAT, imp = self, "faces event not handled downstream");
        }
        let _ = obj.post_message(gst::message::Element::builder(structure).src(&*obj).build());
    }
}

#[glib::object_subclass]
impl ObjectSubclass for FaceDetector {
    const NAME: &'static str = "GstKmsFaceDetector";
    type Type = super::FaceDetector;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for FaceDetector {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("show-debug-region")
                    .nick("Show debug region")
                    .blurb("Kept for compatibility with Kurento; has no effect")
                    .default_value(DEFAULT_SHOW_DEBUG_REGION)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("filter-version")
                    .nick("Filter version")
                    .blurb("Cascade to use: TRUE for the Haar cascade, FALSE for the faster, less accurate LBP cascade")
                    .default_value(DEFAULT_FILTER_VERSION)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("haar-cascade")
                    .nick("Haar cascade")
                    .blurb("Path of the Haar frontal-face cascade used when filter-version is TRUE")
                    .default_value(Some(DEFAULT_HAAR_CASCADE))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("lbp-cascade")
                    .nick("LBP cascade")
                    .blurb("Path of the LBP frontal-face cascade used when filter-version is FALSE")
                    .default_value(Some(DEFAULT_LBP_CASCADE))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("full-scan-interval")
                    .nick("Full scan interval")
                    .blurb("Scan the whole frame every this many frames and only re-find known faces in between (1 = scan every frame, as Kurento)")
                    .minimum(1)
                    .maximum(MAX_FULL_SCAN_INTERVAL)
                    .default_value(DEFAULT_FULL_SCAN_INTERVAL)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "show-debug-region" => {
                settings.show_debug_region = value.get().expect("type checked upstream");
            }
            "filter-version" => {
                let haar = value.get().expect("type checked upstream");
                gst::info!(
                    CAT,
                    imp = self,
                    "Using the {} cascade",
                    if haar { "Haar" } else { "LBP" }
                );
                settings.filter_version = haar;
            }
            "haar-cascade" => {
                settings.haar_cascade = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_else(|| DEFAULT_HAAR_CASCADE.into());
            }
            "lbp-cascade" => {
                settings.lbp_cascade = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_else(|| DEFAULT_LBP_CASCADE.into());
            }
            "full-scan-interval" => {
                settings.full_scan_interval = value.get().expect("type checked upstream");
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "show-debug-region" => settings.show_debug_region.to_value(),
            "filter-version" => settings.filter_version.to_value(),
            "haar-cascade" => settings.haar_cascade.to_value(),
            "lbp-cascade" => settings.lbp_cascade.to_value(),
            "full-scan-interval" => settings.full_scan_interval.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for FaceDetector {}

impl ElementImpl for FaceDetector {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Face Detector element",
                "Video/Filter",
                "Detects faces and announces them downstream (faces event) and on the bus (faces message)",
                "Kurento-rs developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(FORMATS)
                .build();
            kms_plugin_common::templates::filter_pad_templates(&caps)
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for FaceDetector {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let wanted = self.settings.lock().unwrap().cascade().to_owned();
        let mut state = self.state.lock().unwrap();
        *state = State::default();
        self.ensure_detector(&mut state, &wanted);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = State::default();
        Ok(())
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Qos(qos) = event.view() {
            let (_, _, jitter, _) = qos.get();
            self.handle_qos(jitter);
        }
        self.parent_src_event(event)
    }
}

impl VideoFilterImpl for FaceDetector {
    fn set_info(
        &self,
        _incaps: &gst::Caps,
        _in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        // Tracked positions mean nothing at another resolution.
        let mut state = self.state.lock().unwrap();
        if let Some(detector) = state.detector.as_mut() {
            detector.reset();
        }
        state.last_faces.clear();
        Ok(())
    }

    fn transform_frame_ip_passthrough(
        &self,
        frame: &gst_video::VideoFrameRef<&gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let pts = frame.buffer().pts();
        let dts = frame.buffer().dts();

        let faces = {
            let mut state = self.state.lock().unwrap();
            self.ensure_detector(&mut state, settings.cascade());
            if state.skipping {
                state.skipped += 1;
                gst::trace!(
                    CAT,
                    imp = self,
                    "QoS: skipping detection ({} in a row)",
                    state.skipped
                );
                state.last_faces.clone()
            } else {
                let State {
                    detector,
                    last_faces,
                    ..
                } = &mut *state;
                let Some(detector) = detector.as_mut() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let plane = PlaneView {
                    data: frame.plane_data(0).map_err(|_| gst::FlowError::Error)?,
                    stride: frame.plane_stride()[0] as usize,
                    width: frame.width() as usize,
                    height: frame.height() as usize,
                    format: frame.format(),
                };
                match detector.detect(&plane, settings.full_scan_interval) {
                    Ok(found) => *last_faces = found,
                    Err(err) => {
                        // A detection failure must never stop the video.
                        gst::warning!(CAT, imp = self, "Detection failed on this frame: {err}");
                        last_faces.clear();
                    }
                }
                last_faces.clone()
            }
        };

        if !faces.is_empty() {
            gst::log!(CAT, imp = self, "{} face(s) at {:?}", faces.len(), pts);
            self.announce(&FacesEvent { pts, dts, faces });
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
