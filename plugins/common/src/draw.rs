// SPDX-License-Identifier: MPL-2.0
//! The few marks Kurento's colour elements draw into frames (calibration boxes, window
//! outlines, the pointer), clipped to the frame, on any [`PackedLayout`].

use crate::pixels::PackedLayout;

/// A packed frame plane being drawn on.
pub struct Canvas<'a> {
    pub plane: &'a mut [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
    pub layout: PackedLayout,
}

impl Canvas<'_> {
    #[inline]
    fn put(&mut self, x: i64, y: i64, bgr: [u8; 3]) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let i = y as usize * self.stride + x as usize * self.layout.bytes_per_pixel;
        self.plane[i + self.layout.blue] = bgr[0];
        self.plane[i + self.layout.green] = bgr[1];
        self.plane[i + self.layout.red] = bgr[2];
    }

    fn hline(&mut self, x0: i64, x1: i64, y: i64, bgr: [u8; 3]) {
        if y < 0 || y >= self.height as i64 {
            return;
        }
        for x in x0.max(0)..=x1.min(self.width as i64 - 1) {
            self.put(x, y, bgr);
        }
    }

    fn vline(&mut self, x: i64, y0: i64, y1: i64, bgr: [u8; 3]) {
        if x < 0 || x >= self.width as i64 {
            return;
        }
        for y in y0.max(0)..=y1.min(self.height as i64 - 1) {
            self.put(x, y, bgr);
        }
    }

    /// A 1-pixel outline through the corners `(x0, y0)` and `(x1, y1)`, both included
    /// (OpenCV's `rectangle` with thickness 1).
    pub fn rectangle(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, bgr: [u8; 3]) {
        let (x0, x1) = (x0.min(x1), x0.max(x1));
        let (y0, y1) = (y0.min(y1), y0.max(y1));
        self.hline(x0, x1, y0, bgr);
        self.hline(x0, x1, y1, bgr);
        self.vline(x0, y0, y1, bgr);
        self.vline(x1, y0, y1, bgr);
    }

    /// A filled disc of the pixels within `radius` of the centre.
    pub fn filled_circle(&mut self, cx: i64, cy: i64, radius: i64, bgr: [u8; 3]) {
        for dy in -radius..=radius {
            // Widest |dx| with dx² + dy² ≤ r², in integers.
            let half = ((radius * radius - dy * dy) as f64).sqrt() as i64;
            self.hline(cx - half, cx + half, cy + dy, bgr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_clipped_and_placed() {
        let (w, h) = (8, 6);
        let mut plane = vec![0u8; w * 3 * h];
        let mut c = Canvas {
            plane: &mut plane,
            stride: w * 3,
            width: w,
            height: h,
            layout: PackedLayout::BGR,
        };
        c.rectangle(1, 1, 3, 4, [255, 0, 0]);
        c.rectangle(-5, -5, 20, 20, [1, 2, 3]);
        c.filled_circle(7, 5, 2, [0, 0, 255]);
        let px = |x: usize, y: usize| PackedLayout::BGR.bgr_at(&plane, w * 3, x, y);
        assert_eq!(px(1, 1), [255, 0, 0]);
        assert_eq!(px(3, 4), [255, 0, 0]);
        assert_eq!(px(2, 2), [0, 0, 0], "outline only");
        assert_eq!(px(0, 0), [0, 0, 0], "the big rectangle is outside");
        assert_eq!(px(7, 5), [0, 0, 255]);
        assert_eq!(px(5, 5), [0, 0, 255]);
        assert_eq!(px(5, 3), [0, 0, 0], "corner of the disc's box is outside");
    }
}
