// SPDX-License-Identifier: MPL-2.0
//! Plate strings: validation and stabilisation over several readings (elements.md §12,
//! steps 15–16). Pure logic, no OpenCV or OCR.

/// Number of positions of a plate string; `-` marks an unknown one.
pub const PLATE_LEN: usize = 9;
const STORE_LEN: usize = 11;

pub type Plate = [u8; PLATE_LEN];

pub const UNKNOWN: Plate = *b"---------";

fn letter(c: u8) -> bool {
    c.is_ascii_uppercase()
}

fn known(c: u8) -> bool {
    !matches!(c, b'-' | b' ' | 0)
}

/// Accepts the current Spanish format (`--NNNNLLL`, positions 0–1 forced to `-`) and the older
/// one with letters at 1, 6 and 7; returns the normalised plate.
pub fn validate(plate: &Plate) -> Option<Plate> {
    if !plate[2..=6].iter().all(|&c| known(c)) {
        return None;
    }
    if letter(plate[6]) && letter(plate[7]) && letter(plate[8]) {
        let mut p = *plate;
        p[0] = b'-';
        p[1] = b'-';
        Some(p)
    } else if letter(plate[6]) && letter(plate[7]) && letter(plate[1]) {
        Some(*plate)
    } else {
        None
    }
}

/// Kurento's stabilisation: a plate is announced once the most frequent characters of the
/// recent valid readings have equalled it on 3 consecutive evaluations, and never twice in a row.
#[derive(Debug, Clone)]
pub struct Stabiliser {
    store: [Plate; STORE_LEN],
    used: usize,
    latest: Plate,
    candidate: Plate,
    last_sent: Plate,
    repetition: u32,
    armed: bool,
}

impl Default for Stabiliser {
    fn default() -> Self {
        Stabiliser {
            store: [UNKNOWN; STORE_LEN],
            used: 0,
            latest: UNKNOWN,
            candidate: *b"*********",
            last_sent: UNKNOWN,
            repetition: 0,
            armed: false,
        }
    }
}

impl Stabiliser {
    /// Feeds one reading (valid or not); returns the plate to announce, if any.
    pub fn push(&mut self, reading: &Plate) -> Option<Plate> {
        if let Some(valid) = validate(reading) {
            self.latest = valid;
            let same = valid
                .iter()
                .zip(&self.candidate)
                .filter(|(a, b)| a == b)
                .count();
            if same < 6 {
                self.store = [UNKNOWN; STORE_LEN];
                self.used = 0;
            }
            if self.used < STORE_LEN {
                self.store[self.used] = valid;
                self.used += 1;
            } else {
                self.store.copy_within(0..STORE_LEN - 1, 1);
                self.store[0] = valid;
            }
        }
        let stable = self.stabilised();
        if stable != self.candidate {
            self.repetition = 1;
            self.armed = true;
            self.candidate = self.latest;
        } else {
            self.repetition += 1;
        }
        if self.repetition > 3 && self.armed && self.candidate != self.last_sent {
            self.armed = false;
            self.repetition = 0;
            self.last_sent = self.candidate;
            return Some(self.candidate);
        }
        None
    }

    /// Most frequent non-`-` character per position over the store (first maximum wins).
    pub fn stabilised(&self) -> Plate {
        let mut out = UNKNOWN;
        for (pos, slot) in out.iter_mut().enumerate() {
            let mut best = (0, b'-');
            for (i, p) in self.store.iter().enumerate() {
                let c = p[pos];
                if c == b'-' {
                    continue;
                }
                // Count from the first occurrence only, so the first maximum wins.
                if self.store[..i].iter().any(|q| q[pos] == c) {
                    continue;
                }
                let n = self.store.iter().filter(|q| q[pos] == c).count();
                if n > best.0 {
                    best = (n, c);
                }
            }
            *slot = best.1;
        }
        out
    }
}
