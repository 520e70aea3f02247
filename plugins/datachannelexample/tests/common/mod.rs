// SPDX-License-Identifier: MPL-2.0
//! A test bench for both elements: appsrc ▸ element ▸ appsink for video, appsrc/appsink on
//! the data pads the element has; sinks never wait for a preroll (the streams are independent).
#![allow(dead_code)]

use std::sync::Once;

use gst::prelude::*;

static INIT: Once = Once::new();

pub fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstdatachannelexample::plugin_register_static().unwrap();
    });
}

pub struct Bench {
    pub pipeline: gst::Pipeline,
    video_in: gst_app::AppSrc,
    video_out: gst_app::AppSink,
    pub data_in: Option<gst_app::AppSrc>,
    pub data_out: Option<gst_app::AppSink>,
    pts: u64,
}

impl Bench {
    /// `factory` fed with `format` frames of `width`x`height`, playing.
    pub fn new(
        factory: &str,
        format: gst_video::VideoFormat,
        width: usize,
        height: usize,
    ) -> Bench {
        init();
        let pipeline = gst::Pipeline::new();
        let element = gst::ElementFactory::make(factory).build().unwrap();
        let caps = gst_video::VideoCapsBuilder::new()
            .format(format)
            .width(width as i32)
            .height(height as i32)
            .framerate(gst::Fraction::new(30, 1))
            .build();
        let video_in = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .build();
        let video_out = gst_app::AppSink::builder().caps(&caps).sync(false).build();
        video_out.set_property("async", false);
        pipeline
            .add_many([video_in.upcast_ref(), &element, video_out.upcast_ref()])
            .unwrap();
        video_in.link(&element).unwrap();
        element.link_pads(Some("src"), &video_out, None).unwrap();
        let data_caps = gst::Caps::new_empty_simple("application/data");
        let data_in = element.static_pad("data_sink").map(|pad| {
            let src = gst_app::AppSrc::builder()
                .caps(&data_caps)
                .format(gst::Format::Time)
                .build();
            pipeline.add(&src).unwrap();
            src.static_pad("src").unwrap().link(&pad).unwrap();
            src
        });
        let data_out = element.static_pad("data_src").map(|pad| {
            let sink = gst_app::AppSink::builder()
                .caps(&data_caps)
                .sync(false)
                .build();
            sink.set_property("async", false);
            pipeline.add(&sink).unwrap();
            pad.link(&sink.static_pad("sink").unwrap()).unwrap();
            sink
        });
        pipeline.set_state(gst::State::Playing).unwrap();
        Bench {
            pipeline,
            video_in,
            video_out,
            data_in,
            data_out,
            pts: 0,
        }
    }

    /// Pushes one frame and returns the frame that comes out.
    pub fn push(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut b = gst::Buffer::from_slice(frame.to_vec());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_nseconds(self.pts));
        self.pts += 33_333_333;
        self.video_in.push_buffer(b).unwrap();
        let s = self
            .video_out
            .try_pull_sample(gst::ClockTime::from_seconds(5))
            .expect("a frame comes out");
        s.buffer().unwrap().map_readable().unwrap().to_vec()
    }

    /// The next buffer of the data output within `timeout_ms`.
    pub fn data(&self, timeout_ms: u64) -> Option<gst::Buffer> {
        let sink = self.data_out.as_ref().expect("a data output");
        let s = sink.try_pull_sample(gst::ClockTime::from_mseconds(timeout_ms))?;
        s.buffer_owned()
    }

    /// Messages posted so far (taken off the bus).
    pub fn messages(&self) -> Vec<gst::Message> {
        let bus = self.pipeline.bus().unwrap();
        std::iter::from_fn(|| bus.pop()).collect()
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The WARNING and ERROR messages among `msgs`.
pub fn warnings_and_errors(msgs: &[gst::Message]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(format!("warning: {}", w.error())),
            gst::MessageView::Error(e) => Some(format!("error: {}", e.error())),
            _ => None,
        })
        .collect()
}
