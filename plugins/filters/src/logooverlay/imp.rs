// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-kmslogooverlay
 *
 * Draws images at fixed positions of the frame: the element behind Kurento's
 * `ImageOverlayFilter`. `images-to-overlay` is a structure whose fields (any name, in order)
 * are structures describing one image each: `id` and `uri` (strings), `offsetXPercent`,
 * `offsetYPercent`, `widthPercent`, `heightPercent` (ratios of the frame size; Kurento sends
 * floats, doubles are accepted too), `keepAspectRatio` and `center` (booleans). Later images
 * are drawn on top. Entries with a zero width or height ratio are ignored, as in Kurento.
 *
 * Images load off the streaming thread (path, `file://` or `http(s)://`) and appear when
 * ready; re-setting the layout keeps showing an image whose id and URI did not change while
 * it reloads. A failed load gives a warning on the bus naming the URI; the video keeps flowing.
 *
 * Decisions on Kurento's quirks: sizes are recomputed whenever the resolution changes
 * (Kurento kept the first frame's sizes, Q-06); `keepAspectRatio` fits the image inside its
 * box with the image's own aspect ratio, the documented intent (Kurento's formula produced
 * the reciprocal ratio for non-square images, Q-07); `center` centres the fitted image in its
 * box and only applies with `keepAspectRatio`.
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 videotestsrc ! kmslogooverlay images-to-overlay="images,logo=(structure)\"image_position,id=logo,uri=logo.png,offsetXPercent=0.7,offsetYPercent=0.05,widthPercent=0.25,heightPercent=0.25,keepAspectRatio=true,center=true\"" ! videoconvert ! autovideosink
 * ```
 */
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;
use kms_plugin_common::{BgraImage, PackedLayout, PendingWarnings, composite, spawn_image_load};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "kmslogooverlay",
        gst::DebugColorFlags::empty(),
        Some("Kurento logo overlay"),
    )
});

/// One image of the layout, as given by the application.
#[derive(Debug, Clone, PartialEq)]
pub struct LogoSpec {
    pub id: String,
    pub uri: String,
    pub offset_x: f64,
    pub offset_y: f64,
    pub width: f64,
    pub height: f64,
    pub keep_aspect_ratio: bool,
    pub center: bool,
}

impl LogoSpec {
    /// Where the image goes in a frame and at what size: `(x, y, width, height)`.
    pub fn placement(
        &self,
        frame_w: usize,
        frame_h: usize,
        image_w: usize,
        image_h: usize,
    ) -> (i64, i64, usize, usize) {
        let box_w = (frame_w as f64 * self.width) as usize;
        let box_h = (frame_h as f64 * self.height) as usize;
        let mut x = (frame_w as f64 * self.offset_x) as i64;
        let mut y = (frame_h as f64 * self.offset_y) as i64;
        if !self.keep_aspect_ratio || image_w == 0 || image_h == 0 {
            return (x, y, box_w, box_h);
        }
        let scale = (box_w as f64 / image_w as f64).min(box_h as f64 / image_h as f64);
        let w = ((image_w as f64 * scale) as usize).min(box_w);
        let h = ((image_h as f64 * scale) as usize).min(box_h);
        if self.center {
            x += ((box_w - w) / 2) as i64;
            y += ((box_h - h) / 2) as i64;
        }
        (x, y, w, h)
    }
}

fn number(s: &gst::StructureRef, field: &str) -> f64 {
    s.get::<f32>(field)
        .map(f64::from)
        .or_else(|_| s.get::<f64>(field))
        .unwrap_or(0.0)
}

/// Reads one layout entry; `Ok(None)` for entries Kurento ignores (zero-sized box).
fn parse_entry(name: &str, s: &gst::StructureRef) -> Result<Option<LogoSpec>, String> {
    let uri = s
        .get::<Option<String>>("uri")
        .ok()
        .flatten()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| format!("image '{name}' has no 'uri' string"))?;
    let spec = LogoSpec {
        id: s.get::<String>("id").unwrap_or_else(|_| name.to_owned()),
        uri,
        offset_x: number(s, "offsetXPercent"),
        offset_y: number(s, "offsetYPercent"),
        width: number(s, "widthPercent"),
        height: number(s, "heightPercent"),
        keep_aspect_ratio: s.get("keepAspectRatio").unwrap_or(false),
        center: s.get("center").unwrap_or(false),
    };
    Ok((spec.width != 0.0 && spec.height != 0.0).then_some(spec))
}

struct Logo {
    spec: LogoSpec,
    source: Option<Arc<BgraImage>>,
    /// The image scaled for the last frame size seen: `(frame_w, frame_h, x, y, image)`.
    scaled: Option<(usize, usize, i64, i64, Arc<BgraImage>)>,
}

impl Logo {
    fn scaled_for(&mut self, frame_w: usize, frame_h: usize) -> Option<(i64, i64, Arc<BgraImage>)> {
        if let Some((w, h, x, y, image)) = &self.scaled
            && (*w, *h) == (frame_w, frame_h)
        {
            return Some((*x, *y, image.clone()));
        }
        let source = self.source.as_ref()?;
        let (x, y, w, h) = self
            .spec
            .placement(frame_w, frame_h, source.width, source.height);
        let image = Arc::new(source.resized(w, h)?);
        self.scaled = Some((frame_w, frame_h, x, y, image.clone()));
        Some((x, y, image))
    }
}

#[derive(Default)]
struct Layout {
    logos: Vec<Logo>,
    generation: u64,
}

#[derive(Default)]
pub struct LogoOverlay {
    structure: Mutex<Option<gst::Structure>>,
    layout: Arc<Mutex<Layout>>,
    warnings: PendingWarnings,
}

impl LogoOverlay {
    fn apply_structure(&self, structure: Option<&gst::StructureRef>) {
        let mut specs = Vec::new();
        for (name, value) in structure.iter().flat_map(|s| s.iter()) {
            let Ok(entry) = value.get::<gst::Structure>() else {
                continue;
            };
            match parse_entry(name, &entry) {
                Ok(Some(spec)) => specs.push(spec),
                Ok(None) => gst::debug!(CAT, imp = self, "Ignoring zero-sized image '{name}'"),
                Err(err) => gst::element_imp_warning!(
                    self,
                    gst::LibraryError::Settings,
                    ("Invalid images-to-overlay: {}", err),
                    ["{:?}", entry]
                ),
            }
        }

        let mut layout = self.layout.lock().unwrap();
        layout.generation += 1;
        let generation = layout.generation;
        // Keep showing unchanged images while they reload.
        let mut previous: HashMap<(String, String), Arc<BgraImage>> = layout
            .logos
            .drain(..)
            .filter_map(|l| Some(((l.spec.id, l.spec.uri), l.source?)))
            .collect();
        for (index, spec) in specs.into_iter().enumerate() {
            let source = previous.remove(&(spec.id.clone(), spec.uri.clone()));
            let slot = Arc::downgrade(&self.layout);
            let element = self.obj().downgrade();
            spawn_image_load(spec.uri.clone(), move |result| {
                let (Some(slot), Some(element)) = (slot.upgrade(), element.upgrade()) else {
                    return;
                };
                match result {
                    Ok(image) => {
                        let mut layout = slot.lock().unwrap();
                        if layout.generation == generation
                            && let Some(logo) = layout.logos.get_mut(index)
                        {
                            logo.source = Some(Arc::new(image));
                            logo.scaled = None;
                        }
                    }
                    Err(err) => element.imp().warnings.report(element.upcast_ref(), err),
                }
            });
            layout.logos.push(Logo {
                spec,
                source,
                scaled: None,
            });
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LogoOverlay {
    const NAME: &'static str = "GstKmsLogoOverlay";
    type Type = super::LogoOverlay;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for LogoOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoxed::builder::<gst::Structure>("images-to-overlay")
                    .nick("Images to overlay")
                    .blurb("Structure of image_position structures: id, uri, offsetXPercent, offsetYPercent, widthPercent, heightPercent (ratios of the frame size), keepAspectRatio, center")
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "images-to-overlay" => {
                let structure = value
                    .get::<Option<gst::Structure>>()
                    .expect("type checked upstream");
                gst::info!(CAT, imp = self, "New layout {:?}", structure);
                *self.structure.lock().unwrap() = structure.clone();
                self.apply_structure(structure.as_deref());
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "images-to-overlay" => self
                .structure
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| gst::Structure::new_empty("images"))
                .to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for LogoOverlay {}

impl ElementImpl for LogoOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "logo overlay element",
                "Video/Filter",
                "Draws images at positions given as ratios of the frame size",
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

impl BaseTransformImpl for LogoOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;
}

impl VideoFilterImpl for LogoOverlay {
    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let images: Vec<_> = {
            let mut layout = self.layout.lock().unwrap();
            layout
                .logos
                .iter_mut()
                .filter_map(|logo| logo.scaled_for(width, height))
                .collect()
        };
        if images.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        let Some(layout) = PackedLayout::of(frame.format()) else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
        for (x, y, image) in images {
            composite(data, stride, width, height, layout, &image, x, y, 1.0);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(keep: bool, center: bool) -> LogoSpec {
        LogoSpec {
            id: "a".into(),
            uri: "a.png".into(),
            offset_x: 0.5,
            offset_y: 0.25,
            width: 0.25,
            height: 0.5,
            keep_aspect_ratio: keep,
            center,
        }
    }

    #[test]
    fn stretch_fills_the_box() {
        assert_eq!(
            spec(false, true).placement(400, 200, 10, 20),
            (200, 50, 100, 100)
        );
    }

    #[test]
    fn keep_aspect_fits_a_wide_image_and_centres_it() {
        // Box 100x100, image 2:1 → 100x50, centred vertically.
        assert_eq!(
            spec(true, true).placement(400, 200, 40, 20),
            (200, 75, 100, 50)
        );
        assert_eq!(
            spec(true, false).placement(400, 200, 40, 20),
            (200, 50, 100, 50)
        );
    }

    #[test]
    fn keep_aspect_fits_a_tall_image() {
        assert_eq!(
            spec(true, true).placement(400, 200, 10, 40),
            (237, 50, 25, 100)
        );
    }
}
