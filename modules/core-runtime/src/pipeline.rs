// SPDX-License-Identifier: MPL-2.0
//! `MediaPipeline`: one `GstPipeline`, always PLAYING, named by its object id.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;
use serde_json::Value;

use crate::element::{children_of, error_fields};
use crate::{CoreError, MediaObject};

pub struct MediaPipeline {
    obj: MediaObject,
    pipeline: gst::Pipeline,
    latency_stats: AtomicBool,
    bus_handler: Mutex<Option<glib::SignalHandlerId>>,
}

impl MediaPipeline {
    pub fn new(obj: MediaObject) -> Result<Arc<MediaPipeline>, CoreError> {
        crate::init()?;
        let pipeline = gst::Pipeline::with_name(obj.id());
        let bus = pipeline
            .bus()
            .ok_or_else(|| CoreError::unexpected("pipeline has no bus"))?;
        // No main loop reads this bus: every object watches it through `sync-message` on the
        // posting thread, and the bus keeps nothing queued.
        // The sync handler turns each message into a `sync-message` signal, which any number of
        // objects (from any module) can watch.
        bus.set_sync_handler(|bus, msg| {
            use gst::glib::translate::ToGlibPtr;
            unsafe {
                gst::ffi::gst_bus_sync_signal_handler(
                    bus.to_glib_none().0,
                    msg.as_mut_ptr(),
                    std::ptr::null_mut(),
                );
            }
            gst::BusSyncReply::Drop
        });
        let this = Arc::new(MediaPipeline {
            obj,
            pipeline,
            latency_stats: AtomicBool::new(false),
            bus_handler: Mutex::new(None),
        });
        let weak = Arc::downgrade(&this);
        let handler = bus.connect_sync_message(None, move |_, msg| {
            if let Some(p) = weak.upgrade() {
                p.on_message(msg);
            }
        });
        *this.bus_handler.lock().unwrap_or_else(|e| e.into_inner()) = Some(handler);
        this.pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| CoreError::unexpected("the pipeline cannot start"))?;
        Ok(this)
    }

    /// Errors no element claims (their source is not inside an element's bin) are the
    /// pipeline's own (`UNEXPECTED_PIPELINE_ERROR`).
    fn on_message(&self, msg: &gst::Message) {
        let Some(src) = msg.src() else { return };
        let prefix = format!("{}/", self.obj.id());
        let mut cur = Some(src.clone());
        while let Some(o) = cur {
            if o.name().starts_with(&prefix) {
                return; // an element's, reported by that element
            }
            cur = o.parent();
        }
        if let Some(mut fields) = error_fields(msg, self.obj.id()) {
            fields.insert(
                "type".into(),
                Value::String("UNEXPECTED_PIPELINE_ERROR".into()),
            );
            self.obj.raise("Error", fields);
        }
    }

    pub fn object(&self) -> &MediaObject {
        &self.obj
    }

    pub fn gst_pipeline(&self) -> &gst::Pipeline {
        &self.pipeline
    }

    /// The borrowed `GstElement *` the module ABI hands out (`gst_element`).
    pub fn element_ptr(&self) -> *mut c_void {
        self.pipeline.as_ptr() as *mut c_void
    }

    /// Ids of the direct children (elements whose parent is this pipeline).
    pub fn children(&self) -> Vec<String> {
        children_of(&self.pipeline, self.obj.id())
    }

    pub fn gstreamer_dot(&self, details: Option<&str>) -> Result<String, CoreError> {
        Ok(self
            .pipeline
            .debug_to_dot_data(crate::dot_details(details)?)
            .to_string())
    }

    pub fn latency_stats(&self) -> bool {
        self.latency_stats.load(Ordering::Relaxed)
    }

    pub fn set_latency_stats(&self, on: bool) {
        self.latency_stats.store(on, Ordering::Relaxed);
    }

    /// Stops the pipeline. Its elements were released before (the host releases children
    /// first); any left over stop with it.
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
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for MediaPipeline {
    fn drop(&mut self) {
        self.release();
    }
}
