// SPDX-License-Identifier: MPL-2.0
//! DATA pads: `sink_data_default`, `data_src_<desc>_<n>` off a data tee; connect and
//! disconnect by media type (DATA alone, or every type both sides have), listings, loopback
//! and the `Branch::Pads` of one element handling video and data.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use kurento_core_runtime::{
    Branch, ElementSpec, MediaElement, MediaObject, MediaPipeline, MediaType, gst,
};
use serde_json::Value;

type Events = Arc<Mutex<Vec<(String, Value)>>>;

struct Fixture {
    pipeline: Arc<MediaPipeline>,
    events: Events,
}

impl Fixture {
    fn new() -> Fixture {
        kurento_core_runtime::init().unwrap();
        static N: AtomicU32 = AtomicU32::new(0);
        let events = Events::default();
        let id = format!(
            "d{}-{}_kurento.MediaPipeline",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let pipeline = MediaPipeline::new(Self::object(&events, &id)).unwrap();
        Fixture { pipeline, events }
    }

    fn object(events: &Events, id: &str) -> MediaObject {
        let ev = events.clone();
        let o = MediaObject::new(
            id,
            Arc::new(move |t, d| ev.lock().unwrap().push((t.to_string(), d))),
        );
        for e in ["ElementConnected", "ElementDisconnected", "Error"] {
            o.subscribe(e);
        }
        o
    }

    fn element(&self, leaf: &str, spec: ElementSpec) -> Arc<MediaElement> {
        let id = format!("{}/{leaf}", self.pipeline.object().id());
        MediaElement::new(
            Self::object(&self.events, &id),
            self.pipeline.gst_pipeline(),
            spec,
        )
        .unwrap()
    }

    fn events(&self, kind: &str, media: &str) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, d)| t == kind && d["mediaType"] == media)
            .count()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.pipeline.release();
    }
}

fn data_src() -> gst_app::AppSrc {
    gst_app::AppSrc::builder()
        .caps(&gst::Caps::new_empty_simple("application/data"))
        .is_live(true)
        .format(gst::Format::Time)
        .do_timestamp(true)
        .build()
}

fn data_sink() -> gst_app::AppSink {
    let s = gst_app::AppSink::builder().sync(false).build();
    // Added to a playing pipeline: no preroll to wait for.
    s.set_property("async", false);
    s
}

fn send(src: &gst_app::AppSrc, text: &str) {
    src.push_buffer(gst::Buffer::from_slice(text.as_bytes().to_vec()))
        .unwrap();
}

fn receive(sink: &gst_app::AppSink) -> Option<String> {
    let s = sink.try_pull_sample(gst::ClockTime::from_seconds(3))?;
    Some(String::from_utf8(s.buffer()?.map_readable().ok()?.to_vec()).unwrap())
}

fn fakesink() -> gst::Element {
    gst::ElementFactory::make("fakesink")
        .property("async", false)
        .property("sync", false)
        .build()
        .unwrap()
}

fn video_src() -> gst::Element {
    gst::ElementFactory::make("videotestsrc")
        .property("is-live", true)
        .build()
        .unwrap()
}

/// A sender of video and data.
fn sender(f: &Fixture, leaf: &str) -> (Arc<MediaElement>, gst_app::AppSrc) {
    let src = data_src();
    let e = f.element(
        leaf,
        ElementSpec {
            audio: Branch::None,
            video: Branch::Split {
                input: None,
                output: Some(video_src()),
            },
            data: Branch::Split {
                input: None,
                output: Some(src.clone().upcast()),
            },
        },
    );
    (e, src)
}

/// A receiver of video and, when `with_data`, data.
fn receiver(f: &Fixture, leaf: &str, with_data: bool) -> (Arc<MediaElement>, gst_app::AppSink) {
    let sink = data_sink();
    let data = if with_data {
        Branch::Split {
            input: Some(sink.clone().upcast()),
            output: None,
        }
    } else {
        Branch::None
    };
    let e = f.element(
        leaf,
        ElementSpec {
            audio: Branch::None,
            video: Branch::Split {
                input: Some(fakesink()),
                output: None,
            },
            data,
        },
    );
    (e, sink)
}

fn pad_names(e: &MediaElement) -> Vec<String> {
    let mut v: Vec<String> = e
        .bin()
        .pads()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn data_connects_alone_lists_and_disconnects() {
    let f = Fixture::new();
    let (a, src) = sender(&f, "a");
    let (b, sink) = receiver(&f, "b", true);
    assert!(pad_names(&b).contains(&"sink_data_default".to_string()));
    a.connect(
        b.bin().upcast_ref(),
        Some(MediaType::Data),
        "default",
        "default",
    )
    .unwrap();
    assert!(pad_names(&a).contains(&"data_src_default_0".to_string()));
    let conns = a.sink_connections(None, None);
    assert_eq!(conns.len(), 1, "DATA only: {conns:?}");
    assert_eq!(conns[0].media_type, MediaType::Data);
    assert_eq!(conns[0].to_json()["type"], "DATA");
    assert_eq!(b.source_connections(Some(MediaType::Data), None), conns);
    assert!(
        b.source_connections(Some(MediaType::Video), None)
            .is_empty()
    );

    send(&src, "hello");
    assert_eq!(receive(&sink).as_deref(), Some("hello"));
    assert_eq!(f.events("ElementConnected", "DATA"), 1);

    a.disconnect(
        b.bin().upcast_ref(),
        Some(MediaType::Data),
        "default",
        "default",
    )
    .unwrap();
    assert!(a.sink_connections(None, None).is_empty());
    assert_eq!(f.events("ElementDisconnected", "DATA"), 1);
    send(&src, "lost");
    assert_eq!(receive(&sink), None, "nothing after the disconnection");
}

#[test]
fn connect_without_type_takes_every_type_both_sides_have() {
    let f = Fixture::new();
    let (a, src) = sender(&f, "a");
    let (with_data, sink) = receiver(&f, "b", true);
    let (video_only, _) = receiver(&f, "c", false);
    a.connect(with_data.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    a.connect(video_only.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    let types = |e: &MediaElement| {
        let mut v: Vec<&str> = e
            .source_connections(None, None)
            .iter()
            .map(|c| c.media_type.as_str())
            .collect();
        v.sort();
        v
    };
    assert_eq!(types(&with_data), ["DATA", "VIDEO"]);
    assert_eq!(types(&video_only), ["VIDEO"]);
    send(&src, "both");
    assert_eq!(receive(&sink).as_deref(), Some("both"));
    // DATA asked for explicitly where the sink has none: an error, as for any missing type.
    let (other, _) = receiver(&f, "d", false);
    assert!(
        a.connect(
            other.bin().upcast_ref(),
            Some(MediaType::Data),
            "default",
            "default"
        )
        .is_err()
    );
    // Disconnecting without a type removes DATA too.
    a.disconnect(with_data.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    assert!(with_data.source_connections(None, None).is_empty());
}

#[test]
fn data_loopback_echoes() {
    // `webRtcEndpoint.connect(webRtcEndpoint, DATA)`: what comes in goes back out.
    let f = Fixture::new();
    let (src, sink) = (data_src(), data_sink());
    let e = f.element(
        "loop",
        ElementSpec {
            audio: Branch::None,
            video: Branch::None,
            data: Branch::Split {
                input: Some(sink.clone().upcast()),
                output: Some(src.clone().upcast()),
            },
        },
    );
    e.connect(
        e.bin().upcast_ref(),
        Some(MediaType::Data),
        "default",
        "default",
    )
    .unwrap();
    let conns = e.source_connections(None, None);
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].media_type, MediaType::Data);
    send(&src, "echo");
    assert_eq!(receive(&sink).as_deref(), Some("echo"));
    e.disconnect(
        e.bin().upcast_ref(),
        Some(MediaType::Data),
        "default",
        "default",
    )
    .unwrap();
    assert!(e.source_connections(None, None).is_empty());
    send(&src, "lost");
    assert_eq!(receive(&sink), None);
}

/// A stand-in for `kmsshowdata`: one element with video and data pads.
fn video_and_data_bin() -> gst::Element {
    let bin = gst::Bin::new();
    let (v, d) = (
        gst::ElementFactory::make("identity").build().unwrap(),
        gst::ElementFactory::make("identity").build().unwrap(),
    );
    bin.add_many([&v, &d]).unwrap();
    for (name, e, pad) in [
        ("sink", &v, "sink"),
        ("src", &v, "src"),
        ("data_sink", &d, "sink"),
        ("data_src", &d, "src"),
    ] {
        let g = gst::GhostPad::builder_with_target(&e.static_pad(pad).unwrap())
            .unwrap()
            .name(name)
            .build();
        bin.add_pad(&g).unwrap();
    }
    bin.upcast()
}

#[test]
fn pads_of_an_element_of_another_branch() {
    let f = Fixture::new();
    let (a, src) = sender(&f, "a");
    let show = video_and_data_bin();
    let mid = f.element(
        "mid",
        ElementSpec {
            audio: Branch::None,
            video: Branch::Chain {
                elements: vec![show.clone()],
                input: true,
                output: true,
            },
            data: Branch::Pads {
                input: show.static_pad("data_sink"),
                output: show.static_pad("data_src"),
            },
        },
    );
    let (b, sink) = receiver(&f, "b", true);
    a.connect(mid.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    mid.connect(b.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    assert_eq!(mid.sink_connections(None, None).len(), 2);
    send(&src, "through");
    assert_eq!(receive(&sink).as_deref(), Some("through"));
}
