// SPDX-License-Identifier: MPL-2.0
//! `WebRtcEndpoint`: not implemented by this server yet; creating one answers 40006 NOT_IMPLEMENTED
//! (the class stays in the descriptor, so clients see the real API).
//! Its behaviour is being written as the library crate `modules/webrtc-runtime`; this file
//! will delegate to it.

use crate::generated::*;

pub fn create(
    _ctx: Context,
    _p: WebRtcEndpointConstructor,
) -> Result<Box<dyn WebRtcEndpoint>, KurentoError> {
    Err(KurentoError::not_implemented(
        "WebRtcEndpoint is not implemented by this server yet",
    ))
}
