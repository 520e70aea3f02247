// SPDX-License-Identifier: MPL-2.0
// Node tutorials hello-world and magic-mirror, in their call order, with a real Chromium page as
// the browser: the camera is a y4m still of frame 0 of faces_640x480.webm.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const {
  media, waitFor, stillY4m, useKurentoAndBrowser, meanColor, helloWorld,
} = require('../lib/harness.js');

const y4m = stillY4m('faces_640x480.webm');
const env = useKurentoAndBrowser({ video: y4m });
test.after(() => fs.rmSync(path.dirname(y4m), { recursive: true, force: true }));

const EVENTS = ['IceCandidateFound', 'IceGatheringDone', 'ConnectionStateChanged', 'MediaStateChanged',
  'MediaFlowInStateChanged', 'MediaFlowOutStateChanged', 'IceComponentStateChanged', 'NewCandidatePairSelected',
  'DtlsConnectionStateChange', 'MediaSessionStarted'];

test('hello-world: loopback WebRtcEndpoint, the page decodes its own video', async () => {
  const peer = await env.browser.openPeer(env.pages, 'hello-world');
  const offer = await peer.start({ audio: true });
  const { pipeline, ep, answer, events, flowing } = await helloWorld(env.kms, peer, offer, EVENTS);
  assert.match(answer, /^m=video .*UDP\/TLS\/RTP\/SAVPF/m);
  assert.match(answer, /a=rtpmap:\d+ VP8\/90000/);

  const { first, third } = await peer.waitForVideo();
  // 640×480 from the camera; the browser may send it smaller when short of CPU or bandwidth.
  assert.equal(first.width * 3, first.height * 4, JSON.stringify(first));
  assert.ok(third.framesDecoded > first.framesDecoded, JSON.stringify(third));
  // The fake microphone's beeps come back too (Opus both ways).
  await waitFor('audio packets back', async () => (await peer.videoStats()).audioPacketsReceived > 20);
  await flowing;

  await waitFor('IceGatheringDone', () => events.IceGatheringDone.length > 0);
  await waitFor('ConnectionStateChanged CONNECTED',
    () => events.ConnectionStateChanged.some((e) => e.newState === 'CONNECTED'));
  for (const e of events.IceCandidateFound) {
    assert.match(e.candidate.candidate, /^candidate:/);
    // KMS_NETWORK_INTERFACES=lo: loopback only.
    assert.match(e.candidate.candidate, / 127\.0\.0\.1 | ::1 /, e.candidate.candidate);
    assert.equal(typeof e.candidate.sdpMLineIndex, 'number');
  }
  assert.ok(events.IceCandidateFound.length > 0);
  await waitFor('MediaStateChanged CONNECTED', () => events.MediaStateChanged.some((e) => e.newState === 'CONNECTED'));
  assert.ok(events.IceComponentStateChanged.some((e) => ['CONNECTED', 'READY'].includes(e.state)
    && Number.isInteger(e.streamId) && Number.isInteger(e.componentId)), JSON.stringify(events.IceComponentStateChanged));
  const selected = events.NewCandidatePairSelected.map((e) => e.candidatePair);
  // The remote candidate is empty when ICE learnt it from a check before it was signalled
  // (peer-reflexive: the runtime only knows signalled candidates).
  assert.ok(selected.length > 0 && selected.every((p) => / (127\.0\.0\.1|::1) /.test(p.localCandidate)
    && (p.remoteCandidate === '' || / (127\.0\.0\.1|::1) /.test(p.remoteCandidate))), JSON.stringify(selected));
  await waitFor('DtlsConnectionStateChange CONNECTED',
    () => events.DtlsConnectionStateChange.some((e) => e.state === 'CONNECTED' && e.streamId !== ''));
  assert.ok((await ep.getDtlsConnectionState()).some((c) => c.state === 'CONNECTED'));
  await waitFor('MediaSessionStarted', () => events.MediaSessionStarted.length === 1);
  const flowIn = events.MediaFlowInStateChanged.find((e) => e.mediaType === 'VIDEO');
  assert.equal(flowIn.state, 'FLOWING');
  assert.equal(flowIn.padName, 'default');
  assert.equal(await ep.getConnectionState(), 'CONNECTED');
  assert.equal(await ep.getMediaState(), 'CONNECTED');
  assert.ok(await ep.isMediaFlowingIn('VIDEO'));
  assert.ok(await ep.isMediaFlowingOut('VIDEO'));
  const pairs = await ep.getICECandidatePairs();
  assert.ok(pairs.length > 0, JSON.stringify(pairs));
  for (const p of pairs) assert.match(p.localCandidate, / (127\.0\.0\.1|::1) /, JSON.stringify(pairs));
  assert.match(await ep.getLocalSessionDescriptor(), /^v=0/);
  assert.equal(await ep.getRemoteSessionDescriptor(), offer);
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});

/** Where frame 0 of faces_640x480.webm has its face (truth file). */
function truthFace() {
  const rows = fs.readFileSync(media('faces_640x480_truth.csv'), 'utf8').trim().split('\n').slice(1);
  const [, , x, y, w, h] = rows.find((r) => r.startsWith('0,main,')).split(',').map(Number);
  return { x, y, w, h };
}

/** Red of hat.png's band, as seen after VP8 both ways. */
const isRed = ([r, g, b]) => r > 120 && g < 90 && b < 90;

/**
 * Waits for the hat on the remote video, where the truth file puts frame 0's face, and checks
 * that the camera's own frame has no hat there and that the rest is the camera's picture.
 */
/** The inside of the hat's red band on a 640×480 frame. */
function hatBand() {
  // hat.png (96×72) is drawn over (x + w·-0.35, y + h·-1.2, 1.6w, 1.6h); its red band is rows
  // 42–51 and columns 24–71 of the image.
  const face = truthFace();
  const hat = { x: face.x - 0.35 * face.w, y: face.y - 1.2 * face.h, w: 1.6 * face.w, h: 1.6 * face.h };
  const band = {
    x: Math.round(hat.x + (24 / 96) * hat.w), y: Math.round(hat.y + (42 / 72) * hat.h),
    w: Math.round((48 / 96) * hat.w), h: Math.round((10 / 72) * hat.h),
  };
  return { x: band.x + 8, y: band.y + 4, w: band.w - 16, h: Math.max(2, band.h - 8) };
}

async function seesHat(peer) {
  const face = truthFace();
  const inner = hatBand();
  const frame = await waitFor('the hat on the remote video', async () => {
    const f = await peer.capture('remote');
    return isRed(meanColor(f, inner.x, inner.y, inner.w, inner.h)) ? f : null;
  });
  const local = await peer.capture('local');
  if (process.env.BROWSER_TEST_FRAMES) {
    fs.writeFileSync(path.join(process.env.BROWSER_TEST_FRAMES, 'magic-mirror-remote.rgba'), frame.data);
    fs.writeFileSync(path.join(process.env.BROWSER_TEST_FRAMES, 'magic-mirror-local.rgba'), local.data);
  }
  assert.ok(!isRed(meanColor(local, inner.x, inner.y, inner.w, inner.h)),
    `the camera itself has no red there: ${meanColor(local, inner.x, inner.y, inner.w, inner.h)}`);
  // Below the face, far from the hat, the returned picture is the camera's.
  const below = { x: face.x, y: face.y + face.h + 20, w: face.w, h: 40 };
  const a = meanColor(frame, below.x, below.y, below.w, below.h);
  const b = meanColor(local, below.x, below.y, below.w, below.h);
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 40), `below the face: remote ${a}, local ${b}`);
}

test('magic mirror: FaceOverlayFilter in the loop puts the hat on the face', async () => {
  const peer = await env.browser.openPeer(env.pages, 'magic-mirror');
  const offer = await peer.start();
  const pipeline = await env.kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  const filter = await pipeline.create('FaceOverlayFilter');
  // The tutorial's offsets, with the repository's hat image (file path: no network).
  await filter.setOverlayedImage(media('hat.png'), -0.35, -1.2, 1.6, 1.6);
  peer.sendCandidatesTo(ep);
  await ep.connect(filter);
  await filter.connect(ep);
  peer.receiveCandidatesFrom(ep);
  const answer = await ep.processOffer(offer);
  await ep.gatherCandidates();
  await peer.setAnswer(answer);
  await peer.waitForVideo();

  await seesHat(peer);
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});

test('browser magic-mirror order: the filter is inserted while the loopback media flows', async () => {
  const peer = await env.browser.openPeer(env.pages, 'magic-mirror-late');
  const offer = await peer.start();
  const pipeline = await env.kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  await peer.negotiate(ep, offer);
  await ep.connect(ep);
  await peer.waitForVideo();
  const band = hatBand();
  const before = meanColor(await peer.capture('remote'), band.x, band.y, band.w, band.h);
  assert.ok(!isRed(before), `no hat before the filter: ${before}`);
  const filter = await pipeline.create('FaceOverlayFilter');
  await filter.setOverlayedImage(media('hat.png'), -0.35, -1.2, 1.6, 1.6);
  await ep.connect(filter);
  await filter.connect(ep);
  await seesHat(peer);
  // The page kept decoding across the change.
  await peer.waitForVideo();
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});
