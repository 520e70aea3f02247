// SPDX-License-Identifier: MPL-2.0
//! Running a pipeline while noting, for every message of one element, the frame that element
//! was processing when it posted it; and decoding a bundled clip into memory for benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

/// What an indexed run produced.
#[derive(Debug, Default)]
pub struct IndexedRun {
    /// Element messages of the watched element with the 0-based index of the frame it was
    /// processing (frames are counted on its sink pad).
    pub messages: Vec<(u64, gst::Structure)>,
    /// Frames that reached the element.
    pub frames: u64,
    /// Warnings and errors of the whole pipeline, and state-change failures.
    pub errors: Vec<String>,
}

impl IndexedRun {
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a (u64, gst::Structure)> {
        self.messages.iter().filter(move |(_, s)| s.name() == name)
    }
}

/// Builds `description`, lets `setup` configure the element named `element`, plays to EOS
/// (at most two minutes) and collects the element's messages with frame indices.
pub fn run_indexed(
    description: &str,
    element: &str,
    setup: impl FnOnce(&gst::Element),
) -> IndexedRun {
    let pipeline = gst::parse::launch(description)
        .expect("valid launch line")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let watched = pipeline
        .by_name(element)
        .expect("the element is in the pipeline");
    setup(&watched);
    let frame = Arc::new(AtomicU64::new(0));
    let f = frame.clone();
    watched.static_pad("sink").expect("a sink pad").add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            f.fetch_add(1, Ordering::SeqCst);
            gst::PadProbeReturn::Ok
        },
    );
    let messages = Arc::new(Mutex::new(Vec::new()));
    let m = messages.clone();
    let fr = frame.clone();
    let source = watched.clone().upcast::<gst::Object>();
    let bus = pipeline.bus().expect("pipelines have a bus");
    bus.set_sync_handler(move |_, msg| {
        if let gst::MessageView::Element(e) = msg.view()
            && let Some(s) = e.structure()
            && msg.src() == Some(&source)
        {
            let index = fr.load(Ordering::SeqCst).saturating_sub(1);
            m.lock().unwrap().push((index, s.to_owned()));
        }
        gst::BusSyncReply::Pass
    });
    let mut errors = Vec::new();
    if pipeline.set_state(gst::State::Playing).is_ok() {
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(120)) {
            match msg.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => {
                    errors.push(format!("{} ({:?})", e.error(), e.debug()));
                    break;
                }
                gst::MessageView::Warning(w) => {
                    errors.push(format!("{} ({:?})", w.error(), w.debug()))
                }
                _ => {}
            }
        }
    } else {
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                errors.push(format!("{} ({:?})", e.error(), e.debug()));
            }
        }
        if errors.is_empty() {
            errors.push("the pipeline did not start".into());
        }
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
    bus.unset_sync_handler();
    let messages = std::mem::take(&mut *messages.lock().unwrap());
    IndexedRun {
        messages,
        frames: frame.load(Ordering::SeqCst),
        errors,
    }
}

/// Decodes a bundled WebM clip into packed BGR buffers, for benchmarks that must not time the
/// decoder.
pub fn decode_bgr(name: &str) -> Vec<gst::Buffer> {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! matroskademux ! vp8dec ! videoconvert ! video/x-raw,format=BGR ! appsink name=s sync=false",
        crate::media(name).display()
    ))
    .expect("valid launch line")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let sink = pipeline
        .by_name("s")
        .expect("appsink")
        .downcast::<gst_app::AppSink>()
        .expect("an appsink");
    pipeline
        .set_state(gst::State::Playing)
        .expect("pipeline starts");
    let mut frames = Vec::new();
    while let Ok(s) = sink.pull_sample() {
        frames.push(s.buffer_owned().expect("samples carry buffers"));
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
    frames
}
