// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-kmsimageoverlay
 *
 * Draws an image over every face announced by an upstream `kmsfacedetector`. Faces arrive as
 * serialized custom downstream events (see `faces.rs`); each is drawn on the frame with the same
 * PTS, stale ones are dropped, future ones wait for their frame.
 *
 * `image-to-overlay` is a structure with `offsetXPercent`, `offsetYPercent`, `widthPercent`,
 * `heightPercent` (doubles, ratios of the face size; positive Y is down) and `url` (a path,
 * `file://` or `http(s)://` URI, or NULL to remove the overlay). The image is loaded off the
 * streaming thread and appears when ready; the previous image is dropped at once, as in
 * Kurento. An unreadable image, an HTTP error or a non-image gives a warning on the bus naming
 * the URI and the video keeps flowing.
 *
 * Decisions on Kurento's quirks: events without a `timestamp.pts` are ignored (Kurento reused
 * the previous entry's PTS, Q-04); overlays that scale to zero pixels are skipped (Kurento
 * threw, Q-05). HTTPS certificates are verified (Kurento accepted invalid ones).
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 videotestsrc ! kmsfacedetector ! kmsimageoverlay image-to-overlay="image,offsetXPercent=-0.35,offsetYPercent=-1.2,widthPercent=1.6,heightPercent=1.6,url=hat.png" ! videoconvert ! autovideosink
 * ```
 */
use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;
use kms_plugin_common::{BgraImage, PackedLayout, PendingWarnings, composite, spawn_image_load};

use crate::faces::{Face, FacesEvent};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "kmsimageoverlay",
        gst::DebugColorFlags::empty(),
        Some("Kurento image overlay"),
    )
});

const DEFAULT_SHOW_DEBUG_REGION: bool = false;
/// Bounds the face FIFO when frames stop arriving but events do not.
const MAX_PENDING_FACE_EVENTS: usize = 64;

/// Where and how large the image goes, relative to each face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub offset_x: f64,
    pub offset_y: f64,
    pub width: f64,
    pub height: f64,
}

impl Placement {
    /// The overlay rectangle for one face: Kurento's formula, truncating toward zero.
    pub fn rect_for(&self, face: &Face) -> (i64, i64, usize, usize) {
        let (fx, fy, fw, fh) = (
            face.x as f64,
            face.y as f64,
            face.width as f64,
            face.height as f64,
        );
        (
            (fx + fw * self.offset_x) as i64,
            (fy + fh * self.offset_y) as i64,
            (fw * self.width).max(0.0) as usize,
            (fh * self.height).max(0.0) as usize,
        )
    }
}

/// What `image-to-overlay` currently asks for.
#[derive(Debug, Clone, Default)]
struct Settings {
    structure: Option<gst::Structure>,
    show_debug_region: bool,
}

#[derive(Default)]
struct Overlay {
    placement: Option<Placement>,
    image: Option<Arc<BgraImage>>,
    /// Bumped on every property change so a slow load cannot replace a newer request.
    generation: u64,
}

#[derive(Default)]
pub struct ImageOverlay {
    settings: Mutex<Settings>,
    overlay: Arc<Mutex<Overlay>>,
    pending: Mutex<VecDeque<FacesEvent>>,
    warnings: PendingWarnings,
}

fn ratio(s: &gst::StructureRef, field: &str) -> Result<f64, String> {
    s.get::<f64>(field)
        .or_else(|_| s.get::<f32>(field).map(f64::from))
        .map_err(|_| format!("field '{field}' is missing or not a double"))
}

/// Parses `image-to-overlay`: all five fields are required, as in Kurento.
fn parse_overlay(s: &gst::StructureRef) -> Result<(Placement, Option<String>), String> {
    let placement = Placement {
        offset_x: ratio(s, "offsetXPercent")?,
        offset_y: ratio(s, "offsetYPercent")?,
        width: ratio(s, "widthPercent")?,
        height: ratio(s, "heightPercent")?,
    };
    if !s.has_field("url") {
        return Err("field 'url' is missing".into());
    }
    let url = s
        .get::<Option<String>>("url")
        .map_err(|_| "field 'url' is not a string".to_string())?;
    Ok((placement, url.filter(|u| !u.is_empty())))
}

impl ImageOverlay {
    fn apply_structure(&self, structure: Option<&gst::StructureRef>) {
        let mut overlay = self.overlay.lock().unwrap();
        overlay.generation += 1;
        overlay.image = None;
        overlay.placement = None;
        let Some(structure) = structure else {
            return;
        };
        let (placement, url) = match parse_overlay(structure) {
            Ok(parsed) => parsed,
            Err(err) => {
                gst::element_imp_warning!(
                    self,
                    gst::LibraryError::Settings,
                    ("Invalid image-to-overlay: {}", err),
                    ["{:?}", structure]
                );
                return;
            }
        };
        let Some(url) = url else {
            gst::info!(CAT, imp = self, "Overlay unset");
            return;
        };
        overlay.placement = Some(placement);
        let generation = overlay.generation;
        let slot = Arc::downgrade(&self.overlay);
        let element = self.obj().downgrade();
        gst::info!(CAT, imp = self, "Loading overlay image {url}");
        spawn_image_load(url, move |result| {
            let (Some(slot), Some(element)) = (slot.upgrade(), element.upgrade()) else {
                return;
            };
            match result {
                Ok(image) => {
                    let mut overlay = slot.lock().unwrap();
                    if overlay.generation == generation {
                        overlay.image = Some(Arc::new(image));
                    }
                }
                Err(err) => element.imp().warnings.report(element.upcast_ref(), err),
            }
        });
    }

    /// Takes the faces meant for the frame with `pts`, dropping stale entries.
    fn faces_for(&self, pts: Option<gst::ClockTime>) -> Vec<Face> {
        let Some(pts) = pts else {
            return Vec::new();
        };
        let mut pending = self.pending.lock().unwrap();
        while let Some(entry) = pending.front() {
            match entry.pts {
                Some(t) if t == pts => {
                    return pending.pop_front().map(|e| e.faces).unwrap_or_default();
                }
                Some(t) if t > pts => break,
                _ => {
                    pending.pop_front();
                }
            }
        }
        Vec::new()
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ImageOverlay {
    const NAME: &'static str = "GstKmsImageOverlay";
    type Type = super::ImageOverlay;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for ImageOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoxed::builder::<gst::Structure>("image-to-overlay")
                    .nick("Image to overlay")
                    .blurb("Structure with offsetXPercent, offsetYPercent, widthPercent, heightPercent (doubles, ratios of the face size) and url (path or URI; NULL removes the overlay)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-debug-region")
                    .nick("Show debug region")
                    .blurb("Kept for compatibility with Kurento; has no effect")
                    .default_value(DEFAULT_SHOW_DEBUG_REGION)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "image-to-overlay" => {
                let structure = value
                    .get::<Option<gst::Structure>>()
                    .expect("type checked upstream");
                self.settings.lock().unwrap().structure = structure.clone();
                self.apply_structure(structure.as_deref());
            }
            "show-debug-region" => {
                self.settings.lock().unwrap().show_debug_region =
                    value.get().expect("type checked upstream");
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "image-to-overlay" => settings
                .structure
                .clone()
                .unwrap_or_else(|| gst::Structure::new_empty("image_to_overlay"))
                .to_value(),
            "show-debug-region" => settings.show_debug_region.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for ImageOverlay {}

impl ElementImpl for ImageOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "image overlay element",
                "Video/Filter",
                "Draws an image over each face announced by an upstream face detector",
                "Kurento-rs developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(PackedLayout::OVERLAY_FORMATS)
                .build();
            kms_plugin_common::templates::filter_pad_templates(&caps)
        });
        PAD_TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        // Images set before the element joined a pipeline may have failed already.
        self.warnings
            .change_state(self.obj().upcast_ref(), transition, |t| {
                self.parent_change_state(t)
            })
    }
}

impl BaseTransformImpl for ImageOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.pending.lock().unwrap().clear();
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::CustomDownstream(custom) => {
                if let Some(faces) = custom.structure().and_then(FacesEvent::from_structure) {
                    let mut pending = self.pending.lock().unwrap();
                    if pending.len() >= MAX_PENDING_FACE_EVENTS {
                        pending.pop_front();
                    }
                    pending.push_back(faces);
                }
            }
            gst::EventView::FlushStop(_) => self.pending.lock().unwrap().clear(),
            _ => {}
        }
        self.parent_sink_event(event)
    }
}

impl VideoFilterImpl for ImageOverlay {
    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let faces = self.faces_for(frame.buffer().pts());
        if faces.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        let (placement, image) = {
            let overlay = self.overlay.lock().unwrap();
            match (overlay.placement, overlay.image.clone()) {
                (Some(p), Some(i)) => (p, i),
                _ => return Ok(gst::FlowSuccess::Ok),
            }
        };
        if placement.width == 0.0 || placement.height == 0.0 {
            return Ok(gst::FlowSuccess::Ok);
        }
        let Some(layout) = PackedLayout::of(frame.format()) else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
        for face in &faces {
            let (x, y, w, h) = placement.rect_for(face);
            // A face too small for the ratios scales the image to nothing: skip (Q-05).
            let Some(scaled) = image.resized(w, h) else {
                continue;
            };
            composite(data, stride, width, height, layout, &scaled, x, y, 1.0);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
