// SPDX-License-Identifier: MPL-2.0
//! `WebRtcEndpoint`: the class of the `elements` module, delegating to
//! `kurento-webrtc-runtime` (webrtcbin inside a core-runtime `MediaElement`).
//!
//! Its own operations (WebRtcEndpoint) come through the generated trait; those declared by
//! core's `SdpEndpoint` and `BaseRtpEndpoint` (processOffer, generateOffer, bandwidths,
//! media/connection state, mtu, …) arrive as inherited operations and are answered in
//! `invoke_inherited`, before the MediaElement / MediaObject ones of core-runtime.
//! MediaSessionStarted is raised when webrtcbin's peer connection first reaches `connected`,
//! MediaSessionTerminated when it then disconnects, fails or closes.
//! `getDtlsConnectionState` and `DtlsConnectionStateChange` read webrtcbin's DTLS transports
//! (one per BUNDLE group: `streamId` = `connectionId` = its session id, `componentId` "1").
//!
//! Decisions: `certificateKeyType` and `qosDscp` are accepted and have no effect (webrtcbin
//! makes its own certificate; no DSCP marking); `generateOffer`'s `OfferOptions` are accepted
//! and ignored (audio and video are always offered); `rembParams` is stored and returned
//! (no REMB congestion control is done); `mtu` is applied to the RTP payloaders.

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use kurento_webrtc_runtime::{Options, WebRtcEndpoint as Runtime};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::generated::*;
use crate::{core_object, invoke_core, kurento_error, pipeline_of};

/// Kurento's `BaseRtpEndpoint.mtu` default.
const DEFAULT_MTU: i32 = 1200;

pub struct Endpoint {
    ctx: Context,
    ep: Arc<Runtime>,
    mtu: Mutex<i32>,
    remb: Mutex<Value>,
    /// Session ids of the DTLS transports whose state changes are raised.
    dtls_watched: Mutex<Vec<String>>,
}

pub fn create(
    ctx: Context,
    p: WebRtcEndpointConstructor,
) -> Result<Box<dyn WebRtcEndpoint>, KurentoError> {
    let pipeline = pipeline_of(&ctx, &p.media_pipeline)?;
    let ep = Runtime::new(
        core_object(&ctx),
        &pipeline,
        Options {
            recvonly: p.recvonly,
            sendonly: p.sendonly,
            use_data_channels: p.use_data_channels,
        },
    )
    .map_err(kurento_error)?;
    watch_session(&ep);
    Ok(Box::new(Endpoint {
        ctx,
        ep,
        mtu: Mutex::new(DEFAULT_MTU),
        remb: Mutex::new(default_remb()),
        dtls_watched: Mutex::new(Vec::new()),
    }))
}

/// SessionEndpoint's MediaSessionStarted when the peer connection first connects, and
/// MediaSessionTerminated when a started session disconnects, fails or closes.
fn watch_session(ep: &Arc<Runtime>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let started = AtomicBool::new(false);
    let weak = Arc::downgrade(ep);
    ep.webrtcbin()
        .connect_notify(Some("connection-state"), move |webrtc, _| {
            let Some(ep) = weak.upgrade() else { return };
            let state = webrtc.property_value("connection-state");
            let nick = gst::glib::EnumValue::from_value(&state)
                .map(|(_, v)| v.nick().to_string())
                .unwrap_or_default();
            let event = match nick.as_str() {
                "connected" if !started.swap(true, Ordering::SeqCst) => "MediaSessionStarted",
                "disconnected" | "failed" | "closed" if started.swap(false, Ordering::SeqCst) => {
                    "MediaSessionTerminated"
                }
                _ => return,
            };
            ep.object().raise_media(event, serde_json::Map::new());
        });
}

/// `RembParams` (core) with its documented defaults.
fn default_remb() -> Value {
    json!({"__module__": "kurento", "__type__": "RembParams",
        "packetsRecvIntervalTop": 100, "exponentialFactor": 0.04, "linealFactorGrade": 30.0,
        "decrementFactor": 0.5, "thresholdFactor": 0.8, "upLosses": 12, "rembOnConnect": 300000})
}

/// Kurento's `DtlsConnectionState` literal of a webrtcbin DTLS transport.
fn dtls_state(transport: &gst::glib::Object) -> String {
    let state = transport.property_value("state");
    gst::glib::EnumValue::from_value(&state)
        .map(|(_, v)| v.nick().to_uppercase())
        .unwrap_or_else(|| "NEW".into())
}

/// A required parameter of an inherited operation, with Kurento's messages.
fn param<T: DeserializeOwned>(params: &Value, name: &str, kind: &str) -> Result<T, KurentoError> {
    match params {
        Value::Object(_) => {}
        Value::Null => return Err(KurentoError::marshall("'operationParams' is required")),
        _ => {
            return Err(KurentoError::marshall(
                "'operationParams' should be an object",
            ));
        }
    }
    let v = params.get(name).filter(|v| !v.is_null());
    v.and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(|| KurentoError::marshall(format!("'{name}' parameter should be a {kind}")))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Endpoint {
    fn wire<T: DeserializeOwned>(v: Value) -> Result<T, KurentoError> {
        serde_json::from_value(v).map_err(|e| KurentoError::unexpected(e.to_string()))
    }

    /// Sets `mtu` on every RTP payloader of the endpoint (built at negotiation).
    fn apply_mtu(&self) {
        let mtu = (*lock(&self.mtu)).max(1) as u32;
        for e in self
            .ep
            .element()
            .bin()
            .iterate_recurse()
            .into_iter()
            .flatten()
        {
            let payloader = e.factory().is_some_and(|f| f.klass().contains("Payloader"));
            if payloader && e.find_property("mtu").is_some() {
                e.set_property("mtu", mtu);
            }
        }
    }

    /// The DTLS transports of the transceivers (one with BUNDLE), by session id.
    fn dtls_transports(&self) -> Vec<(String, gst::glib::Object)> {
        let webrtc = self.ep.webrtcbin();
        let mut out: Vec<(String, gst::glib::Object)> = Vec::new();
        for i in 0i32.. {
            let Some(t) =
                webrtc.emit_by_name::<Option<gst::glib::Object>>("get-transceiver", &[&i])
            else {
                break;
            };
            let Some(transport) = t
                .property::<Option<gst::glib::Object>>("receiver")
                .and_then(|r| r.property::<Option<gst::glib::Object>>("transport"))
            else {
                continue;
            };
            let session = transport.property::<u32>("session-id").to_string();
            if !out.iter().any(|(s, _)| *s == session) {
                out.push((session, transport));
            }
        }
        out
    }

    /// `getDtlsConnectionState`.
    fn dtls_connections(&self) -> Vec<DtlsConnection> {
        self.dtls_transports()
            .into_iter()
            .map(|(session, transport)| DtlsConnection {
                stream_id: session.clone(),
                component_id: "1".into(),
                connection_id: session,
                state: Self::wire::<DtlsConnectionState>(json!(dtls_state(&transport)))
                    .unwrap_or(DtlsConnectionState::NEW),
            })
            .collect()
    }

    /// Raises DtlsConnectionStateChange for every state change of the transports, once they
    /// exist (after the local description is set).
    fn watch_dtls(&self) {
        for (session, transport) in self.dtls_transports() {
            let mut watched = lock(&self.dtls_watched);
            if watched.contains(&session) {
                continue;
            }
            watched.push(session.clone());
            let ep = Arc::downgrade(&self.ep);
            transport.connect_notify(Some("state"), move |transport, _| {
                let Some(ep) = ep.upgrade() else { return };
                let mut m = serde_json::Map::new();
                m.insert("streamId".into(), json!(session));
                m.insert("componentId".into(), json!("1"));
                m.insert("connectionId".into(), json!(session));
                m.insert("state".into(), json!(dtls_state(transport)));
                ep.object().raise_media("DtlsConnectionStateChange", m);
            });
        }
    }

    /// SdpEndpoint and BaseRtpEndpoint operations; `None` when `op` is none of them.
    fn invoke_rtp(&self, op: &str, params: &Value) -> Option<Result<Value, KurentoError>> {
        let ep = &self.ep;
        let bw = |f: fn(&kurento_webrtc_runtime::Bandwidths) -> i32| Ok(json!(f(&ep.bandwidths())));
        let set_bw = |name: &str, f: fn(&mut kurento_webrtc_runtime::Bandwidths, i32)| {
            let v: i32 = param(params, name, "integer")?;
            ep.set_bandwidths(|b| f(b, v));
            Ok(Value::Null)
        };
        let r = match op {
            "processOffer" => param::<String>(params, "offer", "string").and_then(|offer| {
                let answer = ep.process_offer(&offer).map_err(kurento_error)?;
                self.apply_mtu();
                self.watch_dtls();
                Ok(json!(answer))
            }),
            "generateOffer" => ep.generate_offer().map_err(kurento_error).map(|offer| {
                self.apply_mtu();
                json!(offer)
            }),
            "processAnswer" => param::<String>(params, "answer", "string").and_then(|answer| {
                ep.process_answer(&answer)
                    .map(|s| json!(s))
                    .map_err(kurento_error)
            }),
            "getLocalSessionDescriptor" => ep
                .local_session_descriptor()
                .map(|s| json!(s))
                .map_err(kurento_error),
            "getRemoteSessionDescriptor" => ep
                .remote_session_descriptor()
                .map(|s| json!(s))
                .map_err(kurento_error),
            "getMaxAudioRecvBandwidth" => bw(|b| b.max_audio_recv),
            "getMaxVideoRecvBandwidth" => bw(|b| b.max_video_recv),
            "getMinVideoRecvBandwidth" => bw(|b| b.min_video_recv),
            "getMinVideoSendBandwidth" => bw(|b| b.min_video_send),
            "getMaxVideoSendBandwidth" => bw(|b| b.max_video_send),
            "setMaxAudioRecvBandwidth" => {
                set_bw("maxAudioRecvBandwidth", |b, v| b.max_audio_recv = v)
            }
            "setMaxVideoRecvBandwidth" => {
                set_bw("maxVideoRecvBandwidth", |b, v| b.max_video_recv = v)
            }
            "setMinVideoRecvBandwidth" => {
                set_bw("minVideoRecvBandwidth", |b, v| b.min_video_recv = v)
            }
            "setMinVideoSendBandwidth" => {
                set_bw("minVideoSendBandwidth", |b, v| b.min_video_send = v)
            }
            "setMaxVideoSendBandwidth" => {
                set_bw("maxVideoSendBandwidth", |b, v| b.max_video_send = v)
            }
            "getMediaState" => Ok(json!(ep.media_state())),
            "getConnectionState" => Ok(json!(ep.connection_state())),
            "getMtu" => Ok(json!(*lock(&self.mtu))),
            "setMtu" => param::<i32>(params, "mtu", "integer").and_then(|mtu| {
                if mtu <= 0 {
                    return Err(KurentoError::illegal_param("'mtu' must be positive"));
                }
                *lock(&self.mtu) = mtu;
                self.apply_mtu();
                Ok(Value::Null)
            }),
            "getRembParams" => Ok(lock(&self.remb).clone()),
            "setRembParams" => {
                param::<serde_json::Map<String, Value>>(params, "rembParams", "object").map(|r| {
                    let mut remb = default_remb();
                    for (k, v) in r {
                        if !k.starts_with("__") {
                            remb[k] = v;
                        }
                    }
                    *lock(&self.remb) = remb;
                    Value::Null
                })
            }
            "requestKeyframe" => ep
                .request_keyframe()
                .map(|_| Value::Null)
                .map_err(kurento_error),
            _ => return None,
        };
        Some(r)
    }
}

impl ModuleObject for Endpoint {
    fn gst_element(&self) -> *mut std::ffi::c_void {
        self.ep.element().element_ptr()
    }

    fn invoke_inherited(&self, op: &str, params: &Value) -> Option<Result<Value, KurentoError>> {
        self.invoke_rtp(op, params)
            .or_else(|| invoke_core(&self.ctx, self.ep.element(), op, params))
    }

    fn release(&self) {
        self.ep.release();
    }
}

impl WebRtcEndpoint for Endpoint {
    fn gather_candidates(&self) -> Result<(), KurentoError> {
        self.ep.gather_candidates().map_err(kurento_error)
    }

    fn add_ice_candidate(&self, candidate: IceCandidate) -> Result<(), KurentoError> {
        let mline = u32::try_from(candidate.sdp_m_line_index)
            .map_err(|_| KurentoError::illegal_param("'sdpMLineIndex' must not be negative"))?;
        self.ep
            .add_ice_candidate(&candidate.candidate, mline)
            .map_err(kurento_error)
    }

    fn create_data_channel(
        &self,
        label: Option<String>,
        ordered: Option<bool>,
        max_packet_life_time: Option<i32>,
        max_retransmits: Option<i32>,
        protocol: Option<String>,
    ) -> Result<(), KurentoError> {
        self.ep
            .create_data_channel(
                label.as_deref().unwrap_or(""),
                ordered.unwrap_or(true),
                max_packet_life_time.unwrap_or(-1),
                max_retransmits.unwrap_or(-1),
                protocol.as_deref().unwrap_or(""),
            )
            .map_err(kurento_error)
    }

    fn close_data_channel(&self, channel_id: i32) -> Result<(), KurentoError> {
        self.ep
            .close_data_channel(channel_id)
            .map_err(kurento_error)
    }

    fn get_network_interfaces(&self) -> Result<String, KurentoError> {
        Ok(self.ep.ice_settings().network_interfaces)
    }

    fn set_network_interfaces(&self, network_interfaces: String) -> Result<(), KurentoError> {
        self.ep
            .set_ice_settings(|s| s.network_interfaces = network_interfaces);
        Ok(())
    }

    fn get_ice_tcp(&self) -> Result<bool, KurentoError> {
        Ok(self.ep.ice_settings().ice_tcp)
    }

    fn set_ice_tcp(&self, ice_tcp: bool) -> Result<(), KurentoError> {
        self.ep.set_ice_settings(|s| s.ice_tcp = ice_tcp);
        Ok(())
    }

    fn get_stun_server_address(&self) -> Result<String, KurentoError> {
        Ok(self.ep.ice_settings().stun_server_address)
    }

    fn set_stun_server_address(&self, stun_server_address: String) -> Result<(), KurentoError> {
        self.ep
            .set_ice_settings(|s| s.stun_server_address = stun_server_address);
        Ok(())
    }

    fn get_stun_server_port(&self) -> Result<i32, KurentoError> {
        Ok(self.ep.ice_settings().stun_server_port)
    }

    fn set_stun_server_port(&self, stun_server_port: i32) -> Result<(), KurentoError> {
        if !(0..=65535).contains(&stun_server_port) {
            return Err(KurentoError::illegal_param(
                "'stunServerPort' must be in 0..65535",
            ));
        }
        self.ep
            .set_ice_settings(|s| s.stun_server_port = stun_server_port);
        Ok(())
    }

    fn get_turn_url(&self) -> Result<String, KurentoError> {
        Ok(self.ep.ice_settings().turn_url)
    }

    fn set_turn_url(&self, turn_url: String) -> Result<(), KurentoError> {
        self.ep.set_ice_settings(|s| s.turn_url = turn_url);
        Ok(())
    }

    fn get_external_i_pv4(&self) -> Result<String, KurentoError> {
        Ok(self.ep.ice_settings().external_ipv4)
    }

    fn set_external_i_pv4(&self, external_i_pv4: String) -> Result<(), KurentoError> {
        self.ep
            .set_ice_settings(|s| s.external_ipv4 = external_i_pv4);
        Ok(())
    }

    fn get_external_i_pv6(&self) -> Result<String, KurentoError> {
        Ok(self.ep.ice_settings().external_ipv6)
    }

    fn set_external_i_pv6(&self, external_i_pv6: String) -> Result<(), KurentoError> {
        self.ep
            .set_ice_settings(|s| s.external_ipv6 = external_i_pv6);
        Ok(())
    }

    fn get_ice_candidate_pairs(&self) -> Result<Vec<IceCandidatePair>, KurentoError> {
        Self::wire(self.ep.ice_candidate_pairs())
    }

    fn get_ice_connection_state(&self) -> Result<Vec<IceConnection>, KurentoError> {
        Self::wire(self.ep.ice_connection_state())
    }

    fn get_dtls_connection_state(&self) -> Result<Vec<DtlsConnection>, KurentoError> {
        Ok(self.dtls_connections())
    }
}
