// SPDX-License-Identifier: MPL-2.0
//! Helpers for the plugins' element tests (feature `testing`, for dev-dependencies): a
//! `gst_check::Harness` whose element has a bus of its own (so its warnings and messages can
//! be read), frames painted pixel by pixel in any packed RGB format, and the output read back.

use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoFormat;
use gst_video::prelude::*;

use crate::PackedLayout;

/// A harness on `factory` whose element posts to a bus of its own.
pub fn harness_with_bus(factory: &str) -> Harness {
    let h = Harness::new(factory);
    h.element().unwrap().set_bus(Some(&gst::Bus::new()));
    h
}

/// A video filter in a harness, fed frames of one packed RGB format.
pub struct VideoHarness {
    pub h: Harness,
    pub info: gst_video::VideoInfo,
    /// The element's own bus.
    pub bus: gst::Bus,
}

impl VideoHarness {
    /// The element `factory` (its plugin registered) with `format` frames of `w`x`h` at 30 fps.
    pub fn new(factory: &str, format: VideoFormat, w: u32, h: u32) -> Self {
        let harness = harness_with_bus(factory);
        let bus = harness.element().unwrap().bus().unwrap();
        let mut v = VideoHarness {
            h: harness,
            info: gst_video::VideoInfo::builder(format, w, h).build().unwrap(),
            bus,
        };
        v.set_format(format, w, h);
        v
    }

    /// New caps from now on.
    pub fn set_format(&mut self, format: VideoFormat, w: u32, h: u32) {
        self.info = gst_video::VideoInfo::builder(format, w, h)
            .fps(gst::Fraction::new(30, 1))
            .build()
            .unwrap();
        self.h.set_src_caps(self.info.to_caps().unwrap());
    }

    pub fn element(&self) -> gst::Element {
        self.h.element().unwrap()
    }

    pub fn layout(&self) -> PackedLayout {
        PackedLayout::of(self.info.format()).expect("a packed RGB format")
    }

    /// A frame painted by `paint(x, y) -> [b, g, r]` (alpha or padding bytes 77).
    pub fn frame(&self, paint: impl Fn(usize, usize) -> [u8; 3]) -> gst::Buffer {
        let mut buffer = gst::Buffer::with_size(self.info.size()).unwrap();
        {
            let buf = buffer.get_mut().unwrap();
            let mut f =
                gst_video::VideoFrameRef::from_buffer_ref_writable(buf, &self.info).unwrap();
            let stride = f.plane_stride()[0] as usize;
            let l = self.layout();
            let plane = f.plane_data_mut(0).unwrap();
            for y in 0..self.info.height() as usize {
                for x in 0..self.info.width() as usize {
                    let i = y * stride + x * l.bytes_per_pixel;
                    plane[i..i + l.bytes_per_pixel].fill(77);
                    let [b, g, r] = paint(x, y);
                    plane[i + l.blue] = b;
                    plane[i + l.green] = g;
                    plane[i + l.red] = r;
                }
            }
        }
        buffer
    }

    /// Pushes a frame painted by `paint` and returns the output's pixels as
    /// `[b, g, r, 4th byte]` rows (0 for 3-byte formats).
    pub fn push_frame(&mut self, paint: impl Fn(usize, usize) -> [u8; 3]) -> Vec<Vec<[u8; 4]>> {
        let out = self.h.push_and_pull(self.frame(paint)).unwrap();
        let f =
            gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &self.info).unwrap();
        let stride = f.plane_stride()[0] as usize;
        let l = self.layout();
        let plane = f.plane_data(0).unwrap();
        (0..self.info.height() as usize)
            .map(|y| {
                (0..self.info.width() as usize)
                    .map(|x| {
                        let [b, g, r] = l.bgr_at(plane, stride, x, y);
                        let i = y * stride + x * l.bytes_per_pixel;
                        let other = match l.bytes_per_pixel {
                            4 => plane[i + 6 - l.blue - l.green - l.red],
                            _ => 0,
                        };
                        [b, g, r, other]
                    })
                    .collect()
            })
            .collect()
    }

    /// Sets the `calibration-area` property (chroma, pointerdetector).
    pub fn set_calibration_area(&self, x: i32, y: i32, w: i32, h: i32) {
        self.element().set_property(
            "calibration-area",
            gst::Structure::builder("calibration_area")
                .field("x", x)
                .field("y", y)
                .field("width", w)
                .field("height", h)
                .build(),
        );
    }

    /// The warnings posted so far (`error | debug`), taken off the bus.
    pub fn warnings(&self) -> Vec<String> {
        std::iter::from_fn(|| self.bus.pop_filtered(&[gst::MessageType::Warning]))
            .map(|m| match m.view() {
                gst::MessageView::Warning(w) => {
                    format!("{} | {}", w.error(), w.debug().unwrap_or_default())
                }
                _ => unreachable!(),
            })
            .collect()
    }
}
