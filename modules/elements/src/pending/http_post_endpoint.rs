// SPDX-License-Identifier: MPL-2.0
//! `HttpPostEndpoint`: not implemented by this server yet; creating one answers 40006 NOT_IMPLEMENTED
//! (the class stays in the descriptor, so clients see the real API).

use crate::generated::*;

pub fn create(
    _ctx: Context,
    _p: HttpPostEndpointConstructor,
) -> Result<Box<dyn HttpPostEndpoint>, KurentoError> {
    Err(KurentoError::not_implemented(
        "HttpPostEndpoint is not implemented by this server yet",
    ))
}
