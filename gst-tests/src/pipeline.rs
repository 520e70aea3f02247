// SPDX-License-Identifier: MPL-2.0
//! Running test pipelines to the end.

use gst::prelude::*;
use std::time::Duration;

/// A `filesrc ! … ! videoconvert` launch fragment that decodes one of the bundled VP8 clips.
pub fn decode_webm(name: &str) -> String {
    format!(
        "filesrc location=\"{}\" ! matroskademux ! vp8dec ! videoconvert",
        crate::media(name).display()
    )
}

/// Plays `pipeline` until EOS and returns the WARNING messages seen on the way (as text).
/// An ERROR or a timeout is an `Err` with the message.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout: Duration) -> Result<Vec<String>, String> {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("cannot play: {e}"))?;
    let mut warnings = Vec::new();
    let deadline = std::time::Instant::now() + timeout;
    let result = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64)) else {
            break Err(format!("no EOS within {timeout:?}"));
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break Ok(warnings),
            gst::MessageView::Error(e) => {
                break Err(format!("{}: {:?}", e.error(), e.debug()));
            }
            gst::MessageView::Warning(w) => {
                warnings.push(format!("{} ({:?})", w.error(), w.debug()));
            }
            _ => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}
