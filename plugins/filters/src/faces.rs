// SPDX-License-Identifier: MPL-2.0
//! The `faces` structure: what `kmsfacedetector` sends downstream (as a custom event) and on
//! the bus (as an element message), and what `kmsimageoverlay` reads.
//!
//! Layout, kept byte-compatible with Kurento: structure `faces` with a field `timestamp`
//! (structure `time` with `pts` and `dts`, `u64`, `u64::MAX` for none) and one field per face
//! named `0`, `1`, ... (structure `face` with `x`, `y`, `width`, `height`, all `u32`, in
//! full-resolution pixels).

/// A face rectangle in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Face {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The decoded content of a `faces` structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacesEvent {
    pub pts: Option<gst::ClockTime>,
    pub dts: Option<gst::ClockTime>,
    pub faces: Vec<Face>,
}

impl FacesEvent {
    pub const NAME: &'static str = "faces";

    pub fn to_structure(&self) -> gst::Structure {
        let time = gst::Structure::builder("time")
            .field("pts", self.pts.map_or(u64::MAX, |t| t.nseconds()))
            .field("dts", self.dts.map_or(u64::MAX, |t| t.nseconds()))
            .build();
        let mut s = gst::Structure::builder(Self::NAME)
            .field("timestamp", time)
            .build();
        for (i, face) in self.faces.iter().enumerate() {
            let f = gst::Structure::builder("face")
                .field("x", face.x)
                .field("y", face.y)
                .field("width", face.width)
                .field("height", face.height)
                .build();
            s.set(i.to_string().as_str(), f);
        }
        s
    }

    /// Reads any structure laid out like `faces` (Kurento's overlay accepts any name).
    /// Returns `None` when there is no `timestamp.pts`, which Kurento would silently replace by
    /// the previous entry's; such entries cannot be matched to a frame and are ignored.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Self> {
        let time = s.get::<gst::Structure>("timestamp").ok()?;
        let pts = time.get::<u64>("pts").ok()?;
        let dts = time.get::<u64>("dts").unwrap_or(u64::MAX);
        let to_time = |v: u64| (v != u64::MAX).then(|| gst::ClockTime::from_nseconds(v));
        let faces = s
            .iter()
            .filter(|(name, _)| name.as_str() != "timestamp")
            .filter_map(|(_, value)| value.get::<gst::Structure>().ok())
            .map(|f| Face {
                x: f.get("x").unwrap_or(0),
                y: f.get("y").unwrap_or(0),
                width: f.get("width").unwrap_or(0),
                height: f.get("height").unwrap_or(0),
            })
            .collect();
        Some(Self {
            pts: to_time(pts),
            dts: to_time(dts),
            faces,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_kurento_layout() {
        gst::init().unwrap();
        let ev = FacesEvent {
            pts: Some(gst::ClockTime::from_mseconds(40)),
            dts: None,
            faces: vec![
                Face {
                    x: 1,
                    y: 2,
                    width: 3,
                    height: 4,
                },
                Face {
                    x: 5,
                    y: 6,
                    width: 7,
                    height: 8,
                },
            ],
        };
        let s = ev.to_structure();
        assert_eq!(s.name(), "faces");
        let time = s.get::<gst::Structure>("timestamp").unwrap();
        assert_eq!(time.name(), "time");
        assert_eq!(time.get::<u64>("pts").unwrap(), 40_000_000);
        assert_eq!(time.get::<u64>("dts").unwrap(), u64::MAX);
        let second = s.get::<gst::Structure>("1").unwrap();
        assert_eq!(second.name(), "face");
        assert_eq!(second.get::<u32>("width").unwrap(), 7);
        assert_eq!(FacesEvent::from_structure(&s).unwrap(), ev);
    }

    #[test]
    fn entries_without_timestamp_are_ignored() {
        gst::init().unwrap();
        let s = gst::Structure::builder("faces")
            .field("0", gst::Structure::new_empty("face"))
            .build();
        assert!(FacesEvent::from_structure(&s).is_none());
    }
}
