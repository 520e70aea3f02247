// SPDX-License-Identifier: MPL-2.0
/**
 * SECTION:element-pointerdetector
 *
 * Kurento's pointer detector (remote class `PointerDetectorFilter`). The application sets a
 * `calibration-area` (drawn as a white outline), holds a coloured pointer (a ball, a disc on
 * a stick) inside it and emits `calibrate-color`; from then on the element finds the pointer
 * in every frame, draws it as a red dot, draws the windows of `windows-layout` (icons or
 * outlines) and posts element messages `window-in` / `window-out` (field `window`, the
 * window's `id`) when the pointer's centre enters or leaves a window.
 *
 * Window entries are the structure fields of `windows-layout`: `upRightCornerX`,
 * `upRightCornerY` (the top-left corner, despite the names), `width`, `height` (gint),
 * `id` (string), optional `inactive_uri`, `active_uri` (icons: path, `file://` or
 * `http(s)://`) and `transparency` (gdouble; the icon is drawn with opacity 1 − transparency).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=pointer.webm ! matroskademux ! vp8dec ! videoconvert ! \
 *   pointerdetector calibration-area="calibration_area,x=310,y=230,width=20,height=20" \
 *   windows-layout="windows,w1=(structure)\"w1,id=(string)w1,upRightCornerX=(int)500,upRightCornerY=(int)150,width=(int)50,height=(int)50;\"" ! \
 *   videoconvert ! autovideosink
 * ]|
 * (emit `calibrate-color` from the application once the pointer is in the area).
 *
 * ## Algorithm and differences from Kurento (elements.md §13, quirks §19)
 * - The colour test is Kurento's (OpenCV HSV, H and S from the calibration histograms ± 5,
 *   V ≥ 30, then a 21×21 close and an 11×11 open), but evaluated through a per-colour lookup
 *   table on the packed frame and on a 1-bit mask, with no whole-frame conversion. Pixels are
 *   looked up on a 2-pixel grid and one by one wherever the grid is not uniform within 4
 *   pixels, so only 1-pixel-thin specks away from edges can be skipped (the cleaning removes
 *   them; with these large kernels a skipped speck near the pointer can at most move the
 *   mask's edge by a pixel).
 * - Pointer finding: instead of a Gaussian blur and a Hough circle transform on the mask
 *   (several ms a frame), the connected blobs of the mask are measured and a round blob
 *   (area ≥ 150 px, at most a quarter of the frame, bounding box aspect 1:2 to 2:1, filling
 *   60–95 % of its box) is taken; its centroid is the pointer. Q-25: among several, the one
 *   nearest the previous position wins (Kurento meant to do this but always took the last).
 *   No blob: the previous position is kept, as in Kurento.
 * - Q-24 fixed: `calibrate-color` samples the next frame that arrives (never unmapped memory).
 *   Kurento searches the lower H and S bounds without the end bins (0 and 179/255), which
 *   leaves no lower bound for a fully saturated pointer (S = 255); then the end bin is used.
 *   A calibration area without a dominant colour (no bin with 20 samples) keeps the previous
 *   colour and posts a warning.
 * - An area outside the frame is moved and shrunk into it (warning) instead of aborting.
 * - Q-26 kept: going straight from window A to window B posts only `window-in` B (Kurento's
 *   clients see that sequence). When the window the pointer is in disappears from the layout,
 *   the next frame posts its `window-out`, as Kurento would; after that it has no events.
 * - window entries with a missing/empty/duplicate `id`, missing or mistyped geometry or
 *   a non-positive size are skipped with a WARNING naming the entry and the reason; the other
 *   windows apply. Any add/remove/clear sequence is safe while video flows.
 * - Icons load off the streaming thread (cached per URI and size) and are scaled bicubically
 *   to the window; until an icon is loaded (or if it fails: WARNING, resource open-read) the
 *   window is drawn as an outline. Transparency applies to every icon (Kurento ignored it for
 *   icons without alpha). An active window without an active icon shows the inactive icon
 *   with its green channel saturated, as Kurento.
 * - Accepts every packed 8-bit RGB format, in place.
 * - The tracked range is readable as `color-range`.
 */
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use kms_plugin_common::colorkey::{
    BitMask, ByteOrder, CalibrationArea, ColorLut, HsvRange, bgr_to_hsv, color_range_structure,
    packed_rgb_pad_templates,
};
use kms_plugin_common::draw::Canvas;
use kms_plugin_common::{BgraImage, PackedLayout, PendingWarnings, composite, spawn_image_load};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "pointerdetector",
        gst::DebugColorFlags::empty(),
        Some("Kurento pointer detector"),
    )
});

const DEFAULT_SHOW_DEBUG_REGION: bool = false;
const DEFAULT_MESSAGE: bool = true;
const DEFAULT_SHOW_WINDOWS_LAYOUT: bool = true;

/// A histogram bin counts for calibration with this many samples.
const CALIBRATION_BIN_THRESHOLD: u32 = 20;
/// Margin added around the calibrated H and S bounds.
const CALIBRATION_MARGIN: i32 = 5;
const V_MIN: i32 = 30;
/// Half sizes of Kurento's 21×21 close and 11×11 open.
const CLOSE_RADIUS: usize = 10;
const OPEN_RADIUS: usize = 5;
const MIN_BLOB_AREA: usize = 150;
const POINTER_RADIUS: i64 = 10;

const WHITE: [u8; 3] = [255, 255, 255];
const GREEN: [u8; 3] = [0, 255, 0];
const RED: [u8; 3] = [0, 0, 255];

#[derive(Debug, Clone, PartialEq)]
struct Window {
    id: String,
    x: i32,
    y: i32,
    width: i32,
    height: i32,
    inactive_uri: Option<String>,
    active_uri: Option<String>,
    opacity: f64,
}

impl Window {
    fn from_structure(s: &gst::StructureRef) -> Result<Self, String> {
        let int = |name: &str| -> Result<i32, String> {
            s.get::<i32>(name).map_err(|e| match e {
                gst::structure::GetError::FieldNotFound { .. } => format!("missing '{name}'"),
                e => format!("'{name}': {e}"),
            })
        };
        let string = |name: &str| -> Result<Option<String>, String> {
            s.get_optional::<Option<String>>(name)
                .map(Option::flatten)
                .map_err(|e| format!("'{name}': {e}"))
        };
        let id = string("id")?.ok_or("missing 'id'")?;
        if id.is_empty() {
            return Err("empty 'id'".into());
        }
        let (width, height) = (int("width")?, int("height")?);
        if width <= 0 || height <= 0 {
            return Err(format!("size {width}x{height} is not positive"));
        }
        let transparency = s
            .get_optional::<f64>("transparency")
            .map_err(|e| format!("'transparency': {e}"))?
            .unwrap_or(0.0);
        Ok(Window {
            id,
            x: int("upRightCornerX")?,
            y: int("upRightCornerY")?,
            width,
            height,
            inactive_uri: string("inactive_uri")?.filter(|u| !u.is_empty()),
            active_uri: string("active_uri")?.filter(|u| !u.is_empty()),
            opacity: (1.0 - transparency).clamp(0.0, 1.0),
        })
    }

    /// Kurento's test: strictly inside.
    fn contains(&self, (px, py): (i64, i64)) -> bool {
        let (x, y) = (self.x as i64, self.y as i64);
        px > x && py > y && px < x + self.width as i64 && py < y + self.height as i64
    }
}

#[derive(Debug, Clone)]
struct WindowEntry {
    window: Window,
    inactive: Option<Arc<BgraImage>>,
    active: Option<Arc<BgraImage>>,
    /// The inactive icon with its green channel saturated, for an active window without
    /// its own active icon.
    highlighted: Option<Arc<BgraImage>>,
}

type IconKey = (String, i32, i32);

struct Shared {
    show_debug_region: bool,
    message: bool,
    show_windows_layout: bool,
    calibration: CalibrationArea,
    layout: Option<gst::Structure>,
    windows: Arc<Vec<WindowEntry>>,
    icons: HashMap<IconKey, Arc<BgraImage>>,
    calibrate_pending: bool,
    /// Copy of the tracked range for the property, so reading it never waits for a frame.
    range: Option<HsvRange>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            show_debug_region: DEFAULT_SHOW_DEBUG_REGION,
            message: DEFAULT_MESSAGE,
            show_windows_layout: DEFAULT_SHOW_WINDOWS_LAYOUT,
            calibration: CalibrationArea::default(),
            layout: None,
            windows: Arc::new(Vec::new()),
            icons: HashMap::new(),
            calibrate_pending: false,
            range: None,
        }
    }
}

struct State {
    layout: PackedLayout,
    width: usize,
    height: usize,
    lut: Option<ColorLut>,
    mask: BitMask,
    blobs: Blobs,
    pointer: (i64, i64),
    current: Option<String>,
    warned_area: Option<CalibrationArea>,
}

impl Default for State {
    fn default() -> Self {
        State {
            layout: PackedLayout::BGR,
            width: 0,
            height: 0,
            lut: None,
            mask: BitMask::new(0, 0),
            blobs: Blobs::default(),
            pointer: (0, 0),
            current: None,
            warned_area: None,
        }
    }
}

#[derive(Default)]
pub struct PointerDetector {
    shared: Mutex<Shared>,
    state: Mutex<State>,
    /// Image load failures waiting for the element to have a bus.
    warnings: PendingWarnings,
}

#[glib::object_subclass]
impl ObjectSubclass for PointerDetector {
    const NAME: &'static str = "GstKmsPointerDetector";
    type Type = super::PointerDetector;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for PointerDetector {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("show-debug-region")
                    .nick("Show debug region")
                    .blurb("Kept for compatibility; has no effect (as in Kurento)")
                    .default_value(DEFAULT_SHOW_DEBUG_REGION)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("windows-layout")
                    .nick("Windows layout")
                    .blurb(
                        "Structure whose structure-valued fields are the windows: \
                         upRightCornerX, upRightCornerY, width, height (int), id (string), \
                         optional inactive_uri, active_uri (string), transparency (double)",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("message")
                    .nick("Post messages")
                    .blurb("Post window-in / window-out element messages")
                    .default_value(DEFAULT_MESSAGE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-windows-layout")
                    .nick("Show windows layout")
                    .blurb("Draw the windows (icons or outlines) into the video")
                    .default_value(DEFAULT_SHOW_WINDOWS_LAYOUT)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("color-range")
                    .nick("Colour range")
                    .blurb(
                        "Structure color_range {calibrated: bool, h_min, h_max, s_min, s_max, \
                         v_min, v_max: int} (OpenCV HSV units) tracked since calibrate-color \
                         (all 0 until calibrated)",
                    )
                    .read_only()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("calibration-area")
                    .nick("Calibration area")
                    .blurb(
                        "Structure calibration_area {x, y, width, height: int} in pixels where \
                         the pointer's colour is sampled; all zero disables the element",
                    )
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![
                glib::subclass::Signal::builder("calibrate-color")
                    .action()
                    .run_last()
                    .class_handler(|args| {
                        let obj = args[0]
                            .get::<super::PointerDetector>()
                            .expect("signal emitted on the element");
                        gst::info!(CAT, obj = obj, "Colour calibration requested");
                        obj.imp().shared.lock().unwrap().calibrate_pending = true;
                        None
                    })
                    .build(),
            ]
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "show-debug-region" => {
                self.shared.lock().unwrap().show_debug_region =
                    value.get().expect("type checked upstream");
            }
            "message" => {
                self.shared.lock().unwrap().message = value.get().expect("type checked upstream");
            }
            "show-windows-layout" => {
                self.shared.lock().unwrap().show_windows_layout =
                    value.get().expect("type checked upstream");
            }
            "windows-layout" => {
                let layout: Option<gst::Structure> = value.get().expect("type checked upstream");
                self.set_layout(layout);
            }
            "calibration-area" => {
                let s: Option<gst::Structure> = value.get().expect("type checked upstream");
                let area = match CalibrationArea::from_property(s.as_deref()) {
                    Ok(area) => area,
                    Err(e) => {
                        gst::element_imp_warning!(
                            self,
                            gst::LibraryError::Settings,
                            ("Invalid calibration-area: {}", e)
                        );
                        return;
                    }
                };
                gst::info!(CAT, imp = self, "Calibration area set to {:?}", area);
                self.shared.lock().unwrap().calibration = area;
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let shared = self.shared.lock().unwrap();
        match pspec.name() {
            "show-debug-region" => shared.show_debug_region.to_value(),
            "message" => shared.message.to_value(),
            "show-windows-layout" => shared.show_windows_layout.to_value(),
            "windows-layout" => shared
                .layout
                .clone()
                .unwrap_or_else(|| gst::Structure::new_empty("windows"))
                .to_value(),
            "calibration-area" => shared.calibration.to_structure().to_value(),
            "color-range" => color_range_structure(shared.range).to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for PointerDetector {}

impl ElementImpl for PointerDetector {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Pointer detector element",
                "Video/Filter",
                "Tracks a pointer of a calibrated colour and reports when it enters or leaves \
                 windows",
                "Kurento-rs contributors",
            )
        });
        Some(&*ELEMENT_METADATA)
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

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(packed_rgb_pad_templates);
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for PointerDetector {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;
}

impl VideoFilterImpl for PointerDetector {
    fn set_info(
        &self,
        _incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        let layout = PackedLayout::of(in_info.format())
            .ok_or_else(|| gst::loggable_error!(CAT, "Unsupported format {}", in_info.format()))?;
        let mut state = self.state.lock().unwrap();
        state.layout = layout;
        state.width = in_info.width() as usize;
        state.height = in_info.height() as usize;
        let (w, h) = (state.width, state.height);
        state.mask.ensure_size(w, h);
        Ok(())
    }

    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (area, calibrate, message, show_windows, windows) = {
            let mut shared = self.shared.lock().unwrap();
            if shared.calibration.is_zero() {
                return Ok(gst::FlowSuccess::Ok);
            }
            (
                shared.calibration,
                std::mem::take(&mut shared.calibrate_pending),
                shared.message,
                shared.show_windows_layout,
                shared.windows.clone(),
            )
        };
        let stride = frame.plane_stride()[0] as usize;
        let plane = frame.plane_data_mut(0).map_err(|e| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ["Cannot map frame: {}", e]);
            gst::FlowError::Error
        })?;
        let mut messages = Vec::new();
        {
            let mut state = self.state.lock().unwrap();
            let state = &mut *state;
            let (w, h) = (state.width as i32, state.height as i32);
            let fitted = area.fit_or_warn(w, h, self.obj().upcast_ref(), &mut state.warned_area);
            if calibrate {
                self.calibrate(state, fitted, plane, stride);
            }
            let mut canvas = Canvas {
                plane: &mut *plane,
                stride,
                width: state.width,
                height: state.height,
                layout: state.layout,
            };
            canvas.rectangle(
                fitted.x as i64,
                fitted.y as i64,
                (fitted.x + fitted.width) as i64,
                (fitted.y + fitted.height) as i64,
                WHITE,
            );
            let Some(lut) = state.lut.as_mut() else {
                return Ok(gst::FlowSuccess::Ok);
            };
            // A caps change may have switched between BGR- and RGB-ordered formats.
            lut.ensure_order(ByteOrder::of(state.layout));

            state.mask.ensure_size(state.width, state.height);
            state
                .mask
                .fill_from_frame_sampled(plane, stride, state.layout, lut);
            state.mask.close(CLOSE_RADIUS, CLOSE_RADIUS);
            state.mask.open(OPEN_RADIUS, OPEN_RADIUS);
            if let Some(p) = state.blobs.find_pointer(&state.mask, state.pointer) {
                state.pointer = p;
            }

            let mut current = None;
            let mut canvas = Canvas {
                plane: &mut *plane,
                stride,
                width: state.width,
                height: state.height,
                layout: state.layout,
            };
            for entry in windows.iter() {
                let win = &entry.window;
                let active = win.contains(state.pointer);
                if active {
                    current = Some(&win.id);
                }
                if show_windows {
                    draw_window(&mut canvas, entry, active);
                }
            }
            match (current, state.current.as_ref()) {
                (None, Some(_)) => {
                    let id = state.current.take().unwrap_or_default();
                    messages.push(("window-out", id));
                }
                (Some(id), prev) if prev != Some(id) => {
                    state.current = Some(id.clone());
                    messages.push(("window-in", id.clone()));
                }
                _ => {}
            }
            canvas.filled_circle(state.pointer.0, state.pointer.1, POINTER_RADIUS, RED);
        }
        for (name, id) in messages {
            gst::debug!(CAT, imp = self, "{} {}", name, id);
            if message {
                let s = gst::Structure::builder(name).field("window", id).build();
                let _ = self
                    .obj()
                    .post_message(gst::message::Element::builder(s).src(&*self.obj()).build());
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

fn draw_window(canvas: &mut Canvas, entry: &WindowEntry, active: bool) {
    let w = &entry.window;
    let icon = if active {
        entry.active.as_ref().or(entry.highlighted.as_ref())
    } else {
        entry.inactive.as_ref()
    };
    match icon {
        Some(icon) => composite(
            canvas.plane,
            canvas.stride,
            canvas.width,
            canvas.height,
            canvas.layout,
            icon,
            w.x as i64,
            w.y as i64,
            w.opacity,
        ),
        None => canvas.rectangle(
            w.x as i64,
            w.y as i64,
            (w.x + w.width) as i64,
            (w.y + w.height) as i64,
            if active { GREEN } else { WHITE },
        ),
    }
}

/// Kurento's calibration bounds: first/last H and S bins with 20 samples, widened by 5.
fn learn_range(hist_h: &[u32; 180], hist_s: &[u32; 256]) -> Option<HsvRange> {
    let ok = |c: u32| c >= CALIBRATION_BIN_THRESHOLD;
    // Kurento looks for the lower bounds in 1..179 and 1..254 only; when the only dominant
    // bin is an end bin (a fully saturated pointer has S = 255) the bound comes from it.
    let first = |hist: &[u32]| {
        (1..hist.len() - 1)
            .find(|&i| ok(hist[i]))
            .or_else(|| (0..hist.len()).find(|&i| ok(hist[i])))
    };
    let last = |hist: &[u32]| (0..hist.len()).rev().find(|&i| ok(hist[i]));
    let (h_min, h_max) = (first(hist_h)?, last(hist_h)?);
    let (s_min, s_max) = (first(hist_s)?, last(hist_s)?);
    Some(HsvRange {
        h_min: h_min as i32 - CALIBRATION_MARGIN,
        h_max: h_max as i32 + CALIBRATION_MARGIN,
        s_min: s_min as i32 - CALIBRATION_MARGIN,
        s_max: s_max as i32 + CALIBRATION_MARGIN,
        v_min: V_MIN,
        v_max: 256,
    })
}

impl PointerDetector {
    fn calibrate(&self, state: &mut State, area: CalibrationArea, plane: &[u8], stride: usize) {
        let mut hist_h = [0u32; 180];
        let mut hist_s = [0u32; 256];
        for (x, y) in area.pixels() {
            let [b, g, r] = state.layout.bgr_at(plane, stride, x, y);
            let [h, s, _] = bgr_to_hsv(b, g, r);
            hist_h[h as usize] += 1;
            hist_s[s as usize] += 1;
        }
        match learn_range(&hist_h, &hist_s) {
            Some(range) => {
                gst::info!(CAT, imp = self, "Tracking colour range {:?}", range);
                state.lut = Some(ColorLut::new(&range, ByteOrder::of(state.layout)));
                self.shared.lock().unwrap().range = Some(range);
            }
            None => gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                ("No colour dominates the calibration area {:?}", area),
                [
                    "no hue or saturation bin holds {} samples; the previous colour is kept",
                    CALIBRATION_BIN_THRESHOLD
                ]
            ),
        }
    }

    fn set_layout(&self, layout: Option<gst::Structure>) {
        let mut windows = Vec::new();
        if let Some(layout) = layout.as_ref() {
            for (name, value) in layout.iter() {
                let Ok(s) = value.get::<gst::Structure>() else {
                    continue;
                };
                match Window::from_structure(&s) {
                    Ok(w) if windows.iter().any(|e: &WindowEntry| e.window.id == w.id) => {
                        gst::element_imp_warning!(
                            self,
                            gst::LibraryError::Settings,
                            (
                                "Invalid window '{}' in windows-layout: duplicate id '{}'",
                                name,
                                w.id
                            )
                        );
                    }
                    Ok(window) => windows.push(WindowEntry {
                        window,
                        inactive: None,
                        active: None,
                        highlighted: None,
                    }),
                    Err(reason) => gst::element_imp_warning!(
                        self,
                        gst::LibraryError::Settings,
                        ("Invalid window '{}' in windows-layout: {}", name, reason)
                    ),
                }
            }
        }
        gst::info!(CAT, imp = self, "{} windows", windows.len());
        let mut shared = self.shared.lock().unwrap();
        let mut to_load = Vec::new();
        for entry in &mut windows {
            let w = &entry.window;
            for uri in [&w.inactive_uri, &w.active_uri].into_iter().flatten() {
                let key = (uri.clone(), w.width, w.height);
                if !shared.icons.contains_key(&key) && !to_load.contains(&key) {
                    to_load.push(key);
                }
            }
            attach_icons(entry, &shared.icons);
        }
        shared.layout = layout;
        shared.windows = Arc::new(windows);
        drop(shared);
        for key in to_load {
            let weak = self.obj().downgrade();
            let (w, h) = (key.1, key.2);
            spawn_image_load(key.0.clone(), move |result| {
                let Some(obj) = weak.upgrade() else { return };
                let imp = obj.imp();
                let icon = result.and_then(|img| {
                    img.resized_with(w as usize, h as usize, opencv::imgproc::INTER_CUBIC)
                        .ok_or_else(|| kms_plugin_common::ImageLoadError {
                            uri: key.0.clone(),
                            reason: "cannot scale to the window size".into(),
                        })
                });
                match icon {
                    Ok(icon) => imp.icon_loaded(key, icon),
                    Err(err) => {
                        gst::warning!(CAT, imp = imp, "{}", err);
                        imp.warnings.report(obj.upcast_ref(), err);
                    }
                }
            });
        }
    }

    fn icon_loaded(&self, key: IconKey, icon: BgraImage) {
        gst::debug!(CAT, imp = self, "Icon {} loaded", key.0);
        let mut shared = self.shared.lock().unwrap();
        shared.icons.insert(key, Arc::new(icon));
        let mut windows = (*shared.windows).clone();
        for entry in &mut windows {
            attach_icons(entry, &shared.icons);
        }
        shared.windows = Arc::new(windows);
    }
}

fn attach_icons(entry: &mut WindowEntry, icons: &HashMap<IconKey, Arc<BgraImage>>) {
    let w = &entry.window;
    let find = |uri: &Option<String>| {
        uri.as_ref()
            .and_then(|u| icons.get(&(u.clone(), w.width, w.height)).cloned())
    };
    let inactive = find(&w.inactive_uri);
    let active = find(&w.active_uri);
    if entry.highlighted.is_none() || !same(&entry.inactive, &inactive) {
        entry.highlighted = inactive.as_ref().map(|icon| {
            let mut lit = (**icon).clone();
            for px in lit.data.chunks_exact_mut(4) {
                px[1] = 255;
            }
            Arc::new(lit)
        });
    }
    entry.inactive = inactive;
    entry.active = active;
}

fn same(a: &Option<Arc<BgraImage>>, b: &Option<Arc<BgraImage>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Connected blobs of a mask (8-connectivity), found from its runs with union-find.
#[derive(Default)]
struct Blobs {
    runs: Vec<(u32, u32, u32)>,
    parent: Vec<u32>,
    stats: HashMap<u32, BlobStats>,
}

#[derive(Default, Clone, Copy)]
struct BlobStats {
    area: usize,
    sum_x: f64,
    sum_y: f64,
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
}

impl Blobs {
    fn root(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let p = self.parent[i as usize];
            self.parent[i as usize] = self.parent[p as usize];
            i = p;
        }
        i
    }

    /// The centre of the round blob nearest `previous`, if any blob looks like a pointer.
    fn find_pointer(&mut self, mask: &BitMask, previous: (i64, i64)) -> Option<(i64, i64)> {
        self.runs.clear();
        mask.for_each_run(|y, a, b| self.runs.push((y as u32, a as u32, b as u32)));
        self.parent.clear();
        self.parent.extend(0..self.runs.len() as u32);
        // Runs are in row order: compare each with the runs of the row above.
        let mut above = 0..0;
        let (mut row_start, mut row_y) = (0, u32::MAX);
        for i in 0..self.runs.len() {
            let (y, a, b) = self.runs[i];
            if y != row_y {
                above = if row_y != u32::MAX && row_y + 1 == y {
                    row_start..i
                } else {
                    i..i
                };
                (row_start, row_y) = (i, y);
            }
            for j in above.clone() {
                let (_, pa, pb) = self.runs[j];
                // Touching diagonally counts: [a, b) and [pa, pb) within one pixel.
                if pa <= b && a <= pb {
                    let (ri, rj) = (self.root(i as u32), self.root(j as u32));
                    if ri != rj {
                        self.parent[ri.max(rj) as usize] = ri.min(rj);
                    }
                }
            }
        }
        self.stats.clear();
        for i in 0..self.runs.len() {
            let (y, a, b) = self.runs[i];
            let r = self.root(i as u32);
            let len = (b - a) as usize;
            let st = self.stats.entry(r).or_insert(BlobStats {
                x0: a,
                x1: b,
                y0: y,
                y1: y + 1,
                ..Default::default()
            });
            st.area += len;
            st.sum_x += len as f64 * (a + b - 1) as f64 / 2.0;
            st.sum_y += len as f64 * y as f64;
            st.x0 = st.x0.min(a);
            st.x1 = st.x1.max(b);
            st.y0 = st.y0.min(y);
            st.y1 = st.y1.max(y + 1);
        }
        let max_area = mask.width() * mask.height() / 4;
        self.stats
            .values()
            .filter(|s| {
                let (bw, bh) = ((s.x1 - s.x0) as f64, (s.y1 - s.y0) as f64);
                let fill = s.area as f64 / (bw * bh);
                s.area >= MIN_BLOB_AREA
                    && s.area <= max_area
                    && bw <= 2.0 * bh
                    && bh <= 2.0 * bw
                    && (0.6..=0.95).contains(&fill)
            })
            .map(|s| {
                let n = s.area as f64;
                ((s.sum_x / n).round() as i64, (s.sum_y / n).round() as i64)
            })
            .min_by_key(|&(x, y)| (x - previous.0).pow(2) + (y - previous.1).pow(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_find_the_round_one_nearest_the_previous_position() {
        let mut mask = BitMask::new(200, 100);
        let mut disc = |cx: i64, cy: i64, r: i64| {
            for y in 0..100 {
                for x in 0..200 {
                    if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                        mask.set(x as usize, y as usize, true);
                    }
                }
            }
        };
        disc(40, 50, 15);
        disc(150, 30, 12);
        // A thin bar is not a pointer.
        for x in 60..190 {
            mask.set(x, 90, true);
            mask.set(x, 91, true);
        }
        let mut blobs = Blobs::default();
        assert_eq!(blobs.find_pointer(&mask, (0, 0)), Some((40, 50)));
        assert_eq!(blobs.find_pointer(&mask, (199, 0)), Some((150, 30)));
        assert_eq!(blobs.find_pointer(&BitMask::new(200, 100), (5, 5)), None);
    }

    #[test]
    fn calibration_widens_the_dominant_bins() {
        let mut h = [0u32; 180];
        let mut s = [0u32; 256];
        h[0] = 100; // H = 0 is skipped for the lower bound, as in Kurento
        h[12] = 25;
        h[14] = 30;
        s[255] = 400;
        s[240] = 20;
        let r = learn_range(&h, &s).unwrap();
        assert_eq!((r.h_min, r.h_max, r.s_min, r.s_max), (7, 19, 235, 260));
        assert!(learn_range(&[0; 180], &s).is_none());
        let mut saturated = [0u32; 256];
        saturated[255] = 400;
        let r = learn_range(&h, &saturated).unwrap();
        assert_eq!((r.s_min, r.s_max), (250, 260));
    }

    #[test]
    fn windows_are_validated() {
        gst::init().unwrap();
        let good = gst::Structure::builder("w")
            .field("id", "w")
            .field("upRightCornerX", 10)
            .field("upRightCornerY", 20)
            .field("width", 30)
            .field("height", 40)
            .field("transparency", 0.3)
            .build();
        let w = Window::from_structure(&good).unwrap();
        assert!((w.opacity - 0.7).abs() < 1e-9);
        assert!(w.contains((11, 21)) && !w.contains((10, 30)) && !w.contains((40, 30)));
        let mut no_id = good.clone();
        no_id.remove_field("id");
        assert_eq!(Window::from_structure(&no_id).unwrap_err(), "missing 'id'");
        let mut empty = good.clone();
        empty.set("id", "");
        assert!(Window::from_structure(&empty).is_err());
        let mut flat = good.clone();
        flat.set("height", 0);
        assert!(
            Window::from_structure(&flat)
                .unwrap_err()
                .contains("not positive")
        );
        let mut wrong = good;
        wrong.set("width", "thirty");
        assert!(
            Window::from_structure(&wrong)
                .unwrap_err()
                .contains("'width'")
        );
    }
}
