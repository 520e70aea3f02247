// SPDX-License-Identifier: MPL-2.0
//! The generated stubs of every project module, compiled side by side (tests in `tests/`).

pub mod chroma {
    include!(concat!(env!("OUT_DIR"), "/chroma.rs"));
}
pub mod core {
    include!(concat!(env!("OUT_DIR"), "/core.rs"));
}
pub mod crowddetector {
    include!(concat!(env!("OUT_DIR"), "/crowddetector.rs"));
}
pub mod datachannelexample {
    include!(concat!(env!("OUT_DIR"), "/datachannelexample.rs"));
}
pub mod elements {
    include!(concat!(env!("OUT_DIR"), "/elements.rs"));
}
pub mod filters {
    include!(concat!(env!("OUT_DIR"), "/filters.rs"));
}
pub mod platedetector {
    include!(concat!(env!("OUT_DIR"), "/platedetector.rs"));
}
pub mod pointerdetector {
    include!(concat!(env!("OUT_DIR"), "/pointerdetector.rs"));
}
