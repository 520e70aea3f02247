// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-platedetector
 *
 * Kurento's licence plate detector (Spanish format `NNNN LLL`) on OpenCV 4 and Debian's
 * Tesseract. Each frame is searched for plate-shaped regions (edges closed with a kernel as
 * wide as `plate-width-percentage` of the frame allows, three pre-processing variants in
 * rotation); the characters of a candidate are segmented, binarised and read by Tesseract,
 * restricted to digits for the four digit positions and to the plate letters otherwise. A
 * plate is announced with an element message `plate-detected` (`plate`: 9 characters, `-`
 * for the unused leading positions, e.g. `--2843KLM`; `first-read-pts`: timestamp of the
 * first frame read as that plate) once the same reading has been confirmed by three more,
 * and never twice in a row.
 *
 * OCR runs on one worker thread fed by a single-slot mailbox: the streaming thread never
 * waits for it, and a candidate not yet read is replaced by a newer one, so video is never
 * stalled and no work queues up.
 *
 * The OCR data is Debian's (`tesseract-ocr-eng`), not Kurento's trained model: `tessdata` is
 * the folder holding `<language>.traineddata` (default Debian's). A missing file makes the
 * element fail to start with a clear error (Kurento passed every frame through silently).
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 -m filesrc location=plate.webm ! matroskademux ! vp8dec ! videoconvert ! \
 *   platedetector show-debug-info=true ! videoconvert ! autovideosink
 * ```
 *
 * ## Decisions on Kurento's quirks
 * * Q-19 (fixed): the data folder is a property pointing at the folder that holds the file.
 * * Q-20 (parity): the plate proportion is an integer quotient (w/h in [4, 7)).
 * * Q-21 (fixed): each candidate is resized to a 60 px high working image from its own size.
 * * Q-22 (parity): the always-true area tests are left out, which is the same.
 * * Q-23 (parity): the split-character merge stays unreachable; boxes two or more
 *   characters wide are excluded. Duplicate boxes (both sides of an edge) are dropped
 *   before counting so they do not shift the positions.
 * * Reference character: the box whose height most boxes share (Kurento's "box below the
 *   median height" is a stray blob whenever a few are present).
 * * Segmentation: glyphs are found as blobs of the binarised plate (Kurento used Canny
 *   edges, which join touching bold characters), and boxes several characters wide are cut
 *   at their emptiest columns instead of being skipped.
 * * Reading: instead of two Tesseract calls per character, each group (four digits, the
 *   trailing letters, and leading letters only for the old format) is read in one call as a
 *   text line cut from the straightened plate, with that group's whitelist (Kurento's: the
 *   digits, or the capital letters); Debian's LSTM model reads lines far better than
 *   isolated glyphs. A group is accepted when Tesseract returns one character
 *   per glyph with mean confidence above Kurento's 70, else its positions stay `-`.
 * * When none of the three pre-processing variants finds a plate in a frame, the box of the
 *   plate found in the last 5 frames is read again, so OCR gets a candidate on more frames.
 *
 * Since: plugins-rs-0.1.0
 */
use std::ffi::c_void;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;
use opencv::core::{self, Mat, Scalar};
use opencv::imgproc;

use super::locate::Locator;
use super::ocr::{DEFAULT_LANGUAGE, DEFAULT_TESSDATA, Job, Outcome, Worker};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "platedetector",
        gst::DebugColorFlags::empty(),
        Some("Plate detector"),
    )
});

const DEFAULT_SHOW_DEBUG_INFO: bool = false;
const DEFAULT_PLATE_WIDTH_PERCENTAGE: f32 = 0.25;

#[derive(Debug, Clone)]
struct Settings {
    show_debug_info: bool,
    plate_width_percentage: f32,
    tessdata: String,
    language: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            show_debug_info: DEFAULT_SHOW_DEBUG_INFO,
            plate_width_percentage: DEFAULT_PLATE_WIDTH_PERCENTAGE,
            tessdata: DEFAULT_TESSDATA.into(),
            language: DEFAULT_LANGUAGE.into(),
        }
    }
}

#[derive(Default)]
struct State {
    worker: Option<Worker>,
    locator: Locator,
    failed: bool,
}

#[derive(Default)]
pub struct PlateDetector {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

#[glib::object_subclass]
impl ObjectSubclass for PlateDetector {
    const NAME: &'static str = "GstPlateDetector";
    type Type = super::PlateDetector;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for PlateDetector {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("show-debug-info")
                    .nick("Show debug info")
                    .blurb("Draw the box of every plate candidate that was read")
                    .default_value(DEFAULT_SHOW_DEBUG_INFO)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("plate-width-percentage")
                    .nick("Plate width percentage")
                    .blurb("Expected plate width as a fraction of the frame width")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_PLATE_WIDTH_PERCENTAGE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("tessdata")
                    .nick("Tesseract data folder")
                    .blurb("Folder holding <language>.traineddata (read when the element starts)")
                    .default_value(Some(DEFAULT_TESSDATA))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("language")
                    .nick("Tesseract language")
                    .blurb("Tesseract language (model file name without .traineddata)")
                    .default_value(Some(DEFAULT_LANGUAGE))
                    .mutable_ready()
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
            "plate-width-percentage" => {
                let v = value.get().expect("type checked upstream");
                gst::info!(
                    CAT,
                    imp = self,
                    "Changing plate-width-percentage from {} to {}",
                    settings.plate_width_percentage,
                    v
                );
                settings.plate_width_percentage = v;
            }
            "tessdata" => {
                settings.tessdata = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_else(|| DEFAULT_TESSDATA.into());
            }
            "language" => {
                settings.language = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_else(|| DEFAULT_LANGUAGE.into());
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "show-debug-info" => settings.show_debug_info.to_value(),
            "plate-width-percentage" => settings.plate_width_percentage.to_value(),
            "tessdata" => settings.tessdata.to_value(),
            "language" => settings.language.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for PlateDetector {}

impl ElementImpl for PlateDetector {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Plate detector element",
                "Video/Filter",
                "Finds licence plates and reads them with Tesseract",
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

impl BaseTransformImpl for PlateDetector {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let weak = self.obj().downgrade();
        let worker = Worker::start(
            &PathBuf::from(&settings.tessdata),
            &settings.language,
            move |outcome| {
                let Some(obj) = weak.upgrade() else { return };
                match outcome {
                    Outcome::Read { text, pts } => {
                        gst::debug!(CAT, obj = obj, "Read {text} from the frame at {pts:?}");
                    }
                    Outcome::Plate { plate, first_pts } => {
                        gst::info!(CAT, obj = obj, "Plate {plate}");
                        let mut s = gst::Structure::builder("plate-detected").field("plate", plate);
                        if let Some(pts) = first_pts {
                            s = s.field("first-read-pts", pts.nseconds());
                        }
                        let _ = obj.post_message(
                            gst::message::Element::builder(s.build()).src(&obj).build(),
                        );
                    }
                }
            },
        )
        .map_err(|e| gst::error_msg!(gst::ResourceError::NotFound, ["{}", e]))?;
        *self.state.lock().unwrap() = State {
            worker: Some(worker),
            ..State::default()
        };
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let worker = self.state.lock().unwrap().worker.take();
        if let Some(w) = &worker {
            gst::info!(
                CAT,
                imp = self,
                "{} candidates were replaced by newer ones before OCR",
                w.replaced()
            );
        }
        drop(worker);
        Ok(())
    }
}

impl VideoFilterImpl for PlateDetector {
    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (show, pwp) = {
            let s = self.settings.lock().unwrap();
            (s.show_debug_info, s.plate_width_percentage)
        };
        let pts = frame.buffer().pts();
        let (w, h) = (frame.width() as i32, frame.height() as i32);
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
        let mut state = self.state.lock().unwrap();
        let State {
            worker,
            locator,
            failed,
        } = &mut *state;
        let Some(worker) = worker.as_ref() else {
            return Err(gst::FlowError::Flushing);
        };
        // SAFETY: the header borrows the mapped frame for this call only.
        let result = unsafe {
            Mat::new_rows_cols_with_data_unsafe(
                h,
                w,
                core::CV_8UC3,
                data.as_mut_ptr() as *mut c_void,
                stride,
            )
        }
        .and_then(|mut mat| {
            // Kurento looked at one pre-processing variant per frame; trying the next ones
            // when it finds nothing gives the OCR a candidate on most frames (a few ms more).
            let mut readings = Vec::new();
            for _ in 0..3 {
                readings = locator.locate(&mat, pwp)?;
                if !readings.is_empty() {
                    break;
                }
            }
            if readings.is_empty() {
                readings = locator.track(&mat)?;
            }
            if show {
                for r in &readings {
                    imgproc::rectangle(
                        &mut mat,
                        r.plate,
                        Scalar::new(0.0, 255.0, 0.0, 0.0),
                        2,
                        imgproc::LINE_8,
                        0,
                    )?;
                }
            }
            Ok(readings)
        });
        match result {
            Ok(readings) => {
                // The candidate with most characters is the likeliest plate.
                if let Some(reading) = readings.into_iter().max_by_key(|r| r.glyphs.len()) {
                    gst::debug!(
                        CAT,
                        imp = self,
                        "Candidate with {} glyphs at {:?}",
                        reading.glyphs.len(),
                        pts
                    );
                    worker.submit(Job { reading, pts });
                }
            }
            Err(err) => {
                if !*failed {
                    *failed = true;
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Failed,
                        [
                            "Plate search failed on a frame, passing it through: {}",
                            err
                        ]
                    );
                }
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
