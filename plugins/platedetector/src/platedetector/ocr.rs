// SPDX-License-Identifier: MPL-2.0
//! Character reading with Debian's Tesseract on one worker thread, fed through a single-slot
//! mailbox: the streaming thread never waits for OCR and never queues more than one
//! candidate (a newer one replaces an unread one).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use opencv::core::{self, Mat, Scalar};
use opencv::imgproc;
use opencv::prelude::*;
use tesseract_plumbing::TessBaseApi;
use tesseract_plumbing::tesseract_sys::TessPageSegMode_PSM_SINGLE_LINE;

use super::locate::{Class, DIGITS, Glyph, LETTERS, Reading};
use super::plate::{Plate, Stabiliser, UNKNOWN, validate};

/// Debian's location of `tesseract-ocr-eng`'s data (Tesseract 5).
pub const DEFAULT_TESSDATA: &str = "/usr/share/tesseract-ocr/5/tessdata";
pub const DEFAULT_LANGUAGE: &str = "eng";
/// Kurento's per-character acceptance threshold.
const MIN_CONFIDENCE: i32 = 70;

/// A candidate sent to the worker.
pub struct Job {
    pub reading: Reading,
    pub pts: Option<gst::ClockTime>,
}

/// What the worker reports.
pub enum Outcome {
    /// One reading done (valid or not), for logging.
    Read {
        text: String,
        pts: Option<gst::ClockTime>,
    },
    /// A stabilised plate to announce, with the timestamp of the first frame read as it.
    Plate {
        plate: String,
        first_pts: Option<gst::ClockTime>,
    },
}

#[derive(Default)]
struct Mailbox {
    job: Option<Job>,
    stop: bool,
}

pub struct Worker {
    shared: Arc<(Mutex<Mailbox>, Condvar)>,
    handle: Option<JoinHandle<()>>,
    replaced: Arc<AtomicU64>,
}

/// Checks that `<dir>/<language>.traineddata` is there, so a wrong path is a clear error.
pub fn model_path(dir: &Path, language: &str) -> Result<PathBuf, String> {
    let file = dir.join(format!("{language}.traineddata"));
    if file.is_file() {
        Ok(file)
    } else {
        Err(format!(
            "Tesseract data {} not found (set the tessdata property to the folder holding {language}.traineddata; Debian: install tesseract-ocr-{language})",
            file.display()
        ))
    }
}

/// The plate strip spanning a run of glyphs, on a white margin and enlarged: Tesseract
/// reads it as one line, so a glyph box cut a little off does not cut its character.
fn line_image(binary: &Mat, glyphs: &[&Glyph]) -> opencv::Result<Mat> {
    let mut span = glyphs[0].rect;
    for g in glyphs {
        span |= g.rect;
    }
    let mut strip = Mat::roi(binary, span)?.try_clone()?;
    clear_rules(&mut strip)?;
    let mut padded = Mat::default();
    core::copy_make_border(
        &strip,
        &mut padded,
        20,
        20,
        30,
        30,
        core::BORDER_CONSTANT,
        Scalar::all(255.0),
    )?;
    // Glyphs are ~40 px high in the working image; Tesseract likes them larger.
    let mut big = Mat::default();
    imgproc::resize(
        &padded,
        &mut big,
        core::Size::default(),
        1.5,
        1.5,
        imgproc::INTER_LINEAR,
    )?;
    Ok(big)
}

/// Whitens rows, and columns at the ends, that are almost all black: the plate's frame and band
/// edges that a
/// glyph box can reach; they would be read as characters or lower Tesseract's confidence.
fn clear_rules(strip: &mut Mat) -> opencv::Result<()> {
    let (w, h) = (strip.cols() as usize, strip.rows() as usize);
    let data = strip.data_bytes_mut()?;
    let rows: Vec<bool> = (0..h)
        .map(|y| {
            data[y * w..(y + 1) * w]
                .iter()
                .filter(|&&v| v < 128)
                .count()
                * 10
                > w * 9
        })
        .collect();
    // Only at the ends: inside, a bold vertical stroke is as tall as the strip.
    let cols: Vec<bool> = (0..w)
        .map(|x| {
            (x < 4 || x + 4 >= w) && (0..h).filter(|&y| data[y * w + x] < 128).count() * 10 > h * 9
        })
        .collect();
    for y in 0..h {
        for x in 0..w {
            if rows[y] || cols[x] {
                data[y * w + x] = 255;
            }
        }
    }
    Ok(())
}

/// Reads a run of glyphs of one class as a single text line; `None` when Tesseract does not
/// return one confident character per glyph.
fn read_line(
    api: &mut TessBaseApi,
    binary: &Mat,
    glyphs: &[&Glyph],
    class: Class,
) -> Option<Vec<u8>> {
    let image = line_image(binary, glyphs).ok()?;
    let whitelist = CString::new(match class {
        Class::Digit => DIGITS,
        Class::Letter => LETTERS,
    })
    .ok()?;
    api.set_variable(c"tessedit_char_whitelist", &whitelist)
        .ok()?;
    let data = image.data_bytes().ok()?;
    api.set_image(data, image.cols(), image.rows(), 1, image.cols())
        .ok()?;
    // Without a resolution Tesseract guesses one from the image size and may rescale badly.
    api.set_source_resolution(300);
    api.recognize().ok()?;
    let text = api.get_utf8_text().ok()?;
    let text: Vec<u8> = text
        .as_ref()
        .to_bytes()
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    let confidence = api.mean_text_conf();
    (text.len() == glyphs.len() && confidence > MIN_CONFIDENCE).then_some(text)
}

/// The 9-position plate text of one candidate.
fn read_plate(api: &mut TessBaseApi, reading: &Reading) -> Plate {
    let mut plate = UNKNOWN;
    let glyphs = &reading.glyphs;
    let mut start = 0;
    while start < glyphs.len() {
        let class = glyphs[start].class;
        let end = glyphs[start..]
            .iter()
            .position(|g| g.class != class)
            .map_or(glyphs.len(), |n| start + n);
        let run: Vec<&Glyph> = glyphs[start..end].iter().collect();
        // Leading letters only matter for the old format (letters at 1, 6, 7); with three
        // trailing letters the current format forces positions 0–1 to `-` anyway, so the
        // Tesseract call is saved.
        if run.iter().all(|g| g.position < 2) && glyphs.iter().any(|g| g.position == 8) {
            start = end;
            continue;
        }
        if let Some(text) = read_line(api, &reading.binary, &run, class) {
            for (g, c) in run.iter().zip(text) {
                plate[g.position] = c;
            }
        }
        start = end;
    }
    plate
}

impl Worker {
    /// Starts the OCR thread; fails with a clear message when Tesseract cannot load its data.
    pub fn start(
        tessdata: &Path,
        language: &str,
        mut report: impl FnMut(Outcome) + Send + 'static,
    ) -> Result<Worker, String> {
        model_path(tessdata, language)?;
        let dir = CString::new(tessdata.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
        let lang = CString::new(language).map_err(|e| e.to_string())?;
        let shared = Arc::new((Mutex::new(Mailbox::default()), Condvar::new()));
        let (ready_tx, ready_rx) = sync_channel(1);
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name("platedetector-ocr".into())
            .spawn(move || {
                // The API is not Send: it lives and dies on this thread.
                let mut api = TessBaseApi::create();
                if api.init_2(Some(&dir), Some(&lang)).is_err() {
                    let _ = ready_tx.send(Err(format!(
                        "Tesseract could not load language {lang:?} from {dir:?}"
                    )));
                    return;
                }
                api.set_page_seg_mode(TessPageSegMode_PSM_SINGLE_LINE);
                let _ = ready_tx.send(Ok(()));
                let mut stabiliser = Stabiliser::default();
                let mut seen: Vec<(Plate, Option<gst::ClockTime>)> = Vec::new();
                loop {
                    let job = {
                        let (lock, cvar) = &*s;
                        let mut mb = lock.lock().unwrap();
                        while mb.job.is_none() && !mb.stop {
                            mb = cvar.wait(mb).unwrap();
                        }
                        if mb.stop {
                            return;
                        }
                        mb.job.take().expect("checked above")
                    };
                    let plate = read_plate(&mut api, &job.reading);
                    report(Outcome::Read {
                        text: String::from_utf8_lossy(&plate).into_owned(),
                        pts: job.pts,
                    });
                    if let Some(valid) = validate(&plate) {
                        if seen.len() > 64 {
                            seen.remove(0);
                        }
                        seen.push((valid, job.pts));
                    }
                    if let Some(announce) = stabiliser.push(&plate) {
                        let first_pts = seen
                            .iter()
                            .find(|(p, _)| *p == announce)
                            .and_then(|(_, pts)| *pts);
                        seen.clear();
                        report(Outcome::Plate {
                            plate: String::from_utf8_lossy(&announce).into_owned(),
                            first_pts,
                        });
                    }
                }
            })
            .map_err(|e| format!("cannot start the OCR thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Worker {
                shared,
                handle: Some(handle),
                replaced: Arc::new(AtomicU64::new(0)),
            }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err("the OCR thread died while loading Tesseract".into())
            }
        }
    }

    /// Hands a candidate to the worker without waiting; an unread older one is replaced.
    pub fn submit(&self, job: Job) {
        let (lock, cvar) = &*self.shared;
        let mut mb = lock.lock().unwrap();
        if mb.job.replace(job).is_some() {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
        cvar.notify_one();
    }

    /// Candidates dropped because the worker was still busy with an earlier one.
    pub fn replaced(&self) -> u64 {
        self.replaced.load(Ordering::Relaxed)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        {
            let (lock, cvar) = &*self.shared;
            lock.lock().unwrap().stop = true;
            cvar.notify_one();
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
