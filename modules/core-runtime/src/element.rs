// SPDX-License-Identifier: MPL-2.0
//! `MediaElement`: a plain `GstBin` named by the object id, with Kurento's pad naming
//! (elements.md §1.2–§1.4):
//!
//! * sink pads `sink_<audio|video|data>_default`, ghosting the branch input;
//! * per media type an output `tee`; each connection requests a tee pad and ghosts it as
//!   `<type>_src_<description>_<n>`, linked to the sink element's `sink_<type>_<description>`.
//!
//! Connections, their listing and their removal only use these names and the pads' links, so
//! an element can connect to an element of another module (another copy of this runtime).

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use gst::glib;
use gst::prelude::*;
use serde_json::{Map, Value, json};

use crate::flow::FlowTracker;
use crate::{CoreError, MediaObject, MediaType};

/// How one media type goes through an element.
pub enum Branch {
    /// This element has no such media: no pads.
    None,
    /// Input goes straight to the output (PassThrough, audio across a video filter).
    Pass,
    /// Elements linked in order. With `input`, the first one's sink pad becomes
    /// `sink_<type>_default`; with `output`, the last one's `src` pad feeds the output tee.
    Chain {
        elements: Vec<gst::Element>,
        input: bool,
        output: bool,
    },
    /// An endpoint's two independent halves, not linked to each other: `input`'s sink pad
    /// becomes `sink_<type>_default`, `output`'s `src` pad feeds the output tee (a WebRTC
    /// endpoint: input ▸ encoder ▸ network, network ▸ decoder ▸ output).
    Split {
        input: Option<gst::Element>,
        output: Option<gst::Element>,
    },
    /// Pads of elements another branch of the same spec put in the bin (branches are built
    /// audio, video, data): `input` becomes `sink_<type>_default`, `output` feeds the output
    /// tee. For one element handling several media, e.g. the data pads of `kmsshowdata`.
    Pads {
        input: Option<gst::Pad>,
        output: Option<gst::Pad>,
    },
}

pub struct ElementSpec {
    pub audio: Branch,
    pub video: Branch,
    /// DATA (`application/data`, one message per buffer): `Branch::None` for elements
    /// without data pads.
    pub data: Branch,
}

/// `PassThrough`: audio and video pass unchanged.
pub fn pass_through() -> ElementSpec {
    ElementSpec {
        audio: Branch::Pass,
        video: Branch::Pass,
        data: Branch::None,
    }
}

fn make(factory: &str) -> Result<gst::Element, CoreError> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        CoreError::not_available(format!("GStreamer element '{factory}' not available"))
    })
}

/// The name of an element's input pad: `sink`, or `video_sink` (textoverlay compatibility).
fn input_pad_name(e: &gst::Element) -> Option<&'static str> {
    ["sink", "video_sink"]
        .into_iter()
        .find(|n| e.static_pad(n).is_some())
}

fn caps_kind(pad: &gst::Pad) -> (bool, bool) {
    let caps = pad.pad_template_caps();
    (
        caps.can_intersect(&gst::Caps::new_empty_simple("audio/x-raw")),
        caps.can_intersect(&gst::Caps::new_empty_simple("video/x-raw")),
    )
}

/// The filter host of elements.md §1.2, as a branch: leaky one-buffer queue ▸ converter ▸
/// `filter` ▸ converter. A slow filter drops frames instead of stalling its producer. The media
/// type is `Some(Video|Audio)`, or detected from the filter's pads (AUTODETECT); the other
/// type passes through. Fails with MEDIA_OBJECT_NOT_AVAILABLE when the filter has no
/// `src`/`sink` pads or handles neither raw audio nor raw video.
pub fn filter_spec(
    filter: &gst::Element,
    media: Option<MediaType>,
) -> Result<ElementSpec, CoreError> {
    let not_available = || CoreError::not_available("Media Object not available");
    let src = filter.static_pad("src").ok_or_else(not_available)?;
    let sink = filter
        .static_pad(input_pad_name(filter).ok_or_else(not_available)?)
        .ok_or_else(not_available)?;
    let media = match media {
        Some(m) => m,
        None => {
            let ((sa, sv), (da, dv)) = (caps_kind(&sink), caps_kind(&src));
            if sa && da {
                MediaType::Audio
            } else if sv && dv {
                MediaType::Video
            } else {
                return Err(not_available());
            }
        }
    };
    let queue = make("queue")?;
    queue.set_property_from_str("leaky", "downstream");
    queue.set_property("max-size-buffers", 1u32);
    queue.set_property("max-size-bytes", 0u32);
    queue.set_property("max-size-time", 0u64);
    let convert = if media == MediaType::Audio {
        "audioconvert"
    } else {
        "videoconvert"
    };
    // Encoded input (from a WebRTC endpoint) is decoded before the leaky queue, never after:
    // dropping an encoded frame would corrupt the frames that follow it.
    let chain = Branch::Chain {
        elements: vec![
            crate::codec::decoder(media)?,
            queue,
            make(convert)?,
            filter.clone(),
            make(convert)?,
        ],
        input: true,
        output: true,
    };
    Ok(match media {
        MediaType::Audio => ElementSpec {
            audio: chain,
            video: Branch::Pass,
            data: Branch::None,
        },
        _ => ElementSpec {
            audio: Branch::Pass,
            video: chain,
            data: Branch::None,
        },
    })
}

/// `ElementConnectionData` (server.md §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionData {
    pub source: String,
    pub sink: String,
    pub media_type: MediaType,
    pub source_description: String,
    pub sink_description: String,
}

impl ConnectionData {
    pub fn to_json(&self) -> Value {
        json!({"source": self.source, "sink": self.sink, "type": self.media_type.as_str(),
            "sourceDescription": self.source_description, "sinkDescription": self.sink_description,
            "__module__": "kurento", "__type__": "ElementConnectionData"})
    }
}

type PadParser = fn(&str) -> Option<(MediaType, String)>;

/// Parses `sink_<type>_<description>`.
fn parse_sink_pad(name: &str) -> Option<(MediaType, String)> {
    let rest = name.strip_prefix("sink_")?;
    let (word, desc) = rest.split_once('_')?;
    Some((MediaType::from_pad_word(word)?, desc.to_string()))
}

/// Parses `<type>_src_<description>_<n>`.
fn parse_src_pad(name: &str) -> Option<(MediaType, String)> {
    let (word, rest) = name.split_once("_src_")?;
    let (desc, n) = rest.rsplit_once('_')?;
    n.parse::<u32>().ok()?;
    Some((MediaType::from_pad_word(word)?, desc.to_string()))
}

fn pad_owner_name(pad: &gst::Pad) -> Option<String> {
    pad.parent_element().map(|e| e.name().to_string())
}

/// Ids of the children of object `id`: elements of the pipeline whose id is `<id>/<leaf>`.
pub(crate) fn children_of(pipeline: &gst::Pipeline, id: &str) -> Vec<String> {
    let prefix = format!("{id}/");
    let mut v: Vec<String> = pipeline
        .children()
        .into_iter()
        .map(|c| c.name().to_string())
        .filter(|n| {
            n.strip_prefix(&prefix)
                .is_some_and(|leaf| !leaf.contains('/'))
        })
        .collect();
    v.sort();
    v
}

/// The `Error` event fields of an ERROR or WARNING message (elements.md §1.4), without `type`
/// for pipeline-level use; `None` for other messages.
pub(crate) fn error_fields(msg: &gst::Message, element_name: &str) -> Option<Map<String, Value>> {
    let (err, debug) = match msg.view() {
        gst::MessageView::Error(e) => (e.error(), e.debug()),
        gst::MessageView::Warning(w) => (w.error(), w.debug()),
        _ => return None,
    };
    let code: i32 = unsafe {
        use glib::translate::ToGlibPtr;
        let p: *const glib::ffi::GError = err.to_glib_none().0;
        (*p).code
    };
    let source = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
    let mut description = format!(
        "Error code {code}: {}, source: {source}, element: {element_name}",
        err.message()
    );
    if let Some(d) = debug {
        description.push_str(&format!(", debug info: {d}"));
    }
    let error_type = if let Some(k) = err.kind::<gst::ResourceError>() {
        match k {
            gst::ResourceError::OpenRead
            | gst::ResourceError::OpenWrite
            | gst::ResourceError::OpenReadWrite => "RESOURCE_ERROR_OPEN",
            gst::ResourceError::Write => "RESOURCE_ERROR_WRITE",
            gst::ResourceError::NoSpaceLeft => "RESOURCE_ERROR_NO_SPACE_LEFT",
            _ => "UNEXPECTED_ELEMENT_ERROR",
        }
    } else if let Some(k) = err.kind::<gst::StreamError>() {
        match k {
            gst::StreamError::Failed => "STREAM_ERROR_FAILED",
            gst::StreamError::Decode => "STREAM_ERROR_DECODE",
            _ => "UNEXPECTED_ELEMENT_ERROR",
        }
    } else {
        "UNEXPECTED_ELEMENT_ERROR"
    };
    let mut m = Map::new();
    m.insert("description".into(), Value::String(description));
    m.insert("errorCode".into(), json!(code));
    m.insert("type".into(), Value::String(error_type.into()));
    Some(m)
}

struct Loopback {
    tee_pad: gst::Pad,
    proxy: [gst::Element; 2],
    /// The input ghost pad and its `linked` handler (another source taking the input over).
    taken_over: Option<(gst::GhostPad, gst::glib::SignalHandlerId)>,
}

type ElementMessageHandler = Box<dyn Fn(&gst::StructureRef, &gst::Object) + Send + Sync>;

pub struct MediaElement {
    me: Weak<MediaElement>,
    obj: MediaObject,
    bin: gst::Bin,
    pipeline: gst::Pipeline,
    tees: HashMap<MediaType, gst::Element>,
    flow_in: HashMap<MediaType, Arc<FlowTracker>>,
    flow_out: HashMap<MediaType, Arc<FlowTracker>>,
    pad_counter: AtomicU32,
    /// encoderBitrate, minEncoderBitrate, maxEncoderBitrate (MediaElement.conf defaults).
    bitrates: Mutex<[i32; 3]>,
    element_handlers: Mutex<Vec<ElementMessageHandler>>,
    /// Connections of this element to itself (`ep.connect(ep)`): media type → the tee pad
    /// and the proxysink ▸ proxysrc pair carrying it to the branch input inside the bin.
    loopbacks: Mutex<HashMap<MediaType, Loopback>>,
    bus_handler: Mutex<Option<glib::SignalHandlerId>>,
}

fn link_chain(elements: &[gst::Element]) -> Result<(), CoreError> {
    for w in elements.windows(2) {
        let sink = input_pad_name(&w[1]).unwrap_or("sink");
        w[0].link_pads(Some("src"), &w[1], Some(sink))
            .map_err(|_| {
                CoreError::not_available(format!(
                    "cannot link '{}' to '{}'",
                    w[0].name(),
                    w[1].name()
                ))
            })?;
    }
    Ok(())
}

/// A chain whose input only takes raw media gets a decoding input ([`crate::codec::decoder`]),
/// since sources may deliver encoded media (a WebRTC endpoint forwards what it receives).
fn with_decoder(
    media: MediaType,
    mut elements: Vec<gst::Element>,
    input: bool,
) -> Result<Vec<gst::Element>, CoreError> {
    let encoded = match media {
        MediaType::Video => "video/x-vp8",
        MediaType::Audio => "audio/x-opus",
        MediaType::Data => return Ok(elements),
    };
    let takes_encoded = elements.first().is_none_or(|e| {
        input_pad_name(e)
            .and_then(|n| e.static_pad(n))
            .is_none_or(|p| {
                p.pad_template_caps()
                    .can_intersect(&gst::Caps::new_empty_simple(encoded))
            })
    });
    if input && !takes_encoded {
        elements.insert(0, crate::codec::decoder(media)?);
    }
    Ok(elements)
}

impl MediaElement {
    /// Builds the element's bin from `spec` and adds it to `pipeline` (a `MediaPipeline`'s,
    /// possibly from another module: resolve it through the host and `gst_element`).
    pub fn new(
        obj: MediaObject,
        pipeline: &gst::Pipeline,
        spec: ElementSpec,
    ) -> Result<Arc<MediaElement>, CoreError> {
        crate::init()?;
        let bin = gst::Bin::with_name(obj.id());
        let mut tees = HashMap::new();
        let mut inputs = Vec::new();
        for (media, branch) in [
            (MediaType::Audio, spec.audio),
            (MediaType::Video, spec.video),
            (MediaType::Data, spec.data),
        ] {
            let word = media.pad_word();
            let make_tee = || -> Result<gst::Element, CoreError> {
                let tee = gst::ElementFactory::make("tee")
                    .name(format!("{word}_tee"))
                    .property("allow-not-linked", true)
                    .build()
                    .map_err(|_| {
                        CoreError::not_available("GStreamer element 'tee' not available")
                    })?;
                bin.add(&tee)
                    .map_err(|_| CoreError::unexpected("cannot add tee"))?;
                Ok(tee)
            };
            let (input, tee) = match branch {
                Branch::None => continue,
                Branch::Pass => {
                    let tee = make_tee()?;
                    (tee.static_pad("sink"), Some(tee))
                }
                Branch::Split { input, output } => {
                    for e in input.iter().chain(output.iter()) {
                        bin.add(e)
                            .map_err(|_| CoreError::unexpected("cannot add element to bin"))?;
                    }
                    let pad = input
                        .as_ref()
                        .and_then(|e| input_pad_name(e).and_then(|n| e.static_pad(n)));
                    let tee = match &output {
                        Some(out) => {
                            let tee = make_tee()?;
                            out.link_pads(Some("src"), &tee, None)
                                .map_err(|_| CoreError::unexpected("cannot link branch output"))?;
                            Some(tee)
                        }
                        None => None,
                    };
                    (pad, tee)
                }
                Branch::Pads { input, output } => {
                    let tee = match output {
                        Some(out) => {
                            let tee = make_tee()?;
                            out.link(&tee.static_pad("sink").unwrap())
                                .map_err(|_| CoreError::unexpected("cannot link branch output"))?;
                            Some(tee)
                        }
                        None => None,
                    };
                    (input, tee)
                }
                Branch::Chain {
                    elements,
                    input,
                    output,
                } => {
                    if elements.is_empty() {
                        return Err(CoreError::unexpected("empty element chain"));
                    }
                    let elements = with_decoder(media, elements, input)?;
                    for e in &elements {
                        bin.add(e)
                            .map_err(|_| CoreError::unexpected("cannot add element to bin"))?;
                    }
                    link_chain(&elements)?;
                    let first = &elements[0];
                    let input = if input {
                        input_pad_name(first).and_then(|n| first.static_pad(n))
                    } else {
                        None
                    };
                    let tee = if output {
                        let tee = make_tee()?;
                        elements[elements.len() - 1]
                            .link(&tee)
                            .map_err(|_| CoreError::unexpected("cannot link branch output"))?;
                        Some(tee)
                    } else {
                        None
                    };
                    (input, tee)
                }
            };
            if let Some(target) = input {
                let ghost = gst::GhostPad::builder_with_target(&target)
                    .map_err(|_| CoreError::unexpected("cannot ghost input pad"))?
                    .name(format!("sink_{word}_default"))
                    .build();
                bin.add_pad(&ghost)
                    .map_err(|_| CoreError::unexpected("cannot add sink pad"))?;
                inputs.push((media, target));
            }
            if let Some(tee) = tee {
                tees.insert(media, tee);
            }
        }

        let this = Arc::new_cyclic(|weak: &Weak<MediaElement>| {
            let tracker = |media: MediaType, event: &'static str| {
                let weak = weak.clone();
                FlowTracker::new(Box::new(move |flowing| {
                    if let Some(e) = weak.upgrade() {
                        let mut m = Map::new();
                        m.insert(
                            "state".into(),
                            json!(if flowing { "FLOWING" } else { "NOT_FLOWING" }),
                        );
                        m.insert("padName".into(), json!("default"));
                        m.insert("mediaType".into(), json!(media.as_str()));
                        e.obj.raise_media(event, m);
                    }
                }))
            };
            // DATA is not tracked: messages are sporadic, a silence says nothing about the
            // connection and FLOWING/NOT_FLOWING events would flap with every message.
            let flow_in = inputs
                .iter()
                .filter(|(m, _)| *m != MediaType::Data)
                .map(|(m, _)| (*m, tracker(*m, "MediaFlowInStateChanged")))
                .collect();
            let flow_out = tees
                .keys()
                .filter(|m| **m != MediaType::Data)
                .map(|m| (*m, tracker(*m, "MediaFlowOutStateChanged")))
                .collect();
            MediaElement {
                me: weak.clone(),
                obj,
                bin,
                pipeline: pipeline.clone(),
                tees,
                flow_in,
                flow_out,
                pad_counter: AtomicU32::new(0),
                bitrates: Mutex::new([300_000, 0, 0]),
                element_handlers: Mutex::new(Vec::new()),
                loopbacks: Mutex::new(HashMap::new()),
                bus_handler: Mutex::new(None),
            }
        });
        for (media, target) in &inputs {
            if let Some(t) = this.flow_in.get(media) {
                t.attach(target);
            }
        }
        if let Some(bus) = pipeline.bus() {
            let weak = Arc::downgrade(&this);
            let h = bus.connect_sync_message(None, move |_, msg| {
                if let Some(e) = weak.upgrade() {
                    e.on_message(msg);
                }
            });
            *this.bus_handler.lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
        }
        pipeline
            .add(&this.bin)
            .map_err(|_| CoreError::unexpected("cannot add the element to its pipeline"))?;
        // A failing start is reported by the element's Error event (e.g. a missing file), as
        // in Kurento; the object itself exists and can be released.
        let _ = this.bin.sync_state_with_parent();
        Ok(this)
    }

    fn is_mine(&self, src: &gst::Object) -> bool {
        src == self.bin.upcast_ref::<gst::Object>() || src.has_as_ancestor(&self.bin)
    }

    fn on_message(&self, msg: &gst::Message) {
        let Some(src) = msg.src() else { return };
        if !self.is_mine(src) {
            return;
        }
        if let Some(fields) = error_fields(msg, self.obj.id()) {
            self.obj.raise("Error", fields);
        } else if let gst::MessageView::Element(e) = msg.view()
            && let Some(s) = e.structure()
        {
            for h in self
                .element_handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
            {
                h(s, src);
            }
        }
    }

    /// Calls `handler` (on the posting thread) for every ELEMENT message from inside this
    /// element, e.g. a detector's results to map to events (elements.md §1.4).
    pub fn on_element_message(
        &self,
        handler: impl Fn(&gst::StructureRef, &gst::Object) + Send + Sync + 'static,
    ) {
        self.element_handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(handler));
    }

    pub fn object(&self) -> &MediaObject {
        &self.obj
    }

    pub fn bin(&self) -> &gst::Bin {
        &self.bin
    }

    /// The borrowed `GstElement *` the module ABI hands out (`gst_element`).
    pub fn element_ptr(&self) -> *mut c_void {
        self.bin.as_ptr() as *mut c_void
    }

    pub fn children(&self) -> Vec<String> {
        children_of(&self.pipeline, self.obj.id())
    }

    fn types(media: Option<MediaType>) -> Vec<MediaType> {
        media
            .map(|m| vec![m])
            .unwrap_or_else(|| MediaType::ALL.to_vec())
    }

    /// `MediaElement.connect` (server.md §10): `sink` is the sink element's bin. Without a media
    /// type every type both sides have is connected; a sink input already fed by another
    /// source is taken over.
    pub fn connect(
        &self,
        sink: &gst::Element,
        media: Option<MediaType>,
        source_description: &str,
        sink_description: &str,
    ) -> Result<(), CoreError> {
        if sink.parent().as_ref() != Some(self.pipeline.upcast_ref::<gst::Object>()) {
            return Err(CoreError::connect("Media elements do not share pipeline"));
        }
        if sink == self.bin.upcast_ref::<gst::Element>() {
            return self.connect_loopback(media, source_description, sink_description);
        }
        for m in Self::types(media) {
            let word = m.pad_word();
            let tee = self
                .tees
                .get(&m)
                .filter(|_| source_description == "default");
            let sink_pad = sink.static_pad(&format!("sink_{word}_{sink_description}"));
            let (Some(tee), Some(sink_pad)) = (tee, sink_pad) else {
                if media.is_some() {
                    return Err(CoreError::connect(format!(
                        "Cannot connect {} from '{source_description}' to '{sink_description}'",
                        m.as_str()
                    )));
                }
                continue;
            };
            if let Some(peer) = sink_pad.peer() {
                if peer.parent().as_ref() == Some(self.bin.upcast_ref::<gst::Object>()) {
                    continue; // already connected to us
                }
                // One source per sink input: the previous source's owner cleans up on unlink.
                let _ = peer.unlink(&sink_pad);
            }
            let tee_pad = tee
                .request_pad_simple("src_%u")
                .ok_or_else(|| CoreError::connect("cannot request an output pad"))?;
            // Media flows *out* only towards connected sinks.
            if let Some(t) = self.flow_out.get(&m) {
                t.attach(&tee_pad);
            }
            let n = self.pad_counter.fetch_add(1, Ordering::Relaxed);
            let ghost = gst::GhostPad::builder_with_target(&tee_pad)
                .map_err(|_| CoreError::connect("cannot ghost output pad"))?
                .name(format!("{word}_src_{source_description}_{n}"))
                .build();
            let _ = ghost.set_active(true);
            self.bin
                .add_pad(&ghost)
                .map_err(|_| CoreError::connect("cannot add output pad"))?;
            let sink_id = sink.name().to_string();
            let mut fields = Map::new();
            fields.insert("sink".into(), json!(sink_id));
            fields.insert("mediaType".into(), json!(m.as_str()));
            fields.insert("sourceMediaDescription".into(), json!(source_description));
            fields.insert("sinkMediaDescription".into(), json!(sink_description));
            // Whoever unlinks (disconnect, release of either side, a new source taking the sink
            // over, possibly from another module) triggers the cleanup and the event here.
            let (me, weak_tee, disconnected) = (self.me.clone(), tee.downgrade(), fields.clone());
            ghost.connect_unlinked(move |ghost, _| {
                if let (Some(e), Some(tee)) = (me.upgrade(), weak_tee.upgrade())
                    && Self::drop_output(&e.bin, &tee, ghost)
                {
                    e.obj
                        .raise_media("ElementDisconnected", disconnected.clone());
                }
            });
            if ghost.link(&sink_pad).is_err() {
                Self::drop_output(&self.bin, tee, &ghost);
                return Err(CoreError::connect(format!(
                    "cannot link {} to the sink",
                    m.as_str()
                )));
            }
            // A sink joining a stream that is already flowing needs a key frame to start
            // decoding (one2many: a viewer after the presenter); forwarded media has one only
            // when the remote sender is asked.
            crate::codec::request_key_unit(&tee_pad);
            self.obj.raise_media("ElementConnected", fields);
        }
        Ok(())
    }

    fn loopbacks(&self) -> std::sync::MutexGuard<'_, HashMap<MediaType, Loopback>> {
        self.loopbacks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn loop_fields(m: MediaType, id: &str) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("sink".into(), json!(id));
        fields.insert("mediaType".into(), json!(m.as_str()));
        fields.insert("sourceMediaDescription".into(), json!("default"));
        fields.insert("sinkMediaDescription".into(), json!("default"));
        fields
    }

    /// `connect` of an element to itself (the hello-world tutorial's loopback). Linking the
    /// bin's own output pad to its own input pad deadlocks GStreamer's sorted state changes
    /// (the bin is locked twice), and any pad path from the tee back to the input is a graph
    /// loop GStreamer warns about; so the tee feeds a `proxysink` whose `proxysrc` feeds the
    /// branch input inside the bin (no pad link closes the loop), and the input ghost pad is
    /// detached from the branch meanwhile.
    fn connect_loopback(
        &self,
        media: Option<MediaType>,
        source_description: &str,
        sink_description: &str,
    ) -> Result<(), CoreError> {
        for m in Self::types(media) {
            let word = m.pad_word();
            let ghost = self
                .bin
                .static_pad(&format!("sink_{word}_{sink_description}"))
                .and_then(|p| p.downcast::<gst::GhostPad>().ok());
            let tee = self
                .tees
                .get(&m)
                .filter(|_| source_description == "default");
            let (Some(tee), Some(ghost)) = (tee, ghost) else {
                if media.is_some() {
                    return Err(CoreError::connect(format!(
                        "Cannot connect {} from '{source_description}' to '{sink_description}'",
                        m.as_str()
                    )));
                }
                continue;
            };
            if self.loopbacks().contains_key(&m) {
                continue;
            }
            let Some(target) = ghost.target() else {
                return Err(CoreError::connect("input pad without target"));
            };
            let proxy = [make("proxysink")?, make("proxysrc")?];
            proxy[1].set_property("proxysink", &proxy[0]);
            self.bin
                .add_many(&proxy)
                .map_err(|_| CoreError::connect("cannot add the loopback"))?;
            if let Some(peer) = ghost.peer() {
                let _ = peer.unlink(&ghost);
            }
            let _ = ghost.set_target(None::<&gst::Pad>);
            let tee_pad = tee
                .request_pad_simple("src_%u")
                .ok_or_else(|| CoreError::connect("cannot request an output pad"))?;
            let linked = tee_pad.link(&proxy[0].static_pad("sink").unwrap()).is_ok()
                && proxy[1].static_pad("src").unwrap().link(&target).is_ok();
            let mut lb = Loopback {
                tee_pad,
                proxy,
                taken_over: None,
            };
            if !linked {
                self.drop_loopback(m, lb, Some(target));
                return Err(CoreError::connect(format!(
                    "cannot link {} to itself",
                    m.as_str()
                )));
            }
            for e in &lb.proxy {
                let _ = e.sync_state_with_parent();
            }
            if let Some(t) = self.flow_out.get(&m) {
                t.attach(&lb.tee_pad);
            }
            crate::codec::request_key_unit(&lb.tee_pad);
            // Another source connected to this input (the browser magic-mirror tutorial: a
            // filter inserted into a running loopback) takes it over, as in `connect`; it may
            // be another module's copy of the runtime, so it is seen as a link of the input.
            let me = self.me.clone();
            let handler = ghost.connect_linked(move |_, _| {
                if let Some(e) = me.upgrade() {
                    e.disconnect_loopback(m);
                }
            });
            lb.taken_over = Some((ghost, handler));
            self.loopbacks().insert(m, lb);
            self.obj
                .raise_media("ElementConnected", Self::loop_fields(m, self.obj.id()));
        }
        Ok(())
    }

    fn drop_loopback(&self, m: MediaType, mut lb: Loopback, target: Option<gst::Pad>) {
        if let Some((ghost, handler)) = lb.taken_over.take() {
            ghost.disconnect(handler);
        }
        let target = target.or_else(|| lb.proxy[1].static_pad("src").and_then(|p| p.peer()));
        if let Some(peer) = lb.tee_pad.peer() {
            let _ = lb.tee_pad.unlink(&peer);
        }
        if let Some(tee) = self.tees.get(&m) {
            tee.release_request_pad(&lb.tee_pad);
        }
        for e in &lb.proxy {
            let _ = e.set_state(gst::State::Null);
            let _ = self.bin.remove(e);
        }
        let ghost = self
            .bin
            .static_pad(&format!("sink_{}_default", m.pad_word()))
            .and_then(|p| p.downcast::<gst::GhostPad>().ok());
        if let (Some(g), Some(t)) = (ghost, target) {
            let _ = g.set_target(Some(&t));
        }
    }

    /// Undoes [`Self::connect_loopback`] for `m`; false when there was none.
    fn disconnect_loopback(&self, m: MediaType) -> bool {
        let Some(lb) = self.loopbacks().remove(&m) else {
            return false;
        };
        self.drop_loopback(m, lb, None);
        self.obj
            .raise_media("ElementDisconnected", Self::loop_fields(m, self.obj.id()));
        true
    }

    /// Removes an output pad and its tee pad; false when it was already gone.
    fn drop_output(bin: &gst::Bin, tee: &gst::Element, ghost: &gst::GhostPad) -> bool {
        if ghost.parent().as_ref() != Some(bin.upcast_ref::<gst::Object>()) {
            return false;
        }
        let target = ghost.target();
        let _ = ghost.set_target(None::<&gst::Pad>);
        let _ = ghost.set_active(false);
        let _ = bin.remove_pad(ghost);
        if let Some(t) = target {
            tee.release_request_pad(&t);
        }
        true
    }

    /// `MediaElement.disconnect`: removes the matching connections to `sink`.
    pub fn disconnect(
        &self,
        sink: &gst::Element,
        media: Option<MediaType>,
        source_description: &str,
        sink_description: &str,
    ) -> Result<(), CoreError> {
        for m in Self::types(media) {
            if sink == self.bin.upcast_ref::<gst::Element>()
                && source_description == "default"
                && sink_description == "default"
                && self.disconnect_loopback(m)
            {
                continue;
            }
            let Some(sink_pad) =
                sink.static_pad(&format!("sink_{}_{sink_description}", m.pad_word()))
            else {
                continue;
            };
            for pad in self.bin.src_pads() {
                let matches = parse_src_pad(&pad.name())
                    .is_some_and(|(pm, d)| pm == m && d == source_description);
                if matches && pad.peer().as_ref() == Some(&sink_pad) {
                    let _ = pad.unlink(&sink_pad);
                }
            }
        }
        Ok(())
    }

    /// `getSourceConnections`: who feeds this element.
    pub fn source_connections(
        &self,
        media: Option<MediaType>,
        description: Option<&str>,
    ) -> Vec<ConnectionData> {
        self.connections(true, media, description)
    }

    /// `getSinkConnections`: whom this element feeds.
    pub fn sink_connections(
        &self,
        media: Option<MediaType>,
        description: Option<&str>,
    ) -> Vec<ConnectionData> {
        self.connections(false, media, description)
    }

    /// Reads the connections off the links of the sink pads (`incoming`) or the source pads,
    /// filtered by media type and this side's description.
    fn connections(
        &self,
        incoming: bool,
        media: Option<MediaType>,
        description: Option<&str>,
    ) -> Vec<ConnectionData> {
        let (mine, theirs): (PadParser, PadParser) = if incoming {
            (parse_sink_pad, parse_src_pad)
        } else {
            (parse_src_pad, parse_sink_pad)
        };
        let pads = if incoming {
            self.bin.sink_pads()
        } else {
            self.bin.src_pads()
        };
        let mut v: Vec<ConnectionData> = self
            .loopbacks()
            .keys()
            .filter(|m| media.is_none_or(|x| x == **m))
            .filter(|_| description.is_none_or(|d| d == "default"))
            .map(|m| ConnectionData {
                source: self.obj.id().to_string(),
                sink: self.obj.id().to_string(),
                media_type: *m,
                source_description: "default".into(),
                sink_description: "default".into(),
            })
            .collect();
        for pad in pads {
            let (Some((m, desc)), Some(peer)) = (mine(&pad.name()), pad.peer()) else {
                continue;
            };
            if media.is_some_and(|x| x != m) || description.is_some_and(|d| d != desc) {
                continue;
            }
            let (Some(other), Some((_, other_desc))) =
                (pad_owner_name(&peer), theirs(&peer.name()))
            else {
                continue;
            };
            let me = self.obj.id().to_string();
            v.push(if incoming {
                ConnectionData {
                    source: other,
                    sink: me,
                    media_type: m,
                    source_description: other_desc,
                    sink_description: desc,
                }
            } else {
                ConnectionData {
                    source: me,
                    sink: other,
                    media_type: m,
                    source_description: desc,
                    sink_description: other_desc,
                }
            });
        }
        v
    }

    /// `isMediaFlowingIn(mediaType, sinkMediaDescription)`.
    pub fn is_media_flowing_in(&self, media: MediaType, description: &str) -> bool {
        description == "default" && self.flow_in.get(&media).is_some_and(|t| t.is_flowing())
    }

    /// `isMediaFlowingOut(mediaType, sourceMediaDescription)`.
    pub fn is_media_flowing_out(&self, media: MediaType, description: &str) -> bool {
        description == "default" && self.flow_out.get(&media).is_some_and(|t| t.is_flowing())
    }

    /// `isMediaTranscoding`: whether this element currently decodes or encodes `media` (a
    /// filter decoding forwarded media, an endpoint encoding raw media or re-encoding another
    /// codec). Encoders and decoders are created only when the caps need them, so this reads
    /// the bin's children. `binName`, the name of one of Kurento's internal agnosticbins, has
    /// no counterpart here and is ignored.
    pub fn is_media_transcoding(&self, media: MediaType, _bin_name: &str) -> bool {
        crate::codec::is_codec(self.bin.upcast_ref(), media)
    }

    pub fn gstreamer_dot(&self, details: Option<&str>) -> Result<String, CoreError> {
        Ok(self
            .bin
            .debug_to_dot_data(crate::dot_details(details)?)
            .to_string())
    }

    /// `getStats`: map of stat id → `ElementStats`.
    pub fn stats(&self, _media: Option<MediaType>) -> Value {
        let id = format!("{}_element", self.obj.id());
        let ts: i64 = crate::timestamp_millis().parse().unwrap_or(0);
        json!({ id.clone(): {"id": id, "type": "element", "timestampMillis": ts, "inputLatency": [],
            "__module__": "kurento", "__type__": "ElementStats"} })
    }

    /// encoderBitrate (0), minEncoderBitrate (1), maxEncoderBitrate (2).
    pub fn bitrate(&self, which: usize) -> i32 {
        self.bitrates.lock().unwrap_or_else(|e| e.into_inner())[which.min(2)]
    }

    pub fn set_bitrate(&self, which: usize, value: i32) {
        self.bitrates.lock().unwrap_or_else(|e| e.into_inner())[which.min(2)] = value;
    }

    /// Unlinks every connection (raising ElementDisconnected on the sources), stops the bin and
    /// removes it from the pipeline.
    pub fn release(&self) {
        if let (Some(h), Some(bus)) = (
            self.bus_handler
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
            self.pipeline.bus(),
        ) {
            bus.disconnect(h);
        }
        for m in MediaType::ALL {
            self.disconnect_loopback(m);
        }
        for pad in self.bin.src_pads() {
            if let Some(peer) = pad.peer() {
                let _ = pad.unlink(&peer);
            }
        }
        for pad in self.bin.sink_pads() {
            if let Some(peer) = pad.peer() {
                let _ = peer.unlink(&pad);
            }
        }
        let _ = self.bin.set_state(gst::State::Null);
        let _ = self.pipeline.remove(&self.bin);
    }
}
