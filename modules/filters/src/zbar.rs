// SPDX-License-Identifier: MPL-2.0
//! `ZBarFilter` on GStreamer's `zbar` (elements.md §9): its `barcode` messages become
//! `CodeFound` events, a repeated code at most once a second.

use std::sync::Mutex;

use gst::prelude::*;
use kurento_core_runtime::MediaType;

use crate::FilterObject;
use crate::generated::*;

/// The last code raised: (type, symbol, buffer timestamp).
type Last = Option<(String, String, u64)>;

pub fn create(ctx: Context, p: ZBarFilterConstructor) -> Result<Box<dyn ZBarFilter>, KurentoError> {
    let element = gst::ElementFactory::make("zbar").build().map_err(|_| {
        KurentoError::new(
            40101,
            "MEDIA_OBJECT_NOT_FOUND",
            "ZBarFilter plugin not available: zbar",
        )
    })?;
    // As Kurento: every frame is scanned, however late.
    element.set_property("qos", false);
    let filter = FilterObject::new(ctx, &p.media_pipeline, element, Some(MediaType::Video))?;
    let (ctx, zbar) = (filter.ctx.clone(), filter.element.clone());
    let last: Mutex<Last> = Mutex::new(None);
    filter.media.on_element_message(move |s, src| {
        if s.name() != "barcode" || src != zbar.upcast_ref::<gst::Object>() {
            return;
        }
        let (Ok(ts), Ok(kind), Ok(symbol)) = (
            s.get::<u64>("timestamp"),
            s.get::<String>("type"),
            s.get::<String>("symbol"),
        ) else {
            gst::warning!(
                gst::CAT_DEFAULT,
                obj = src,
                "barcode message without its fields: {s}"
            );
            return;
        };
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        let repeated = last.as_ref().is_some_and(|(k, v, t)| {
            *k == kind && *v == symbol && ts.saturating_sub(*t) < gst::ClockTime::SECOND.nseconds()
        });
        // A code that stays in view is raised again once a second (as Kurento).
        if !repeated {
            ctx.emit(CodeFound::new(kind.clone(), symbol.clone()));
            *last = Some((kind, symbol, ts));
        }
    });
    Ok(Box::new(filter))
}

impl ZBarFilter for FilterObject {}
