// SPDX-License-Identifier: MPL-2.0
//! Face detection on a grey working image, with cheap tracking between full scans.
//!
//! Kurento scans every frame: it scales the frame to 320 pixels wide and runs the cascade over
//! the whole image (scale step 1.2, 3 neighbours, faces between 1/20 and 1/2 of the image).
//! That full scan is kept, but only every `full_scan_interval` frames. On the frames between,
//! each known face is looked for again only in a window around its last position and only at
//! sizes close to its last size, which costs a small fraction of a full scan. A new face is
//! therefore found at the next full scan at the latest.
//!
//! The working image is grey: a YUV frame's luma plane is used as it is (no colour
//! conversion at all), and packed RGB is scaled first and converted second.

use std::ffi::c_void;

use gst_video::VideoFormat;
use opencv::core::{Mat, Rect, Size, Vector};
use opencv::objdetect::CascadeClassifier;
use opencv::prelude::*;
use opencv::{core, imgproc};

use crate::faces::Face;

/// Kurento's working width.
pub const WORKING_WIDTH: i32 = 320;
/// The cascades' own window: nothing smaller can hold a face.
const MIN_WORKING_SIDE: i32 = 24;

const FULL_SCAN_SCALE: f64 = 1.2;
const TRACK_SCALE: f64 = 1.15;
const MIN_NEIGHBOURS: i32 = 3;
/// How far around a tracked face to look again, as a fraction of its size on each side.
const TRACK_MARGIN: f64 = 0.35;
/// Sizes tried when re-finding a tracked face, relative to its last size.
const TRACK_MIN_SIZE: f64 = 0.75;
const TRACK_MAX_SIZE: f64 = 1.35;
/// A tracked face missing for this many consecutive tracking frames is dropped.
const MAX_TRACK_MISSES: u32 = 3;

/// The formats the detector reads: YUV and grey via their luma plane, packed RGB via a
/// scaled copy.
pub const FORMATS: [VideoFormat; 11] = [
    VideoFormat::Bgr,
    VideoFormat::Rgb,
    VideoFormat::Bgrx,
    VideoFormat::Bgra,
    VideoFormat::Rgbx,
    VideoFormat::Rgba,
    VideoFormat::I420,
    VideoFormat::Yv12,
    VideoFormat::Nv12,
    VideoFormat::Nv21,
    VideoFormat::Gray8,
];

/// One plane of a mapped frame and how to read it.
pub struct PlaneView<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
    pub format: VideoFormat,
}

impl PlaneView<'_> {
    /// OpenCV type of the plane and the conversion to grey after scaling, if any.
    fn cv_layout(&self) -> Option<(i32, Option<i32>)> {
        use VideoFormat::*;
        Some(match self.format {
            I420 | Yv12 | Nv12 | Nv21 | Gray8 => (core::CV_8UC1, None),
            Bgr => (core::CV_8UC3, Some(imgproc::COLOR_BGR2GRAY)),
            Rgb => (core::CV_8UC3, Some(imgproc::COLOR_RGB2GRAY)),
            Bgrx | Bgra => (core::CV_8UC4, Some(imgproc::COLOR_BGRA2GRAY)),
            Rgbx | Rgba => (core::CV_8UC4, Some(imgproc::COLOR_RGBA2GRAY)),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Track {
    rect: Rect,
    misses: u32,
}

/// Size of the working image for a frame, as Kurento computes it.
pub fn working_size(width: usize, height: usize) -> (i32, i32, f64) {
    let working_width = (width as i32).clamp(1, WORKING_WIDTH);
    let factor = width as f64 / working_width as f64;
    let working_height = (height as f64 / factor) as i32;
    (working_width, working_height, factor)
}

pub struct Detector {
    classifier: CascadeClassifier,
    tracks: Vec<Track>,
    frames_since_scan: u32,
    small: Mat,
    grey: Mat,
}

impl Detector {
    pub fn load(cascade_path: &str) -> Result<Self, String> {
        if !std::path::Path::new(cascade_path).is_file() {
            return Err(format!("cascade file '{cascade_path}' does not exist"));
        }
        let classifier = CascadeClassifier::new(cascade_path)
            .map_err(|e| format!("cascade file '{cascade_path}' could not be read: {e}"))?;
        if classifier.empty().unwrap_or(true) {
            return Err(format!(
                "cascade file '{cascade_path}' is not a valid cascade"
            ));
        }
        Ok(Self {
            classifier,
            tracks: Vec::new(),
            frames_since_scan: u32::MAX,
            small: Mat::default(),
            grey: Mat::default(),
        })
    }

    /// Forgets tracked faces, e.g. after a resolution change; the next frame is a full scan.
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.frames_since_scan = u32::MAX;
    }

    /// Detects faces in one frame; rectangles are in full-resolution pixels.
    /// `full_scan_interval` 1 scans every frame as Kurento does.
    pub fn detect(
        &mut self,
        plane: &PlaneView<'_>,
        full_scan_interval: u32,
    ) -> opencv::Result<Vec<Face>> {
        let (working_width, working_height, factor) = working_size(plane.width, plane.height);
        if working_width < MIN_WORKING_SIDE || working_height < MIN_WORKING_SIDE {
            self.tracks.clear();
            return Ok(Vec::new());
        }
        let Some((cv_type, to_grey)) = plane.cv_layout() else {
            return Ok(Vec::new());
        };
        // SAFETY: the Mat header borrows the mapped plane for this call only and is only read.
        let full = unsafe {
            Mat::new_rows_cols_with_data_unsafe(
                plane.height as i32,
                plane.width as i32,
                cv_type,
                plane.data.as_ptr() as *mut c_void,
                plane.stride,
            )?
        };
        let working = Size::new(working_width, working_height);
        match to_grey {
            None => imgproc::resize(
                &full,
                &mut self.grey,
                working,
                0.0,
                0.0,
                imgproc::INTER_LINEAR,
            )?,
            Some(code) => {
                imgproc::resize(
                    &full,
                    &mut self.small,
                    working,
                    0.0,
                    0.0,
                    imgproc::INTER_LINEAR,
                )?;
                imgproc::cvt_color_def(&self.small, &mut self.grey, code)?;
            }
        }
        drop(full);

        let interval = full_scan_interval.max(1);
        self.frames_since_scan = self.frames_since_scan.saturating_add(1);
        if self.frames_since_scan >= interval {
            self.frames_since_scan = 0;
            self.full_scan(working)?;
        } else {
            self.follow_tracks(working)?;
        }

        Ok(self
            .tracks
            .iter()
            .map(|t| Face {
                x: (t.rect.x as f64 * factor) as u32,
                y: (t.rect.y as f64 * factor) as u32,
                width: (t.rect.width as f64 * factor) as u32,
                height: (t.rect.height as f64 * factor) as u32,
            })
            .collect())
    }

    fn full_scan(&mut self, working: Size) -> opencv::Result<()> {
        let mut found = Vector::<Rect>::new();
        self.classifier.detect_multi_scale(
            &self.grey,
            &mut found,
            FULL_SCAN_SCALE,
            MIN_NEIGHBOURS,
            0,
            Size::new(working.width / 20, working.height / 20),
            Size::new(working.width / 2, working.height / 2),
        )?;
        let mut tracks: Vec<Track> = found.iter().map(|rect| Track { rect, misses: 0 }).collect();
        // A known face the scan missed (a blink, a turn, a partial cover) coasts for a few
        // frames instead of vanishing at once.
        for old in &self.tracks {
            let seen_again = found.iter().any(|r| overlap_ratio(&r, &old.rect) > 0.3);
            if !seen_again && old.misses < MAX_TRACK_MISSES {
                tracks.push(Track {
                    misses: old.misses + 1,
                    ..*old
                });
            }
        }
        self.tracks = tracks;
        Ok(())
    }

    fn follow_tracks(&mut self, working: Size) -> opencv::Result<()> {
        let bounds = Rect::new(0, 0, working.width, working.height);
        let mut kept = Vec::with_capacity(self.tracks.len());
        for track in std::mem::take(&mut self.tracks) {
            let r = track.rect;
            let margin_x = (r.width as f64 * TRACK_MARGIN) as i32;
            let margin_y = (r.height as f64 * TRACK_MARGIN) as i32;
            let window = rect_intersection(
                Rect::new(
                    r.x - margin_x,
                    r.y - margin_y,
                    r.width + 2 * margin_x,
                    r.height + 2 * margin_y,
                ),
                bounds,
            );
            let side = r.width.min(r.height);
            let min_side = ((side as f64 * TRACK_MIN_SIZE) as i32).max(MIN_WORKING_SIDE);
            let max_side =
                ((side as f64 * TRACK_MAX_SIZE) as i32).min(window.width.min(window.height));
            let mut best = None;
            if max_side >= min_side {
                let roi = Mat::roi(&self.grey, window)?;
                let mut found = Vector::<Rect>::new();
                self.classifier.detect_multi_scale(
                    &roi,
                    &mut found,
                    TRACK_SCALE,
                    MIN_NEIGHBOURS,
                    0,
                    Size::new(min_side, min_side),
                    Size::new(max_side, max_side),
                )?;
                let centre = |q: &Rect| (q.x * 2 + q.width, q.y * 2 + q.height);
                let (cx, cy) = centre(&r);
                best = found
                    .iter()
                    .map(|q| Rect::new(q.x + window.x, q.y + window.y, q.width, q.height))
                    .min_by_key(|q| {
                        let (qx, qy) = centre(q);
                        (qx - cx).pow(2) + (qy - cy).pow(2)
                    });
            }
            match best {
                Some(rect) => kept.push(Track { rect, misses: 0 }),
                None if track.misses < MAX_TRACK_MISSES => kept.push(Track {
                    misses: track.misses + 1,
                    ..track
                }),
                None => {}
            }
        }
        self.tracks = kept;
        Ok(())
    }
}

/// Intersection over union of two rectangles.
fn overlap_ratio(a: &Rect, b: &Rect) -> f64 {
    let i = rect_intersection(*a, *b);
    let inter = (i.width * i.height) as f64;
    let union = (a.width * a.height + b.width * b.height) as f64 - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

fn rect_intersection(a: Rect, b: Rect) -> Rect {
    let x0 = a.x.max(b.x);
    let y0 = a.y.max(b.y);
    let x1 = (a.x + a.width).min(b.x + b.width);
    let y1 = (a.y + a.height).min(b.y + b.height);
    Rect::new(x0, y0, (x1 - x0).max(0), (y1 - y0).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_size_follows_kurento() {
        assert_eq!(working_size(640, 480), (320, 240, 2.0));
        assert_eq!(working_size(1280, 720), (320, 180, 4.0));
        assert_eq!(working_size(200, 100), (200, 100, 1.0));
        assert_eq!(working_size(321, 241).1, 240);
    }

    #[test]
    fn missing_cascade_is_an_error_not_a_panic() {
        let err = Detector::load("/nonexistent/cascade.xml").err().unwrap();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn intersection_clips() {
        let r = rect_intersection(Rect::new(-5, -5, 20, 20), Rect::new(0, 0, 10, 10));
        assert_eq!(r, Rect::new(0, 0, 10, 10));
        let none = rect_intersection(Rect::new(20, 20, 5, 5), Rect::new(0, 0, 10, 10));
        assert_eq!((none.width, none.height), (0, 0));
    }
}
