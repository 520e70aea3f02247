// SPDX-License-Identifier: MPL-2.0
//! The module through its C entry point with a fake host, on a real pipeline: a source of
//! video and data connected to KmsShowData (text drawn on the frames that reach a sink), QR
//! frames into KmsSendData (code text at a data sink), connection listings with DATA, and the
//! classes whose elements are missing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use kurento_core_runtime::{Branch, ElementSpec, MediaElement, MediaObject};
use kurento_module_glue::testing::{Host, Module, error_of};
use serde_json::{Value, json};

fn module() -> (&'static Host, Module) {
    Host::load(
        gstdatachannelexample::plugin_register_static,
        kmsdatachannelexamplemodule::kurento_module_entry,
        "datachannelexample",
    )
}

/// A host-side element registered as object `<pipeline>/<leaf>`.
fn host_element(host: &Host, leaf: &str, spec: ElementSpec) -> Arc<MediaElement> {
    let id = format!("{}/{leaf}", host.pipeline_id());
    let e = MediaElement::new(
        MediaObject::new(&id, Arc::new(|_, _| {})),
        host.gst_pipeline(),
        spec,
    )
    .unwrap();
    host.register_element(&id, &e.bin().clone().upcast());
    e
}

fn data_appsrc() -> gst_app::AppSrc {
    gst_app::AppSrc::builder()
        .caps(&gst::Caps::new_empty_simple("application/data"))
        .is_live(true)
        .format(gst::Format::Time)
        .do_timestamp(true)
        .build()
}

fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Bright pixels (text) in the lower half of a packed BGR frame.
fn bright_pixels(sample: &gst::Sample) -> usize {
    let s = sample.caps().unwrap().structure(0).unwrap().to_owned();
    let (w, h) = (
        s.get::<i32>("width").unwrap() as usize,
        s.get::<i32>("height").unwrap() as usize,
    );
    let stride = (w * 3).div_ceil(4) * 4;
    let map = sample.buffer().unwrap().map_readable().unwrap();
    (h / 2..h)
        .flat_map(|y| (0..w).map(move |x| y * stride + x * 3))
        .filter(|&i| map[i] > 150 && map[i + 1] > 150 && map[i + 2] > 150)
        .count()
}

fn types_of(connections: &Value) -> Vec<String> {
    let mut v: Vec<String> = connections
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn kms_show_data_draws_the_text_it_receives() {
    let (host, m) = module();
    let (show_id, show) = m.create_ok("KmsShowData", json!({"mediaPipeline": host.pipeline_id()}));
    // A source of black frames and of data messages (a WebRtcEndpoint with data channels).
    let text = data_appsrc();
    let video = gst::parse::bin_from_description(
        "videotestsrc is-live=true pattern=black ! capsfilter caps=video/x-raw,width=320,height=240,framerate=30/1",
        true,
    )
    .unwrap();
    let source = host_element(
        host,
        "source",
        ElementSpec {
            audio: Branch::None,
            video: Branch::Split {
                input: None,
                output: Some(video.upcast()),
            },
            data: Branch::Split {
                input: None,
                output: Some(text.clone().upcast()),
            },
        },
    );
    // Without a media type: VIDEO and DATA, the types both sides have.
    source
        .connect(&m.gst_element(show), None, "default", "default")
        .unwrap();
    let listed = m.invoke(show, "getSourceConnections", json!({}));
    assert_eq!(types_of(&listed["value"]), ["DATA", "VIDEO"], "{listed}");
    let frames = Arc::new(AtomicUsize::new(0));
    let bright = Arc::new(AtomicUsize::new(0));
    let (f, b) = (frames.clone(), bright.clone());
    let sink = host.sink("sink", move |s| {
        b.store(bright_pixels(s), Ordering::SeqCst);
        f.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(
        m.invoke(show, "connect", json!({"sink": sink})),
        json!({"value": null})
    );
    wait("black frames", || frames.load(Ordering::SeqCst) > 5);
    assert_eq!(bright.load(Ordering::SeqCst), 0, "no text yet");

    text.push_buffer(gst::Buffer::from_slice(
        b"hello from the data channel".to_vec(),
    ))
    .unwrap();
    wait("text on the frames", || bright.load(Ordering::SeqCst) > 100);
    text.push_buffer(gst::Buffer::from_slice(Vec::<u8>::new()))
        .unwrap();
    wait("text cleared", || bright.load(Ordering::SeqCst) == 0);
    m.release(show);
    assert!(host.gst_pipeline().by_name(&show_id).is_none());
    host.shutdown();
}

/// GRAY8 320x240 frame, white, with the QR code of `text` (4 pixels per module).
fn qr_frame(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let (n, colors) = (code.width(), code.to_colors());
    let mut f = vec![255u8; 320 * 240];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (60 + (i % n) * 4, 40 + (i / n) * 4);
            for dy in 0..4 {
                f[(y + dy) * 320 + x..(y + dy) * 320 + x + 4].fill(0);
            }
        }
    }
    f
}

#[test]
fn kms_send_data_sends_the_codes_it_reads() {
    let (host, m) = module();
    let (_, send) = m.create_ok("KmsSendData", json!({"mediaPipeline": host.pipeline_id()}));
    let camera = gst_app::AppSrc::builder()
        .caps(
            &gst::Caps::builder("video/x-raw")
                .field("format", "GRAY8")
                .field("width", 320)
                .field("height", 240)
                .field("framerate", gst::Fraction::new(15, 1))
                .build(),
        )
        .is_live(true)
        .format(gst::Format::Time)
        .do_timestamp(true)
        .build();
    let source = host_element(
        host,
        "camera",
        ElementSpec {
            audio: Branch::None,
            video: Branch::Split {
                input: None,
                output: Some(camera.clone().upcast()),
            },
            data: Branch::None,
        },
    );
    source
        .connect(&m.gst_element(send), None, "default", "default")
        .unwrap();
    // A data-only receiver (a WebRtcEndpoint's data input).
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let appsink = gst_app::AppSink::builder().sync(false).build();
    appsink.set_property("async", false);
    let r = received.clone();
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Error)?;
                let map = sample.buffer().unwrap().map_readable().unwrap();
                r.lock()
                    .unwrap()
                    .push(String::from_utf8(map.to_vec()).expect("UTF-8"));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let receiver = host_element(
        host,
        "receiver",
        ElementSpec {
            audio: Branch::None,
            video: Branch::None,
            data: Branch::Split {
                input: Some(appsink.upcast()),
                output: None,
            },
        },
    );
    let receiver_id = receiver.object().id().to_string();
    assert_eq!(
        m.invoke(
            send,
            "connect",
            json!({"sink": receiver_id, "mediaType": "DATA"})
        ),
        json!({"value": null})
    );
    let listed = m.invoke(send, "getSinkConnections", json!({"mediaType": "DATA"}));
    assert_eq!(listed["value"][0]["sink"], receiver_id.as_str(), "{listed}");

    let stop = Arc::new(AtomicBool::new(false));
    let (s, frame) = (stop.clone(), qr_frame("https://example.org/kurento"));
    let feeder = std::thread::spawn(move || {
        while !s.load(Ordering::SeqCst) {
            let _ = camera.push_buffer(gst::Buffer::from_slice(frame.clone()));
            std::thread::sleep(Duration::from_millis(66));
        }
    });
    wait("code text at the receiver", || {
        received
            .lock()
            .unwrap()
            .iter()
            .any(|t| t.ends_with("type QR-Code, symbol https://example.org/kurento"))
    });
    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    m.release(send);
    host.shutdown();
}

#[test]
fn face_classes_without_their_elements_are_not_available() {
    let (host, m) = module();
    for (class, element) in [
        ("KmsDetectFaces", "facedetectormetadata"),
        ("KmsShowFaces", "imageoverlaymetadata"),
    ] {
        let (reply, obj) = m.create(class, json!({"mediaPipeline": host.pipeline_id()}));
        assert!(obj.is_none());
        let (code, message) = error_of(&reply);
        assert_eq!(code, 40108, "{reply}");
        assert!(message.contains(element), "{message}");
    }
    let (reply, _) = m.create("KmsShowData", json!({}));
    assert!(error_of(&reply).1.contains("mediaPipeline"), "{reply}");
    host.shutdown();
}
