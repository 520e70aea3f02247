// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-kmsfaceoverlay
 *
 * `kmsfacedetector ! kmsimageoverlay` in one bin: the element behind Kurento's
 * `FaceOverlayFilter`. `image-to-overlay` is forwarded to the inner overlay (see
 * `kmsimageoverlay`); the detector's `faces` events leave through the bin's src pad and its
 * `faces` messages reach the bus.
 *
 * ## Example launch line
 * ```sh
 * gst-launch-1.0 filesrc location=faces.webm ! matroskademux ! vp8dec ! videoconvert ! kmsfaceoverlay image-to-overlay="image,offsetXPercent=-0.35,offsetYPercent=-1.2,widthPercent=1.6,heightPercent=1.6,url=hat.png" ! videoconvert ! autovideosink
 * ```
 */
use std::sync::{LazyLock, Mutex, OnceLock};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use kms_plugin_common::PackedLayout;

const DEFAULT_SHOW_DEBUG_REGION: bool = false;

#[derive(Default)]
pub struct FaceOverlay {
    show_debug_region: Mutex<bool>,
    overlay: OnceLock<gst::Element>,
}

impl FaceOverlay {
    fn overlay(&self) -> &gst::Element {
        self.overlay
            .get()
            .expect("children are created in constructed()")
    }
}

#[glib::object_subclass]
impl ObjectSubclass for FaceOverlay {
    const NAME: &'static str = "GstKmsFaceOverlay";
    type Type = super::FaceOverlay;
    type ParentType = gst::Bin;
}

impl ObjectImpl for FaceOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoxed::builder::<gst::Structure>("image-to-overlay")
                    .nick("Image to overlay")
                    .blurb("Forwarded to the inner kmsimageoverlay: offsetXPercent, offsetYPercent, widthPercent, heightPercent (doubles) and url")
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
            "image-to-overlay" => self
                .overlay()
                .set_property_from_value("image-to-overlay", value),
            "show-debug-region" => {
                *self.show_debug_region.lock().unwrap() =
                    value.get().expect("type checked upstream");
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "image-to-overlay" => self.overlay().property_value("image-to-overlay"),
            "show-debug-region" => self.show_debug_region.lock().unwrap().to_value(),
            _ => unimplemented!(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        // Both children come from this same plugin, so creation only fails on a broken install.
        let detector = gst::ElementFactory::make("kmsfacedetector")
            .name("face_detector")
            .build()
            .expect("kmsfacedetector is registered by this plugin");
        let overlay = gst::ElementFactory::make("kmsimageoverlay")
            .name("image_overlay")
            .build()
            .expect("kmsimageoverlay is registered by this plugin");
        obj.add_many([&detector, &overlay]).expect("fresh children");
        detector.link(&overlay).expect("compatible children");

        let sink = gst::GhostPad::builder_from_template_with_target(
            &obj.pad_template("sink").unwrap(),
            &detector.static_pad("sink").unwrap(),
        )
        .expect("matching template")
        .build();
        let src = gst::GhostPad::builder_from_template_with_target(
            &obj.pad_template("src").unwrap(),
            &overlay.static_pad("src").unwrap(),
        )
        .expect("matching template")
        .build();
        obj.add_pad(&sink).expect("fresh pad");
        obj.add_pad(&src).expect("fresh pad");
        let _ = self.overlay.set(overlay);
    }
}

impl GstObjectImpl for FaceOverlay {}

impl ElementImpl for FaceOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Face Overlay element",
                "Video/Filter",
                "Detects faces and draws an image over each of them",
                "Kurento-rs developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            // The formats both children accept.
            let formats = PackedLayout::OVERLAY_FORMATS
                .into_iter()
                .filter(|f| crate::facedetector::FORMATS.contains(f));
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(formats)
                .build();
            kms_plugin_common::templates::filter_pad_templates(&caps)
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BinImpl for FaceOverlay {}
