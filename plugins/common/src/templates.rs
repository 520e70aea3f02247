// SPDX-License-Identifier: MPL-2.0
//! Pad templates shared by the in-place video filters.

/// The `sink` and `src` always-pads of a filter whose input and output caps are the same.
pub fn filter_pad_templates(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    [gst::PadDirection::Src, gst::PadDirection::Sink]
        .into_iter()
        .map(|direction| {
            let name = if direction == gst::PadDirection::Src {
                "src"
            } else {
                "sink"
            };
            gst::PadTemplate::new(name, direction, gst::PadPresence::Always, caps)
                .expect("valid pad template")
        })
        .collect()
}

/// [`filter_pad_templates`] for packed BGR, the only format the OpenCV-based detectors take.
pub fn bgr_filter_pad_templates() -> Vec<gst::PadTemplate> {
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Bgr)
        .build();
    filter_pad_templates(&caps)
}
