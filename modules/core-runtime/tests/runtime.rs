// SPDX-License-Identifier: MPL-2.0
//! The core runtime on real pipelines: videotestsrc ▸ element ▸ fakesink.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use kurento_core_runtime::{
    Branch, ElementSpec, MediaElement, MediaObject, MediaPipeline, MediaType, filter_spec, gst,
    pass_through,
};
use serde_json::Value;

type Events = Arc<Mutex<Vec<(String, String, Value)>>>;

/// An object whose events land in `events` as (object id, type, data), subscribed to all.
fn object(events: &Events, id: &str) -> MediaObject {
    let (ev, oid) = (events.clone(), id.to_string());
    let o = MediaObject::new(
        id,
        Arc::new(move |t, d| ev.lock().unwrap().push((oid.clone(), t.to_string(), d))),
    );
    for e in [
        "Error",
        "ElementConnected",
        "ElementDisconnected",
        "MediaFlowInStateChanged",
        "MediaFlowOutStateChanged",
    ] {
        o.subscribe(e);
    }
    o
}

fn wait_for(events: &Events, what: impl Fn(&(String, String, Value)) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(e) = events.lock().unwrap().iter().find(|e| what(e)) {
            return e.2.clone();
        }
        assert!(
            Instant::now() < deadline,
            "event not raised: {:?}",
            events.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn source(events: &Events, pipeline: &MediaPipeline, leaf: &str) -> Arc<MediaElement> {
    let src = gst::ElementFactory::make("videotestsrc")
        .property("is-live", true)
        .build()
        .unwrap();
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("width", 160)
                .field("height", 120)
                .field("framerate", gst::Fraction::new(30, 1))
                .build(),
        )
        .build()
        .unwrap();
    let spec = ElementSpec {
        audio: Branch::None,
        data: Branch::None,
        video: Branch::Chain {
            elements: vec![src, caps],
            input: false,
            output: true,
        },
    };
    let id = format!("{}/{leaf}", pipeline.object().id());
    MediaElement::new(object(events, &id), pipeline.gst_pipeline(), spec).unwrap()
}

fn sink(
    events: &Events,
    pipeline: &MediaPipeline,
    leaf: &str,
) -> (Arc<MediaElement>, Arc<Mutex<u32>>) {
    let fakesink = gst::ElementFactory::make("fakesink")
        // Added to a pipeline that is already PLAYING: an async sink would wait for a preroll
        // that a live source never completes.
        .property("async", false)
        .property("signal-handoffs", true)
        .property("sync", false)
        .build()
        .unwrap();
    let count = Arc::new(Mutex::new(0u32));
    let c = count.clone();
    fakesink.connect("handoff", false, move |_| {
        *c.lock().unwrap() += 1;
        None
    });
    let spec = ElementSpec {
        audio: Branch::None,
        data: Branch::None,
        video: Branch::Chain {
            elements: vec![fakesink],
            input: true,
            output: false,
        },
    };
    let id = format!("{}/{leaf}", pipeline.object().id());
    (
        MediaElement::new(object(events, &id), pipeline.gst_pipeline(), spec).unwrap(),
        count,
    )
}

fn wait_frames(count: &Arc<Mutex<u32>>, n: u32) {
    let start = *count.lock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while *count.lock().unwrap() < start + n {
        assert!(
            Instant::now() < deadline,
            "frames stopped at {}",
            *count.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pipeline(events: &Events) -> Arc<MediaPipeline> {
    kurento_core_runtime::init().unwrap();
    let id = format!("{}_kurento.MediaPipeline", uuid_like());
    MediaPipeline::new(object(events, &id)).unwrap()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "p{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[test]
fn connect_flow_and_disconnect_through_a_pass_through() {
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let src = source(&events, &p, "src_fixture.Source");
    let pass_id = format!("{}/pass_kurento.PassThrough", p.object().id());
    let pass =
        MediaElement::new(object(&events, &pass_id), p.gst_pipeline(), pass_through()).unwrap();
    let (out, frames) = sink(&events, &p, "out_fixture.Sink");

    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !src.is_media_flowing_out(MediaType::Video, "default"),
        "nothing flows out of an unconnected source"
    );
    src.connect(pass.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    pass.connect(
        out.bin().upcast_ref(),
        Some(MediaType::Video),
        "default",
        "default",
    )
    .unwrap();
    let connected = wait_for(&events, |(o, t, d)| {
        *o == pass_id && t == "ElementConnected" && d["mediaType"] == "VIDEO"
    });
    assert_eq!(connected["sink"], out.object().id());
    assert_eq!(connected["type"], "ElementConnected");
    wait_frames(&frames, 10);

    let flowing = wait_for(&events, |(o, t, d)| {
        *o == pass_id && t == "MediaFlowInStateChanged" && d["state"] == "FLOWING"
    });
    assert_eq!(flowing["mediaType"], "VIDEO");
    assert_eq!(flowing["padName"], "default");
    assert!(pass.is_media_flowing_in(MediaType::Video, "default"));
    assert!(pass.is_media_flowing_out(MediaType::Video, "default"));
    assert!(!pass.is_media_flowing_in(MediaType::Audio, "default"));

    let sources = pass.source_connections(None, None);
    assert_eq!(sources.len(), 1, "only video: the source has no audio");
    assert_eq!(sources[0].source, src.object().id());
    assert_eq!(sources[0].media_type, MediaType::Video);
    let sinks = pass.sink_connections(Some(MediaType::Video), Some("default"));
    assert_eq!(sinks[0].sink, out.object().id());
    assert_eq!(sinks[0].to_json()["__type__"], "ElementConnectionData");

    let mut children = p.children();
    children.sort();
    assert_eq!(children.len(), 3);
    assert!(children.contains(&pass_id));
    assert!(p.gstreamer_dot(None).unwrap().starts_with("digraph"));
    assert!(
        pass.gstreamer_dot(Some("SHOW_ALL"))
            .unwrap()
            .contains("digraph")
    );
    assert!(pass.gstreamer_dot(Some("nope")).is_err());

    pass.disconnect(out.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_for(&events, |(o, t, _)| {
        *o == pass_id && t == "ElementDisconnected"
    });
    assert!(pass.sink_connections(None, None).is_empty());
    // Output stops: the sink's input goes NOT_FLOWING after the timeout.
    wait_for(&events, |(o, t, d)| {
        *o == out.object().id() && t == "MediaFlowInStateChanged" && d["state"] == "NOT_FLOWING"
    });
    // The source keeps running into the pass-through: a disconnected sink never stalls it.
    assert!(src.is_media_flowing_out(MediaType::Video, "default"));

    for e in [&out, &pass, &src] {
        e.release();
    }
    assert!(p.children().is_empty());
    p.release();
}

#[test]
fn a_new_source_takes_the_sink_over() {
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let a = source(&events, &p, "a_fixture.Source");
    let b = source(&events, &p, "b_fixture.Source");
    let (out, frames) = sink(&events, &p, "out_fixture.Sink");
    a.connect(out.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_frames(&frames, 5);
    b.connect(out.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    let gone = wait_for(&events, |(o, t, _)| {
        *o == a.object().id() && t == "ElementDisconnected"
    });
    assert_eq!(gone["sink"], out.object().id());
    assert_eq!(
        out.source_connections(None, None)[0].source,
        b.object().id()
    );
    wait_frames(&frames, 5);
    // Elements of different pipelines cannot be connected.
    let p2 = pipeline(&events);
    let (other, _) = sink(&events, &p2, "o_fixture.Sink");
    let err = a
        .connect(other.bin().upcast_ref(), None, "default", "default")
        .unwrap_err();
    assert_eq!((err.code, err.error_type), (40004, "CONNECT_ERROR"));
    other.release();
    p2.release();
    // Releasing the sink disconnects its source.
    out.release();
    wait_for(&events, |(o, t, _)| {
        *o == b.object().id() && t == "ElementDisconnected"
    });
    a.release();
    b.release();
    p.release();
}

#[test]
fn filter_wrapper_runs_the_filter_between_converters_with_a_leaky_queue() {
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let flip = gst::ElementFactory::make("videoflip")
        .property_from_str("method", "horizontal-flip")
        .build()
        .unwrap();
    let spec = filter_spec(&flip, None).unwrap();
    let id = format!("{}/f_kurento.GStreamerFilter", p.object().id());
    let filter = MediaElement::new(object(&events, &id), p.gst_pipeline(), spec).unwrap();
    let queue = filter
        .bin()
        .iterate_elements()
        .into_iter()
        .flatten()
        .find(|e| e.factory().is_some_and(|f| f.name() == "queue"))
        .expect("leaky queue");
    assert_eq!(queue.property::<u32>("max-size-buffers"), 1);
    let leaky = queue.property_value("leaky");
    let (_, leaky) = gst::glib::EnumValue::from_value(&leaky).unwrap();
    assert_eq!(leaky.nick(), "downstream");
    let src = source(&events, &p, "s_fixture.Source");
    let (out, frames) = sink(&events, &p, "o_fixture.Sink");
    src.connect(filter.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    filter
        .connect(out.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_frames(&frames, 10);
    assert!(filter.is_media_flowing_out(MediaType::Video, "default"));
    // A filter without src/sink pads is refused as Kurento does.
    let bad = gst::ElementFactory::make("fakesink").build().unwrap();
    assert_eq!(filter_spec(&bad, None).err().unwrap().code, 40108);
    for e in [&out, &filter, &src] {
        e.release();
    }
    p.release();
}

#[test]
fn element_errors_become_error_events() {
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let filesrc = gst::ElementFactory::make("filesrc")
        // A directory: filesrc fails with RESOURCE / OPEN_READ.
        .property("location", "/")
        .build()
        .unwrap();
    let id = format!("{}/bad_fixture.Source", p.object().id());
    let spec = ElementSpec {
        audio: Branch::None,
        data: Branch::None,
        video: Branch::Chain {
            elements: vec![filesrc],
            input: false,
            output: true,
        },
    };
    // The state change fails right away; the element still reports why through an event.
    let bad = MediaElement::new(object(&events, &id), p.gst_pipeline(), spec).unwrap();
    let err = wait_for(&events, |(o, t, _)| *o == id && t == "Error");
    assert_eq!(err["type"], "RESOURCE_ERROR_OPEN");
    assert_eq!(err["source"], id.as_str());
    let d = err["description"].as_str().unwrap();
    assert!(d.starts_with("Error code 5: "), "{d}"); // GST_RESOURCE_ERROR_OPEN_READ
    assert!(d.contains(&format!("element: {id}")), "{d}");
    assert!(err["errorCode"].as_i64().is_some());

    // An error from outside every element is the pipeline's own.
    let stray = gst::ElementFactory::make("fakesink")
        // Added to a pipeline that is already PLAYING: an async sink would wait for a preroll
        // that a live source never completes.
        .property("async", false)
        .name("stray")
        .build()
        .unwrap();
    p.gst_pipeline().add(&stray).unwrap();
    let _ = stray.post_message(
        gst::message::Error::builder(gst::CoreError::Failed, "stray failure")
            .src(&stray)
            .build(),
    );
    let perr = wait_for(&events, |(o, t, _)| *o == p.object().id() && t == "Error");
    assert_eq!(perr["type"], "UNEXPECTED_PIPELINE_ERROR");
    assert!(
        perr["description"]
            .as_str()
            .unwrap()
            .contains("stray failure")
    );
    bad.release();
    p.release();
}

#[test]
fn core_operations_by_name_with_kurentos_parameter_checks() {
    use kurento_core_runtime::CoreError;
    use serde_json::json;
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let src = source(&events, &p, "s_fixture.Source");
    let pass_id = format!("{}/pass_kurento.PassThrough", p.object().id());
    let pass =
        MediaElement::new(object(&events, &pass_id), p.gst_pipeline(), pass_through()).unwrap();
    let bin = pass.bin().clone();
    let resolve = move |id: &str| -> Result<gst::Element, CoreError> {
        if id == bin.name().as_str() {
            Ok(bin.clone().upcast())
        } else {
            Err(CoreError::not_found(format!("Object '{id}' not found")))
        }
    };
    let call = |e: &MediaElement, op: &str, params: Value| {
        e.invoke_inherited(op, &params, &resolve).expect(op)
    };
    let fails = |r: Result<Value, CoreError>, msg: &str| {
        let e = r.unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (40001, msg));
    };

    assert_eq!(call(&pass, "getName", Value::Null).unwrap(), json!(pass_id));
    fails(
        call(&pass, "setName", Value::Null),
        "'operationParams' is required",
    );
    fails(
        call(&pass, "setName", json!({"name": []})),
        "'name' parameter should be a string",
    );
    fails(
        call(&pass, "setName", json!([1])),
        "'operationParams' should be an object",
    );
    call(&pass, "setName", json!({"name": "pt"})).unwrap();
    assert_eq!(call(&pass, "getName", Value::Null).unwrap(), "pt");
    assert_eq!(
        call(&pass, "getMediaPipeline", Value::Null).unwrap(),
        json!(p.object().id())
    );
    assert_eq!(
        call(&pass, "getParent", Value::Null).unwrap(),
        json!(p.object().id())
    );
    call(&pass, "addTag", json!({"key": "k", "value": "v"})).unwrap();
    assert_eq!(call(&pass, "getTags", Value::Null).unwrap()[0]["key"], "k");
    assert_eq!(
        call(&pass, "getTag", json!({"key": "x"})).unwrap_err().code,
        40110
    );

    fails(
        call(
            &src,
            "connect",
            json!({"sink": pass_id, "mediaType": "NOPE"}),
        ),
        "Invalid value for 'MediaType'",
    );
    assert_eq!(
        call(&src, "connect", json!({"sink": "ghost"}))
            .unwrap_err()
            .code,
        40101
    );
    // mediaType absent: the descriptions do not count (overload rule), so this is connect(sink).
    call(
        &src,
        "connect",
        json!({"sink": pass_id, "sourceMediaDescription": "other"}),
    )
    .unwrap();
    let sinks = call(&src, "getSinkConnections", json!({"mediaType": "VIDEO"})).unwrap();
    assert_eq!(sinks[0]["sink"], json!(pass_id));
    assert_eq!(sinks[0]["type"], "VIDEO");
    fails(
        call(&pass, "isMediaFlowingIn", Value::Null),
        "'operationParams' is required",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&pass, "isMediaFlowingIn", json!({"mediaType": "VIDEO"})).unwrap() != json!(true) {
        assert!(Instant::now() < deadline, "media never flowed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        call(&pass, "isMediaTranscoding", json!({"mediaType": "VIDEO"})).unwrap(),
        false
    );
    assert_eq!(
        call(&pass, "getEncoderBitrate", Value::Null).unwrap(),
        300000
    );
    call(
        &pass,
        "setMaxEncoderBitrate",
        json!({"maxEncoderBitrate": 500000}),
    )
    .unwrap();
    assert_eq!(
        call(&pass, "getMaxEncoderBitrate", Value::Null).unwrap(),
        500000
    );
    fails(
        call(
            &pass,
            "setEncoderBitrate",
            json!({"encoderBitrate": "lots"}),
        ),
        "'encoderBitrate' parameter should be a integer",
    );
    let stats = call(&pass, "getStats", Value::Null).unwrap();
    assert_eq!(
        stats.as_object().unwrap().values().next().unwrap()["type"],
        "element"
    );
    assert_eq!(
        call(&pass, "setVideoFormat", json!({"caps": {}}))
            .unwrap_err()
            .code,
        40006
    );
    assert!(
        pass.invoke_inherited("frobnicate", &Value::Null, &resolve)
            .is_none()
    );
    call(&src, "disconnect", json!({"sink": pass_id})).unwrap();
    assert_eq!(
        call(&src, "getSinkConnections", Value::Null).unwrap(),
        json!([])
    );

    let pcall = |op: &str, params: Value| p.invoke_inherited(op, &params).expect(op);
    assert_eq!(pcall("getLatencyStats", Value::Null).unwrap(), false);
    pcall("setLatencyStats", json!({"latencyStats": true})).unwrap();
    assert_eq!(pcall("getLatencyStats", Value::Null).unwrap(), true);
    assert_eq!(
        pcall("getChildren", Value::Null)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        pcall("getMediaPipeline", Value::Null).unwrap(),
        json!(p.object().id())
    );
    assert_eq!(pcall("getParent", Value::Null).unwrap(), Value::Null);
    assert!(
        pcall("getGstreamerDot", json!({"details": "SHOW_STATES"}))
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("digraph")
    );
    src.release();
    pass.release();
    p.release();
}

/// An endpoint's two halves: a fakesink input (returned) and a live videotestsrc output (a
/// PassThrough connected to itself would be a caps-query loop).
fn split_element(
    events: &Events,
    p: &MediaPipeline,
    id: &str,
) -> (Arc<MediaElement>, gst::Element) {
    let input = gst::ElementFactory::make("fakesink")
        // Added to a pipeline that is already PLAYING: an async sink would wait for a preroll
        // that a live source never completes.
        .property("async", false)
        .property("sync", false)
        .build()
        .unwrap();
    let output = gst::ElementFactory::make("videotestsrc")
        .property("is-live", true)
        .build()
        .unwrap();
    let spec = ElementSpec {
        audio: Branch::None,
        data: Branch::None,
        video: Branch::Split {
            input: Some(input.clone()),
            output: Some(output),
        },
    };
    let e = MediaElement::new(object(events, id), p.gst_pipeline(), spec).unwrap();
    (e, input)
}

#[test]
fn an_element_connects_to_itself_for_loopback() {
    // The hello-world tutorial's `webRtcEndpoint.connect(webRtcEndpoint)`.
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let id = format!("{}/loop_kurento.PassThrough", p.object().id());
    let (e, _) = split_element(&events, &p, &id);
    e.connect(
        e.bin().upcast_ref(),
        Some(MediaType::Video),
        "default",
        "default",
    )
    .unwrap();
    let conns = e.source_connections(Some(MediaType::Video), None);
    assert_eq!(conns.len(), 1);
    assert_eq!(
        (conns[0].source.as_str(), conns[0].sink.as_str()),
        (id.as_str(), id.as_str())
    );
    assert_eq!(e.sink_connections(None, None), conns);
    e.disconnect(
        e.bin().upcast_ref(),
        Some(MediaType::Video),
        "default",
        "default",
    )
    .unwrap();
    assert!(e.source_connections(None, None).is_empty());
    e.connect(e.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_for(&events, |(o, t, d)| {
        *o == id && t == "MediaFlowInStateChanged" && d["state"] == "FLOWING"
    });
    // State changes of the pipeline do not deadlock on the loop (they would on a link of the
    // bin's own pads).
    p.gst_pipeline().set_state(gst::State::Paused).unwrap();
    p.gst_pipeline().set_state(gst::State::Playing).unwrap();
    e.release();
    p.release();
}

/// A source of VP8 (what a WebRTC endpoint forwards): videotestsrc ▸ vp8enc.
fn vp8_source(events: &Events, pipeline: &MediaPipeline, leaf: &str) -> Arc<MediaElement> {
    let src = gst::parse::bin_from_description(
        "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! vp8enc deadline=1",
        true,
    )
    .unwrap()
    .upcast::<gst::Element>();
    let spec = ElementSpec {
        audio: Branch::None,
        video: Branch::Chain {
            elements: vec![src],
            input: false,
            output: true,
        },
        data: Branch::None,
    };
    let id = format!("{}/{leaf}", pipeline.object().id());
    MediaElement::new(object(events, &id), pipeline.gst_pipeline(), spec).unwrap()
}

/// Raw frames counted at `pad`, with the caps they carry.
fn raw_frames(pad: &gst::Pad) -> Arc<Mutex<u32>> {
    let n = Arc::new(Mutex::new(0u32));
    let c = n.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
        let raw = pad
            .current_caps()
            .and_then(|c| c.structure(0).map(|s| s.name() == "video/x-raw"))
            .unwrap_or(false);
        if raw {
            *c.lock().unwrap() += 1;
        }
        gst::PadProbeReturn::Ok
    });
    n
}

/// A videoflip filter (filter_spec host) and its count of raw frames out.
fn flip_filter(
    events: &Events,
    p: &MediaPipeline,
    leaf: &str,
) -> (Arc<MediaElement>, Arc<Mutex<u32>>) {
    let flip = gst::ElementFactory::make("videoflip")
        .property_from_str("method", "horizontal-flip")
        .build()
        .unwrap();
    let id = format!("{}/{leaf}", p.object().id());
    let spec = filter_spec(&flip, Some(MediaType::Video)).unwrap();
    let filter = MediaElement::new(object(events, &id), p.gst_pipeline(), spec).unwrap();
    (filter, raw_frames(&flip.static_pad("src").unwrap()))
}

#[test]
fn encoded_input_is_decoded_only_where_raw_frames_are_needed() {
    let events: Events = Arc::default();
    let p = pipeline(&events);
    // A filter fed with VP8 decodes it before its leaky queue.
    let (filter, flipped) = flip_filter(&events, &p, "f_kurento.GStreamerFilter");
    let vp8 = vp8_source(&events, &p, "v_fixture.Vp8Source");
    vp8.connect(filter.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_frames(&flipped, 10);
    assert!(filter.is_media_transcoding(MediaType::Video, ""));
    assert!(!filter.is_media_transcoding(MediaType::Audio, ""));
    // A sink whose first element only takes raw video gets a decoding input by itself.
    let convert = gst::ElementFactory::make("videoconvert").build().unwrap();
    let fakesink = gst::ElementFactory::make("fakesink")
        .property("async", false)
        .property("sync", false)
        .build()
        .unwrap();
    let converted = raw_frames(&convert.static_pad("src").unwrap());
    let spec = ElementSpec {
        audio: Branch::None,
        video: Branch::Chain {
            elements: vec![convert, fakesink],
            input: true,
            output: false,
        },
        data: Branch::None,
    };
    let id = format!("{}/r_fixture.RawSink", p.object().id());
    let raw_sink = MediaElement::new(object(&events, &id), p.gst_pipeline(), spec).unwrap();
    vp8.connect(raw_sink.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_frames(&converted, 10);
    assert!(raw_sink.is_media_transcoding(MediaType::Video, ""));
    // Raw input: the same filter host decodes nothing.
    let (raw_filter, passed) = flip_filter(&events, &p, "g_kurento.GStreamerFilter");
    let src = source(&events, &p, "s_fixture.Source");
    src.connect(raw_filter.bin().upcast_ref(), None, "default", "default")
        .unwrap();
    wait_frames(&passed, 10);
    assert!(!raw_filter.is_media_transcoding(MediaType::Video, ""));
    assert!(
        !events.lock().unwrap().iter().any(|e| e.1 == "Error"),
        "{:?}",
        events.lock().unwrap()
    );
    for e in [&src, &raw_filter, &raw_sink, &vp8, &filter] {
        e.release();
    }
    p.release();
}
#[test]
fn a_new_source_takes_a_loopback_input_over() {
    // The browser magic-mirror tutorial: `ep.connect(ep)` runs, then `filter.connect(ep)`.
    let events: Events = Arc::default();
    let p = pipeline(&events);
    let id = format!("{}/loop_kurento.PassThrough", p.object().id());
    // Its own output: videotestsrc's default 320×240; the other source sends 160×120.
    let (e, input) = split_element(&events, &p, &id);
    let width = || {
        input
            .property::<Option<gst::Sample>>("last-sample")
            .and_then(|s| {
                s.caps()
                    .and_then(|c| c.structure(0)?.get::<i32>("width").ok())
            })
    };
    let wait_width = |w: i32| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while width() != Some(w) {
            assert!(
                Instant::now() < deadline,
                "input never got width {w}: {:?}",
                width()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    video_to(&e, &e);
    wait_width(320);
    let src = source(&events, &p, "src_kurento.PassThrough");
    video_to(&src, &e);
    let gone = wait_for(&events, |(o, t, _)| *o == id && t == "ElementDisconnected");
    assert_eq!(gone["sink"], id.as_str());
    wait_width(160);
    let conns = e.source_connections(Some(MediaType::Video), None);
    assert_eq!(conns.len(), 1, "{conns:?}");
    assert_eq!(conns[0].source, src.object().id());
    // And back: the loop takes the input from the other source again.
    video_to(&e, &e);
    wait_width(320);
    assert_eq!(e.source_connections(Some(MediaType::Video), None).len(), 1);
    src.release();
    e.release();
    p.release();
}

fn video_to(source: &MediaElement, sink: &MediaElement) {
    source
        .connect(
            sink.bin().upcast_ref(),
            Some(MediaType::Video),
            "default",
            "default",
        )
        .unwrap();
}
