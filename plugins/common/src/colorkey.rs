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

/// Membership of every 8-bit BGR colour in an [`HsvRange`], one bit per colour.
///
/// Word index = the colour quantised to 6 bits per channel, bit = the 2 low bits of each
/// channel: colours that differ by a few levels (a noisy green screen) hit the same word.
#[derive(Clone)]
pub struct ColorLut {
    words: Vec<u64>,
}

impl std::fmt::Debug for ColorLut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ColorLut")
    }
}

impl ColorLut {
    pub fn new(range: &HsvRange) -> Self {
        let (sdiv, hdiv) = &*DIV_TABLES;
        let mut words = vec![0u64; 1 << 18];
        for (cell, word) in words.iter_mut().enumerate() {
            let (r_hi, g_hi, b_hi) = ((cell >> 12) << 2, ((cell >> 6) & 63) << 2, (cell & 63) << 2);
            let mut bits = 0u64;
            for bit in 0..64 {
                let r = (r_hi | (bit >> 4)) as i32;
                let g = (g_hi | ((bit >> 2) & 3)) as i32;
                let b = (b_hi | (bit & 3)) as i32;
                if range.contains(hsv_with_tables(sdiv, hdiv, b, g, r)) {
                    bits |= 1 << bit;
                }
            }
            *word = bits;
        }
        Self { words }
    }

    #[inline(always)]
    pub fn contains(&self, b: u8, g: u8, r: u8) -> bool {
        let (b, g, r) = (b as usize, g as usize, r as usize);
        let cell = ((r >> 2) << 12) | ((g >> 2) << 6) | (b >> 2);
        let bit = ((r & 3) << 4) | ((g & 3) << 2) | (b & 3);
        // The table always has 2^18 words and `cell` < 2^18.
        (self.words[cell] >> bit) & 1 != 0
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
    /// the mask must have the frame's size.
    pub fn fill_from_frame(
        &mut self,
        plane: &[u8],
        stride: usize,
        layout: PackedLayout,
        lut: &ColorLut,
    ) {
        let l = layout;
        // Monomorphised per layout so the byte offsets are constants in the hot loop.
        match (l.bytes_per_pixel, l.blue, l.green, l.red) {
            (3, 0, 1, 2) => self.fill::<3, 0, 1, 2>(plane, stride, lut),
            (3, 2, 1, 0) => self.fill::<3, 2, 1, 0>(plane, stride, lut),
            (4, 0, 1, 2) => self.fill::<4, 0, 1, 2>(plane, stride, lut),
            (4, 2, 1, 0) => self.fill::<4, 2, 1, 0>(plane, stride, lut),
            (4, 3, 2, 1) => self.fill::<4, 3, 2, 1>(plane, stride, lut),
            (4, 1, 2, 3) => self.fill::<4, 1, 2, 3>(plane, stride, lut),
            _ => self.fill_any(plane, stride, layout, lut),
        }
    }

    fn fill<const BPP: usize, const B: usize, const G: usize, const R: usize>(
        &mut self,
        plane: &[u8],
        stride: usize,
        lut: &ColorLut,
    ) {
        let (width, wpr) = (self.width, self.words_per_row);
        for (y, mask_row) in self.bits.chunks_exact_mut(wpr).enumerate() {
            let row = &plane[y * stride..y * stride + width * BPP];
            for (word, pixels) in mask_row.iter_mut().zip(row.chunks(64 * BPP)) {
                let mut bits = 0u64;
                for (j, px) in pixels.chunks_exact(BPP).enumerate() {
                    bits |= (lut.contains(px[B], px[G], px[R]) as u64) << j;
                }
                *word = bits;
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

    /// Dilation with a `(2 rx + 1) × (2 ry + 1)` rectangle; outside the image counts as unset
    /// (OpenCV's default border for morphology).
    pub fn dilate(&mut self, rx: usize, ry: usize) {
        self.dilate_rows(rx);
        self.dilate_cols(ry);
        self.clear_padding();
    }

    /// Erosion with a `(2 rx + 1) × (2 ry + 1)` rectangle; outside the image counts as set.
    pub fn erode(&mut self, rx: usize, ry: usize) {
        self.invert();
        self.dilate(rx, ry);
        self.invert();
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
        for w in &mut self.bits {
            *w = !*w;
        }
        self.clear_padding();
    }

    fn clear_padding(&mut self) {
        let (last, wpr) = (self.last_word_mask(), self.words_per_row);
        if last != !0 {
            for row in self.bits.chunks_exact_mut(wpr) {
                row[wpr - 1] &= last;
            }
        }
    }

    /// Grows every set run by `r` pixels left and right, in steps that double the reach.
    fn dilate_rows(&mut self, r: usize) {
        let wpr = self.words_per_row;
        let mut done = 0;
        while done < r {
            let step = (r - done).min(done.max(1)).min(63);
            for row in self.bits.chunks_exact_mut(wpr) {
                let mut prev = 0u64;
                for i in 0..wpr {
                    let w = row[i];
                    let next = if i + 1 < wpr { row[i + 1] } else { 0 };
                    row[i] = w
                        | (w << step)
                        | (prev >> (64 - step))
                        | (w >> step)
                        | (next << (64 - step));
                    prev = w;
                }
            }
            done += step;
        }
    }

    fn dilate_cols(&mut self, r: usize) {
        let (wpr, h) = (self.words_per_row, self.height);
        let mut done = 0;
        while done < r {
            let step = (r - done).min(done.max(1));
            self.scratch.copy_from_slice(&self.bits);
            for y in 0..h {
                let out = &mut self.bits[y * wpr..(y + 1) * wpr];
                if y >= step {
                    let above = &self.scratch[(y - step) * wpr..(y - step + 1) * wpr];
                    out.iter_mut().zip(above).for_each(|(o, a)| *o |= a);
                }
                if y + step < h {
                    let below = &self.scratch[(y + step) * wpr..(y + step + 1) * wpr];
                    out.iter_mut().zip(below).for_each(|(o, b)| *o |= b);
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
        let lut = ColorLut::new(&range);
        for i in (0..1usize << 24).step_by(97) {
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
                    m.set(x, y, (seed >> 33) % 3 != 0);
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
        let lut = ColorLut::new(&HsvRange {
            h_min: 50,
            h_max: 70,
            s_min: 100,
            s_max: 255,
            v_min: 30,
            v_max: 255,
        });
        let (w, h, stride) = (3, 2, 16);
        let mut plane = vec![0u8; stride * h];
        plane[4..8].copy_from_slice(&[60, 175, 40, 0]); // RGBx green at (1, 0)
        plane[stride + 8..stride + 12].copy_from_slice(&[175, 40, 60, 0]); // red, out
        let mut m = BitMask::new(w, h);
        m.fill_from_frame(&plane, stride, layout, &lut);
        assert!(m.get(1, 0));
        assert_eq!(m.count_ones(), 1);
    }
}
