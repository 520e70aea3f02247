// SPDX-License-Identifier: MPL-2.0
//! `PlayerEndpoint`: a `uridecodebin` inside the element's bin, its raw audio and video feeding
//! the runtime's output tees (so filters get raw video), played at the clip's own rate.
//!
//! The pipeline is shared and always PLAYING, so the player never touches the pipeline's
//! clock or base time: its decoder's output pads carry an offset equal to the pipeline's
//! running time when the current stretch of playback started (play, resume, seek), and an
//! `identity sync=true` per branch paces the media. Pause blocks those pads; a seek is a
//! flushing seek of the decoder, its pads' offset moved to the current running time. End of
//! stream stops at the player: it raises `EndOfStream` and is not forwarded, so
//! connected elements keep running (as Kurento). A bad URI is the decoder's error on the bus,
//! which the runtime turns into the element's `Error` event.

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use kurento_core_runtime::{Branch, ElementSpec, MediaElement as CoreElement, MediaType};
use serde_json::{Map, Value, json};

use crate::generated::*;
use crate::{core_object, invoke_core, kurento_error, pipeline_of};

/// `UriEndpointState` (core), as the wire spells it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PlayState {
    Stop,
    Start,
    Pause,
}

impl PlayState {
    fn as_str(self) -> &'static str {
        match self {
            PlayState::Stop => "STOP",
            PlayState::Start => "START",
            PlayState::Pause => "PAUSE",
        }
    }
}

#[derive(Default)]
struct State {
    state: Option<PlayState>,
    /// Offset given to the decoder's pads (pipeline running time at the start of playback).
    offset: i64,
    paused_at: Option<gst::ClockTime>,
    /// Blocking probes while paused.
    blocks: Vec<(gst::Pad, gst::PadProbeId)>,
    /// Decoder pads that reached the end of the stream, of `pads`.
    eos: usize,
    pads: Vec<gst::Pad>,
}

pub struct Player {
    ctx: Context,
    media: Arc<CoreElement>,
    decoder: gst::Element,
    uri: String,
    /// Where each media type enters the runtime's branch.
    inputs: [(MediaType, gst::Element); 2],
    state: Arc<Mutex<State>>,
}

/// A path or a URI as `uridecodebin` wants it.
fn to_uri(uri: &str) -> Result<String, KurentoError> {
    if uri.is_empty() {
        return Err(KurentoError::marshall("'uri' must not be empty"));
    }
    if gst::glib::uri_parse_scheme(uri).is_some() {
        return Ok(uri.to_string());
    }
    let path = std::path::Path::new(uri);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| KurentoError::unexpected(e.to_string()))?
            .join(path)
    };
    gst::glib::filename_to_uri(&abs, None)
        .map(|u| u.to_string())
        .map_err(|e| KurentoError::marshall(format!("Invalid URI '{uri}': {e}")))
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl Player {
    pub fn create(
        ctx: Context,
        p: PlayerEndpointConstructor,
    ) -> Result<Box<dyn PlayerEndpoint>, KurentoError> {
        let pipeline = pipeline_of(&ctx, &p.media_pipeline)?;
        let uri = to_uri(&p.uri)?;
        let make = |f: &str| {
            gst::ElementFactory::make(f).build().map_err(|_| {
                KurentoError::new(
                    40102,
                    "MEDIA_OBJECT_NOT_AVAILABLE",
                    format!("GStreamer element '{f}' not available"),
                )
            })
        };
        let branch = |convert: &str| -> Result<(gst::Element, Branch), KurentoError> {
            let pace = make("identity")?;
            pace.set_property("sync", true);
            let conv = make(convert)?;
            Ok((
                pace.clone(),
                Branch::Chain {
                    elements: vec![pace, conv],
                    input: false,
                    output: true,
                },
            ))
        };
        let (video_in, video) = branch("videoconvert")?;
        let (audio_in, audio) = branch("audioconvert")?;
        let decoder = make("uridecodebin")?;
        decoder.set_property("uri", &uri);
        if p.network_cache > 0 {
            // networkCache is in ms; uridecodebin's buffer-duration in ns.
            decoder.set_property("buffer-duration", i64::from(p.network_cache) * 1_000_000);
        }
        let spec = ElementSpec {
            audio,
            video,
            data: Branch::None,
        };
        let media = CoreElement::new(core_object(&ctx), &pipeline, spec).map_err(kurento_error)?;
        decoder.set_locked_state(true);
        media
            .bin()
            .add(&decoder)
            .map_err(|_| KurentoError::unexpected("cannot add the decoder"))?;
        let player = Player {
            ctx,
            media,
            decoder,
            uri,
            inputs: [(MediaType::Video, video_in), (MediaType::Audio, audio_in)],
            state: Arc::new(Mutex::new(State {
                state: Some(PlayState::Stop),
                ..State::default()
            })),
        };
        player.watch_pads();
        Ok(Box::new(player))
    }

    /// Links each decoded stream to its branch, with the current offset, and watches its end.
    fn watch_pads(&self) {
        let inputs = self.inputs.clone();
        let state = self.state.clone();
        let ctx = self.ctx.clone();
        self.decoder.connect_pad_added(move |_, pad| {
            let Some(caps) = pad.current_caps().or_else(|| Some(pad.query_caps(None))) else {
                return;
            };
            let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
                return;
            };
            let media = if name.starts_with("video/") {
                MediaType::Video
            } else if name.starts_with("audio/") {
                MediaType::Audio
            } else {
                return;
            };
            let Some((_, target)) = inputs.iter().find(|(m, _)| *m == media) else {
                return;
            };
            let Some(sink) = target.static_pad("sink") else {
                return;
            };
            if sink.is_linked() {
                return; // one stream per media type, as Kurento
            }
            {
                let mut st = lock(&state);
                pad.set_offset(st.offset);
                st.pads.push(pad.clone());
            }
            let (state, ctx) = (state.clone(), ctx.clone());
            pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
                let Some(ev) = info.event() else {
                    return gst::PadProbeReturn::Ok;
                };
                match ev.type_() {
                    gst::EventType::Eos => {
                        let done = {
                            let mut st = lock(&state);
                            st.eos += 1;
                            st.eos == st.pads.len()
                        };
                        if done {
                            ctx.emit(EndOfStream::new());
                        }
                        // Taken here (HANDLED): DROP makes GStreamer unref it a second time
                        // on this ghost pad (a GLib critical).
                        info.data.take();
                        gst::PadProbeReturn::Handled
                    }
                    _ => gst::PadProbeReturn::Ok,
                }
            });
            let _ = pad.link(&sink);
        });
    }

    fn running_time(&self) -> i64 {
        let Some(pipeline) = self.media.bin().parent().and_downcast::<gst::Element>() else {
            return 0;
        };
        match (pipeline.clock(), pipeline.base_time()) {
            (Some(clock), Some(base)) => clock.time().saturating_sub(base).nseconds() as i64,
            _ => 0,
        }
    }

    fn set_state(&self, new: PlayState) {
        let old = lock(&self.state).state.replace(new);
        if old != Some(new) {
            let mut m = Map::new();
            m.insert("state".into(), json!(new.as_str()));
            self.media
                .object()
                .raise_media("UriEndpointStateChanged", m);
        }
    }

    fn play_now(&self) -> Result<(), KurentoError> {
        let now = self.running_time();
        let current = lock(&self.state).state;
        match current {
            Some(PlayState::Start) => return Ok(()),
            Some(PlayState::Pause) => {
                let mut st = lock(&self.state);
                if let Some(at) = st.paused_at.take() {
                    st.offset += now - at.nseconds() as i64;
                }
                for pad in &st.pads {
                    pad.set_offset(st.offset);
                }
                for (pad, id) in st.blocks.drain(..) {
                    pad.remove_probe(id);
                }
            }
            _ => {
                {
                    let mut st = lock(&self.state);
                    st.offset = now;
                    st.eos = 0;
                    st.pads.clear();
                }
                self.decoder.set_state(gst::State::Playing).map_err(|_| {
                    // The decoder's own error message (on the bus → Error event) says why.
                    KurentoError::new(
                        40003,
                        "UNEXPECTED_ERROR",
                        format!("Cannot play '{}'", self.uri),
                    )
                })?;
            }
        }
        self.set_state(PlayState::Start);
        Ok(())
    }

    fn pause_now(&self) -> Result<(), KurentoError> {
        if lock(&self.state).state != Some(PlayState::Start) {
            return Ok(());
        }
        let now = self.running_time();
        {
            let mut st = lock(&self.state);
            st.paused_at = Some(gst::ClockTime::from_nseconds(now as u64));
            let pads = st.pads.clone();
            for pad in pads {
                if let Some(id) = pad.add_probe(gst::PadProbeType::BLOCK_DOWNSTREAM, |_, _| {
                    gst::PadProbeReturn::Ok
                }) {
                    st.blocks.push((pad, id));
                }
            }
        }
        self.set_state(PlayState::Pause);
        Ok(())
    }

    fn stop_now(&self) -> Result<(), KurentoError> {
        {
            let mut st = lock(&self.state);
            for (pad, id) in st.blocks.drain(..) {
                pad.remove_probe(id);
            }
            st.paused_at = None;
        }
        let _ = self.decoder.set_state(gst::State::Null);
        lock(&self.state).pads.clear();
        self.set_state(PlayState::Stop);
        Ok(())
    }
}

impl ModuleObject for Player {
    fn gst_element(&self) -> *mut std::ffi::c_void {
        self.media.element_ptr()
    }

    fn invoke_inherited(&self, op: &str, params: &Value) -> Option<Result<Value, KurentoError>> {
        // UriEndpoint (core) operations are this class's to answer.
        let r = match op {
            "pause" => self.pause_now().map(|_| Value::Null),
            "stop" => self.stop_now().map(|_| Value::Null),
            "getUri" => Ok(json!(self.uri)),
            "getState" => Ok(json!(
                lock(&self.state).state.unwrap_or(PlayState::Stop).as_str()
            )),
            _ => return invoke_core(&self.ctx, &self.media, op, params),
        };
        Some(r)
    }

    fn release(&self) {
        let _ = self.stop_now();
        self.decoder.set_locked_state(false);
        self.media.release();
    }
}

impl PlayerEndpoint for Player {
    fn play(&self) -> Result<(), KurentoError> {
        self.play_now()
    }

    fn get_video_info(&self) -> Result<VideoInfo, KurentoError> {
        let ms = |t: Option<gst::ClockTime>| t.map(|t| t.mseconds() as i64).unwrap_or(0);
        let duration = ms(self.decoder.query_duration::<gst::ClockTime>());
        let mut q = gst::query::Seeking::new(gst::Format::Time);
        // Asked on the decoder's output pads, the query reaches the demuxer, which knows the
        // seekable range; `uridecodebin` itself answers without an end.
        let pads = lock(&self.state).pads.clone();
        let answered = pads.iter().any(|p| p.query(&mut q)) || self.decoder.query(&mut q);
        let (seekable, start, end) = if answered {
            let (s, a, b) = q.result();
            let v = |x: gst::GenericFormattedValue| match x {
                gst::GenericFormattedValue::Time(t) => ms(t),
                _ => 0,
            };
            (s, v(a), v(b))
        } else {
            (false, 0, 0)
        };
        Ok(VideoInfo {
            is_seekable: seekable,
            seekable_init: start,
            seekable_end: end,
            duration,
        })
    }

    fn get_element_gstreamer_dot(&self) -> Result<String, KurentoError> {
        let bin = self
            .decoder
            .clone()
            .downcast::<gst::Bin>()
            .map_err(|_| KurentoError::unexpected("decoder is not a bin"))?;
        Ok(bin
            .debug_to_dot_data(gst::DebugGraphDetails::all())
            .to_string())
    }

    fn get_position(&self) -> Result<i64, KurentoError> {
        if lock(&self.state).state == Some(PlayState::Stop) {
            return Ok(0);
        }
        Ok(self
            .decoder
            .query_position::<gst::ClockTime>()
            .map(|t| t.mseconds() as i64)
            .unwrap_or(0))
    }

    fn set_position(&self, position: i64) -> Result<(), KurentoError> {
        if position < 0 {
            return Err(KurentoError::illegal_param(
                "'position' must not be negative",
            ));
        }
        if lock(&self.state).state == Some(PlayState::Stop) {
            return Err(KurentoError::new(
                40700,
                "PLAYER_SEEK_FAIL",
                "Seek failed: the player is stopped",
            ));
        }
        // After a flushing seek the stream's running time starts again at 0.
        let now = self.running_time();
        {
            let mut st = lock(&self.state);
            st.offset = now;
            st.eos = 0;
            if st.paused_at.is_some() {
                st.paused_at = Some(gst::ClockTime::from_nseconds(now as u64));
            }
            for pad in &st.pads {
                pad.set_offset(now);
            }
        }
        self.decoder
            .seek_simple(
                gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
                gst::ClockTime::from_mseconds(position as u64),
            )
            .map_err(|_| {
                KurentoError::new(
                    40700,
                    "PLAYER_SEEK_FAIL",
                    format!("Seek to {position} ms failed"),
                )
            })
    }
}
