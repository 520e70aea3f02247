// SPDX-License-Identifier: MPL-2.0
// Node tutorial hello-world with its real browser library: the page is the tutorial's
// index.js use of kurento-utils (npm `kurento-utils` 7.3.0, bundled at test time), i.e.
// WebRtcPeerSendrecv({ localVideo, remoteVideo, onicecandidate }) → generateOffer →
// (server) processOffer → processAnswer, onicecandidate → addIceCandidate, IceCandidateFound →
// webRtcPeer.addIceCandidate. The camera is Chromium's fake device, with its microphone.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const { waitFor, kurentoUtilsBundle, useKurentoAndBrowser, helloWorld } = require('../lib/harness.js');

const bundle = kurentoUtilsBundle();
const env = useKurentoAndBrowser({ extra: () => ({ 'kurento-utils.js': bundle }) });
test.after(() => fs.rmSync(path.dirname(bundle), { recursive: true, force: true }));

test('hello-world with kurento-utils WebRtcPeerSendrecv: the page decodes its own video', async () => {
  const peer = await env.browser.openPeer(env.pages, 'kurento-utils',
    { scripts: ['kurento-utils.js', 'utils-peer.js'] });
  // The tutorial's page: WebRtcPeerSendrecv, then generateOffer → the offer to the server.
  const offer = await peer.start();
  assert.match(offer, /^m=video /m);
  // The tutorial's server.js, in its order; the answer goes to webRtcPeer.processAnswer, the
  // server's candidates to webRtcPeer.addIceCandidate.
  const { pipeline, events, flowing } = await helloWorld(env.kms, peer, offer,
    ['IceCandidateFound', 'IceGatheringDone', 'ConnectionStateChanged']);

  const { first, third } = await peer.waitForVideo();
  assert.ok(first.width > 0 && first.height > 0, JSON.stringify(first));
  assert.ok(third.framesDecoded > first.framesDecoded, JSON.stringify(third));
  // kurento-utils asks for audio too: the fake microphone comes back.
  await waitFor('audio packets back', async () => (await peer.videoStats()).audioPacketsReceived > 20);
  // kurento-utils shows the remote stream in the remoteVideo element it was given.
  const shown = await peer.page.evaluate(() => {
    const v = document.getElementById('remote');
    return { width: v.videoWidth, height: v.videoHeight, playing: !v.paused };
  });
  assert.ok(shown.width > 0 && shown.height > 0 && shown.playing, JSON.stringify(shown));
  await flowing;
  await waitFor('IceGatheringDone', () => events.IceGatheringDone.length > 0);
  await waitFor('ConnectionStateChanged CONNECTED',
    () => events.ConnectionStateChanged.some((e) => e.newState === 'CONNECTED'));
  assert.ok(events.IceCandidateFound.length > 0);
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});
