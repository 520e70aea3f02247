// SPDX-License-Identifier: MPL-2.0
//! `chroma` on synthetic frames: calibration, keying in every packed format, odd sizes, caps
//! changes, bad calibration areas and bad background images.

use std::sync::Once;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_video::VideoFormat;
use kms_plugin_common::PackedLayout;
use kms_plugin_common::testing::VideoHarness;

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        gst::init().unwrap();
        gstchroma::plugin_register_static().unwrap();
    });
}

const SCREEN: [u8; 3] = [40, 175, 60];
const SUBJECT: [u8; 3] = [40, 40, 200];
const DARK: [u8; 3] = [10, 12, 8];
const BACKGROUND: [u8; 3] = [200, 50, 150];

type Stream = VideoHarness;

fn stream(format: VideoFormat, w: u32, h: u32) -> Stream {
    init();
    VideoHarness::new("chroma", format, w, h)
}

/// What these tests do with a `chroma` harness.
trait ChromaStream {
    fn run(&mut self, paint: impl Fn(usize, usize) -> [u8; 3]) -> Vec<Vec<[u8; 4]>>;
    fn set_area(&self, x: i32, y: i32, w: i32, h: i32);
    fn set_background(&self, uri: &str);
    fn wait_loaded(&self);
    fn next_warning(&self) -> String;
    fn no_warning(&self);
}

impl ChromaStream for Stream {
    fn run(&mut self, paint: impl Fn(usize, usize) -> [u8; 3]) -> Vec<Vec<[u8; 4]>> {
        self.push_frame(paint)
    }

    fn set_area(&self, x: i32, y: i32, w: i32, h: i32) {
        self.set_calibration_area(x, y, w, h);
    }

    fn set_background(&self, uri: &str) {
        self.element().set_property("image-background", uri);
    }

    fn wait_loaded(&self) {
        let start = Instant::now();
        while !self.element().property::<bool>("background-loaded") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "background never loaded"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn next_warning(&self) -> String {
        let msg = self
            .bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Warning],
            )
            .expect("a warning on the bus");
        let gst::MessageView::Warning(w) = msg.view() else {
            unreachable!()
        };
        format!("{} | {}", w.error(), w.debug().unwrap_or_default())
    }

    fn no_warning(&self) {
        assert!(
            self.bus
                .pop_filtered(&[gst::MessageType::Warning, gst::MessageType::Error])
                .is_none()
        );
    }
}

/// A uniform PNG in a fresh temporary directory.
fn png(name: &str, bgr: [u8; 3], channels: i32) -> std::path::PathBuf {
    use opencv::core::{CV_8U, CV_MAKETYPE, Mat, Scalar, Vector};
    let dir = std::env::temp_dir().join(format!("chroma-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let value = Scalar::new(bgr[0] as f64, bgr[1] as f64, bgr[2] as f64, 255.0);
    let mat = Mat::new_rows_cols_with_default(20, 30, CV_MAKETYPE(CV_8U, channels), value).unwrap();
    let mut buf = Vector::<u8>::new();
    opencv::imgcodecs::imencode_def(".png", &mat, &mut buf).unwrap();
    std::fs::write(&path, buf.as_slice()).unwrap();
    path
}

/// Green screen with a subject square at (20..36, 10..26).
fn scene(x: usize, y: usize) -> [u8; 3] {
    if (20..36).contains(&x) && (10..26).contains(&y) {
        SUBJECT
    } else {
        SCREEN
    }
}

fn bgr(p: [u8; 4]) -> [u8; 3] {
    [p[0], p[1], p[2]]
}

fn calibrate(s: &mut Stream) {
    for i in 0..61 {
        let out = s.run(scene);
        assert_eq!(
            bgr(out[2][2]),
            [255, 0, 0],
            "outline drawn on calibration frame {i}"
        );
        assert_eq!(
            bgr(out[5][5]),
            SCREEN,
            "no keying during calibration (frame {i})"
        );
    }
}

#[test]
fn keys_the_screen_in_every_packed_format() {
    let bg = png("bg.png", BACKGROUND, 3);
    for format in [
        VideoFormat::Bgr,
        VideoFormat::Rgb,
        VideoFormat::Bgrx,
        VideoFormat::Bgra,
        VideoFormat::Rgbx,
        VideoFormat::Rgba,
        VideoFormat::Xrgb,
        VideoFormat::Abgr,
    ] {
        let mut s = stream(format, 64, 48);
        s.set_area(2, 2, 10, 10);
        s.set_background(bg.to_str().unwrap());
        s.wait_loaded();
        calibrate(&mut s);
        let range = s.element().property::<gst::Structure>("color-range");
        assert!(range.get::<bool>("calibrated").unwrap());
        let out = s.run(scene);
        for (y, row) in out.iter().enumerate() {
            for (x, p) in row.iter().enumerate() {
                let want = if scene(x, y) == SCREEN {
                    BACKGROUND
                } else {
                    SUBJECT
                };
                assert_eq!(bgr(*p), want, "{format:?} at ({x}, {y})");
            }
        }
        if PackedLayout::of(format).unwrap().alpha.is_some() {
            assert_eq!(out[0][0][3], 255, "{format:?}: replaced pixels are opaque");
            assert_eq!(
                out[15][25][3], 77,
                "{format:?}: kept pixels keep their alpha"
            );
        }
        s.no_warning();
    }
}

#[test]
fn unsetting_the_background_restores_the_video() {
    let bg = png("bg-unset.png", BACKGROUND, 3);
    let mut s = stream(VideoFormat::Bgr, 64, 48);
    s.set_area(2, 2, 10, 10);
    calibrate(&mut s);
    // Calibrated but no background: the video passes unchanged.
    assert_eq!(bgr(s.run(scene)[5][5]), SCREEN);
    s.set_background(bg.to_str().unwrap());
    s.wait_loaded();
    assert_eq!(bgr(s.run(scene)[5][5]), BACKGROUND);
    s.element().set_property("image-background", None::<&str>);
    assert!(!s.element().property::<bool>("background-loaded"));
    assert_eq!(s.element().property::<String>("image-background"), "");
    let out = s.run(scene);
    assert!(
        out.iter()
            .enumerate()
            .all(|(y, row)| row.iter().enumerate().all(|(x, p)| bgr(*p) == scene(x, y)))
    );
}

#[test]
fn odd_sizes_and_caps_changes_keep_working() {
    let bg = png("bg-odd.png", BACKGROUND, 4);
    let mut s = stream(VideoFormat::Bgr, 37, 29);
    s.set_area(2, 2, 8, 8);
    s.set_background(bg.to_str().unwrap());
    s.wait_loaded();
    calibrate(&mut s);
    let out = s.run(scene);
    assert_eq!(bgr(out[28][36]), BACKGROUND);
    assert_eq!(bgr(out[12][22]), SUBJECT);
    // New size and format mid-stream: the learnt colour stays, the background is rescaled.
    s.set_format(VideoFormat::Rgbx, 71, 33);
    let out = s.run(scene);
    assert_eq!(out.len(), 33);
    assert_eq!(bgr(out[32][70]), BACKGROUND);
    assert_eq!(bgr(out[12][22]), SUBJECT);
    s.no_warning();
}

#[test]
fn calibration_area_outside_the_frame_is_fitted_with_a_warning() {
    let bg = png("bg-outside.png", BACKGROUND, 1);
    let mut s = stream(VideoFormat::Bgr, 64, 48);
    s.set_area(1000, 900, 10, 10);
    s.set_background(bg.to_str().unwrap());
    s.wait_loaded();
    let out = s.run(scene);
    // Moved to the bottom-right corner: outline from (54, 38).
    assert_eq!(bgr(out[38][54]), [255, 0, 0]);
    assert_eq!(bgr(out[47][54]), [255, 0, 0]);
    let warning = s.next_warning();
    assert!(
        warning.contains("does not fit the 64x48 frame"),
        "{warning}"
    );
    for _ in 1..61 {
        s.run(scene);
    }
    let out = s.run(scene);
    // The grey background (1-channel PNG) is converted, not misread.
    let grey = BACKGROUND[0];
    assert_eq!(bgr(out[5][5]), [grey, grey, grey]);
    assert_eq!(bgr(out[12][22]), SUBJECT);
}

#[test]
fn empty_area_keys_everything_bright_as_kurento() {
    // no histogram bin reaches the threshold, so the range stays H 0..179, S 0..255.
    let bg = png("bg-q10.png", BACKGROUND, 3);
    let mut s = stream(VideoFormat::Bgr, 64, 48);
    s.set_area(5, 5, 0, 0);
    s.set_background(bg.to_str().unwrap());
    s.wait_loaded();
    let dark_scene = |x: usize, y: usize| if x < 8 { DARK } else { scene(x, y) };
    for _ in 0..61 {
        s.run(dark_scene);
    }
    let out = s.run(dark_scene);
    assert_eq!(bgr(out[20][2]), DARK, "value below 30 is kept");
    assert_eq!(bgr(out[12][22]), BACKGROUND, "the subject is keyed too");
    assert_eq!(bgr(out[40][40]), BACKGROUND);
}

#[test]
fn missing_and_broken_backgrounds_warn_and_keep_the_previous_one() {
    let good = png("bg-good.png", BACKGROUND, 3);
    let broken = good.with_file_name("broken.png");
    std::fs::write(&broken, b"this is not an image").unwrap();
    let mut s = stream(VideoFormat::Bgrx, 64, 48);
    s.set_area(2, 2, 10, 10);
    let file_uri = gst::glib::filename_to_uri(&good, None).unwrap();
    s.set_background(&file_uri);
    s.wait_loaded();
    calibrate(&mut s);

    s.set_background("/nonexistent/background.jpg");
    let warning = s.next_warning();
    assert!(warning.contains("/nonexistent/background.jpg"), "{warning}");
    assert_eq!(
        bgr(s.run(scene)[5][5]),
        BACKGROUND,
        "previous background kept"
    );

    s.set_background(broken.to_str().unwrap());
    let warning = s.next_warning();
    assert!(warning.contains("not a decodable image"), "{warning}");
    s.set_background("ftp://example.invalid/bg.png");
    let warning = s.next_warning();
    assert!(warning.contains("unsupported URI scheme"), "{warning}");
    assert_eq!(bgr(s.run(scene)[5][5]), BACKGROUND, "frames keep flowing");
    assert_eq!(
        s.element().property::<String>("image-background"),
        "ftp://example.invalid/bg.png"
    );
}

#[test]
fn without_calibration_area_frames_pass_untouched() {
    let mut s = stream(VideoFormat::Bgr, 16, 8);
    let out = s.run(scene);
    assert!(
        out.iter()
            .enumerate()
            .all(|(y, row)| row.iter().enumerate().all(|(x, p)| bgr(*p) == scene(x, y)))
    );
    let area = s.element().property::<gst::Structure>("calibration-area");
    assert_eq!(area.name(), "calibration_area");
    assert_eq!(area.get::<i32>("width").unwrap(), 0);
    s.set_area(-3, -4, 5, 6);
    let area = s.element().property::<gst::Structure>("calibration-area");
    assert_eq!(
        (
            area.get::<i32>("x").unwrap(),
            area.get::<i32>("y").unwrap(),
            area.get::<i32>("height").unwrap()
        ),
        (0, 0, 6),
        "negative corners clamp to 0"
    );
}

#[test]
fn backgrounds_load_over_http() {
    use std::io::{Read, Write};
    let body = std::fs::read(png("bg-http.png", BACKGROUND, 3)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (status, payload) in [("200 OK", body), ("404 Not Found", b"gone".to_vec())] {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&payload);
        }
    });
    let mut s = stream(VideoFormat::Bgr, 64, 48);
    s.set_area(2, 2, 10, 10);
    s.set_background(&format!("http://127.0.0.1:{port}/bg.png"));
    s.wait_loaded();
    calibrate(&mut s);
    assert_eq!(bgr(s.run(scene)[5][5]), BACKGROUND);
    // An HTTP error is a warning naming the status; the loaded background stays.
    s.set_background(&format!("http://127.0.0.1:{port}/missing.png"));
    let warning = s.next_warning();
    assert!(warning.contains("404"), "{warning}");
    assert_eq!(bgr(s.run(scene)[5][5]), BACKGROUND);
}
