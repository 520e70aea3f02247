// SPDX-License-Identifier: MPL-2.0
//! Kurento's crowd analysis (elements.md §11.2–11.3) on OpenCV 4's C++ API.

use std::ffi::c_void;

use opencv::core::{self, Mat, Point, Point2f, Rect, Scalar, Size, TermCriteria, Vector};
use opencv::prelude::*;
use opencv::{imgproc, video};

use super::rois::Roi;

/// The two levelled measurements of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Occupancy,
    Fluidity,
}

/// One element message to post.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Level {
        metric: Metric,
        roi: String,
        percentage: f64,
        level: i32,
    },
    Direction {
        roi: String,
        angle: f64,
    },
}

/// Level debouncing shared by occupancy and fluidity (§11.2 step 16).
#[derive(Debug, Default, Clone, Copy)]
struct Debounce {
    candidate: i32,
    count: i32,
    reported: i32,
}

impl Debounce {
    /// Returns true when `level` becomes the reported level.
    fn update(&mut self, level: i32, frames: i32) -> bool {
        let frames = frames.max(1);
        if level == self.candidate {
            self.count = (self.count + 1).min(frames);
        } else {
            self.candidate = level;
            self.count = 1;
        }
        if self.count == frames && self.candidate != self.reported {
            self.reported = self.candidate;
            return true;
        }
        false
    }
}

/// Direction debouncing (§11.3 steps 7–8).
#[derive(Debug, Clone, Copy)]
struct DirectionState {
    reported: i32,
    candidate: i32,
    count: i32,
    still: i32,
}

impl Default for DirectionState {
    fn default() -> Self {
        DirectionState {
            reported: -1,
            candidate: -1,
            count: 0,
            still: 0,
        }
    }
}

struct RoiState {
    roi: Roi,
    proc_pts: Vector<Point>,
    full_pts: Vector<Point>,
    container: Rect,
    area: i32,
    occupancy: Debounce,
    fluidity: Debounce,
    direction: DirectionState,
}

/// Kurento's motion measurement: up to 400 Shi–Tomasi corners of `current` (quality 0.01,
/// minimum distance 0.01, block 5) tracked by pyramidal Lucas–Kanade from `previous` (5×5
/// window, 3 levels, 20 iterations or epsilon 0.3). Returns the start points, end points and
/// status, or `None` when there is nothing to track.
#[allow(clippy::type_complexity)]
pub fn kurento_flow(
    previous: &Mat,
    current: &Mat,
) -> opencv::Result<Option<(Vector<Point2f>, Vector<Point2f>, Vector<u8>)>> {
    let mut corners = Vector::<Point2f>::new();
    imgproc::good_features_to_track(
        current,
        &mut corners,
        400,
        0.01,
        0.01,
        &core::no_array(),
        5,
        false,
        0.04,
    )?;
    if corners.is_empty() {
        return Ok(None);
    }
    let mut next = Vector::<Point2f>::new();
    let mut status = Vector::<u8>::new();
    let mut err = Vector::<f32>::new();
    video::calc_optical_flow_pyr_lk(
        previous,
        current,
        &corners,
        &mut next,
        &mut status,
        &mut err,
        Size::new(5, 5),
        3,
        TermCriteria::new(core::TermCriteria_COUNT + core::TermCriteria_EPS, 20, 0.3)?,
        0,
        1e-4,
    )?;
    Ok(Some((corners, next, status)))
}

/// Angle of a summed displacement with Kurento's convention: right 0, up 90, left 180,
/// down 270 (image y grows downwards).
pub fn displacement_angle(sum_x: i32, sum_y: i32) -> i32 {
    let a = (sum_y as f64).atan2(sum_x as f64) * 57.3;
    if a > 0.0 {
        (360.0 - a) as i32
    } else {
        (-a) as i32
    }
}

/// Quantises an angle to the four sectors rotated by `offset` degrees; the result is in 0..360.
pub fn quantise_angle(angle: i32, offset: i32) -> i32 {
    let rel = (angle - offset).rem_euclid(360);
    let sector = ((rel + 45) / 90) % 4;
    (sector * 90 + offset).rem_euclid(360)
}

/// Level of a percentage against min/med/max thresholds; `inclusive_max` is fluidity's `>=`.
pub fn level(percentage: f64, min: i32, med: i32, max: i32, inclusive_max: bool) -> i32 {
    let max = max as f64;
    if percentage > max || inclusive_max && percentage >= max {
        3
    } else if percentage > med as f64 {
        2
    } else if percentage > min as f64 {
        1
    } else {
        0
    }
}

/// Processing size for a frame (§11.1). Kurento divided the height by the integer quotient
/// of the widths, distorting the aspect; we keep the aspect ratio.
pub fn processing_size(width: i32, height: i32, processing_width: i32) -> Size {
    let pw = width.min(processing_width).max(1);
    let ph = ((height as i64 * pw as i64 + width as i64 / 2) / width.max(1) as i64).max(1) as i32;
    Size::new(pw, ph)
}

pub struct Analyser {
    frame: Size,
    proc: Size,
    rois: Vec<RoiState>,
    kernel: Mat,
    background: Mat,
    prev_lbp: Mat,
    acc_lbp: Mat,
    acc_edges: Mat,
    prev_colour: Mat,
    small: Mat,
    mask: Mat,
    grey: Mat,
    lbp: Mat,
    fast: Mat,
    slow: Mat,
    colour_map: Mat,
    motion: Mat,
    big_map: Mat,
    tmp: Mat,
    tmp2: Mat,
}

/// Erosion or dilation, `iterations` times, with OpenCV's default border.
fn morph(op: i32, src: &Mat, dst: &mut Mat, kernel: &Mat, iterations: i32) -> opencv::Result<()> {
    imgproc::morphology_ex(
        src,
        dst,
        op,
        kernel,
        Point::new(-1, -1),
        iterations,
        core::BORDER_CONSTANT,
        imgproc::morphology_default_border_value()?,
    )
}

/// Running average `acc ← (1 − weight)·acc + weight·new` (8-bit, rounded and saturated).
fn blend(acc: &mut Mat, new: &Mat, weight: f64, scratch: &mut Mat) -> opencv::Result<()> {
    core::add_weighted(acc, 1.0 - weight, new, weight, 0.0, scratch, -1)?;
    std::mem::swap(acc, scratch);
    Ok(())
}

fn zeros(size: Size, typ: i32) -> opencv::Result<Mat> {
    Mat::zeros_size(size, typ)?.to_mat()
}

fn scale_points(points: &[(f32, f32)], size: Size) -> Vector<Point> {
    points
        .iter()
        .map(|&(x, y)| {
            Point::new(
                ((x * size.width as f32) as i32).clamp(0, size.width - 1),
                ((y * size.height as f32) as i32).clamp(0, size.height - 1),
            )
        })
        .collect()
}

impl Analyser {
    /// All state starts at zero: a new analyser is built on the first frame, on a size change,
    /// on a processing-width change and when the regions are set again.
    pub fn new(
        width: i32,
        height: i32,
        processing_width: i32,
        rois: &[Roi],
    ) -> opencv::Result<Self> {
        let frame = Size::new(width, height);
        let proc = processing_size(width, height, processing_width);
        let mut states = Vec::with_capacity(rois.len());
        for roi in rois {
            let proc_pts = scale_points(&roi.points, proc);
            let full_pts = scale_points(&roi.points, frame);
            // Area of the polygon as drawn, recomputed for every size; fill_poly also
            // measures non-convex regions correctly.
            let mut area_img = zeros(proc, core::CV_8UC1)?;
            let polys: Vector<Vector<Point>> = std::iter::once(proc_pts.clone()).collect();
            imgproc::fill_poly(
                &mut area_img,
                &polys,
                Scalar::all(255.0),
                imgproc::LINE_8,
                0,
                Point::new(0, 0),
            )?;
            let area = core::count_non_zero(&area_img)?;
            let xs = proc_pts.iter().map(|p| p.x);
            let ys = proc_pts.iter().map(|p| p.y);
            let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
            let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
            states.push(RoiState {
                roi: roi.clone(),
                proc_pts,
                full_pts,
                container: Rect::new(x0, y0, x1 - x0, y1 - y0),
                area,
                occupancy: Debounce::default(),
                fluidity: Debounce::default(),
                direction: DirectionState::default(),
            });
        }
        let kernel = imgproc::get_structuring_element(
            imgproc::MORPH_RECT,
            Size::new(3, 3),
            Point::new(-1, -1),
        )?;
        Ok(Analyser {
            frame,
            proc,
            rois: states,
            kernel,
            background: zeros(proc, core::CV_8UC1)?,
            prev_lbp: zeros(proc, core::CV_8UC1)?,
            acc_lbp: zeros(proc, core::CV_8UC1)?,
            acc_edges: zeros(proc, core::CV_8UC1)?,
            prev_colour: zeros(proc, core::CV_8UC3)?,
            small: Mat::default(),
            mask: Mat::default(),
            grey: Mat::default(),
            lbp: zeros(proc, core::CV_8UC1)?,
            fast: Mat::default(),
            slow: zeros(proc, core::CV_8UC1)?,
            colour_map: zeros(proc, core::CV_8UC3)?,
            motion: zeros(proc, core::CV_8UC1)?,
            big_map: Mat::default(),
            tmp: Mat::default(),
            tmp2: Mat::default(),
        })
    }

    pub fn frame_size(&self) -> (i32, i32) {
        (self.frame.width, self.frame.height)
    }

    pub fn processing_size(&self) -> (i32, i32) {
        (self.proc.width, self.proc.height)
    }

    /// Analyses one packed BGR frame in place (tint and region outlines are drawn into it)
    /// and appends the events to post.
    pub fn process(
        &mut self,
        data: &mut [u8],
        stride: usize,
        events: &mut Vec<Event>,
    ) -> opencv::Result<()> {
        let (w, h) = (self.frame.width as usize, self.frame.height as usize);
        if data.len() < stride * (h - 1) + w * 3 {
            return Err(opencv::Error::new(
                core::StsBadArg,
                "frame buffer smaller than its caps",
            ));
        }
        if self.rois.is_empty() {
            return Ok(());
        }
        {
            // SAFETY: the header borrows `data` for this block only.
            let full = unsafe {
                Mat::new_rows_cols_with_data_unsafe(
                    h as i32,
                    w as i32,
                    core::CV_8UC3,
                    data.as_mut_ptr() as *mut c_void,
                    stride,
                )?
            };
            imgproc::resize(
                &full,
                &mut self.small,
                self.proc,
                0.0,
                0.0,
                imgproc::INTER_LINEAR,
            )?;
        }
        self.analyse(events)?;

        // 14. tint: every non-zero channel of the map replaces the frame's channel.
        imgproc::resize(
            &self.colour_map,
            &mut self.big_map,
            self.frame,
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )?;
        let map = self.big_map.data_bytes()?;
        for (row, map_row) in data.chunks_mut(stride).zip(map.chunks_exact(w * 3)) {
            for (px, m) in row[..w * 3].iter_mut().zip(map_row) {
                if *m != 0 {
                    *px = *m;
                }
            }
        }
        // 15. region outlines.
        let mut full = unsafe {
            // SAFETY: as above; `data` is not touched while this header lives.
            Mat::new_rows_cols_with_data_unsafe(
                h as i32,
                w as i32,
                core::CV_8UC3,
                data.as_mut_ptr() as *mut c_void,
                stride,
            )?
        };
        let outlines: Vector<Vector<Point>> =
            self.rois.iter().map(|r| r.full_pts.clone()).collect();
        imgproc::polylines(
            &mut full,
            &outlines,
            true,
            Scalar::all(255.0),
            1,
            imgproc::LINE_8,
            0,
        )?;
        Ok(())
    }

    fn analyse(&mut self, events: &mut Vec<Event>) -> opencv::Result<()> {
        let (pw, ph) = (self.proc.width as usize, self.proc.height as usize);
        let no_mask = core::no_array();

        // 2. region mask.
        self.mask = zeros(self.proc, core::CV_8UC1)?;
        let polys: Vector<Vector<Point>> = self.rois.iter().map(|r| r.proc_pts.clone()).collect();
        imgproc::fill_poly(
            &mut self.mask,
            &polys,
            Scalar::all(255.0),
            imgproc::LINE_AA,
            0,
            Point::new(0, 0),
        )?;
        // 3. grey, zero outside the regions.
        imgproc::cvt_color_def(&self.small, &mut self.grey, imgproc::COLOR_BGR2GRAY)?;
        {
            let mask = self.mask.data_bytes()?;
            for (g, m) in self.grey.data_bytes_mut()?.iter_mut().zip(mask) {
                if *m == 0 {
                    *g = 0;
                }
            }
        }
        // 4. background.
        blend(&mut self.background, &self.grey, 0.02, &mut self.tmp)?;

        // 5. texture code, Kurento's variant: the reference is the top-left neighbour and
        // (r, c+1) is sampled twice (Q-15, kept for parity).
        {
            let g = self.grey.data_bytes()?;
            let l = self.lbp.data_bytes_mut()?;
            let at = |r: usize, c: usize| g[r * pw + c];
            for r in 1..ph.saturating_sub(1) {
                for c in 1..pw.saturating_sub(1) {
                    let reference = at(r - 1, c - 1);
                    let neighbours = [
                        at(r - 1, c - 1),
                        at(r, c - 1),
                        at(r + 1, c - 1),
                        at(r, c),
                        at(r + 1, c + 1),
                        at(r, c + 1),
                        at(r - 1, c + 1),
                        at(r, c + 1),
                    ];
                    let mut code = 0u8;
                    for n in neighbours {
                        code = (code << 1) | u8::from(n > reference);
                    }
                    l[r * pw + c] = code;
                }
            }
        }
        // 6. texture change, 255 = unchanged.
        core::subtract(&self.prev_lbp, &self.lbp, &mut self.tmp, &no_mask, -1)?;
        imgproc::threshold(
            &self.tmp,
            &mut self.tmp2,
            0.0,
            255.0,
            imgproc::THRESH_BINARY | imgproc::THRESH_OTSU,
        )?;
        core::bitwise_not(&self.tmp2, &mut self.tmp, &no_mask)?;
        morph(
            imgproc::MORPH_ERODE,
            &self.tmp,
            &mut self.tmp2,
            &self.kernel,
            4,
        )?;
        morph(
            imgproc::MORPH_DILATE,
            &self.tmp2,
            &mut self.tmp,
            &self.kernel,
            11,
        )?;
        morph(
            imgproc::MORPH_ERODE,
            &self.tmp,
            &mut self.tmp2,
            &self.kernel,
            3,
        )?;
        std::mem::swap(&mut self.prev_lbp, &mut self.lbp);
        // 7. accumulated texture stability.
        blend(&mut self.acc_lbp, &self.tmp2, 0.2, &mut self.tmp)?;
        // 8. fast map: 0 = fast-changing texture.
        imgproc::threshold(
            &self.acc_lbp,
            &mut self.tmp,
            150.0,
            255.0,
            imgproc::THRESH_BINARY,
        )?;
        imgproc::median_blur(&self.tmp, &mut self.fast, 3)?;
        // 9. foreground edges.
        {
            let b = self.background.data_bytes()?;
            self.tmp = self.grey.try_clone()?;
            for (g, bg) in self.tmp.data_bytes_mut()?.iter_mut().zip(b) {
                if g.abs_diff(*bg) < 45 {
                    *g = 255;
                }
            }
        }
        imgproc::threshold(
            &self.tmp,
            &mut self.tmp2,
            0.0,
            255.0,
            imgproc::THRESH_BINARY | imgproc::THRESH_OTSU,
        )?;
        imgproc::canny(&self.tmp2, &mut self.tmp, 70.0, 150.0, 3, false)?;
        // 10. accumulated edges.
        blend(&mut self.acc_edges, &self.tmp, 0.015, &mut self.tmp2)?;
        // 11. slow map: > 9 persistent edge pixels in the 7×7 neighbourhood.
        {
            let c = self.acc_edges.data_bytes()?;
            // Summed-area table of C > 45.
            let mut sat = vec![0u32; (pw + 1) * (ph + 1)];
            for r in 0..ph {
                let mut run = 0;
                for col in 0..pw {
                    run += u32::from(c[r * pw + col] > 45);
                    sat[(r + 1) * (pw + 1) + col + 1] = sat[r * (pw + 1) + col + 1] + run;
                }
            }
            self.tmp2 = zeros(self.proc, core::CV_8UC1)?;
            let s = self.tmp2.data_bytes_mut()?;
            for r in 3..ph.saturating_sub(4) {
                for col in 3..pw.saturating_sub(4) {
                    let (r0, r1, c0, c1) = (r - 3, r + 4, col - 3, col + 4);
                    let sum = sat[r1 * (pw + 1) + c1] + sat[r0 * (pw + 1) + c0]
                        - sat[r0 * (pw + 1) + c1]
                        - sat[r1 * (pw + 1) + c0];
                    let count = sum - u32::from(c[r * pw + col] > 45);
                    if count > 9 {
                        s[r * pw + col] = 255;
                    }
                }
            }
        }
        morph(
            imgproc::MORPH_ERODE,
            &self.tmp2,
            &mut self.slow,
            &self.kernel,
            1,
        )?;
        // 12. colour map and motion map.
        {
            let f = self.fast.data_bytes()?;
            let s = self.slow.data_bytes()?;
            let m = self.colour_map.data_bytes_mut()?;
            let k = self.motion.data_bytes_mut()?;
            for i in 0..pw * ph {
                let px = &mut m[i * 3..i * 3 + 3];
                if f[i] == 0 {
                    px.copy_from_slice(&[255, 0, 0]);
                    k[i] = 255;
                } else if s[i] == 255 {
                    px.copy_from_slice(&[0, 0, 255]);
                    k[i] = 255;
                } else {
                    px.copy_from_slice(&[0, 0, 0]);
                    k[i] = 0;
                }
            }
        }
        // 13. direction.
        for i in 0..self.rois.len() {
            if self.rois[i].roi.config.send_optical_flow_event {
                self.direction(i, events)?;
            }
        }
        // 16. occupancy and fluidity per region.
        core::bitwise_not(&self.fast, &mut self.tmp, &no_mask)?;
        for state in &mut self.rois {
            let c = state.container;
            imgproc::rectangle(&mut self.slow, c, Scalar::all(0.0), 1, imgproc::LINE_8, 0)?;
            let (low, high) = if c.width > 0 && c.height > 0 {
                (
                    core::count_non_zero(&Mat::roi(&self.slow, c)?)?,
                    core::count_non_zero(&Mat::roi(&self.tmp, c)?)?,
                )
            } else {
                (0, 0)
            };
            let cfg = &state.roi.config;
            let occupancy = if state.area > 0 {
                (low + high) as f64 * 100.0 / state.area as f64
            } else {
                0.0
            };
            // Integer arithmetic, as Kurento.
            let fluidity = if low + high > 0 {
                (low * 100 / (low + high)) as f64
            } else {
                0.0
            };
            for (metric, percentage) in
                [(Metric::Occupancy, occupancy), (Metric::Fluidity, fluidity)]
            {
                let (min, med, max, frames, debounce) = match metric {
                    Metric::Occupancy => (
                        cfg.occupancy_level_min,
                        cfg.occupancy_level_med,
                        cfg.occupancy_level_max,
                        cfg.occupancy_num_frames_to_event,
                        &mut state.occupancy,
                    ),
                    Metric::Fluidity => (
                        cfg.fluidity_level_min,
                        cfg.fluidity_level_med,
                        cfg.fluidity_level_max,
                        cfg.fluidity_num_frames_to_event,
                        &mut state.fluidity,
                    ),
                };
                let level = level(percentage, min, med, max, metric == Metric::Fluidity);
                if debounce.update(level, frames) {
                    events.push(Event::Level {
                        metric,
                        roi: cfg.id.clone(),
                        percentage,
                        level,
                    });
                }
            }
        }
        Ok(())
    }

    fn direction(&mut self, index: usize, events: &mut Vec<Event>) -> opencv::Result<()> {
        let c = self.rois[index].container;
        // LK with 3 pyramid levels and a 5×5 window needs a few pixels to work on.
        if c.width < 8 || c.height < 8 {
            return Ok(());
        }
        let mut current = Mat::default();
        let mut previous = Mat::default();
        imgproc::cvt_color_def(
            &Mat::roi(&self.small, c)?,
            &mut current,
            imgproc::COLOR_BGR2GRAY,
        )?;
        imgproc::cvt_color_def(
            &Mat::roi(&self.prev_colour, c)?,
            &mut previous,
            imgproc::COLOR_BGR2GRAY,
        )?;
        let flow = kurento_flow(&previous, &current)?;
        let mut sum = (0i32, 0i32);
        let mut moved = false;
        if let Some((corners, next, status)) = flow {
            let k = self.motion.data_bytes()?;
            let pw = self.proc.width as usize;
            for ((p, q), ok) in corners.iter().zip(next.iter()).zip(status.iter()) {
                if ok == 0 {
                    continue;
                }
                let (px, py) = (p.x as i32, p.y as i32);
                if px < 0 || py < 0 || px >= c.width || py >= c.height {
                    continue;
                }
                if k[(py + c.y) as usize * pw + (px + c.x) as usize] != 255 {
                    continue;
                }
                let (dx, dy) = (q.x as i32 - px, q.y as i32 - py);
                if ((dx * dx + dy * dy) as f64).sqrt() > 3.0 {
                    sum.0 += dx;
                    sum.1 += dy;
                    moved = true;
                }
            }
        }
        {
            let src = Mat::roi(&self.small, c)?;
            let mut dst = Mat::roi_mut(&mut self.prev_colour, c)?;
            src.copy_to(&mut dst)?;
        }

        let state = &mut self.rois[index];
        let cfg = &state.roi.config;
        let dir = &mut state.direction;
        // Kurento took angle 0 for "no motion", so motion straight to the right was never
        // reported; we tell the two apart.
        if moved && sum != (0, 0) {
            let angle = quantise_angle(
                displacement_angle(sum.0, sum.1),
                cfg.optical_flow_angle_offset,
            );
            if angle != dir.reported {
                if angle == dir.candidate {
                    dir.count += 1;
                } else {
                    dir.candidate = angle;
                    dir.count = 1;
                }
                if dir.count > cfg.optical_flow_num_frames_to_event {
                    events.push(Event::Direction {
                        roi: cfg.id.clone(),
                        angle: angle as f64,
                    });
                    dir.reported = angle;
                    dir.count = 1;
                }
            }
            dir.still = 0;
        } else {
            dir.still += 1;
            if dir.still > cfg.optical_flow_num_frames_to_reset {
                dir.reported = -1;
                dir.candidate = -1;
            }
        }
        Ok(())
    }
}
