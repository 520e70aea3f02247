// SPDX-License-Identifier: MPL-2.0
//! Colour keying on packed frames without converting whole frames to HSV.
//!
//! Kurento's colour elements (chroma, pointerdetector) convert every frame to OpenCV's 8-bit
//! HSV, threshold it with `inRange`, and clean the mask with morphology. The same decision is
//! made here in three cheap steps:
//!
//! * [`bgr_to_hsv`] reproduces OpenCV's integer `COLOR_BGR2HSV` exactly (checked against
//!   OpenCV for every colour), so histograms and ranges match Kurento's;
//! * [`ColorLut`] precomputes, once per range, whether each of the 2^24 colours is inside:
//!   one bit per colour (2 MiB), laid out so that neighbouring colours share a cache line;
//! * [`BitMask`] keeps the per-pixel result one bit per pixel, so morphology works on 64
//!   pixels per instruction.

use crate::pixels::PackedLayout;

const HSV_SHIFT: u32 = 12;

/// `round((255 << 12) / v)` and `round((180 << 12) / (6 d))`, as OpenCV's tables.
static DIV_TABLES: std::sync::LazyLock<([i32; 256], [i32; 256])> = std::sync::LazyLock::new(|| {
    let mut s = [0i32; 256];
    let mut h = [0i32; 256];
    for i in 1..256 {
        s[i] = ((255 << HSV_SHIFT) as f64 / i as f64).round() as i32;
        h[i] = ((180 << HSV_SHIFT) as f64 / (6.0 * i as f64)).round() as i32;
    }
    (s, h)
});

/// OpenCV's 8-bit BGR→HSV (H in 0..180, S and V in 0..=255), bit-exact.
#[inline]
pub fn bgr_to_hsv(b: u8, g: u8, r: u8) -> [u8; 3] {
    let (sdiv, hdiv) = &*DIV_TABLES;
    hsv_with_tables(sdiv, hdiv, b as i32, g as i32, r as i32)
}

#[inline(always)]
fn hsv_with_tables(sdiv: &[i32; 256], hdiv: &[i32; 256], b: i32, g: i32, r: i32) -> [u8; 3] {
    let v = b.max(g).max(r);
    let diff = v - b.min(g).min(r);
    let round = 1 << (HSV_SHIFT - 1);
    let s = (diff * sdiv[v as usize] + round) >> HSV_SHIFT;
    let h = if v == r {
        g - b
    } else if v == g {
        b - r + 2 * diff
    } else {
        r - g + 4 * diff
    };
    let mut h = (h * hdiv[diff as usize] + round) >> HSV_SHIFT;
    if h < 0 {
        h += 180;
    }
    [h as u8, s as u8, v as u8]
}

/// An inclusive HSV box (OpenCV units). Bounds may lie outside the channel range, as
/// Kurento's pointer calibration produces; such bounds simply never exclude anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HsvRange {
    pub h_min: i32,
    pub h_max: i32,
    pub s_min: i32,
    pub s_max: i32,
    pub v_min: i32,
    pub v_max: i32,
}

impl HsvRange {
    #[inline]
    pub fn contains(&self, hsv: [u8; 3]) -> bool {
        let [h, s, v] = hsv.map(i32::from);
        (self.h_min..=self.h_max).contains(&h)
            && (self.s_min..=self.s_max).contains(&s)
            && (self.v_min..=self.v_max).contains(&v)
    }
}

/// The packed 8-bit RGB formats the colour elements work on in place, Kurento's BGR first.
pub const PACKED_RGB_FORMATS: [gst_video::VideoFormat; 10] = [
    gst_video::VideoFormat::Bgr,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Xrgb,
    gst_video::VideoFormat::Argb,
    gst_video::VideoFormat::Xbgr,
    gst_video::VideoFormat::Abgr,
];

/// Always-present `src` and `sink` pads with [`PACKED_RGB_FORMATS`].
pub fn packed_rgb_pad_templates() -> Vec<gst::PadTemplate> {
    let caps = gst_video::VideoCapsBuilder::new()
        .format_list(PACKED_RGB_FORMATS)
        .build();
    [gst::PadDirection::Src, gst::PadDirection::Sink]
        .into_iter()
        .map(|direction| {
            let name = if direction == gst::PadDirection::Src {
                "src"
            } else {
                "sink"
            };
            gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps)
                .expect("valid pad template")
        })
        .collect()
}

/// The colour sampling rectangle of chroma and pointerdetector: property `calibration-area`,
/// a structure `calibration_area` with gint fields `x`, `y`, `width`, `height` (pixels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CalibrationArea {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl CalibrationArea {
    /// Reads the four fields (missing ones are 0; negative corners are clamped to 0, as
    /// Kurento does). A field of another type is an error naming it.
    pub fn from_structure(s: &gst::StructureRef) -> Result<Self, String> {
        let field = |name: &str| -> Result<i32, String> {
            s.get_optional::<i32>(name)
                .map(|v| v.unwrap_or(0))
                .map_err(|e| format!("field '{name}': {e}"))
        };
        Ok(Self {
            x: field("x")?.max(0),
            y: field("y")?.max(0),
            width: field("width")?,
            height: field("height")?,
        })
    }

    /// The value of a `calibration-area` property: NULL is the all-zero area.
    pub fn from_property(s: Option<&gst::StructureRef>) -> Result<Self, String> {
        s.map_or(Ok(Self::default()), Self::from_structure)
    }

    /// [`fit`](Self::fit), posting a WARNING on `element` the first time this area had to
    /// be changed (`warned` remembers it), so a bad area is reported once, not per frame.
    pub fn fit_or_warn(
        self,
        w: i32,
        h: i32,
        element: &gst::Element,
        warned: &mut Option<Self>,
    ) -> Self {
        let fitted = self.fit(w, h);
        if fitted != self && *warned != Some(self) {
            *warned = Some(self);
            gst::element_warning!(
                element,
                gst::LibraryError::Settings,
                ("Calibration area does not fit the {}x{} frame", w, h),
                ["{:?} used as {:?}", self, fitted]
            );
        }
        fitted
    }

    pub fn to_structure(self) -> gst::Structure {
        gst::Structure::builder("calibration_area")
            .field("x", self.x)
            .field("y", self.y)
            .field("width", self.width)
            .field("height", self.height)
            .build()
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// The area moved and shrunk so that it lies inside a `w`×`h` frame (Kurento computes a
    /// wrong clamp and aborts on areas outside the frame: quirk Q-09).
    pub fn fit(self, w: i32, h: i32) -> Self {
        let width = self.width.clamp(0, w.max(0));
        let height = self.height.clamp(0, h.max(0));
        Self {
            x: self.x.clamp(0, w.max(0) - width),
            y: self.y.clamp(0, h.max(0) - height),
            width,
            height,
        }
    }

    /// `(x, y)` of every pixel inside the area, row by row.
    pub fn pixels(self) -> impl Iterator<Item = (usize, usize)> {
        (self.y..self.y + self.height.max(0)).flat_map(move |y| {
            (self.x..self.x + self.width.max(0)).map(move |x| (x as usize, y as usize))
        })
    }
}

/// The read-only `color-range` property of the colour elements: structure `color_range`
/// {calibrated: bool, h_min, h_max, s_min, s_max, v_min, v_max: int}, all 0 before calibration.
pub fn color_range_structure(range: Option<HsvRange>) -> gst::Structure {
    let r = range.unwrap_or(HsvRange {
        h_min: 0,
        h_max: 0,
        s_min: 0,
        s_max: 0,
        v_min: 0,
        v_max: 0,
    });
    gst::Structure::builder("color_range")
        .field("calibrated", range.is_some())
        .field("h_min", r.h_min)
        .field("h_max", r.h_max)
        .field("s_min", r.s_min)
        .field("s_max", r.s_max)
        .field("v_min", r.v_min)
        .field("v_max", r.v_max)
        .build()
}

/// Memory order of the three colour bytes of a packed pixel (green is always in the middle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Blue at the lowest address (BGR, BGRx, BGRA, xBGR, ABGR).
    Bgr,
    /// Red at the lowest address (RGB, RGBx, RGBA, xRGB, ARGB).
    Rgb,
}

impl ByteOrder {
    pub fn of(layout: PackedLayout) -> Self {
        if layout.blue < layout.red {
            ByteOrder::Bgr
        } else {
            ByteOrder::Rgb
        }
    }
}

const LUT_WORDS: usize = 1 << 18;

/// Membership of every 8-bit colour in an [`HsvRange`], one bit per colour (2 MiB).
///
/// The table is indexed by the three colour bytes exactly as they lie in memory, read as one
/// little-endian 24-bit number, so a pixel costs one unaligned load, a mask and a table
/// lookup. Colours that differ only in the first byte share a word.
#[derive(Clone)]
pub struct ColorLut {
    range: HsvRange,
    order: ByteOrder,
    words: Box<[u64; LUT_WORDS]>,
}

impl std::fmt::Debug for ColorLut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ColorLut({:?}, {:?})", self.range, self.order)
    }
}

impl ColorLut {
    pub fn new(range: &HsvRange, order: ByteOrder) -> Self {
        let (sdiv, hdiv) = &*DIV_TABLES;
        let mut words: Box<[u64; LUT_WORDS]> = vec![0u64; LUT_WORDS]
            .into_boxed_slice()
            .try_into()
            .expect("fixed size");
        for (w, word) in words.iter_mut().enumerate() {
            let c1 = ((w >> 2) & 255) as i32;
            let c2 = (w >> 10) as i32;
            let low = ((w & 3) << 6) as i32;
            let mut bits = 0u64;
            for bit in 0..64 {
                let c0 = low | bit;
                let (b, g, r) = match order {
                    ByteOrder::Bgr => (c0, c1, c2),
                    ByteOrder::Rgb => (c2, c1, c0),
                };
                if range.contains(hsv_with_tables(sdiv, hdiv, b, g, r)) {
                    bits |= 1 << bit;
                }
            }
            *word = bits;
        }
        Self {
            range: *range,
            order,
            words,
        }
    }

    pub fn range(&self) -> &HsvRange {
        &self.range
    }

    pub fn order(&self) -> ByteOrder {
        self.order
    }

    /// Rebuilds the table when frames arrive in the other byte order (caps change).
    pub fn ensure_order(&mut self, order: ByteOrder) {
        if order != self.order {
            *self = Self::new(&self.range, order);
        }
    }

    /// Membership of the colour whose bytes, in memory order, form `packed` (24 bits).
    #[inline(always)]
    pub fn contains_packed(&self, packed: u32) -> bool {
        let v = packed & 0xFF_FFFF;
        (self.words[(v >> 6) as usize] >> (v & 63)) & 1 != 0
    }

    pub fn contains(&self, b: u8, g: u8, r: u8) -> bool {
        let (first, last) = match self.order {
            ByteOrder::Bgr => (b, r),
            ByteOrder::Rgb => (r, b),
        };
        self.contains_packed(first as u32 | (g as u32) << 8 | (last as u32) << 16)
    }
}

/// A binary image, one bit per pixel, rows padded to whole 64-bit words (padding bits are 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitMask {
    width: usize,
    height: usize,
    words_per_row: usize,
    bits: Vec<u64>,
    scratch: Vec<u64>,
    /// Sample grids of [`fill_from_frame_sampled`](Self::fill_from_frame_sampled).
    samples: Option<Box<[BitMask; 2]>>,
}

impl BitMask {
    pub fn new(width: usize, height: usize) -> Self {
        let words_per_row = width.div_ceil(64);
        Self {
            width,
            height,
            words_per_row,
            bits: vec![0; words_per_row * height],
            scratch: vec![0; words_per_row * height],
            samples: None,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        self.bits[y * self.words_per_row + x / 64] >> (x % 64) & 1 != 0
    }

    pub fn set(&mut self, x: usize, y: usize, on: bool) {
        let w = &mut self.bits[y * self.words_per_row + x / 64];
        if on {
            *w |= 1 << (x % 64);
        } else {
            *w &= !(1 << (x % 64));
        }
    }

    pub fn count_ones(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Resizes (clearing) when the frame size changed; keeps the allocation otherwise.
    pub fn ensure_size(&mut self, width: usize, height: usize) {
        if width != self.width || height != self.height {
            *self = Self::new(width, height);
        }
    }

    /// Marks the pixels of a packed frame whose colour is in `lut`. Overwrites the mask;
    /// the mask must have the frame's size and `lut` the frame's [`ByteOrder`].
    pub fn fill_from_frame(
        &mut self,
        plane: &[u8],
        stride: usize,
        layout: PackedLayout,
        lut: &ColorLut,
    ) {
        self.fill_dispatch::<false>(plane, stride, layout, lut);
    }

    fn fill_dispatch<const SAMPLED: bool>(
        &mut self,
        plane: &[u8],
        stride: usize,
        layout: PackedLayout,
        lut: &ColorLut,
    ) {
        debug_assert_eq!(ByteOrder::of(layout), lut.order());
        // Monomorphised per layout so the byte offsets are constants in the hot loop.
        match (layout.bytes_per_pixel, layout.blue.min(layout.red), SAMPLED) {
            (3, 0, false) => self.fill::<3, 0>(plane, stride, lut),
            (4, 0, false) => self.fill::<4, 0>(plane, stride, lut),
            (4, 1, false) => self.fill::<4, 1>(plane, stride, lut),
            (3, 0, true) => self.fill_sampled::<3, 0>(plane, stride, lut),
            (4, 0, true) => self.fill_sampled::<4, 0>(plane, stride, lut),
            (4, 1, true) => self.fill_sampled::<4, 1>(plane, stride, lut),
            _ => self.fill_any(plane, stride, layout, lut),
        }
    }

    fn fill<const BPP: usize, const FIRST: usize>(
        &mut self,
        plane: &[u8],
        stride: usize,
        lut: &ColorLut,
    ) {
        let (width, wpr) = (self.width, self.words_per_row);
        for (y, mask_row) in self.bits.chunks_exact_mut(wpr).enumerate() {
            let data = &plane[y * stride..];
            for (i, word) in mask_row.iter_mut().enumerate() {
                let (x0, x1) = (i * 64, (i * 64 + 64).min(width));
                let mut bits = 0u64;
                for x in x0..x1 {
                    let v = colour_bytes::<FIRST>(data, x * BPP);
                    bits |= (lut.contains_packed(v) as u64) << (x - x0);
                }
                *word = bits;
            }
        }
    }

    /// The same mask as [`fill_from_frame`](Self::fill_from_frame) followed by a 3×3 close
    /// and open would give, for masks cleaned that way, at a fraction of the lookups.
    ///
    /// Only the pixels at even (x, y) are looked up first. Where all samples within 4 pixels
    /// agree, the pixels between them take that value; everywhere else every pixel is looked
    /// up. Any 2×2 square holds a sample, so what can be missed lies at least 3 pixels from
    /// any region of the other class and has no 2×2 square: 1-pixel-thin specks, which the
    /// 3×3 close and open remove anyway.
    pub fn fill_from_frame_sampled(
        &mut self,
        plane: &[u8],
        stride: usize,
        layout: PackedLayout,
        lut: &ColorLut,
    ) {
        self.fill_dispatch::<true>(plane, stride, layout, lut);
    }

    fn fill_sampled<const BPP: usize, const FIRST: usize>(
        &mut self,
        plane: &[u8],
        stride: usize,
        lut: &ColorLut,
    ) {
        let (width, height, wpr) = (self.width, self.height, self.words_per_row);
        if width == 0 || height == 0 {
            return;
        }
        let last_mask = self.last_word_mask();
        let pixel = |x: usize, y: usize| -> bool {
            lut.contains_packed(colour_bytes::<FIRST>(plane, y * stride + x * BPP))
        };
        // Sample grid: pixel (2i, 2j) at (i, j).
        let (sw, sh) = (width.div_ceil(2), height.div_ceil(2));
        let grids = self
            .samples
            .get_or_insert_with(|| Box::new([BitMask::new(sw, sh), BitMask::new(sw, sh)]));
        let [all_in, all_out] = &mut **grids;
        all_in.ensure_size(sw, sh);
        all_out.ensure_size(sw, sh);
        let swpr = all_in.words_per_row;
        for j in 0..sh {
            for k in 0..swpr {
                let mut bits = 0u64;
                for i in k * 64..(k * 64 + 64).min(sw) {
                    bits |= (pixel(2 * i, 2 * j) as u64) << (i - k * 64);
                }
                all_in.bits[j * swpr + k] = bits;
            }
        }
        all_out.bits.copy_from_slice(&all_in.bits);
        all_out.invert();
        // Uniform neighbourhoods: 5×5 samples, i.e. the pixels within 4 of a sample.
        all_in.erode(2, 2);
        all_out.erode(2, 2);
        let half = |grid: &BitMask, j: usize, k: usize| {
            (grid.bits[j * swpr + k / 2] >> (32 * (k % 2))) as u32
        };
        for y in 0..height {
            let j = y / 2;
            for k in 0..wpr {
                let sure_in = spread(half(all_in, j, k));
                let sure_out = spread(half(all_out, j, k));
                let mut value = sure_in | (sure_in << 1);
                let mut unsure = !(value | sure_out | (sure_out << 1));
                if k + 1 == wpr {
                    value &= last_mask;
                    unsure &= last_mask;
                }
                while unsure != 0 {
                    let bit = unsure.trailing_zeros() as usize;
                    unsure &= unsure - 1;
                    value |= (pixel(k * 64 + bit, y) as u64) << bit;
                }
                self.bits[y * wpr + k] = value;
            }
        }
    }

    fn fill_any(&mut self, plane: &[u8], stride: usize, l: PackedLayout, lut: &ColorLut) {
        for y in 0..self.height {
            for x in 0..self.width {
                let [b, g, r] = l.bgr_at(plane, stride, x, y);
                self.set(x, y, lut.contains(b, g, r));
            }
        }
    }

    fn last_word_mask(&self) -> u64 {
        match self.width % 64 {
            0 => !0,
            n => (1u64 << n) - 1,
        }
    }

    /// The rows `[first, end)` outside which the mask is empty.
    fn set_rows(&self) -> Option<(usize, usize)> {
        let wpr = self.words_per_row;
        let empty = |y: &usize| self.bits[y * wpr..(y + 1) * wpr].iter().all(|&w| w == 0);
        let first = (0..self.height).find(|y| !empty(y))?;
        let last = (0..self.height).rev().find(|y| !empty(y))?;
        Some((first, last + 1))
    }

    /// Dilation with a `(2 rx + 1) × (2 ry + 1)` rectangle; outside the image counts as unset
    /// (OpenCV's default border for morphology).
    pub fn dilate(&mut self, rx: usize, ry: usize) {
        // Sparse masks (a pointer) only cost the rows near their set pixels.
        let Some((y0, y1)) = self.set_rows() else {
            return;
        };
        self.morph_rows::<false>(rx, y0, y1);
        self.morph_cols::<false>(ry, y0.saturating_sub(ry), (y1 + ry).min(self.height));
    }

    /// Erosion with a `(2 rx + 1) × (2 ry + 1)` rectangle; outside the image counts as set.
    pub fn erode(&mut self, rx: usize, ry: usize) {
        // Erosion only removes pixels: empty rows stay empty.
        let Some((y0, y1)) = self.set_rows() else {
            return;
        };
        self.morph_rows::<true>(rx, y0, y1);
        self.morph_cols::<true>(ry, y0, y1);
    }

    /// Morphological closing (dilate, then erode), as `morphologyEx(MORPH_CLOSE)`.
    pub fn close(&mut self, rx: usize, ry: usize) {
        self.dilate(rx, ry);
        self.erode(rx, ry);
    }

    /// Morphological opening (erode, then dilate), as `morphologyEx(MORPH_OPEN)`.
    pub fn open(&mut self, rx: usize, ry: usize) {
        self.erode(rx, ry);
        self.dilate(rx, ry);
    }

    fn invert(&mut self) {
        let (last, wpr) = (self.last_word_mask(), self.words_per_row);
        for w in &mut self.bits {
            *w = !*w;
        }
        for row in self.bits.chunks_exact_mut(wpr) {
            row[wpr - 1] &= last;
        }
    }

    /// Grows (dilation) or shrinks (erosion) the runs of rows `[y0, y1)` by `r` pixels left
    /// and right, in steps that double the reach.
    fn morph_rows<const ERODE: bool>(&mut self, r: usize, y0: usize, y1: usize) {
        let (wpr, pad) = (self.words_per_row, !self.last_word_mask());
        let outside = if ERODE { !0u64 } else { 0 };
        let mut done = 0;
        while done < r {
            let step = (r - done).min(done.max(1)).min(63);
            for row in self.bits[y0 * wpr..y1 * wpr].chunks_exact_mut(wpr) {
                // Padding bits stand for the outside of the image during the step.
                row[wpr - 1] |= pad & outside;
                let mut prev = outside;
                for i in 0..wpr {
                    let w = row[i];
                    let next = if i + 1 < wpr { row[i + 1] } else { outside };
                    let left = (w << step) | (prev >> (64 - step));
                    let right = (w >> step) | (next << (64 - step));
                    row[i] = if ERODE {
                        w & left & right
                    } else {
                        w | left | right
                    };
                    prev = w;
                }
                row[wpr - 1] &= !pad;
            }
            done += step;
        }
    }

    /// The same vertically, computing rows `[y0, y1)`; rows outside are empty.
    fn morph_cols<const ERODE: bool>(&mut self, r: usize, y0: usize, y1: usize) {
        let (wpr, h) = (self.words_per_row, self.height);
        let mut done = 0;
        while done < r {
            let step = (r - done).min(done.max(1));
            self.scratch[y0 * wpr..y1 * wpr].copy_from_slice(&self.bits[y0 * wpr..y1 * wpr]);
            for y in y0..y1 {
                let out = &mut self.bits[y * wpr..(y + 1) * wpr];
                for n in [y.checked_sub(step), Some(y + step).filter(|&n| n < h)] {
                    match n {
                        // Outside the image: set for erosion, unset for dilation; no change.
                        None => {}
                        Some(n) if (y0..y1).contains(&n) => {
                            let other = &self.scratch[n * wpr..(n + 1) * wpr];
                            for (o, v) in out.iter_mut().zip(other) {
                                if ERODE { *o &= v } else { *o |= v }
                            }
                        }
                        // An empty row inside the image.
                        Some(_) if ERODE => out.fill(0),
                        Some(_) => {}
                    }
                }
            }
            done += step;
        }
    }

    /// Calls `f(y, x_start, x_end)` for every maximal run of set pixels (end exclusive),
    /// row by row, left to right.
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        let wpr = self.words_per_row;
        for (y, row) in self.bits.chunks_exact(wpr).enumerate() {
            let mut start: Option<usize> = None;
            for (i, &w) in row.iter().enumerate() {
                let base = i * 64;
                let mut pos = 0u32;
                // Walk alternating runs of ones and zeros inside the word.
                while pos < 64 {
                    if start.is_some() {
                        let ones = (w >> pos).trailing_ones().min(64 - pos);
                        pos += ones;
                        if pos < 64
                            && let Some(s) = start.take()
                        {
                            f(y, s, base + pos as usize);
                        }
                    } else {
                        let rest = w >> pos;
                        if rest == 0 {
                            break;
                        }
                        pos += rest.trailing_zeros();
                        start = Some(base + pos as usize);
                    }
                }
            }
            if let Some(s) = start {
                f(y, s, self.width);
            }
        }
    }
}

/// The three colour bytes of the pixel at `offset` as a little-endian number: one 4-byte
/// read, except at the very end of the plane.
#[inline(always)]
fn colour_bytes<const FIRST: usize>(data: &[u8], offset: usize) -> u32 {
    let o = offset + FIRST;
    match data.get(o..o + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => data[o] as u32 | (data[o + 1] as u32) << 8 | (data[o + 2] as u32) << 16,
    }
}

/// Bit i of `x` moved to bit 2i.
fn spread(x: u32) -> u64 {
    let mut x = x as u64;
    x = (x | x << 16) & 0x0000_FFFF_0000_FFFF;
    x = (x | x << 8) & 0x00FF_00FF_00FF_00FF;
    x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | x << 2) & 0x3333_3333_3333_3333;
    (x | x << 1) & 0x5555_5555_5555_5555
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{CV_8UC3, Mat};
    use opencv::prelude::*;

    #[test]
    fn areas_are_fitted_into_the_frame() {
        gst::init().unwrap();
        let a = CalibrationArea {
            x: 630,
            y: 470,
            width: 40,
            height: 40,
        };
        assert_eq!(
            a.fit(640, 480),
            CalibrationArea {
                x: 600,
                y: 440,
                width: 40,
                height: 40
            }
        );
        let huge = CalibrationArea {
            x: 0,
            y: 0,
            width: 5000,
            height: 5000,
        };
        assert_eq!(
            huge.fit(64, 48),
            CalibrationArea {
                x: 0,
                y: 0,
                width: 64,
                height: 48
            }
        );
        let s = gst::Structure::builder("calibration_area")
            .field("x", -4)
            .field("width", 3)
            .build();
        let parsed = CalibrationArea::from_structure(&s).unwrap();
        assert_eq!(
            parsed,
            CalibrationArea {
                x: 0,
                y: 0,
                width: 3,
                height: 0
            }
        );
        assert_eq!(parsed.pixels().count(), 0);
        let bad = gst::Structure::builder("calibration_area")
            .field("x", "ten")
            .build();
        assert!(
            CalibrationArea::from_structure(&bad)
                .unwrap_err()
                .contains("'x'")
        );
    }

    #[test]
    fn hsv_matches_opencv_for_every_colour() {
        // 4096 × 4096 = every 24-bit colour once.
        let mut bgr = Mat::new_rows_cols_with_default(4096, 4096, CV_8UC3, 0.into()).unwrap();
        let data = bgr.data_bytes_mut().unwrap();
        for (i, px) in data.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&[(i & 255) as u8, ((i >> 8) & 255) as u8, (i >> 16) as u8]);
        }
        let mut hsv = Mat::default();
        opencv::imgproc::cvt_color_def(&bgr, &mut hsv, opencv::imgproc::COLOR_BGR2HSV).unwrap();
        let expected = hsv.data_bytes().unwrap();
        let mut mismatches = 0;
        for (i, e) in expected.chunks_exact(3).enumerate() {
            let got = bgr_to_hsv((i & 255) as u8, ((i >> 8) & 255) as u8, (i >> 16) as u8);
            if got[..] != e[..] {
                mismatches += 1;
            }
        }
        assert_eq!(mismatches, 0);
    }

    #[test]
    fn lut_agrees_with_the_range() {
        let range = HsvRange {
            h_min: 50,
            h_max: 70,
            s_min: 100,
            s_max: 255,
            v_min: 30,
            v_max: 255,
        };
        let mut lut = ColorLut::new(&range, ByteOrder::Bgr);
        for i in (0..1usize << 24).step_by(97) {
            let (b, g, r) = ((i & 255) as u8, ((i >> 8) & 255) as u8, (i >> 16) as u8);
            assert_eq!(lut.contains(b, g, r), range.contains(bgr_to_hsv(b, g, r)));
        }
        lut.ensure_order(ByteOrder::Rgb);
        for i in (0..1usize << 24).step_by(101) {
            let (b, g, r) = ((i & 255) as u8, ((i >> 8) & 255) as u8, (i >> 16) as u8);
            assert_eq!(lut.contains(b, g, r), range.contains(bgr_to_hsv(b, g, r)));
        }
        assert!(lut.contains(40, 175, 60), "screen green is in");
        assert!(!lut.contains(40, 40, 200), "red is out");
    }

    fn mask_from(rows: &[&str]) -> BitMask {
        let mut m = BitMask::new(rows[0].len(), rows.len());
        for (y, row) in rows.iter().enumerate() {
            for (x, c) in row.chars().enumerate() {
                m.set(x, y, c == '#');
            }
        }
        m
    }

    fn opencv_morph(m: &BitMask, op: i32, rx: i32, ry: i32) -> BitMask {
        let mut mat = Mat::new_rows_cols_with_default(
            m.height() as i32,
            m.width() as i32,
            opencv::core::CV_8UC1,
            0.into(),
        )
        .unwrap();
        for y in 0..m.height() {
            for x in 0..m.width() {
                *mat.at_2d_mut::<u8>(y as i32, x as i32).unwrap() =
                    if m.get(x, y) { 255 } else { 0 };
            }
        }
        let kernel = opencv::imgproc::get_structuring_element_def(
            opencv::imgproc::MORPH_RECT,
            opencv::core::Size::new(2 * rx + 1, 2 * ry + 1),
        )
        .unwrap();
        let mut out = Mat::default();
        opencv::imgproc::morphology_ex_def(&mat, &mut out, op, &kernel).unwrap();
        let mut res = BitMask::new(m.width(), m.height());
        for y in 0..m.height() {
            for x in 0..m.width() {
                res.set(x, y, *out.at_2d::<u8>(y as i32, x as i32).unwrap() != 0);
            }
        }
        res
    }

    #[test]
    fn morphology_matches_opencv_on_random_masks() {
        let mut seed = 12345u64;
        for (w, h, rx, ry) in [
            (70, 20, 1, 1),
            (130, 33, 10, 10),
            (64, 9, 5, 5),
            (3, 2, 1, 1),
        ] {
            let mut m = BitMask::new(w, h);
            for y in 0..h {
                for x in 0..w {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    m.set(x, y, !(seed >> 33).is_multiple_of(3));
                }
            }
            if w > 60 {
                // A sparse mask too: a few blobs in empty rows.
                let mut sparse = BitMask::new(w, h);
                for y in h / 3..h / 2 {
                    for x in w / 4..w / 4 + 9 {
                        sparse.set(x, y, true);
                    }
                    sparse.set(w - 1, y, y % 3 != 0);
                }
                sparse.set(0, h - 1, true);
                for (label, op) in [
                    ("close", opencv::imgproc::MORPH_CLOSE),
                    ("open", opencv::imgproc::MORPH_OPEN),
                ] {
                    let mut ours = sparse.clone();
                    if op == opencv::imgproc::MORPH_CLOSE {
                        ours.close(rx, ry);
                    } else {
                        ours.open(rx, ry);
                    }
                    assert_eq!(
                        ours.bits,
                        opencv_morph(&sparse, op, rx as i32, ry as i32).bits,
                        "sparse {label} {w}x{h} r{rx}"
                    );
                }
            }
            let mut close = m.clone();
            close.close(rx, ry);
            assert_eq!(
                close.bits,
                opencv_morph(&m, opencv::imgproc::MORPH_CLOSE, rx as i32, ry as i32).bits,
                "close {w}x{h} r{rx}"
            );
            let mut open = m.clone();
            open.open(rx, ry);
            assert_eq!(
                open.bits,
                opencv_morph(&m, opencv::imgproc::MORPH_OPEN, rx as i32, ry as i32).bits,
                "open {w}x{h} r{rx}"
            );
        }
    }

    /// A frame of big discs and bars (in and out of the range) sprinkled with 1-pixel specks.
    fn blobby_frame(w: usize, h: usize, seed: &mut u64) -> Vec<u8> {
        let mut rnd = || {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*seed >> 33) as usize
        };
        let (green, red) = ([40u8, 175, 60], [40u8, 40, 200]);
        let mut frame: Vec<u8> = green.iter().copied().cycle().take(w * h * 3).collect();
        let put = |frame: &mut Vec<u8>, x: usize, y: usize, c: [u8; 3]| {
            frame[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c)
        };
        for _ in 0..6 {
            let (cx, cy, r) = (rnd() % w, rnd() % h, 3 + rnd() % 12);
            for y in cy.saturating_sub(r)..(cy + r).min(h) {
                for x in cx.saturating_sub(r)..(cx + r).min(w) {
                    if (x as i64 - cx as i64).pow(2) + (y as i64 - cy as i64).pow(2)
                        <= (r * r) as i64
                    {
                        put(&mut frame, x, y, red);
                    }
                }
            }
        }
        for _ in 0..(w * h / 40) {
            let (x, y) = (rnd() % w, rnd() % h);
            let c = if rnd() % 2 == 0 { green } else { red };
            put(&mut frame, x, y, c);
        }
        frame
    }

    #[test]
    fn sampled_fill_gives_the_exact_mask_after_cleaning() {
        let range = HsvRange {
            h_min: 50,
            h_max: 70,
            s_min: 100,
            s_max: 255,
            v_min: 30,
            v_max: 255,
        };
        let lut = ColorLut::new(&range, ByteOrder::Bgr);
        let mut seed = 7u64;
        for (w, h) in [(64, 48), (97, 31), (128, 2), (1, 1), (130, 67)] {
            for _ in 0..5 {
                let frame = blobby_frame(w, h, &mut seed);
                let mut exact = BitMask::new(w, h);
                exact.fill_from_frame(&frame, w * 3, PackedLayout::BGR, &lut);
                let mut fast = BitMask::new(w, h);
                fast.fill_from_frame_sampled(&frame, w * 3, PackedLayout::BGR, &lut);
                // Samples themselves are exact.
                for y in (0..h).step_by(2) {
                    for x in (0..w).step_by(2) {
                        assert_eq!(fast.get(x, y), exact.get(x, y), "sample ({x}, {y})");
                    }
                }
                exact.close(1, 1);
                exact.open(1, 1);
                fast.close(1, 1);
                fast.open(1, 1);
                assert_eq!(fast.bits, exact.bits, "{w}x{h}");
            }
        }
    }

    #[test]
    fn runs_cover_exactly_the_set_pixels() {
        let m = mask_from(&["##..#", ".....", "#####"]);
        let mut runs = vec![];
        m.for_each_run(|y, a, b| runs.push((y, a, b)));
        assert_eq!(runs, vec![(0, 0, 2), (0, 4, 5), (2, 0, 5)]);

        let mut wide = BitMask::new(200, 1);
        for x in 60..140 {
            wide.set(x, 0, true);
        }
        wide.set(199, 0, true);
        let mut runs = vec![];
        wide.for_each_run(|y, a, b| runs.push((y, a, b)));
        assert_eq!(runs, vec![(0, 60, 140), (0, 199, 200)]);
    }

    #[test]
    fn frame_mask_honours_layout_and_stride() {
        let layout = PackedLayout::of(gst_video::VideoFormat::Rgbx).unwrap();
        let range = HsvRange {
            h_min: 50,
            h_max: 70,
            s_min: 100,
            s_max: 255,
            v_min: 30,
            v_max: 255,
        };
        let lut = ColorLut::new(&range, ByteOrder::Rgb);
        let (w, h, stride) = (3, 2, 16);
        let mut plane = vec![0u8; stride * h];
        plane[4..8].copy_from_slice(&[60, 175, 40, 0]); // RGBx green at (1, 0)
        plane[stride + 8..stride + 12].copy_from_slice(&[175, 40, 60, 0]); // red, out
        let mut m = BitMask::new(w, h);
        m.fill_from_frame(&plane, stride, layout, &lut);
        assert!(m.get(1, 0));
        assert_eq!(m.count_ones(), 1);

        // Tightly packed BGR: the last pixel of the plane is read without over-reading.
        let lut = ColorLut::new(&range, ByteOrder::Bgr);
        let (w, h) = (5, 3);
        let mut plane = vec![0u8; w * 3 * h];
        let n = plane.len();
        plane[n - 3..].copy_from_slice(&[40, 175, 60]);
        plane[3..6].copy_from_slice(&[40, 175, 60]);
        let mut m = BitMask::new(w, h);
        m.fill_from_frame(&plane, w * 3, PackedLayout::BGR, &lut);
        assert!(m.get(4, 2) && m.get(1, 0));
        assert_eq!(m.count_ones(), 2);
    }
}
