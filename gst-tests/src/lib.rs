// SPDX-License-Identifier: MPL-2.0
//! Helpers for the integration tests: the bundled media, its ground truth, and running a
//! pipeline to the end while collecting what it reports.

use std::collections::HashMap;
use std::path::PathBuf;

use gst::prelude::*;

/// A file of `gst-tests/media`.
pub fn media(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("media")
        .join(name)
}

/// An axis-aligned box in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxXywh {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl BoxXywh {
    pub fn iou(&self, other: &BoxXywh) -> f64 {
        let ix = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let iy = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        if ix <= 0.0 || iy <= 0.0 {
            return 0.0;
        }
        let inter = ix * iy;
        inter / (self.w * self.h + other.w * other.h - inter)
    }
}

/// Reads a faces truth CSV (`frame,face,x,y,w,h`): frame → (label, box).
pub fn faces_truth(name: &str) -> HashMap<u64, Vec<(String, BoxXywh)>> {
    let text = std::fs::read_to_string(media(name)).expect("truth CSV is bundled");
    let mut truth: HashMap<u64, Vec<(String, BoxXywh)>> = HashMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let num = |i: usize| cols[i].trim().parse::<f64>().expect("numeric column");
        truth.entry(num(0) as u64).or_default().push((
            cols[1].to_owned(),
            BoxXywh {
                x: num(2),
                y: num(3),
                w: num(4),
                h: num(5),
            },
        ));
    }
    truth
}

/// Frame number of a timestamp at a given frame rate.
pub fn frame_index(pts: gst::ClockTime, fps: u64) -> u64 {
    (pts.nseconds() * fps + 500_000_000) / 1_000_000_000
}

/// What a pipeline run produced: element messages by structure name, warnings and errors.
#[derive(Debug, Default)]
pub struct Run {
    pub element_messages: Vec<gst::Structure>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

impl Run {
    pub fn messages_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a gst::Structure> + 'a {
        self.element_messages
            .iter()
            .filter(move |s| s.name() == name)
    }
}

/// Plays `pipeline` until EOS or error (at most `timeout`) and collects its bus traffic.
pub fn run_to_end(pipeline: &gst::Pipeline, timeout: gst::ClockTime) -> Run {
    let bus = pipeline.bus().expect("pipelines have a bus");
    pipeline
        .set_state(gst::State::Playing)
        .expect("pipeline starts");
    let mut run = Run::default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_nanos(timeout.nseconds());
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64)) else {
            run.errors.push("timed out".into());
            break;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                run.errors.push(format!("{} ({:?})", e.error(), e.debug()));
                break;
            }
            gst::MessageView::Warning(w) => {
                run.warnings
                    .push(format!("{} ({:?})", w.error(), w.debug()))
            }
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure() {
                    run.element_messages.push(s.to_owned());
                }
            }
            _ => {}
        }
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
    run
}

/// Writes a solid-colour PNG (RGB) with GStreamer itself, so tests need no image library.
pub fn solid_png(path: &std::path::Path, pattern: &str, width: u32, height: u32) {
    gst::init().expect("GStreamer initialises");
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc pattern={pattern} num-buffers=1 ! video/x-raw,format=RGB,width={width},height={height} ! pngenc ! filesink location=\"{}\"",
        path.display()
    ))
    .expect("valid launch line")
    .downcast::<gst::Pipeline>()
    .unwrap();
    let run = run_to_end(&pipeline, gst::ClockTime::from_seconds(10));
    assert!(run.errors.is_empty(), "{:?}", run.errors);
}
