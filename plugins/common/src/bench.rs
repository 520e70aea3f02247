// SPDX-License-Identifier: MPL-2.0
//! Helpers for the elements' benchmarks: decoded test clips and process CPU time.

use std::path::Path;
use std::time::Duration;

use gst::prelude::*;

/// Packed BGR frames of a clip (rows without padding).
pub struct Clip {
    pub width: usize,
    pub height: usize,
    pub frames: Vec<Vec<u8>>,
}

/// Decodes up to `max_frames` frames of a VP8/WebM clip to packed BGR
/// (`filesrc ! matroskademux ! vp8dec ! videoconvert`).
pub fn decode_webm_bgr(path: &Path, max_frames: usize) -> Result<Clip, String> {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! matroskademux ! vp8dec ! videoconvert ! \
         video/x-raw,format=BGR ! appsink name=sink sync=false",
        path.display()
    ))
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline".to_string())?;
    let sink = pipeline.by_name("sink").ok_or("no appsink")?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let mut clip = Clip {
        width: 0,
        height: 0,
        frames: Vec::new(),
    };
    while clip.frames.len() < max_frames {
        let Some(sample) = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[]) else {
            break;
        };
        let caps = sample.caps().ok_or("sample without caps")?;
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
        let buffer = sample.buffer().ok_or("sample without buffer")?;
        let map = buffer.map_readable().map_err(|e| e.to_string())?;
        let (w, h, stride) = (
            info.width() as usize,
            info.height() as usize,
            info.stride()[0] as usize,
        );
        let mut frame = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            frame.extend_from_slice(&map[y * stride..y * stride + w * 3]);
        }
        (clip.width, clip.height) = (w, h);
        clip.frames.push(frame);
    }
    let _ = pipeline.set_state(gst::State::Null);
    if clip.frames.is_empty() {
        return Err(format!("no frames decoded from {}", path.display()));
    }
    Ok(clip)
}

/// CPU time used so far by all threads of this process.
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Sums the CPU time of the `work` part of repeated `(prepare, work)` steps, so that making
/// fresh input frames is not counted.
#[derive(Default)]
pub struct CpuMeter {
    total: Duration,
    count: u32,
}

impl CpuMeter {
    pub fn measure<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let start = process_cpu_time();
        let out = work();
        self.total += process_cpu_time().saturating_sub(start);
        self.count += 1;
        out
    }

    /// Milliseconds of CPU per measured step.
    pub fn ms_per_step(&self) -> f64 {
        self.total.as_secs_f64() * 1e3 / self.count.max(1) as f64
    }
}
