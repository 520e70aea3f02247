// SPDX-License-Identifier: MPL-2.0
//! `--logs-path`: one log file per process start, named
//! `<YYYY-MM-DDTHHMMSS>.<5-digit counter>.pid<pid>.log`, rotated by size and at midnight,
//! older files pruned to `--number-log-files` (server.md §1).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Local date-time fields `(year, month, day, hour, minute, second)` of now.
fn local_now() -> (i32, u32, u32, u32, u32, u32) {
    let t = unsafe { libc::time(std::ptr::null_mut()) };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r writes only `tm`.
    unsafe { libc::localtime_r(&t, &mut tm) };
    (
        tm.tm_year + 1900,
        tm.tm_mon as u32 + 1,
        tm.tm_mday as u32,
        tm.tm_hour as u32,
        tm.tm_min as u32,
        tm.tm_sec as u32,
    )
}

fn is_log_name(name: &str) -> bool {
    let b = name.as_bytes();
    // 2026-01-31T235959.00000.pid1.log
    b.len() > 30
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && name[17..].starts_with('.')
        && name[23..].starts_with(".pid")
        && name.ends_with(".log")
}

pub struct RotatingLog {
    dir: PathBuf,
    stamp: String,
    pid: u32,
    counter: u32,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
    day: (i32, u32, u32),
}

impl RotatingLog {
    /// Opens the first file in `dir` (created if missing).
    pub fn open(dir: &Path, max_mb: u64, keep: usize) -> io::Result<RotatingLog> {
        std::fs::create_dir_all(dir)?;
        let (y, mo, d, h, mi, s) = local_now();
        let stamp = format!("{y:04}-{mo:02}-{d:02}T{h:02}{mi:02}{s:02}");
        let pid = std::process::id();
        let file = Self::create(dir, &stamp, 0, pid)?;
        let log = RotatingLog {
            dir: dir.to_path_buf(),
            stamp,
            pid,
            counter: 0,
            max_bytes: max_mb.max(1) * 1024 * 1024,
            keep: keep.max(1),
            file,
            written: 0,
            day: (y, mo, d),
        };
        log.prune();
        Ok(log)
    }

    #[cfg(test)]
    fn with_max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }

    fn create(dir: &Path, stamp: &str, counter: u32, pid: u32) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{stamp}.{counter:05}.pid{pid}.log")))
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.counter += 1;
        self.file = Self::create(&self.dir, &self.stamp, self.counter, self.pid)?;
        self.written = 0;
        self.prune();
        Ok(())
    }

    /// Keeps the newest `keep` log files of the directory (names sort by time).
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_log_name(n))
            .collect();
        names.sort();
        let excess = names.len().saturating_sub(self.keep);
        for n in &names[..excess] {
            let _ = std::fs::remove_file(self.dir.join(n));
        }
    }
}

impl Write for RotatingLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (y, mo, d, ..) = local_now();
        let full = self.written > 0 && self.written + buf.len() as u64 > self.max_bytes;
        if full || (y, mo, d) != self.day {
            self.day = (y, mo, d);
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_prunes() {
        let dir = std::env::temp_dir().join(format!("kms-logs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut log = RotatingLog::open(&dir, 1, 3).unwrap().with_max_bytes(100);
        for i in 0..20 {
            writeln!(log, "line {i:03} {}", "x".repeat(40)).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| is_log_name(n)), "{names:?}");
        assert!(
            names[2].contains(&format!(".00009.pid{}.log", std::process::id())),
            "{names:?}"
        );
        let last = std::fs::read_to_string(dir.join(&names[2])).unwrap();
        assert!(last.contains("line 019"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
