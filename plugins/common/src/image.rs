// SPDX-License-Identifier: MPL-2.0
//! Images that elements draw into video (overlays, logos, chroma backgrounds, window icons).
//!
//! Kurento downloads these synchronously on the property-setting thread or even the streaming
//! thread, which stalls video. Here every load runs on a small worker pool and hands its result
//! to a callback; elements swap the new image in when it arrives.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::Duration;

use gst::prelude::*;
use opencv::core::{CV_8U, Mat, Vector};
use opencv::prelude::*;
use opencv::{core, imgcodecs, imgproc};

/// Downloads bigger than this are refused: an overlay image has no business being larger.
pub const MAX_IMAGE_BYTES: u64 = 32 * 1024 * 1024;
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
const LOADER_THREADS: usize = 4;

/// An 8-bit image with four channels in B, G, R, A order, rows packed without padding.
#[derive(Clone, PartialEq, Eq)]
pub struct BgraImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl fmt::Debug for BgraImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BgraImage({}x{})", self.width, self.height)
    }
}

impl BgraImage {
    /// A uniform image, mostly useful in tests.
    pub fn filled(width: usize, height: usize, bgra: [u8; 4]) -> Self {
        let data = bgra
            .iter()
            .copied()
            .cycle()
            .take(width * height * 4)
            .collect();
        Self {
            width,
            height,
            data,
        }
    }

    pub fn pixel(&self, x: usize, y: usize) -> [u8; 4] {
        let i = (y * self.width + x) * 4;
        [
            self.data[i],
            self.data[i + 1],
            self.data[i + 2],
            self.data[i + 3],
        ]
    }

    /// Bilinear resize (OpenCV `INTER_LINEAR`, as Kurento uses). Returns `None` for an empty
    /// target, which callers skip instead of failing (Kurento's Q-05 crash).
    pub fn resized(&self, width: usize, height: usize) -> Option<BgraImage> {
        self.resized_with(width, height, imgproc::INTER_LINEAR)
    }

    /// Resize with an OpenCV interpolation (`imgproc::INTER_*`), e.g. the bicubic scaling
    /// Kurento's pointer detector uses for window icons. `None` for an empty target.
    pub fn resized_with(
        &self,
        width: usize,
        height: usize,
        interpolation: i32,
    ) -> Option<BgraImage> {
        if width == 0 || height == 0 || self.width == 0 || self.height == 0 {
            return None;
        }
        if width == self.width && height == self.height {
            return Some(self.clone());
        }
        let src =
            Mat::new_rows_cols_with_data(self.height as i32, self.width as i32 * 4, &self.data)
                .ok()?
                .reshape(4, self.height as i32)
                .ok()?
                .try_clone()
                .ok()?;
        let mut dst = Mat::default();
        imgproc::resize(
            &src,
            &mut dst,
            core::Size::new(width as i32, height as i32),
            0.0,
            0.0,
            interpolation,
        )
        .ok()?;
        Some(BgraImage {
            width,
            height,
            data: dst.data_bytes().ok()?.to_vec(),
        })
    }

    /// Converts any decoded OpenCV image (1, 3 or 4 channels, 8 or 16 bit) to BGRA.
    /// Kurento misreads 1- and 4-channel images in some elements; converting once here
    /// means every element composites the same way.
    pub fn from_mat(mat: &Mat) -> Result<Self, String> {
        if mat.empty() {
            return Err("no image data".into());
        }
        let mut eight_bit = Mat::default();
        let source = if mat.depth() != CV_8U {
            // 16-bit PNG/TIFF: scale to 8 bit rather than misreading the bytes.
            let scale = if mat.depth() == core::CV_16U || mat.depth() == core::CV_16S {
                1.0 / 257.0
            } else {
                255.0
            };
            mat.convert_to(&mut eight_bit, CV_8U, scale, 0.0)
                .map_err(|e| e.to_string())?;
            &eight_bit
        } else {
            mat
        };
        let code = match source.channels() {
            1 => Some(imgproc::COLOR_GRAY2BGRA),
            3 => Some(imgproc::COLOR_BGR2BGRA),
            4 => None,
            n => return Err(format!("unsupported channel count {n}")),
        };
        let mut bgra = Mat::default();
        let bgra = match code {
            Some(code) => {
                imgproc::cvt_color_def(source, &mut bgra, code).map_err(|e| e.to_string())?;
                &bgra
            }
            None => source,
        };
        let bgra = if bgra.is_continuous() {
            bgra.clone()
        } else {
            bgra.try_clone().map_err(|e| e.to_string())?
        };
        Ok(BgraImage {
            width: bgra.cols() as usize,
            height: bgra.rows() as usize,
            data: bgra.data_bytes().map_err(|e| e.to_string())?.to_vec(),
        })
    }

    /// Decodes an encoded image (PNG, JPEG, ...) from memory.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let buf = Vector::<u8>::from_slice(bytes);
        let mat = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_UNCHANGED)
            .map_err(|e| format!("decoder failed: {e}"))?;
        if mat.empty() {
            return Err("not a decodable image".into());
        }
        Self::from_mat(&mat)
    }
}

/// Why an image could not be loaded; the message names the URI and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLoadError {
    pub uri: String,
    pub reason: String,
}

impl fmt::Display for ImageLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not load image '{}': {}", self.uri, self.reason)
    }
}

impl std::error::Error for ImageLoadError {}

enum Location {
    File(PathBuf),
    Http(String),
}

fn locate(uri: &str) -> Result<Location, String> {
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(Location::Http(uri.to_owned()))
    } else if lower.starts_with("file:") {
        gst::glib::filename_from_uri(uri)
            .map(|(path, _host)| Location::File(path))
            .map_err(|e| format!("invalid file URI: {e}"))
    } else if uri.contains("://") {
        Err("unsupported URI scheme (use a path, file://, http:// or https://)".into())
    } else if uri.is_empty() {
        Err("empty location".into())
    } else {
        Ok(Location::File(PathBuf::from(uri)))
    }
}

fn fetch_http(url: &str) -> Result<Vec<u8>, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(HTTP_TIMEOUT)
        .redirects(5)
        .build();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, response) => {
            format!("HTTP status {code} {}", response.status_text())
        }
        ureq::Error::Transport(t) => format!("transfer failed: {t}"),
    })?;
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_IMAGE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("transfer failed: {e}"))?;
    if body.len() as u64 > MAX_IMAGE_BYTES {
        return Err(format!("larger than {MAX_IMAGE_BYTES} bytes"));
    }
    if body.is_empty() {
        return Err("empty response body".into());
    }
    Ok(body)
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > MAX_IMAGE_BYTES {
        return Err(format!("larger than {MAX_IMAGE_BYTES} bytes"));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads and decodes an image, blocking. Use [`spawn_image_load`] from elements.
pub fn load_image(uri: &str) -> Result<BgraImage, ImageLoadError> {
    let fail = |reason: String| ImageLoadError {
        uri: uri.to_owned(),
        reason,
    };
    let bytes = match locate(uri).map_err(fail)? {
        Location::File(path) => read_file(&path),
        Location::Http(url) => fetch_http(&url),
    }
    .map_err(fail)?;
    if process_exiting() {
        return Err(fail("the process is exiting".into()));
    }
    BgraImage::decode(&bytes).map_err(fail)
}

type Job = Box<dyn FnOnce() + Send>;

/// Jobs queued or running, and whether the process is exiting. At exit, C++ static destructors
/// tear OpenCV down while a loader thread may still be inside `imdecode`, which crashes the
/// process; so an `atexit` hook (registered after OpenCV's, hence run before them) lets the
/// running loads finish and skips the queued ones.
struct InFlight {
    jobs: Mutex<usize>,
    idle: Condvar,
    exiting: AtomicBool,
}

static IN_FLIGHT: InFlight = InFlight {
    jobs: Mutex::new(0),
    idle: Condvar::new(),
    exiting: AtomicBool::new(false),
};

/// How long the exit hook waits for loads in progress (an HTTP download may take longer; it is
/// then abandoned before decoding).
const EXIT_WAIT: Duration = Duration::from_secs(3);

extern "C" fn wait_for_loads_at_exit() {
    IN_FLIGHT.exiting.store(true, Ordering::SeqCst);
    let jobs = IN_FLIGHT.jobs.lock().unwrap_or_else(|e| e.into_inner());
    let _ = IN_FLIGHT
        .idle
        .wait_timeout_while(jobs, EXIT_WAIT, |n| *n > 0);
}

fn process_exiting() -> bool {
    IN_FLIGHT.exiting.load(Ordering::SeqCst)
}

fn job_finished() {
    let mut jobs = IN_FLIGHT.jobs.lock().unwrap_or_else(|e| e.into_inner());
    *jobs = jobs.saturating_sub(1);
    if *jobs == 0 {
        IN_FLIGHT.idle.notify_all();
    }
}

fn warm_up_codecs() {
    let mut png = Vector::<u8>::new();
    let pixel = Mat::new_rows_cols_with_default(1, 1, core::CV_8UC3, core::Scalar::all(0.0));
    if let Ok(pixel) = pixel
        && imgcodecs::imencode(".png", &pixel, &mut png, &Vector::new()).unwrap_or(false)
    {
        let _ = imgcodecs::imdecode(&png, imgcodecs::IMREAD_UNCHANGED);
    }
}

/// A fixed pool, so a burst of property changes cannot start an unbounded number of threads.
static LOADER: LazyLock<Mutex<Sender<Job>>> = LazyLock::new(|| {
    // OpenCV creates its codec registry on first use and registers its destructor then; use
    // it once before registering the hook, so the hook runs before that destructor.
    warm_up_codecs();
    // SAFETY: registering a plain function without captured state.
    unsafe { libc::atexit(wait_for_loads_at_exit) };
    let (sender, receiver) = channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for i in 0..LOADER_THREADS {
        let receiver: Arc<Mutex<Receiver<Job>>> = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("kms-image-loader-{i}"))
            .spawn(move || {
                loop {
                    let job = match receiver.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => {
                            if !process_exiting() {
                                job();
                            }
                            job_finished();
                        }
                        Err(_) => return,
                    }
                }
            })
            .expect("spawning an image loader thread");
    }
    Mutex::new(sender)
});

/// Loads `uri` on the loader pool and calls `done` there with the result.
pub fn spawn_image_load<F>(uri: String, done: F)
where
    F: FnOnce(Result<BgraImage, ImageLoadError>) + Send + 'static,
{
    let job: Job = Box::new(move || done(load_image(&uri)));
    let sender = LOADER.lock().unwrap_or_else(|e| e.into_inner());
    *IN_FLIGHT.jobs.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    // The pool threads never exit while the sender lives, so sending cannot fail.
    let _ = sender.send(job);
}

fn load_warning(element: &gst::Element, err: &ImageLoadError) -> gst::Message {
    let error = gst::glib::Error::new(
        gst::ResourceError::OpenRead,
        &format!("Could not load image '{}'", err.uri),
    );
    gst::message::Warning::builder_from_error(error)
        .debug(&err.reason)
        .src(element)
        .build()
}

/// Posts the GStreamer warning every element gives when an image cannot be used: the video
/// keeps flowing, and the application learns which URI failed and why. Returns `false` when
/// the element has no bus yet (not in a pipeline).
pub fn post_load_warning(element: &gst::Element, err: &ImageLoadError) -> bool {
    element.post_message(load_warning(element, err)).is_ok()
}

/// Load failures that happened before the element had a bus (a property set before the
/// element joined a pipeline, as `gst-launch-1.0` does): kept and posted once it has one.
#[derive(Debug, Default)]
pub struct PendingWarnings(Mutex<Vec<ImageLoadError>>);

impl PendingWarnings {
    /// Posts the warning now, or keeps it for [`PendingWarnings::flush`].
    pub fn report(&self, element: &gst::Element, err: ImageLoadError) {
        if !post_load_warning(element, &err) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(err);
        }
    }

    /// Call after the element's NULL→READY transition, when it is inside a pipeline.
    pub fn flush(&self, element: &gst::Element) {
        let pending = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for err in pending {
            self.report(element, err);
        }
    }

    /// An element's `change_state`: runs the parent's (`parent`), then, after NULL→READY (the
    /// element is inside a pipeline now), posts the warnings of images that failed before.
    pub fn change_state(
        &self,
        element: &gst::Element,
        transition: gst::StateChange,
        parent: impl FnOnce(gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError>,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        let result = parent(transition)?;
        if transition == gst::StateChange::NullToReady {
            self.flush(element);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(channels: i32) -> Vec<u8> {
        let typ = core::CV_MAKETYPE(CV_8U, channels);
        let mat = Mat::new_rows_cols_with_default(4, 6, typ, core::Scalar::new(10., 20., 30., 40.))
            .unwrap();
        let mut buf = Vector::<u8>::new();
        imgcodecs::imencode_def(".png", &mat, &mut buf).unwrap();
        buf.to_vec()
    }

    #[test]
    fn decodes_every_channel_count_to_bgra() {
        let grey = BgraImage::decode(&png_bytes(1)).unwrap();
        assert_eq!((grey.width, grey.height), (6, 4));
        assert_eq!(grey.pixel(0, 0), [10, 10, 10, 255]);
        let bgr = BgraImage::decode(&png_bytes(3)).unwrap();
        assert_eq!(bgr.pixel(5, 3), [10, 20, 30, 255]);
        let bgra = BgraImage::decode(&png_bytes(4)).unwrap();
        assert_eq!(bgra.pixel(2, 2), [10, 20, 30, 40]);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = BgraImage::decode(b"this is not a picture").unwrap_err();
        assert!(err.contains("not a decodable image"), "{err}");
    }

    #[test]
    fn file_uri_path_and_errors() {
        let dir = std::env::temp_dir().join(format!("kms-image-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("img.png");
        std::fs::write(&path, png_bytes(3)).unwrap();
        let uri = gst::glib::filename_to_uri(&path, None).unwrap();
        assert_eq!(load_image(&uri).unwrap().width, 6);
        assert_eq!(load_image(path.to_str().unwrap()).unwrap().height, 4);

        let missing = load_image("/nonexistent/overlay.png").unwrap_err();
        assert_eq!(missing.uri, "/nonexistent/overlay.png");
        assert!(missing.to_string().contains("No such file"), "{missing}");

        let bad_scheme = load_image("ftp://host/x.png").unwrap_err();
        assert!(bad_scheme.reason.contains("unsupported URI scheme"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Serves one HTTP response on a local port and returns the URL to fetch it.
    fn serve_once(status: &str, body: Vec<u8>) -> String {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut req = [0u8; 1024];
                let _ = stream.read(&mut req);
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        format!("http://127.0.0.1:{port}/hat.png")
    }

    #[test]
    fn http_images_load() {
        let image = load_image(&serve_once("200 OK", png_bytes(4))).unwrap();
        assert_eq!(image.pixel(1, 1), [10, 20, 30, 40]);
        let err = load_image(&serve_once("200 OK", b"<html>oops</html>".to_vec())).unwrap_err();
        assert!(err.reason.contains("not a decodable image"), "{err}");
    }

    #[test]
    fn http_status_and_refused_connections_are_errors() {
        use std::io::Write;
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut req = [0u8; 1024];
                let _ = stream.read(&mut req);
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
                );
            }
        });
        let err = load_image(&format!("http://127.0.0.1:{port}/hat.png")).unwrap_err();
        assert!(err.reason.contains("404"), "{err}");

        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = load_image(&format!("http://127.0.0.1:{closed_port}/hat.png")).unwrap_err();
        assert!(err.reason.contains("transfer failed"), "{err}");
    }

    #[test]
    fn resize_skips_empty_targets() {
        let img = BgraImage::filled(8, 8, [1, 2, 3, 255]);
        assert!(img.resized(0, 5).is_none());
        let small = img.resized(3, 2).unwrap();
        assert_eq!((small.width, small.height), (3, 2));
        assert_eq!(small.pixel(1, 1), [1, 2, 3, 255]);
    }

    #[test]
    fn spawned_loads_report_back() {
        let (tx, rx) = channel();
        spawn_image_load("/nonexistent.png".into(), move |r| {
            tx.send(r.is_err()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
}
