// SPDX-License-Identifier: MPL-2.0
//! Media-flow detection: a buffer probe marks a pad FLOWING on its first buffer; one watcher
//! thread per runtime copy marks it NOT_FLOWING after [`FLOW_TIMEOUT`] without buffers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// Silence after which a pad counts as not flowing.
pub const FLOW_TIMEOUT: Duration = Duration::from_secs(2);

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

/// Called on every state change with the new state (`true` = flowing).
pub type FlowCallback = Box<dyn Fn(bool) + Send + Sync>;

pub struct FlowTracker {
    last: AtomicU64,
    flowing: AtomicBool,
    on_change: FlowCallback,
}

static TRACKERS: LazyLock<Mutex<Vec<Weak<FlowTracker>>>> = LazyLock::new(|| {
    std::thread::Builder::new()
        .name("kms-flow-watch".into())
        .spawn(watch)
        .expect("spawning the media-flow watcher");
    Mutex::new(Vec::new())
});

fn watch() {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let live: Vec<Arc<FlowTracker>> = {
            let mut v = TRACKERS.lock().unwrap_or_else(|e| e.into_inner());
            v.retain(|w| w.strong_count() > 0);
            v.iter().filter_map(Weak::upgrade).collect()
        };
        let now = now_ms();
        for t in live {
            if t.flowing.load(Ordering::Acquire)
                && now.saturating_sub(t.last.load(Ordering::Acquire))
                    > FLOW_TIMEOUT.as_millis() as u64
                && t.flowing.swap(false, Ordering::AcqRel)
            {
                (t.on_change)(false);
            }
        }
    }
}

impl FlowTracker {
    pub fn new(on_change: FlowCallback) -> Arc<FlowTracker> {
        let t = Arc::new(FlowTracker {
            last: AtomicU64::new(0),
            flowing: AtomicBool::new(false),
            on_change,
        });
        TRACKERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&t));
        t
    }

    /// A buffer went through the pad.
    pub fn buffer(&self) {
        self.last.store(now_ms(), Ordering::Release);
        if !self.flowing.swap(true, Ordering::AcqRel) {
            (self.on_change)(true);
        }
    }

    pub fn is_flowing(&self) -> bool {
        self.flowing.load(Ordering::Acquire)
    }

    /// Watches buffers (and buffer lists) crossing `pad`.
    pub fn attach(self: &Arc<Self>, pad: &gst::Pad) {
        let weak = Arc::downgrade(self);
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, _| {
                if let Some(t) = weak.upgrade() {
                    t.buffer();
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
}
