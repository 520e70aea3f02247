// SPDX-License-Identifier: MPL-2.0
//! platedetector on a real-time 640x480 stream at 25 fps: streaming-thread time per frame
//! against the 40 ms frame budget, and plate event latency against the 200 ms target,
//! measured from the arrival of the first frame read as the announced plate.
//!
//! cargo bench -p gst-plugin-platedetector --bench plate

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

const FPS: u64 = 25;

fn main() {
    gst::init().unwrap();
    gstplatedetector::plugin_register_static().unwrap();
    let frames = gst_tests::indexed::decode_bgr("plate_640x480.webm");
    let mut h = gst_check::Harness::new("platedetector");
    h.set_src_caps_str("video/x-raw,format=BGR,width=640,height=480,framerate=25/1");
    let bus = gst::Bus::new();
    let events: Arc<Mutex<Vec<(Instant, String, u64)>>> = Arc::default();
    let ev = events.clone();
    bus.set_sync_handler(move |_, msg| {
        if let Some(s) = msg.structure()
            && s.name() == "plate-detected"
        {
            ev.lock().unwrap().push((
                Instant::now(),
                s.get::<String>("plate").unwrap(),
                s.get::<u64>("first-read-pts").unwrap_or(u64::MAX),
            ));
        }
        gst::BusSyncReply::Drop
    });
    h.element().unwrap().set_bus(Some(&bus));
    h.play();

    let period = Duration::from_nanos(1_000_000_000 / FPS);
    let start = Instant::now();
    let mut arrivals = Vec::new();
    let mut busy = Vec::new();
    let mut late = 0;
    for (i, f) in frames.iter().enumerate() {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        } else {
            late += 1;
        }
        let mut b = f.copy();
        let pts = gst::ClockTime::from_nseconds(i as u64 * period.as_nanos() as u64);
        b.get_mut().unwrap().set_pts(pts);
        let t0 = Instant::now();
        arrivals.push((pts.nseconds(), t0));
        h.push(b).unwrap();
        h.pull().unwrap();
        busy.push(t0.elapsed());
    }
    std::thread::sleep(Duration::from_millis(500));
    let n = busy.len() as f64;
    let mean = busy.iter().sum::<Duration>().as_secs_f64() * 1000.0 / n;
    let mut sorted = busy.clone();
    sorted.sort();
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)].as_secs_f64() * 1000.0;
    let max = sorted.last().unwrap().as_secs_f64() * 1000.0;
    let budget = 1000.0 / FPS as f64;
    println!(
        "{} frames at 640x480 pushed at {FPS} fps in real time",
        busy.len()
    );
    println!(
        "streaming thread per frame: mean {mean:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; budget {budget:.0} ms; ratio mean/budget {:.3}, max/budget {:.3}",
        mean / budget,
        max / budget
    );
    println!("frames that started late (stream backed up): {late}");
    let events = events.lock().unwrap();
    for (when, plate, first) in events.iter() {
        if let Some((_, arrived)) = arrivals.iter().find(|(p, _)| p == first) {
            let latency = when.duration_since(*arrived).as_secs_f64() * 1000.0;
            println!(
                "plate {plate}: first read on the frame at {:.2} s, event {latency:.0} ms after that frame arrived; ratio to the 200 ms target {:.2}",
                *first as f64 / 1e9,
                latency / 200.0
            );
        }
    }
    if events.is_empty() {
        println!("no plate announced");
    }
}
