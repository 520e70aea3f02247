// SPDX-License-Identifier: MPL-2.0
//! Plate localisation and character segmentation (elements.md §12, steps 1–14) on OpenCV 4.

use opencv::core::{self, Mat, Point, Point2f, Rect, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;

/// Normalised plate height: every candidate is resized so that its grown box is this tall.
const WORK_HEIGHT: f64 = 120.0;
/// Frames during which the last plate box is read again when no search finds one.
const TRACK_FRAMES: u32 = 5;
/// Erosion steps separating touching glyphs.
const ERODE: i32 = 2;

/// Which characters a box may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Letter,
    Digit,
}

/// Kurento's letter whitelist (all capitals: old-format provincial codes have vowels).
pub const LETTERS: &str = "AEIOUBCDFGHJKLMNPQRSTVWXYZ";
pub const DIGITS: &str = "0123456789";

/// One character to read: its box in the reading's binary plate image, its class and its
/// position in the 9-character plate string.
#[derive(Debug, Clone)]
pub struct Glyph {
    pub rect: Rect,
    pub class: Class,
    pub position: usize,
}

/// The characters of one plate candidate, ready for OCR.
#[derive(Debug, Clone)]
pub struct Reading {
    pub glyphs: Vec<Glyph>,
    /// The straightened, binarised plate (black glyphs on white).
    pub binary: Mat,
    /// Where the plate was found, in frame pixels.
    pub plate: Rect,
    /// Its rotation, degrees.
    pub angle: f32,
}

/// Per-frame localisation state (the pre-processing variant rotates A → B → C).
pub struct Locator {
    variant: u32,
    /// Box, angle and age in frames of the last plate found by a search.
    last: Option<(Rect, f32, u32)>,
    kernel_x: i32,
    size: Size,
    plate_width_percentage: f32,
    grey: Mat,
    work: Mat,
    tmp: Mat,
    tmp2: Mat,
}

fn rect_kernel(w: i32, h: i32) -> opencv::Result<Mat> {
    // Kurento's anchor: one pixel right of / below the centre.
    imgproc::get_structuring_element(
        imgproc::MORPH_RECT,
        Size::new(w, h),
        Point::new((w / 2 + 1).min(w - 1), (h / 2 + 1).min(h - 1)),
    )
}

fn morph(op: i32, src: &Mat, dst: &mut Mat, kernel: &Mat, anchor: Point) -> opencv::Result<()> {
    imgproc::morphology_ex(
        src,
        dst,
        op,
        kernel,
        anchor,
        1,
        core::BORDER_CONSTANT,
        imgproc::morphology_default_border_value()?,
    )
}

/// 8-bit saturating second derivative (3×3 Sobel).
fn second_derivative(src: &Mat, dst: &mut Mat, dx: i32, dy: i32) -> opencv::Result<()> {
    imgproc::sobel(
        src,
        dst,
        core::CV_8U,
        dx,
        dy,
        3,
        1.0,
        0.0,
        core::BORDER_DEFAULT,
    )
}

fn anchor_of(w: i32, h: i32) -> Point {
    Point::new((w / 2 + 1).min(w - 1), (h / 2 + 1).min(h - 1))
}

fn inside(outer: Rect, inner: Rect) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.x + inner.width <= outer.x + outer.width
        && inner.y + inner.height <= outer.y + outer.height
}

impl Default for Locator {
    fn default() -> Self {
        Locator {
            variant: 0,
            last: None,
            kernel_x: 0,
            size: Size::default(),
            plate_width_percentage: 0.0,
            grey: Mat::default(),
            work: Mat::default(),
            tmp: Mat::default(),
            tmp2: Mat::default(),
        }
    }
}

impl Locator {
    /// Finds plate candidates in a BGR frame and segments their characters. Returns the
    /// readings of every candidate with more than 6 character boxes.
    pub fn locate(
        &mut self,
        frame: &Mat,
        plate_width_percentage: f32,
    ) -> opencv::Result<Vec<Reading>> {
        let size = frame.size()?;
        if size != self.size || plate_width_percentage != self.plate_width_percentage {
            self.size = size;
            self.plate_width_percentage = plate_width_percentage;
            let mut k = (plate_width_percentage * size.width as f32 / 6.0) as i32;
            if k % 2 == 0 {
                k += 1;
            }
            self.kernel_x = k.max(1);
        }
        let kx = self.kernel_x;
        imgproc::cvt_color_def(frame, &mut self.grey, imgproc::COLOR_BGR2GRAY)?;
        imgproc::canny(&self.grey, &mut self.work, 70.0, 150.0, 3, false)?;
        let kernel = rect_kernel(kx, 3)?;
        let anchor = anchor_of(kx, 3);
        let (work, tmp, tmp2) = (&mut self.work, &mut self.tmp, &mut self.tmp2);
        match self.variant {
            0 => {
                morph(imgproc::MORPH_CLOSE, work, tmp, &kernel, anchor)?;
                morph(imgproc::MORPH_OPEN, tmp, work, &kernel, anchor)?;
            }
            1 => {
                // Second x-derivative, thin vertical strokes removed, horizontal structure
                // subtracted, then a small dilation.
                let no_mask = core::no_array();
                second_derivative(work, tmp, 2, 0)?;
                core::bitwise_not(tmp, tmp2, &no_mask)?;
                morph(imgproc::MORPH_ERODE, tmp2, tmp, &kernel, anchor)?;
                core::bitwise_not(tmp, work, &no_mask)?;
                second_derivative(work, tmp, 0, 2)?;
                morph(imgproc::MORPH_DILATE, tmp, tmp2, &kernel, anchor)?;
                core::subtract(work, tmp2, tmp, &no_mask, -1)?;
                second_derivative(tmp, tmp2, 2, 0)?;
                morph(
                    imgproc::MORPH_DILATE,
                    tmp2,
                    work,
                    &rect_kernel(3, 15)?,
                    anchor_of(3, 15),
                )?;
                core::subtract(tmp, work, tmp2, &no_mask, -1)?;
                morph(
                    imgproc::MORPH_DILATE,
                    tmp2,
                    work,
                    &rect_kernel(7, 3)?,
                    anchor_of(7, 3),
                )?;
            }
            _ => {}
        }
        self.variant = (self.variant + 1) % 3;

        let mut contours = Vector::<Vector<Point>>::new();
        imgproc::find_contours(
            &self.work,
            &mut contours,
            imgproc::RETR_EXTERNAL,
            imgproc::CHAIN_APPROX_SIMPLE,
            Point::new(0, 0),
        )?;
        let mut readings: Vec<Reading> = Vec::new();
        for contour in contours.iter() {
            if let Some(r) = self.candidate(frame, &contour)? {
                readings.push(r);
            }
        }
        if let Some(best) = readings.iter().max_by_key(|r| r.glyphs.len()) {
            self.last = Some((best.plate, best.angle, 0));
        }
        Ok(readings)
    }

    fn candidate(&self, frame: &Mat, contour: &Vector<Point>) -> opencv::Result<Option<Reading>> {
        let rect = imgproc::min_area_rect(contour)?;
        let (mut w, mut h, mut angle) = (rect.size.width, rect.size.height, rect.angle);
        if angle.abs() >= 45.0 {
            std::mem::swap(&mut w, &mut h);
            angle -= 90.0 * angle.signum();
        }
        let (wi, hi) = (w as i32, h as i32);
        if hi <= 0 {
            return Ok(None);
        }
        // Integer proportion, as Kurento: w/h in [4, 7).
        let proportion = wi / hi;
        let box_area = (w * h) as f64;
        let area = imgproc::contour_area(contour, false)?;
        if box_area <= 1500.0 || (5.0 - proportion as f64).abs() >= 1.8 || area / box_area <= 0.5 {
            return Ok(None);
        }
        let mut b = imgproc::bounding_rect(contour)?;
        let (gw, gh) = (b.width / 5, b.height * 2 / 5);
        let grown = Rect::new(b.x - gw / 2, b.y - gh / 2, b.width + gw, b.height + gh);
        if grown.x >= 0
            && grown.y >= 0
            && grown.x + grown.width <= self.size.width
            && grown.y + grown.height <= self.size.height
        {
            b = grown;
        }
        self.segment(frame, b, angle)
    }

    /// When no variant finds a plate, the box of the last plate found (at most
    /// `TRACK_FRAMES` frames ago) is segmented again: plates move little from frame to frame
    /// and every extra reading shortens the time to a confirmed plate.
    pub fn track(&mut self, frame: &Mat) -> opencv::Result<Vec<Reading>> {
        let Some((b, angle, age)) = self.last else {
            return Ok(Vec::new());
        };
        if age >= TRACK_FRAMES || frame.size()? != self.size {
            self.last = None;
            return Ok(Vec::new());
        }
        self.last = Some((b, angle, age + 1));
        Ok(self.segment(frame, b, angle)?.into_iter().collect())
    }

    fn segment(&self, frame: &Mat, b: Rect, angle: f32) -> opencv::Result<Option<Reading>> {
        // Every candidate is normalised to the same height (Kurento used the factor of the
        // previous candidate, Q-21).
        let factor = WORK_HEIGHT / b.height as f64;
        let work = Size::new(
            ((b.width as f64 * factor) as i32).max(1),
            ((b.height as f64 * factor) as i32).max(1),
        );
        let crop = Mat::roi(frame, b)?;
        let mut grey = Mat::default();
        imgproc::cvt_color_def(&crop, &mut grey, imgproc::COLOR_BGR2GRAY)?;
        let mut interp = Mat::default();
        imgproc::resize(&grey, &mut interp, work, 0.0, 0.0, imgproc::INTER_LANCZOS4)?;
        let mut sum = Mat::zeros_size(work, core::CV_8UC1)?.to_mat()?;
        let mut t = Mat::default();
        let mut t2 = Mat::default();
        for block in [3, 9, 13, 17, 25, 33] {
            imgproc::adaptive_threshold(
                &interp,
                &mut t,
                42.0,
                imgproc::ADAPTIVE_THRESH_MEAN_C,
                imgproc::THRESH_BINARY,
                block,
                5.0,
            )?;
            core::add(&sum, &t, &mut t2, &core::no_array(), -1)?;
            std::mem::swap(&mut sum, &mut t2);
        }
        imgproc::threshold(
            &sum,
            &mut t,
            0.0,
            255.0,
            imgproc::THRESH_BINARY | imgproc::THRESH_OTSU,
        )?;
        let mut bin = Mat::default();
        imgproc::median_blur(&t, &mut bin, 3)?;
        // Glyphs as white blobs: their outlines separate characters that Canny's edges of
        // neighbouring strokes would join.
        // Thin bridges between neighbouring glyphs are cut by an erosion; boxes are grown
        // back by the same amount in `boxes_of`.
        let mut edges = Mat::default();
        core::bitwise_not(&bin, &mut t, &core::no_array())?;
        imgproc::erode(
            &t,
            &mut edges,
            &rect_kernel(3, 3)?,
            Point::new(-1, -1),
            ERODE,
            core::BORDER_CONSTANT,
            imgproc::morphology_default_border_value()?,
        )?;

        // Character candidates: glyph-shaped boxes, tallest first.
        let mut boxes = boxes_of(&edges)?;
        boxes.retain(|r| {
            r.width > 0
                && ((r.height as f64 / r.width as f64) - 1.67).abs() < 0.35
                && r.area() > 100
        });
        if boxes.is_empty() {
            return Ok(None);
        }
        boxes.sort_by_key(|b| std::cmp::Reverse(b.height));
        // Reference character: the box whose height most other boxes share (the plate's
        // characters), the tallest on ties. Kurento took the box below the median height,
        // which is a stray blob whenever there are a few of them.
        let agreeing = |r: &Rect| {
            boxes
                .iter()
                .filter(|o| ((o.height - r.height).abs() as f64) < 0.2 * r.height as f64)
                .count()
        };
        let reference = *boxes
            .iter()
            .max_by_key(|r| (agreeing(r), r.height))
            .expect("not empty");

        // Straighten the plate around the reference character.
        let m = imgproc::get_rotation_matrix_2d(
            Point2f::new(reference.x as f32, reference.y as f32),
            angle as f64,
            1.0,
        )?;
        let mut bin_r = Mat::default();
        let mut edges_r = Mat::default();
        for (src, dst) in [(&bin, &mut bin_r), (&edges, &mut edges_r)] {
            imgproc::warp_affine(
                src,
                dst,
                &m,
                work,
                imgproc::INTER_LINEAR,
                core::BORDER_CONSTANT,
                Scalar::all(0.0),
            )?;
        }

        // Character boxes of the reference's height. Boxes several characters wide hold
        // glyphs that touch: they are cut at the emptiest columns (Kurento skipped boxes two
        // characters wide, losing both).
        let (rw, rh) = (reference.width as f64, reference.height as f64);
        let mut tall: Vec<Rect> = boxes_of(&edges_r)?
            .into_iter()
            .filter(|r| (r.height as f64 - rh).abs() < 0.2 * rh)
            .collect();
        // Both sides of a hole give a box: keep the outer one only.
        tall.sort_by_key(|r| (r.x, -r.area()));
        let mut deduped: Vec<Rect> = Vec::new();
        for c in tall {
            if deduped.iter().any(|d| inside(*d, c)) {
                continue;
            }
            deduped.retain(|d| !inside(c, *d));
            deduped.push(c);
        }
        let mut chars: Vec<(Rect, bool)> = Vec::new();
        for r in deduped {
            let parts = if r.width as f64 >= 1.6 * rw {
                ((r.width as f64 / rw).round() as i32).clamp(1, 4)
            } else {
                1
            };
            for piece in split_box(&edges_r, r, parts)? {
                let w = piece.width as f64;
                if w > 0.25 * rw && w < 1.6 * rw {
                    chars.push((piece, false));
                }
            }
        }
        chars.sort_by_key(|(r, _)| r.x);
        for i in 1..chars.len() {
            let (b1, ex1) = chars[i - 1];
            // Kurento's (unreachable in practice) split-character rule, kept.
            if !ex1 && b1.y as f64 > 2.0 * rw {
                chars[i].1 = true;
            }
        }
        let count = chars.len();
        if count <= 6 {
            return Ok(None);
        }
        // The space between the digit and letter groups.
        let mut space_x = 0;
        let mut best_gap = i32::MIN;
        for i in 2..count.saturating_sub(3) {
            let (a, b) = (chars[i].0, chars[i + 1].0);
            let gap = b.x - (a.x + a.width);
            if gap > best_gap {
                best_gap = gap;
                space_x = a.x + a.width + gap / 2;
            }
        }
        let first_after_space = chars.iter().position(|(r, _)| r.x > space_x);
        let initial = first_after_space.map_or(0, |i| i.saturating_sub(4));

        let mut glyphs = Vec::new();
        let mut digits_seen = 0;
        for (p, (r, _)) in chars.iter().filter(|(_, ex)| !ex).enumerate() {
            let class = if p < initial {
                Class::Letter
            } else if digits_seen < 4 {
                digits_seen += 1;
                Class::Digit
            } else {
                Class::Letter
            };
            let position = p as i64 + 2 - initial as i64;
            if !(0..9).contains(&position) {
                continue;
            }
            // Grow up-left by 2 px, keeping the right and bottom edges inside.
            let mut g = *r;
            if g.x - 2 > 0 {
                g.x -= 2;
            }
            if g.y - 2 > 0 {
                g.y -= 2;
            }
            if g.x + g.width + 2 <= work.width {
                g.width += 2;
            }
            if g.y + g.height + 2 <= work.height {
                g.height += 2;
            }
            let g = g & Rect::new(0, 0, work.width, work.height);
            if g.width <= 0 || g.height <= 0 {
                continue;
            }
            glyphs.push(Glyph {
                rect: g,
                class,
                position: position as usize,
            });
        }
        Ok(Some(Reading {
            glyphs,
            binary: bin_r,
            plate: b,
            angle,
        }))
    }
}

/// Cuts `r` into `parts` boxes at the columns with the fewest glyph pixels near the even
/// cuts.
fn split_box(blobs: &Mat, r: Rect, parts: i32) -> opencv::Result<Vec<Rect>> {
    if parts <= 1 {
        return Ok(vec![r]);
    }
    let roi = Mat::roi(blobs, r)?;
    let mut counts = vec![0i32; r.width as usize];
    for y in 0..r.height {
        for (x, c) in counts.iter_mut().enumerate() {
            if *roi.at_2d::<u8>(y, x as i32)? != 0 {
                *c += 1;
            }
        }
    }
    let step = r.width as f64 / parts as f64;
    let mut cuts = vec![0];
    for k in 1..parts {
        let centre = (k as f64 * step) as i32;
        let reach = (step / 4.0) as i32;
        let lo = (centre - reach).max(cuts[cuts.len() - 1] + 1);
        let hi = (centre + reach).min(r.width - 1);
        let best = (lo..=hi)
            .min_by_key(|&x| counts[x as usize])
            .unwrap_or(centre);
        cuts.push(best);
    }
    cuts.push(r.width);
    Ok(cuts
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| Rect::new(r.x + w[0], r.y, w[1] - w[0], r.height))
        .collect())
}

fn boxes_of(edges: &Mat) -> opencv::Result<Vec<Rect>> {
    let mut contours = Vector::<Vector<Point>>::new();
    imgproc::find_contours(
        edges,
        &mut contours,
        imgproc::RETR_LIST,
        imgproc::CHAIN_APPROX_SIMPLE,
        Point::new(0, 0),
    )?;
    contours
        .iter()
        .map(|c| {
            imgproc::bounding_rect(&c).map(|r| {
                Rect::new(
                    r.x - ERODE,
                    r.y - ERODE,
                    r.width + 2 * ERODE,
                    r.height + 2 * ERODE,
                ) & Rect::new(0, 0, edges.cols(), edges.rows())
            })
        })
        .collect()
}
