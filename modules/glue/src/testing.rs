// SPDX-License-Identifier: MPL-2.0
//! A small fake host for the filter modules' tests: it drives a module through its C ABI as
//! `kurento-media-server` does (create, invoke, subscribe, release, `gst_element`), owns a real
//! `MediaPipeline` of `kurento-core-runtime`, resolves ids to objects, and records every event
//! the module emits together with the index of the frame the filter element was processing.
//! Media comes from a bundled clip (`filesrc ! matroskademux ! vp8dec`, paced in real time)
//! and leaves through an `appsink`, both plain core-runtime media elements.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gst::prelude::*;
use kurento_core_runtime::{Branch, ElementSpec, MediaElement, MediaObject, MediaPipeline};
use kurento_module_abi::{ABI_VERSION, HostApi, ModuleVTable, ObjectHandle, ObjectRef};
use serde_json::{Value, json};

/// One event the module handed to the host.
#[derive(Debug, Clone)]
pub struct Event {
    pub object: String,
    pub event_type: String,
    pub data: Value,
    /// The index in the clip of the frame the filter element was processing when the event
    /// was emitted (see [`Host::count_frames`]).
    pub frame: usize,
}

pub struct Host {
    api: OnceLock<HostApi>,
    pipeline: Arc<MediaPipeline>,
    objects: Mutex<HashMap<String, (usize, usize)>>,
    events: Mutex<Vec<Event>>,
    frames: AtomicUsize,
    eos: Arc<AtomicBool>,
    elements: Mutex<Vec<Arc<MediaElement>>>,
}

// SAFETY: the raw pointers held (HostApi ctx, object handles) are only dereferenced by the
// module, which allows calls from any thread.
unsafe impl Send for Host {}
unsafe impl Sync for Host {}

unsafe extern "C" fn emit_event(ctx: *const c_void, object: *const c_char, event: *const c_char) {
    // SAFETY: ctx is the leaked Host; strings are valid for the call.
    let host = unsafe { &*(ctx as *const Host) };
    let object = unsafe { CStr::from_ptr(object) }
        .to_string_lossy()
        .into_owned();
    let v: Value = serde_json::from_str(&unsafe { CStr::from_ptr(event) }.to_string_lossy())
        .expect("events are JSON");
    let frame = host.frames.load(Ordering::SeqCst).saturating_sub(1);
    host.events.lock().unwrap().push(Event {
        object,
        event_type: v["type"].as_str().expect("event type").to_string(),
        data: v["data"].clone(),
        frame,
    });
}

unsafe extern "C" fn resolve_object(ctx: *const c_void, id: *const c_char) -> ObjectRef {
    // SAFETY: as in emit_event.
    let host = unsafe { &*(ctx as *const Host) };
    let id = unsafe { CStr::from_ptr(id) }.to_string_lossy();
    match host.objects.lock().unwrap().get(id.as_ref()) {
        Some(&(module, handle)) => ObjectRef {
            module: module as *const ModuleVTable,
            handle: handle as ObjectHandle,
        },
        None => ObjectRef {
            module: std::ptr::null(),
            handle: std::ptr::null_mut(),
        },
    }
}

// ---- the host's own objects (pipeline, source, sink): a module whose handles are elements --

unsafe extern "C" fn no_create(
    _: *const HostApi,
    _: *const c_char,
    _: *const c_char,
    _: *const c_char,
    _: *mut ObjectHandle,
) -> *mut c_char {
    kurento_module_abi::into_c_string(&kurento_module_abi::error_reply(
        40108,
        "MEDIA_OBJECT_NOT_AVAILABLE",
        "not a factory",
    ))
}
unsafe extern "C" fn no_invoke(_: ObjectHandle, _: *const c_char, _: *const c_char) -> *mut c_char {
    kurento_module_abi::into_c_string(&kurento_module_abi::error_reply(
        40008,
        "MALFORMED_TRANSACTION",
        "the test host's objects have no operations",
    ))
}
unsafe extern "C" fn no_subscribe(_: ObjectHandle, _: *const c_char) -> *mut c_char {
    kurento_module_abi::into_c_string(&json!({"value": false}))
}
unsafe extern "C" fn handle_is_element(h: ObjectHandle) -> *mut c_void {
    h
}
unsafe extern "C" fn no_release(_: ObjectHandle) {}

static HOST_OBJECTS: ModuleVTable = ModuleVTable {
    abi_version: ABI_VERSION,
    name: c"core".as_ptr(),
    version: c"7.3.0".as_ptr(),
    generation_time: c"".as_ptr(),
    descriptor_json: c"{}".as_ptr(),
    create: no_create,
    invoke: no_invoke,
    subscribe: no_subscribe,
    gst_element: handle_is_element,
    release: no_release,
    free_string: kurento_module_abi::free_c_string,
};

fn unique() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

impl Host {
    /// A host with a fresh, playing `MediaPipeline` (id `<n>_kurento.MediaPipeline`).
    pub fn new() -> &'static Host {
        kurento_core_runtime::init().unwrap();
        let id = format!("p{}-{}_kurento.MediaPipeline", std::process::id(), unique());
        let pipeline = MediaPipeline::new(MediaObject::new(&id, Arc::new(|_, _| {}))).unwrap();
        let eos = Arc::new(AtomicBool::new(false));
        let flag = eos.clone();
        pipeline
            .gst_pipeline()
            .bus()
            .unwrap()
            .connect_sync_message(None, move |_, msg| {
                if let gst::MessageView::Eos(_) = msg.view() {
                    flag.store(true, Ordering::SeqCst);
                }
            });
        let host: &'static Host = Box::leak(Box::new(Host {
            api: OnceLock::new(),
            pipeline,
            objects: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            frames: AtomicUsize::new(0),
            eos,
            elements: Mutex::new(Vec::new()),
        }));
        host.api.get_or_init(|| HostApi {
            ctx: (host as *const Host).cast(),
            emit_event,
            resolve_object,
        });
        let p = host
            .pipeline
            .gst_pipeline()
            .clone()
            .upcast::<gst::Element>();
        host.register_element(&id, &p);
        host
    }

    pub fn pipeline_id(&self) -> String {
        self.pipeline.object().id().to_string()
    }

    pub fn gst_pipeline(&self) -> &gst::Pipeline {
        self.pipeline.gst_pipeline()
    }

    /// Makes `element` resolvable as object `id` (e.g. as the sink of `connect`).
    pub fn register_element(&self, id: &str, element: &gst::Element) {
        self.objects.lock().unwrap().insert(
            id.to_string(),
            (
                &HOST_OBJECTS as *const ModuleVTable as usize,
                element.as_ptr() as usize,
            ),
        );
    }

    /// Initialises GStreamer, registers the plugin of the module's element once per process
    /// (`gst<name>::plugin_register_static`), and loads the module named `name` on a new host.
    pub fn load(
        register: fn() -> Result<(), gst::glib::BoolError>,
        entry: extern "C" fn() -> *const ModuleVTable,
        name: &str,
    ) -> (&'static Host, Module) {
        static REGISTERED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        gst::init().unwrap();
        {
            let mut done = REGISTERED.lock().unwrap();
            if !done.contains(&(register as usize)) {
                register().unwrap();
                done.push(register as usize);
            }
        }
        let host = Host::new();
        let module = host.module(entry);
        assert_eq!(module.name(), name);
        (host, module)
    }

    /// Waits until the counted element has reached frame `n - 1` of the clip; returns
    /// [`Host::frames`].
    pub fn wait_frames(&self, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.frames() < n {
            assert!(
                Instant::now() < deadline,
                "frames stopped at {}",
                self.frames()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.frames()
    }

    /// Loads a module through its entry point (`<lib>::kurento_module_entry`).
    pub fn module(&'static self, entry: extern "C" fn() -> *const ModuleVTable) -> Module {
        // SAFETY: module tables are static.
        let table = unsafe { &*entry() };
        assert_eq!(table.abi_version, ABI_VERSION);
        Module { table, host: self }
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// Events of one type.
    pub fn events_of(&self, event_type: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }

    /// One more than the clip index of the last frame the counted element received.
    pub fn frames(&self) -> usize {
        self.frames.load(Ordering::SeqCst)
    }

    /// Follows the buffers entering `element`'s `sink` pad: the frame index of events. The
    /// index comes from the buffer's timestamp and the caps' frame rate, so frames the filter
    /// host's leaky queue drops under load do not shift it (without either, buffers are
    /// counted).
    pub fn count_frames(&'static self, element: &gst::Element) {
        element
            .static_pad("sink")
            .expect("the filter has a sink pad")
            .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
                let rate = pad
                    .current_caps()
                    .and_then(|c| c.structure(0)?.get::<gst::Fraction>("framerate").ok())
                    .filter(|r| r.numer() > 0 && r.denom() > 0);
                let pts = info.buffer().and_then(|b| b.pts());
                match (rate, pts) {
                    (Some(rate), Some(pts)) => {
                        let index = (pts.nseconds() as u128 * rate.numer() as u128
                            + rate.denom() as u128 * 500_000_000)
                            / (rate.denom() as u128 * 1_000_000_000);
                        self.frames.fetch_max(index as usize + 1, Ordering::SeqCst);
                    }
                    _ => {
                        self.frames.fetch_add(1, Ordering::SeqCst);
                    }
                }
                gst::PadProbeReturn::Ok
            });
    }

    fn media_element(&self, leaf: &str, video: Branch) -> Arc<MediaElement> {
        let id = format!("{}/{leaf}", self.pipeline_id());
        let spec = ElementSpec {
            audio: Branch::None,
            data: Branch::None,
            video,
        };
        let e = MediaElement::new(
            MediaObject::new(&id, Arc::new(|_, _| {})),
            self.gst_pipeline(),
            spec,
        )
        .unwrap();
        self.register_element(&id, &e.bin().clone().upcast());
        self.elements.lock().unwrap().push(e.clone());
        e
    }

    /// An element ending in an `appsink` (BGR frames) that calls `on_sample` for each frame;
    /// returns its object id.
    pub fn sink(
        &self,
        leaf: &str,
        on_sample: impl Fn(&gst::Sample) + Send + Sync + 'static,
    ) -> String {
        let convert = gst::ElementFactory::make("videoconvert").build().unwrap();
        let caps = gst::ElementFactory::make("capsfilter")
            .property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("format", "BGR")
                    .build(),
            )
            .build()
            .unwrap();
        let appsink = gst::ElementFactory::make("appsink")
            .property("sync", false)
            // No preroll: the pipeline stays PLAYING, so the paced source never waits on it.
            .property("async", false)
            .property("emit-signals", true)
            .build()
            .unwrap();
        appsink.connect("new-sample", false, move |args| {
            let sink = args[0].get::<gst::Element>().unwrap();
            if let Some(sample) = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[]) {
                on_sample(&sample);
            }
            Some(gst::FlowReturn::Ok.to_value())
        });
        let e = self.media_element(
            leaf,
            Branch::Chain {
                elements: vec![convert, caps, appsink],
                input: true,
                output: false,
            },
        );
        e.object().id().to_string()
    }

    /// Plays a bundled VP8 WebM clip in real time into the element of object `sink_id` (its
    /// `sink_video_default`), through a core-runtime source element's `connect`.
    pub fn play_clip(&self, clip: &Path, sink_id: &str) {
        let decoder = gst::ElementFactory::make("vp8dec").build().unwrap();
        let pace = gst::ElementFactory::make("identity")
            .property("sync", true)
            .build()
            .unwrap();
        let source = self.media_element(
            &format!("source{}", unique()),
            Branch::Chain {
                elements: vec![decoder.clone(), pace.clone()],
                input: false,
                output: true,
            },
        );
        let sink = {
            let objects = self.objects.lock().unwrap();
            let &(module, handle) = objects.get(sink_id).expect("known sink");
            // SAFETY: a registered object of a loaded module.
            let ptr =
                unsafe { ((*(module as *const ModuleVTable)).gst_element)(handle as ObjectHandle) };
            crate::element_from_ptr(ptr).expect("sink has an element")
        };
        source
            .connect(
                &sink,
                Some(kurento_core_runtime::MediaType::Video),
                "default",
                "default",
            )
            .unwrap();
        let filesrc = gst::ElementFactory::make("filesrc")
            .property("location", clip.to_str().unwrap())
            .build()
            .unwrap();
        let demux = gst::ElementFactory::make("matroskademux").build().unwrap();
        let decoder_sink = decoder.static_pad("sink").unwrap();
        demux.connect_pad_added(move |_, pad| {
            if !decoder_sink.is_linked() {
                pad.link(&decoder_sink)
                    .expect("video track links to vp8dec");
            }
        });
        // Frames are timed from 0 while the pipeline has been playing for a while: sync them
        // from now on.
        let pipeline = self.gst_pipeline();
        if let (Some(clock), Some(base)) = (pipeline.clock(), pipeline.base_time()) {
            let running = clock.time().saturating_sub(base);
            pace.set_property("ts-offset", running.nseconds() as i64);
        }
        source.bin().add_many([&filesrc, &demux]).unwrap();
        filesrc.link(&demux).unwrap();
        // The demuxer pulls from the source: the source must be ready first.
        filesrc.set_state(gst::State::Ready).unwrap();
        demux.sync_state_with_parent().unwrap();
        filesrc.sync_state_with_parent().unwrap();
    }

    /// Waits for the end of the clip (EOS of the pipeline's sinks).
    pub fn wait_eos(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.eos.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "no end of stream after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `what` holds for the recorded events, or panics after `timeout`.
    pub fn wait_for(&self, timeout: Duration, what: impl Fn(&[Event]) -> bool) {
        let deadline = Instant::now() + timeout;
        while !what(&self.events()) {
            assert!(
                Instant::now() < deadline,
                "condition not met after {timeout:?}; events: {:?}",
                self.events()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the pipeline (end of a test).
    pub fn shutdown(&self) {
        let _ = self.gst_pipeline().set_state(gst::State::Null);
    }
}

/// A module loaded by the fake host.
pub struct Module {
    table: &'static ModuleVTable,
    host: &'static Host,
}

/// A created object of a module.
#[derive(Clone, Copy, Debug)]
pub struct Object {
    pub handle: ObjectHandle,
}

impl Module {
    fn text(&self, s: *mut c_char) -> Value {
        // SAFETY: replies are NUL-terminated strings made by the module.
        let v = serde_json::from_str(unsafe { CStr::from_ptr(s) }.to_str().unwrap()).unwrap();
        unsafe { (self.table.free_string)(s) };
        v
    }

    pub fn name(&self) -> String {
        // SAFETY: static string of the table.
        unsafe { CStr::from_ptr(self.table.name) }
            .to_string_lossy()
            .into_owned()
    }

    /// The id the server would give an object of `class` in the host's pipeline.
    pub fn object_id(&self, class: &str) -> String {
        format!("{}/o{}_{class}", self.host.pipeline_id(), unique())
    }

    /// `create`: the raw reply (`{"value": null}` or `{"error": …}`) and the object, if any.
    pub fn create(&self, class: &str, params: Value) -> (Value, Option<(String, Object)>) {
        let id = self.object_id(class);
        let (c, i, p) = (
            CString::new(class).unwrap(),
            CString::new(id.as_str()).unwrap(),
            CString::new(params.to_string()).unwrap(),
        );
        let mut out: ObjectHandle = std::ptr::null_mut();
        let api = self.host.api.get().unwrap();
        // SAFETY: valid strings; api lives forever.
        let reply = self.text(unsafe {
            (self.table.create)(api, c.as_ptr(), i.as_ptr(), p.as_ptr(), &mut out)
        });
        if reply.get("error").is_some() {
            return (reply, None);
        }
        assert!(!out.is_null());
        self.host.objects.lock().unwrap().insert(
            id.clone(),
            (self.table as *const ModuleVTable as usize, out as usize),
        );
        (reply, Some((id, Object { handle: out })))
    }

    /// Creates an object that must succeed.
    pub fn create_ok(&self, class: &str, params: Value) -> (String, Object) {
        let (reply, obj) = self.create(class, params);
        obj.unwrap_or_else(|| panic!("create {class} failed: {reply}"))
    }

    /// `invoke`: the raw reply.
    pub fn invoke(&self, o: Object, op: &str, params: Value) -> Value {
        let (op, p) = (
            CString::new(op).unwrap(),
            CString::new(params.to_string()).unwrap(),
        );
        // SAFETY: a live handle of this module.
        self.text(unsafe { (self.table.invoke)(o.handle, op.as_ptr(), p.as_ptr()) })
    }

    /// `subscribe`: whether the event is known to the class.
    pub fn subscribe(&self, o: Object, event: &str) -> Value {
        let e = CString::new(event).unwrap();
        // SAFETY: as in invoke.
        self.text(unsafe { (self.table.subscribe)(o.handle, e.as_ptr()) })
    }

    /// The object's element (its bin in the pipeline).
    pub fn gst_element(&self, o: Object) -> gst::Element {
        // SAFETY: as in invoke.
        crate::element_from_ptr(unsafe { (self.table.gst_element)(o.handle) }).expect("an element")
    }

    /// The element of factory `factory` inside the object's bin.
    pub fn inner_element(&self, o: Object, factory: &str) -> gst::Element {
        self.gst_element(o)
            .downcast::<gst::Bin>()
            .expect("a bin")
            .iterate_recurse()
            .into_iter()
            .flatten()
            .find(|e| e.factory().is_some_and(|f| f.name() == factory))
            .unwrap_or_else(|| panic!("no {factory} inside"))
    }

    pub fn release(&self, o: Object) {
        // SAFETY: released once.
        unsafe { (self.table.release)(o.handle) }
    }
}

/// `{"error": {code, message, data: {type}}}` → (code, message).
pub fn error_of(reply: &Value) -> (i64, String) {
    (
        reply["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("not an error: {reply}")),
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}
