// SPDX-License-Identifier: MPL-2.0
//! Packed RGB frame layouts and Kurento's overlay compositing rule.

use gst_video::VideoFormat;

use crate::image::BgraImage;

/// Where the colour bytes of one pixel sit in a packed RGB frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedLayout {
    pub bytes_per_pixel: usize,
    pub blue: usize,
    pub green: usize,
    pub red: usize,
    /// Offset of a real alpha byte (BGRA/RGBA/ARGB/ABGR); padding bytes (BGRx) are `None`.
    pub alpha: Option<usize>,
}

impl PackedLayout {
    pub const BGR: Self = Self::new(3, 0, 1, 2, None);

    const fn new(bytes_per_pixel: usize, b: usize, g: usize, r: usize, a: Option<usize>) -> Self {
        Self {
            bytes_per_pixel,
            blue: b,
            green: g,
            red: r,
            alpha: a,
        }
    }

    /// The layout of a packed 8-bit RGB format, or `None` for planar/YUV formats.
    pub fn of(format: VideoFormat) -> Option<Self> {
        Some(match format {
            VideoFormat::Bgr => Self::new(3, 0, 1, 2, None),
            VideoFormat::Rgb => Self::new(3, 2, 1, 0, None),
            VideoFormat::Bgrx => Self::new(4, 0, 1, 2, None),
            VideoFormat::Bgra => Self::new(4, 0, 1, 2, Some(3)),
            VideoFormat::Rgbx => Self::new(4, 2, 1, 0, None),
            VideoFormat::Rgba => Self::new(4, 2, 1, 0, Some(3)),
            VideoFormat::Xrgb => Self::new(4, 3, 2, 1, None),
            VideoFormat::Argb => Self::new(4, 3, 2, 1, Some(0)),
            VideoFormat::Xbgr => Self::new(4, 1, 2, 3, None),
            VideoFormat::Abgr => Self::new(4, 1, 2, 3, Some(0)),
            _ => return None,
        })
    }

    /// The formats every overlay-style element accepts.
    pub const OVERLAY_FORMATS: [VideoFormat; 7] = [
        VideoFormat::Bgr,
        VideoFormat::Rgb,
        VideoFormat::Bgrx,
        VideoFormat::Bgra,
        VideoFormat::Rgbx,
        VideoFormat::Rgba,
        VideoFormat::Xrgb,
    ];

    /// Reads the pixel at `(x, y)` as `[b, g, r]`.
    pub fn bgr_at(&self, plane: &[u8], stride: usize, x: usize, y: usize) -> [u8; 3] {
        let i = y * stride + x * self.bytes_per_pixel;
        [
            plane[i + self.blue],
            plane[i + self.green],
            plane[i + self.red],
        ]
    }
}

/// Draws `image` into a packed frame with its top-left corner at `(x0, y0)` (may be negative
/// or past the edge: pixels outside the frame are skipped).
///
/// Kurento's rule (elements.md §1.5): opaque pixels are copied; translucent ones are blended
/// `out = src·a + dst·(1−a)` with `a = alpha/255 · opacity`, truncated to 8 bits. The frame's
/// own alpha byte, if it has one, is left as it was.
#[allow(clippy::too_many_arguments)]
pub fn composite(
    plane: &mut [u8],
    stride: usize,
    frame_width: usize,
    frame_height: usize,
    layout: PackedLayout,
    image: &BgraImage,
    x0: i64,
    y0: i64,
    opacity: f64,
) {
    let opacity = opacity.clamp(0.0, 1.0);
    // Clip once instead of per pixel.
    let col_start = (-x0).max(0) as usize;
    let row_start = (-y0).max(0) as usize;
    let col_end = (frame_width as i64 - x0).clamp(0, image.width as i64) as usize;
    let row_end = (frame_height as i64 - y0).clamp(0, image.height as i64) as usize;
    if col_start >= col_end || row_start >= row_end {
        return;
    }
    // Opacity in 1/256 steps, so alpha 255 at full opacity stays exactly 255 (a plain copy).
    let opacity_256 = (opacity * 256.0).round() as u32;
    let bpp = layout.bytes_per_pixel;
    for row in row_start..row_end {
        let fy = (y0 + row as i64) as usize;
        let src_row = &image.data[row * image.width * 4..(row + 1) * image.width * 4];
        let dst_row = &mut plane[fy * stride..];
        for col in col_start..col_end {
            let fx = (x0 + col as i64) as usize;
            let s = &src_row[col * 4..col * 4 + 4];
            let d = &mut dst_row[fx * bpp..fx * bpp + bpp];
            let alpha = (s[3] as u32 * opacity_256) >> 8;
            if alpha >= 255 {
                d[layout.blue] = s[0];
                d[layout.green] = s[1];
                d[layout.red] = s[2];
            } else if alpha > 0 {
                let keep = 255 - alpha;
                for (channel, value) in [
                    (layout.blue, s[0]),
                    (layout.green, s[1]),
                    (layout.red, s[2]),
                ] {
                    d[channel] = ((value as u32 * alpha + d[channel] as u32 * keep) / 255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_of_common_formats() {
        let rgbx = PackedLayout::of(VideoFormat::Rgbx).unwrap();
        assert_eq!((rgbx.red, rgbx.blue, rgbx.alpha), (0, 2, None));
        assert_eq!(PackedLayout::of(VideoFormat::Bgra).unwrap().alpha, Some(3));
        assert!(PackedLayout::of(VideoFormat::I420).is_none());
    }

    #[test]
    fn opaque_pixels_are_copied_and_clipped() {
        let (w, h) = (4, 3);
        let mut frame = vec![0u8; w * h * 3];
        let image = BgraImage::filled(3, 3, [10, 20, 30, 255]);
        composite(
            &mut frame,
            w * 3,
            w,
            h,
            PackedLayout::BGR,
            &image,
            2,
            -1,
            1.0,
        );
        let layout = PackedLayout::BGR;
        assert_eq!(layout.bgr_at(&frame, w * 3, 2, 0), [10, 20, 30]);
        assert_eq!(layout.bgr_at(&frame, w * 3, 3, 1), [10, 20, 30]);
        assert_eq!(layout.bgr_at(&frame, w * 3, 1, 0), [0, 0, 0]);
        assert_eq!(layout.bgr_at(&frame, w * 3, 2, 2), [0, 0, 0]);
    }

    #[test]
    fn translucent_pixels_blend_and_rgb_order_is_respected() {
        let layout = PackedLayout::of(VideoFormat::Rgbx).unwrap();
        let mut frame = vec![200u8; 4];
        let half = BgraImage::filled(1, 1, [0, 0, 100, 128]);
        composite(&mut frame, 4, 1, 1, layout, &half, 0, 0, 1.0);
        // red = 100·128/255 + 200·127/255 ≈ 149.8; blue = 200·127/255 ≈ 99.6
        assert!((149..=150).contains(&frame[0]), "{frame:?}");
        assert!((99..=100).contains(&frame[2]), "{frame:?}");
        assert_eq!(frame[3], 200, "padding byte untouched");

        let mut frame = vec![50u8; 3];
        composite(&mut frame, 3, 1, 1, PackedLayout::BGR, &half, 0, 0, 0.0);
        assert_eq!(frame, vec![50, 50, 50], "zero opacity leaves the frame");
    }

    #[test]
    fn fully_outside_is_a_no_op() {
        let mut frame = vec![7u8; 12];
        let image = BgraImage::filled(2, 2, [1, 1, 1, 255]);
        for (x, y) in [(-2, 0), (2, 0), (0, 2), (0, -2), (i64::MIN / 2, 0)] {
            composite(&mut frame, 6, 2, 2, PackedLayout::BGR, &image, x, y, 1.0);
        }
        assert_eq!(frame, vec![7u8; 12]);
    }
}
