// SPDX-License-Identifier: MPL-2.0
//! Drives generated modules through the C ABI exactly as the server does: a fake host records
//! events and resolves ids; small implementations record what the dispatcher passed them.

use kurento_module_abi::{HostApi, ModuleVTable, ObjectHandle, ObjectRef};
use kurento_module_stubs_check::{chroma, crowddetector, filters, pointerdetector};
use serde_json::{Value, json};
use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::Mutex;

// ---- a fake host ----------------------------------------------------------------------------

static EVENTS: Mutex<Vec<(String, Value)>> = Mutex::new(Vec::new());
static PIPELINE_TABLE: u8 = 0;

unsafe extern "C" fn emit_event(
    _ctx: *const c_void,
    object_id: *const c_char,
    event_json: *const c_char,
) {
    let id = unsafe { CStr::from_ptr(object_id) }
        .to_str()
        .unwrap()
        .to_string();
    let ev = serde_json::from_str(unsafe { CStr::from_ptr(event_json) }.to_str().unwrap()).unwrap();
    EVENTS.lock().unwrap().push((id, ev));
}

/// Knows one pipeline, `P_kurento.MediaPipeline`, owned by a "module" that is never called.
unsafe extern "C" fn resolve_object(_ctx: *const c_void, object_id: *const c_char) -> ObjectRef {
    let id = unsafe { CStr::from_ptr(object_id) }.to_str().unwrap();
    if id == "P_kurento.MediaPipeline" {
        ObjectRef {
            module: (&PIPELINE_TABLE as *const u8).cast(),
            handle: std::ptr::null_mut(),
        }
    } else {
        ObjectRef {
            module: std::ptr::null(),
            handle: std::ptr::null_mut(),
        }
    }
}

static HOST: HostApi = HostApi {
    ctx: std::ptr::null(),
    emit_event,
    resolve_object,
};

struct Module(&'static ModuleVTable);

impl Module {
    fn text(&self, s: *mut c_char) -> Value {
        let v = serde_json::from_str(unsafe { CStr::from_ptr(s) }.to_str().unwrap()).unwrap();
        unsafe { (self.0.free_string)(s) };
        v
    }

    fn create(&self, class: &str, id: &str, params: Value) -> Result<ObjectHandle, Value> {
        let (c, i, p) = (
            CString::new(class).unwrap(),
            CString::new(id).unwrap(),
            CString::new(params.to_string()).unwrap(),
        );
        let mut out: ObjectHandle = std::ptr::null_mut();
        let reply = self
            .text(unsafe { (self.0.create)(&HOST, c.as_ptr(), i.as_ptr(), p.as_ptr(), &mut out) });
        match reply.get("error") {
            Some(e) => Err(e.clone()),
            None => {
                assert_eq!(reply, json!({"value": null}));
                assert!(!out.is_null());
                Ok(out)
            }
        }
    }

    fn invoke(&self, h: ObjectHandle, op: &str, params: Value) -> Value {
        let (o, p) = (
            CString::new(op).unwrap(),
            CString::new(params.to_string()).unwrap(),
        );
        self.text(unsafe { (self.0.invoke)(h, o.as_ptr(), p.as_ptr()) })
    }

    fn subscribe(&self, h: ObjectHandle, event: &str) -> Value {
        let e = CString::new(event).unwrap();
        self.text(unsafe { (self.0.subscribe)(h, e.as_ptr()) })["value"].clone()
    }

    fn release(&self, h: ObjectHandle) {
        unsafe { (self.0.release)(h) }
    }
}

fn error(code: i64, ty: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "data": {"type": ty}}})
}

// ---- chroma: parameters, errors, releases ---------------------------------------------------

mod chroma_impl {
    use super::chroma::generated::*;
    use std::sync::Mutex;

    pub static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub struct Chroma {
        pub background: Mutex<String>,
    }

    impl ModuleObject for Chroma {
        fn release(&self) {
            LOG.lock().unwrap().push("released".into());
        }
    }

    impl ChromaFilter for Chroma {
        fn set_background(&self, uri: String) -> Result<(), KurentoError> {
            if uri.is_empty() {
                return Err(KurentoError::illegal_param("empty uri"));
            }
            *self.background.lock().unwrap() = uri;
            Ok(())
        }
        fn unset_background(&self) -> Result<(), KurentoError> {
            if self.background.lock().unwrap().as_str() == "panic" {
                panic!("asked to panic");
            }
            self.background.lock().unwrap().clear();
            Ok(())
        }
    }

    pub struct Factory;
    impl super::chroma::generated::Factory for Factory {
        fn create_chroma_filter(
            ctx: Context,
            p: ChromaFilterConstructor,
        ) -> Result<Box<dyn ChromaFilter>, KurentoError> {
            LOG.lock().unwrap().push(format!(
                "create {} in {} window {:?} background '{}' local {}",
                ctx.object_id(),
                p.media_pipeline.id(),
                p.window,
                p.background_image,
                p.media_pipeline.is_local()
            ));
            Ok(Box::new(Chroma {
                background: Mutex::new(p.background_image),
            }))
        }
    }
}

#[test]
fn chroma_through_the_abi() {
    let m = Module(unsafe { &*chroma::generated::entry::<chroma_impl::Factory>() });
    assert_eq!(m.0.abi_version, kurento_module_abi::ABI_VERSION);
    assert_eq!(
        unsafe { CStr::from_ptr(m.0.name) }.to_str().unwrap(),
        "chroma"
    );
    let descriptor: Value = serde_json::from_str(
        unsafe { CStr::from_ptr(m.0.descriptor_json) }
            .to_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(descriptor["name"], "chroma");
    assert_eq!(descriptor["imports"][0]["npmVersion"], ">=7.1.0 <8.0.0");
    assert_eq!(descriptor["remoteClasses"][0]["name"], "ChromaFilter");

    let window = json!({"topRightCornerX": 5, "topRightCornerY": 6, "width": 40, "height": "30",
                        "__module__": "chroma", "__type__": "WindowParam"});
    let h = m
        .create(
            "chroma.ChromaFilter",
            "P_kurento.MediaPipeline/C_chroma.ChromaFilter",
            json!({"mediaPipeline": "P_kurento.MediaPipeline", "window": window}),
        )
        .unwrap();
    let log = chroma_impl::LOG.lock().unwrap().clone();
    assert_eq!(
        log[0],
        "create P_kurento.MediaPipeline/C_chroma.ChromaFilter in P_kurento.MediaPipeline window WindowParam { top_right_corner_x: 5, top_right_corner_y: 6, width: 40, height: 30 } background '' local false"
    );

    assert_eq!(
        m.invoke(h, "setBackground", json!({"uri": "file:///bg.jpg"})),
        json!({"value": null})
    );
    assert_eq!(
        m.invoke(h, "setBackground", json!({})),
        error(
            40001,
            "MARSHALL_ERROR",
            "'uri' parameter should be a string"
        )
    );
    assert_eq!(
        m.invoke(h, "setBackground", Value::Null),
        error(40001, "MARSHALL_ERROR", "'operationParams' is required")
    );
    assert_eq!(
        m.invoke(h, "setBackground", json!({"uri": ""})),
        error(40107, "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "empty uri")
    );
    assert_eq!(
        m.invoke(h, "unsetBackground", Value::Null),
        json!({"value": null})
    );
    assert_eq!(
        m.invoke(h, "unsetBackground", json!(5)),
        error(
            40001,
            "MARSHALL_ERROR",
            "'operationParams' should be an object"
        )
    );
    // Inherited from core's MediaElement: the host routes it; the module does not know it.
    assert_eq!(
        m.invoke(h, "connect", json!({"sink": "x", "mediaType": "VIDEO"})),
        error(
            40008,
            "MALFORMED_TRANSACTION",
            "Method 'connect' with 2 parameters not found"
        )
    );
    assert_eq!(
        m.invoke(h, "nope", Value::Null),
        error(
            40008,
            "MALFORMED_TRANSACTION",
            "Method 'nope' with 0 parameters not found"
        )
    );
    // A panic inside an implementation becomes a JSON-RPC error.
    m.invoke(h, "setBackground", json!({"uri": "panic"}));
    let r = m.invoke(h, "unsetBackground", Value::Null);
    assert_eq!(r["error"]["code"], -32603);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("asked to panic")
    );

    assert_eq!(
        m.subscribe(h, "Error"),
        json!(true),
        "inherited from MediaObject"
    );
    assert_eq!(
        m.subscribe(h, "ElementConnected"),
        json!(true),
        "inherited from MediaElement"
    );
    assert_eq!(m.subscribe(h, "CodeFound"), json!(false));
    assert!(unsafe { (m.0.gst_element)(h) }.is_null());
    m.release(h);
    assert_eq!(chroma_impl::LOG.lock().unwrap().last().unwrap(), "released");

    // Constructor errors.
    let e = |p: Value| m.create("ChromaFilter", "X", p).unwrap_err();
    assert_eq!(e(Value::Null)["message"], "'constructorParams' is required");
    assert_eq!(
        e(json!({"mediaPipeline": "P_kurento.MediaPipeline"}))["message"],
        "'window' parameter should be a object"
    );
    assert_eq!(
        e(json!({"mediaPipeline": "P_kurento.MediaPipeline", "window": {"topRightCornerX": 1}}))["message"],
        "'topRightCornerY' parameter should be a integer"
    );
    assert_eq!(
        e(
            json!({"mediaPipeline": "P_kurento.MediaPipeline", "window": {"topRightCornerX": 1, "topRightCornerY": 1, "width": 1, "height": 1, "__module__": "kurento", "__type__": "Tag"}})
        ),
        json!({"code": 40003, "message": "Type Tag is not compatible", "data": {"type": "UNEXPECTED_ERROR"}})
    );
    assert_eq!(
        e(
            json!({"mediaPipeline": "P_kurento.MediaPipeline", "window": {"topRightCornerX": 1, "topRightCornerY": 1, "width": 1, "height": 1, "__module__": "x", "__type__": "Y"}})
        )["message"],
        "Type Y does not exist in module x"
    );
    let w = json!({"topRightCornerX": 1, "topRightCornerY": 1, "width": 1, "height": 1});
    assert_eq!(
        e(json!({"mediaPipeline": "nowhere", "window": w})),
        json!({"code": 40101, "message": "Object 'nowhere' not found", "data": {"type": "MEDIA_OBJECT_NOT_FOUND"}})
    );
    assert_eq!(
        e(json!({"mediaPipeline": 3, "window": w}))["message"],
        "'mediaPipeline' parameter should be a string"
    );
    assert_eq!(
        m.create("Nope", "X", json!({})).unwrap_err(),
        json!({"code": 40108, "message": "Factory 'Nope' not found", "data": {"type": "MEDIA_OBJECT_NOT_AVAILABLE"}})
    );
}

// ---- crowddetector: defaults of nested complex types, properties, events -------------------

mod crowd_impl {
    use super::crowddetector::generated::*;
    use std::sync::Mutex;

    pub struct Crowd {
        pub ctx: Context,
        pub rois: Vec<RegionOfInterest>,
        pub width: Mutex<i32>,
    }

    impl ModuleObject for Crowd {}

    impl CrowdDetectorFilter for Crowd {
        fn get_processing_width(&self) -> Result<i32, KurentoError> {
            Ok(*self.width.lock().unwrap())
        }
        fn set_processing_width(&self, w: i32) -> Result<(), KurentoError> {
            *self.width.lock().unwrap() = w;
            // Stands for a bus message of the element: raise the matching event.
            self.ctx.emit(CrowdDetectorFluidity::new(
                12.5,
                1,
                self.rois[0].id.clone(),
                self.rois[0].id.clone(),
            ));
            Ok(())
        }
    }

    pub static CREATED: Mutex<Vec<RegionOfInterest>> = Mutex::new(Vec::new());

    pub struct Factory;
    impl super::crowddetector::generated::Factory for Factory {
        fn create_crowd_detector_filter(
            ctx: Context,
            p: CrowdDetectorFilterConstructor,
        ) -> Result<Box<dyn CrowdDetectorFilter>, KurentoError> {
            CREATED.lock().unwrap().extend(p.rois.iter().cloned());
            Ok(Box::new(Crowd {
                ctx,
                rois: p.rois,
                width: Mutex::new(320),
            }))
        }
    }
}

#[test]
fn crowddetector_defaults_properties_and_events() {
    let m = Module(unsafe { &*crowddetector::generated::entry::<crowd_impl::Factory>() });
    let roi = json!({"id": "roi1", "points": [{"x": 0.1, "y": 0.1}, {"x": "0.5", "y": 0.1}],
                     "regionOfInterestConfig": {"occupancyLevelMin": 20, "sendOpticalFlowEvent": true}});
    let id = "P_kurento.MediaPipeline/C_crowddetector.CrowdDetectorFilter";
    let h = m
        .create(
            "CrowdDetectorFilter",
            id,
            json!({"mediaPipeline": "P_kurento.MediaPipeline", "rois": [roi]}),
        )
        .unwrap();
    let r = crowd_impl::CREATED.lock().unwrap()[0].clone();
    assert_eq!(r.points[1].x, 0.5);
    let c = &r.region_of_interest_config;
    assert_eq!(
        (
            c.occupancy_level_min,
            c.occupancy_level_med,
            c.occupancy_level_max
        ),
        (20, 35, 65)
    );
    assert!(c.send_optical_flow_event);
    assert_eq!(c.optical_flow_angle_offset, 0);
    assert_eq!(c.fluidity_num_frames_to_event, 5);

    assert_eq!(
        m.invoke(h, "getProcessingWidth", Value::Null),
        json!({"value": 320})
    );
    // Not subscribed: nothing is delivered.
    assert_eq!(
        m.invoke(h, "setProcessingWidth", json!({"processingWidth": 160})),
        json!({"value": null})
    );
    assert!(EVENTS.lock().unwrap().iter().all(|(src, _)| src != id));
    assert_eq!(m.subscribe(h, "CrowdDetectorFluidity"), json!(true));
    assert_eq!(
        m.invoke(h, "setProcessingWidth", json!({"processingWidth": "200"})),
        json!({"value": null})
    );
    assert_eq!(
        m.invoke(h, "getProcessingWidth", json!({})),
        json!({"value": 200})
    );
    assert_eq!(
        m.invoke(h, "setProcessingWidth", json!({"processingWidth": 1.5})),
        error(
            40001,
            "MARSHALL_ERROR",
            "'processingWidth' parameter should be a integer"
        )
    );
    assert_eq!(
        m.invoke(h, "setProcessingWidth", json!({"processingWidth": 1e12}))["error"]["code"],
        40001
    );
    let events = EVENTS.lock().unwrap().clone();
    let (src, ev) = events
        .iter()
        .find(|(src, _)| src == id)
        .expect("event delivered");
    assert_eq!(src, id);
    assert_eq!(ev["type"], "CrowdDetectorFluidity");
    let data = &ev["data"];
    assert_eq!(data["source"], id);
    assert_eq!(data["type"], "CrowdDetectorFluidity");
    assert_eq!(data["roiId"], "roi1");
    assert_eq!(data["roiID"], "roi1", "the older name clients still read");
    assert_eq!(data["fluidityPercentage"], 12.5);
    assert_eq!(data["fluidityLevel"], 1);
    assert_eq!(data["tags"], json!([]));
    assert_eq!(data["__module__"], "crowddetector");
    let ts: u128 = data["timestampMillis"].as_str().unwrap().parse().unwrap();
    assert!(ts > 1_600_000_000_000);
    // The event type reads back through serde.
    let back: crowddetector::generated::CrowdDetectorFluidity =
        serde_json::from_value(data.clone()).unwrap();
    assert_eq!(
        (back.roi_id.as_str(), back.roiID.as_str()),
        ("roi1", "roi1")
    );
    assert_eq!(back.source.0, id);
    m.release(h);
}

// ---- filters and pointerdetector: constructor defaults, read-only properties ---------------

mod filters_impl {
    use super::filters::generated::*;

    pub struct Gst(pub String, pub core_types::FilterType);
    impl ModuleObject for Gst {}
    impl GStreamerFilter for Gst {
        fn set_element_property(&self, name: String, value: String) -> Result<(), KurentoError> {
            Err(KurentoError::marshall(format!(
                "No property named '{name}' in object '{value}'"
            )))
        }
        fn get_command(&self) -> Result<String, KurentoError> {
            Ok(format!("{} ({})", self.0, self.1.as_str()))
        }
    }
    pub struct Nothing;
    impl ModuleObject for Nothing {}
    impl FaceOverlayFilter for Nothing {
        fn unset_overlayed_image(&self) -> Result<(), KurentoError> {
            Ok(())
        }
        fn set_overlayed_image(
            &self,
            _: String,
            _: f32,
            _: f32,
            _: f32,
            _: f32,
        ) -> Result<(), KurentoError> {
            Ok(())
        }
    }
    impl ImageOverlayFilter for Nothing {
        fn remove_image(&self, _: String) -> Result<(), KurentoError> {
            Ok(())
        }
        #[allow(clippy::too_many_arguments)]
        fn add_image(
            &self,
            _: String,
            _: String,
            _: f32,
            _: f32,
            _: f32,
            _: f32,
            _: bool,
            _: bool,
        ) -> Result<(), KurentoError> {
            Ok(())
        }
    }
    impl ZBarFilter for Nothing {}

    pub struct Factory;
    impl super::filters::generated::Factory for Factory {
        fn create_face_overlay_filter(
            _: Context,
            _: FaceOverlayFilterConstructor,
        ) -> Result<Box<dyn FaceOverlayFilter>, KurentoError> {
            Ok(Box::new(Nothing))
        }
        fn create_g_streamer_filter(
            _: Context,
            p: GStreamerFilterConstructor,
        ) -> Result<Box<dyn GStreamerFilter>, KurentoError> {
            Ok(Box::new(Gst(p.command, p.filter_type)))
        }
        fn create_image_overlay_filter(
            _: Context,
            _: ImageOverlayFilterConstructor,
        ) -> Result<Box<dyn ImageOverlayFilter>, KurentoError> {
            Ok(Box::new(Nothing))
        }
        fn create_z_bar_filter(
            _: Context,
            _: ZBarFilterConstructor,
        ) -> Result<Box<dyn ZBarFilter>, KurentoError> {
            Ok(Box::new(Nothing))
        }
    }
}

#[test]
fn filters_defaults_and_read_only_properties() {
    let m = Module(unsafe { &*filters::generated::entry::<filters_impl::Factory>() });
    let h = m
        .create(
            "kurento.GStreamerFilter",
            "G",
            json!({"mediaPipeline": "P_kurento.MediaPipeline", "command": "videoflip"}),
        )
        .unwrap();
    assert_eq!(
        m.invoke(h, "getCommand", Value::Null),
        json!({"value": "videoflip (AUTODETECT)"})
    );
    assert_eq!(
        m.invoke(h, "setCommand", json!({"command": "x"})),
        error(
            40008,
            "MALFORMED_TRANSACTION",
            "Method 'setCommand' with 1 parameters not found"
        )
    );
    assert_eq!(
        m.invoke(
            h,
            "setElementProperty",
            json!({"propertyName": "p", "propertyValue": "v"})
        ),
        error(
            40001,
            "MARSHALL_ERROR",
            "No property named 'p' in object 'v'"
        )
    );
    let bad = m.create("GStreamerFilter", "G2", json!({"mediaPipeline": "P_kurento.MediaPipeline", "command": "x", "filterType": "SIDEWAYS"}));
    assert_eq!(
        bad.unwrap_err()["message"],
        "Invalid value for 'FilterType'"
    );
    let z = m
        .create(
            "ZBarFilter",
            "Z",
            json!({"mediaPipeline": "P_kurento.MediaPipeline"}),
        )
        .unwrap();
    assert_eq!(m.subscribe(z, "CodeFound"), json!(true));
    assert_eq!(
        m.invoke(z, "getCommand", Value::Null)["error"]["code"],
        40008
    );
    m.release(z);
    m.release(h);
    assert!(
        m.create("OpenCVFilter", "O", json!({})).is_err(),
        "abstract classes have no factory"
    );
}

mod pointer_impl {
    use super::pointerdetector::generated::*;
    use std::sync::Mutex;

    pub struct Pointer(pub Mutex<Vec<PointerDetectorWindowMediaParam>>);
    impl ModuleObject for Pointer {}
    impl PointerDetectorFilter for Pointer {
        fn add_window(&self, w: PointerDetectorWindowMediaParam) -> Result<(), KurentoError> {
            self.0.lock().unwrap().push(w);
            Ok(())
        }
        fn clear_windows(&self) -> Result<(), KurentoError> {
            self.0.lock().unwrap().clear();
            Ok(())
        }
        fn track_color_from_calibration_region(&self) -> Result<(), KurentoError> {
            Ok(())
        }
        fn remove_window(&self, id: String) -> Result<(), KurentoError> {
            self.0.lock().unwrap().retain(|w| w.id != id);
            Ok(())
        }
    }
    pub static COUNTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    pub struct Factory;
    impl super::pointerdetector::generated::Factory for Factory {
        fn create_pointer_detector_filter(
            _: Context,
            p: PointerDetectorFilterConstructor,
        ) -> Result<Box<dyn PointerDetectorFilter>, KurentoError> {
            COUNTS.lock().unwrap().push(p.windows.len());
            Ok(Box::new(Pointer(Mutex::new(p.windows))))
        }
    }
}

#[test]
fn pointerdetector_optional_list_and_optional_fields() {
    let m = Module(unsafe { &*pointerdetector::generated::entry::<pointer_impl::Factory>() });
    let cal = json!({"topRightCornerX": 5, "topRightCornerY": 5, "width": 30, "height": 30});
    let h = m
        .create(
            "PointerDetectorFilter",
            "PD",
            json!({"mediaPipeline": "P_kurento.MediaPipeline", "calibrationRegion": cal}),
        )
        .unwrap();
    assert_eq!(
        pointer_impl::COUNTS.lock().unwrap()[0],
        0,
        "windows defaults to []"
    );
    let w =
        json!({"id": "window0", "height": 50, "width": 50, "upperRightX": 500, "upperRightY": 150});
    assert_eq!(
        m.invoke(h, "addWindow", json!({"window": w})),
        json!({"value": null})
    );
    let w = pointerdetector::generated::PointerDetectorWindowMediaParam {
        id: "w".into(),
        image: Some("file:///i.png".into()),
        ..Default::default()
    };
    let v = serde_json::to_value(&w).unwrap();
    assert_eq!(v["__module__"], "pointerdetector");
    assert_eq!(v["__type__"], "PointerDetectorWindowMediaParam");
    assert_eq!(v["image"], "file:///i.png");
    assert!(
        v.get("activeImage").is_none(),
        "unset optional fields are omitted"
    );
    m.release(h);
}

// ---- polymorphic complex types: a Stats<> map keeps each entry's concrete type --------------

#[test]
fn stats_values_keep_their_concrete_type() {
    use kurento_module_stubs_check::core::generated::{
        KmdValue, RTCInboundRTPStreamStats, StatsAny, WireError,
    };
    let inbound = json!({"__module__": "kurento", "__type__": "RTCInboundRTPStreamStats", "id": "in1", "type": "inboundrtp",
                         "timestampMillis": 1700000000000i64, "ssrc": "1234", "associateStatsId": "", "isRemote": false,
                         "mediaTrackId": "t", "transportId": "tr", "codecId": "c", "firCount": 1, "pliCount": 2, "nackCount": 3,
                         "sliCount": 0, "remb": 300000, "packetsLost": 4, "fractionLost": 0.5,
                         "packetsReceived": 1000, "bytesReceived": 123456, "jitter": 0.01});
    match StatsAny::from_json(&inbound).unwrap() {
        StatsAny::RTCInboundRTPStreamStats(RTCInboundRTPStreamStats {
            packets_received,
            ssrc,
            ..
        }) => {
            assert_eq!((packets_received, ssrc.as_str()), (1000, "1234"));
        }
        other => panic!("decoded as {other:?}"),
    }
    assert_eq!(StatsAny::from_json(&inbound).unwrap().to_json(), inbound);
    let plain = json!({"id": "e", "type": "element", "timestampMillis": 5});
    assert!(matches!(
        StatsAny::from_json(&plain),
        Ok(StatsAny::Stats(_))
    ));
    let tag = json!({"__module__": "kurento", "__type__": "Tag", "key": "k", "value": "v"});
    assert_eq!(
        StatsAny::from_json(&tag),
        Err(WireError::Unexpected("Type Tag is not compatible".into()))
    );
}

// ---- a returned remote object may be absent (a pipeline's parent) ---------------------------

#[test]
fn remote_object_returns_may_be_none() {
    use kurento_module_stubs_check::core::generated::{
        KmdValue, KurentoError, MediaObject, ObjectId,
    };
    // The trait's getters: an implementation answers `None` for a pipeline's parent.
    type Getter = fn(&dyn MediaObject) -> Result<Option<ObjectId>, KurentoError>;
    let _: Getter = <dyn MediaObject>::get_parent;
    let _: Getter = <dyn MediaObject>::get_media_pipeline;
    // Lists stay lists of ids.
    let _: fn(&dyn MediaObject) -> Result<Vec<ObjectId>, KurentoError> =
        <dyn MediaObject>::get_children;
    // On the wire `None` is `null` (`{"value": null}`), and back.
    assert_eq!(None::<ObjectId>.to_json(), Value::Null);
    assert_eq!(
        Some(ObjectId::from("p_kurento.MediaPipeline")).to_json(),
        json!("p_kurento.MediaPipeline")
    );
    assert_eq!(Option::<ObjectId>::from_json(&Value::Null), Ok(None));
    assert_eq!(
        Option::<ObjectId>::from_json(&json!("x")),
        Ok(Some(ObjectId::from("x")))
    );
}
