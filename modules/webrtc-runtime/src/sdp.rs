// SPDX-License-Identifier: MPL-2.0
//! SDP and candidate helpers: which codec and payload type to send, candidate fields.

/// A codec this endpoint can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Vp8,
    H264,
    Opus,
}

impl Codec {
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Vp8 => "VP8",
            Codec::H264 => "H264",
            Codec::Opus => "OPUS",
        }
    }

    pub fn clock_rate(self) -> i32 {
        match self {
            Codec::Opus => 48000,
            _ => 90000,
        }
    }

    pub fn media(self) -> &'static str {
        match self {
            Codec::Opus => "audio",
            _ => "video",
        }
    }

    /// Payload type used in offers this endpoint generates.
    pub fn default_pt(self) -> u32 {
        match self {
            Codec::Vp8 => 96,
            Codec::H264 => 102,
            Codec::Opus => 111,
        }
    }

    /// (encoder, payloader, depayloader, decoder) factory names.
    pub fn factories(self) -> [&'static str; 4] {
        match self {
            Codec::Vp8 => ["vp8enc", "rtpvp8pay", "rtpvp8depay", "vp8dec"],
            Codec::H264 => ["x264enc", "rtph264pay", "rtph264depay", "avdec_h264"],
            Codec::Opus => ["opusenc", "rtpopuspay", "rtpopusdepay", "opusdec"],
        }
    }

    /// The caps name of the depayloaded (encoded) stream.
    pub fn caps_name(self) -> &'static str {
        match self {
            Codec::Vp8 => "video/x-vp8",
            Codec::H264 => "video/x-h264",
            Codec::Opus => "audio/x-opus",
        }
    }

    pub fn available(self) -> bool {
        self.factories()
            .iter()
            .all(|f| gst::ElementFactory::find(f).is_some())
    }

    pub fn from_encoding_name(name: &str) -> Option<Codec> {
        match name.to_ascii_uppercase().as_str() {
            "VP8" => Some(Codec::Vp8),
            "H264" => Some(Codec::H264),
            "OPUS" => Some(Codec::Opus),
            _ => None,
        }
    }

    /// Preference order per media kind.
    pub fn preferred(media: &str) -> &'static [Codec] {
        match media {
            "audio" => &[Codec::Opus],
            "video" => &[Codec::Vp8, Codec::H264],
            _ => &[],
        }
    }
}

/// One offered m-line: kind, index, and the codec and payload type chosen from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub mline: u32,
    pub media: String,
    pub codec: Codec,
    pub pt: u32,
}

/// For each audio/video m-line of `sdp`, the first codec of ours it offers, with the payload
/// type the offerer gave it (H.264 only with packetization-mode=1, which rtph264pay speaks).
pub fn choose(sdp: &gst_sdp::SDPMessageRef) -> Vec<Choice> {
    let mut out = Vec::new();
    for (i, m) in sdp.medias().enumerate() {
        let kind = m.media().unwrap_or_default().to_string();
        if m.port() == 0 {
            continue;
        }
        let mut offered: Vec<(Codec, u32)> = Vec::new();
        for a in m.attributes() {
            if a.key() != "rtpmap" {
                continue;
            }
            let Some((pt, rest)) = a.value().and_then(|v| v.split_once(' ')) else {
                continue;
            };
            let Ok(pt) = pt.parse::<u32>() else { continue };
            let name = rest.split('/').next().unwrap_or_default();
            if let Some(c) = Codec::from_encoding_name(name) {
                if c == Codec::H264 {
                    let fmtp = m
                        .attributes()
                        .filter(|a| a.key() == "fmtp")
                        .filter_map(|a| a.value().map(str::to_string))
                        .find(|v| v.starts_with(&format!("{pt} ")));
                    if !fmtp.is_some_and(|f| f.contains("packetization-mode=1")) {
                        continue;
                    }
                }
                offered.push((c, pt));
            }
        }
        for pref in Codec::preferred(&kind) {
            if !pref.available() {
                continue;
            }
            if let Some((c, pt)) = offered.iter().find(|(c, _)| c == pref) {
                out.push(Choice {
                    mline: i as u32,
                    media: kind.clone(),
                    codec: *c,
                    pt: *pt,
                });
                break;
            }
        }
    }
    out
}

/// The connection address of a candidate line (`candidate:<f> <c> <proto> <prio> <addr> …`).
pub fn candidate_address(candidate: &str) -> Option<&str> {
    candidate.split_whitespace().nth(4)
}

/// The foundation of a candidate line.
pub fn candidate_foundation(candidate: &str) -> Option<&str> {
    candidate
        .split_whitespace()
        .next()
        .map(|f| f.strip_prefix("a=").unwrap_or(f))
        .map(|f| f.strip_prefix("candidate:").unwrap_or(f))
}

/// mDNS candidates (`<uuid>.local`) cannot be resolved here; Kurento ignores them.
pub fn is_mdns(candidate: &str) -> bool {
    candidate_address(candidate).is_some_and(|a| a.ends_with(".local"))
}

/// Replaces the address of a host candidate of the given IP family (externalIPv4/6).
pub fn with_external_address(candidate: &str, ipv4: Option<&str>, ipv6: Option<&str>) -> String {
    let mut parts: Vec<&str> = candidate.split(' ').collect();
    let is_host = parts.windows(2).any(|w| w[0] == "typ" && w[1] == "host");
    if parts.len() > 4 && is_host {
        let ext = if parts[4].contains(':') { ipv6 } else { ipv4 };
        if let Some(e) = ext.filter(|e| !e.is_empty()) {
            parts[4] = e;
        }
    }
    parts.join(" ")
}

/// Adds `b=AS:<kbps>` to the m-lines of `media` kind (bandwidth limits of SdpEndpoint).
pub fn with_bandwidth(sdp: &str, media: &str, kbps: i32) -> String {
    if kbps <= 0 {
        return sdp.to_string();
    }
    let mut out = String::new();
    let mut in_media = false;
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("m=") {
            in_media = line.starts_with(&format!("m={media} "));
        }
        if in_media && line.starts_with("b=AS:") {
            continue;
        }
        out.push_str(line);
        if in_media && line.starts_with("c=") {
            out.push_str(&format!("b=AS:{kbps}\r\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates() {
        let c = "candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host";
        assert_eq!(candidate_address(c), Some("127.0.0.1"));
        assert_eq!(candidate_foundation(c), Some("1"));
        assert!(!is_mdns(c));
        assert!(is_mdns(
            "candidate:2 1 udp 2113937151 6b3f2c9e-1d2a-4b1e-9c8e-0e1f2a3b4c5d.local 5000 typ host"
        ));
        assert_eq!(
            with_external_address(c, Some("1.2.3.4"), None),
            "candidate:1 1 UDP 2015363327 1.2.3.4 40000 typ host"
        );
        let srflx = "candidate:3 1 UDP 1 5.6.7.8 1 typ srflx raddr 0.0.0.0 rport 0";
        assert_eq!(with_external_address(srflx, Some("1.2.3.4"), None), srflx);
    }

    #[test]
    fn bandwidth_lines() {
        let sdp = "v=0\r\nm=audio 9 UDP 111\r\nc=IN IP4 0.0.0.0\r\nm=video 9 UDP 96\r\nc=IN IP4 0.0.0.0\r\n";
        let out = with_bandwidth(sdp, "video", 500);
        assert_eq!(
            out,
            "v=0\r\nm=audio 9 UDP 111\r\nc=IN IP4 0.0.0.0\r\nm=video 9 UDP 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:500\r\n"
        );
    }

    #[test]
    fn choose_takes_offered_payload_types() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 109 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:109 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 120 126\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:126 H264/90000\r\na=fmtp:126 packetization-mode=1\r\na=rtpmap:120 VP8/90000\r\n";
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let c = choose(&msg);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].codec, c[0].pt, c[0].mline), (Codec::Opus, 109, 0));
        assert_eq!((c[1].codec, c[1].pt, c[1].mline), (Codec::Vp8, 120, 1));
    }
}
