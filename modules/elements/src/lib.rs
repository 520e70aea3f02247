// SPDX-License-Identifier: MPL-2.0
//! Kurento module `elements` (`libkmselementsmodule.so`). `PlayerEndpoint` (`player.rs`) and
//! `WebRtcEndpoint` (`web_rtc_endpoint.rs`) are implemented; every other creatable class
//! answers 40006 NOT_IMPLEMENTED on create, one file per class under `pending/` so each can be
//! filled in on its own. What the classes inherit
//! from core (`connect`, `getName`, media-flow and error events, …) is `kurento-core-runtime`'s.

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

kurento_module_glue::module_helpers!();

mod pending {
    pub mod alpha_blending;
    pub mod composite;
    pub mod dispatcher;
    pub mod dispatcher_one_to_many;
    pub mod http_post_endpoint;
    pub mod mixer;
    pub mod recorder_endpoint;
    pub mod rtp_endpoint;
}
mod player;
mod web_rtc_endpoint;

use generated::*;
use pending::*;

/// Creates the objects of the module.
pub struct Module;

impl Factory for Module {
    fn create_player_endpoint(
        ctx: Context,
        p: PlayerEndpointConstructor,
    ) -> Result<Box<dyn PlayerEndpoint>, KurentoError> {
        player::Player::create(ctx, p)
    }
    fn create_alpha_blending(
        ctx: Context,
        p: AlphaBlendingConstructor,
    ) -> Result<Box<dyn AlphaBlending>, KurentoError> {
        alpha_blending::create(ctx, p)
    }
    fn create_composite(
        ctx: Context,
        p: CompositeConstructor,
    ) -> Result<Box<dyn Composite>, KurentoError> {
        composite::create(ctx, p)
    }
    fn create_dispatcher(
        ctx: Context,
        p: DispatcherConstructor,
    ) -> Result<Box<dyn Dispatcher>, KurentoError> {
        dispatcher::create(ctx, p)
    }
    fn create_dispatcher_one_to_many(
        ctx: Context,
        p: DispatcherOneToManyConstructor,
    ) -> Result<Box<dyn DispatcherOneToMany>, KurentoError> {
        dispatcher_one_to_many::create(ctx, p)
    }
    fn create_http_post_endpoint(
        ctx: Context,
        p: HttpPostEndpointConstructor,
    ) -> Result<Box<dyn HttpPostEndpoint>, KurentoError> {
        http_post_endpoint::create(ctx, p)
    }
    fn create_mixer(ctx: Context, p: MixerConstructor) -> Result<Box<dyn Mixer>, KurentoError> {
        mixer::create(ctx, p)
    }
    fn create_recorder_endpoint(
        ctx: Context,
        p: RecorderEndpointConstructor,
    ) -> Result<Box<dyn RecorderEndpoint>, KurentoError> {
        recorder_endpoint::create(ctx, p)
    }
    fn create_rtp_endpoint(
        ctx: Context,
        p: RtpEndpointConstructor,
    ) -> Result<Box<dyn RtpEndpoint>, KurentoError> {
        rtp_endpoint::create(ctx, p)
    }
    fn create_web_rtc_endpoint(
        ctx: Context,
        p: WebRtcEndpointConstructor,
    ) -> Result<Box<dyn WebRtcEndpoint>, KurentoError> {
        web_rtc_endpoint::create(ctx, p)
    }
}

generated::export_module!(Module);
