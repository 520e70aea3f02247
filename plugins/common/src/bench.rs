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

/// Decodes up to `max_frames` frames of a VP8/WebM clip, converted and scaled to `caps` (e.g.
/// `video/x-raw,format=I420,width=1280,height=720`): the caps of the frames and the frames,
/// timestamps kept (`filesrc ! matroskademux ! vp8dec ! videoscale ! videoconvert`).
pub fn decode_webm(
    path: &Path,
    caps: &str,
    max_frames: usize,
) -> Result<(gst::Caps, Vec<gst::Buffer>), String> {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! matroskademux ! vp8dec ! videoscale ! videoconvert ! \
         {caps} ! appsink name=sink sync=false",
        path.display()
    ))
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline".to_string())?;
    let sink = pipeline.by_name("sink").ok_or("no appsink")?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let mut caps = None;
    let mut frames = Vec::new();
    while frames.len() < max_frames {
        let Some(sample) = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[]) else {
            break;
        };
        if caps.is_none() {
            caps = Some(sample.caps().ok_or("sample without caps")?.to_owned());
        }
        frames.push(sample.buffer_owned().ok_or("sample without buffer")?);
    }
    let _ = pipeline.set_state(gst::State::Null);
    match caps {
        Some(caps) if !frames.is_empty() => Ok((caps, frames)),
        _ => Err(format!("no frames decoded from {}", path.display())),
    }
}

/// Decodes up to `max_frames` frames of a VP8/WebM clip to packed BGR at its own size.
pub fn decode_webm_bgr(path: &Path, max_frames: usize) -> Result<Clip, String> {
    let (caps, buffers) = decode_webm(path, "video/x-raw,format=BGR", max_frames)?;
    let info = gst_video::VideoInfo::from_caps(&caps).map_err(|e| e.to_string())?;
    let (w, h, stride) = (
        info.width() as usize,
        info.height() as usize,
        info.stride()[0] as usize,
    );
    let mut clip = Clip {
        width: w,
        height: h,
        frames: Vec::with_capacity(buffers.len()),
    };
    for buffer in buffers {
        let map = buffer.map_readable().map_err(|e| e.to_string())?;
        let mut frame = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            frame.extend_from_slice(&map[y * stride..y * stride + w * 3]);
        }
        clip.frames.push(frame);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn clip() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gst-tests/media/pointer_640x480.webm")
    }

    #[test]
    fn decodes_clips_as_asked() {
        gst::init().unwrap();
        let bgr = decode_webm_bgr(&clip(), 3).unwrap();
        assert_eq!((bgr.width, bgr.height, bgr.frames.len()), (640, 480, 3));
        assert!(bgr.frames.iter().all(|f| f.len() == 640 * 480 * 3));
        let (caps, frames) =
            decode_webm(&clip(), "video/x-raw,format=I420,width=320,height=240", 2).unwrap();
        let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
        assert_eq!(
            (info.format(), info.width(), info.height()),
            (gst_video::VideoFormat::I420, 320, 240)
        );
        assert_eq!(frames.len(), 2);
        assert!(frames[1].pts() > frames[0].pts(), "timestamps kept");
        assert!(decode_webm_bgr(Path::new("/nonexistent.webm"), 1).is_err());
    }
}
