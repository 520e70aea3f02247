// SPDX-License-Identifier: MPL-2.0
//! `Mixer`: not implemented by this server yet; creating one answers 40006 NOT_IMPLEMENTED
//! (the class stays in the descriptor, so clients see the real API).

use crate::generated::*;

pub fn create(_ctx: Context, _p: MixerConstructor) -> Result<Box<dyn Mixer>, KurentoError> {
    Err(KurentoError::not_implemented(
        "Mixer is not implemented by this server yet",
    ))
}
