// SPDX-License-Identifier: MPL-2.0
// Node tutorials one2one-call and one2many-call, in their call order, with Chromium pages that
// send painted canvases of distinct colours, so each page can tell whose video it receives.
'use strict';

const test = require('node:test');
const assert = require('node:assert');

const { useKurentoAndBrowser, meanColor, waitFor } = require('../lib/harness.js');

const env = useKurentoAndBrowser();

const BLUE = [40, 80, 220];
const ORANGE = [230, 140, 30];

/** Waits until the middle of the remote video has `color` (VP8 twice: a loose match). */
async function seesColor(peer, color) {
  const near = (c) => c.every((v, i) => Math.abs(v - color[i]) < 45);
  let last;
  await waitFor(`${peer.name}: remote video of colour ${color}`, async () => {
    last = meanColor(await peer.capture('remote'), 160, 120, 320, 240);
    return near(last);
  }).catch((e) => {
    throw new Error(`${e.message} (last ${last.map(Math.round)})`);
  });
  return last;
}

/** processOffer + gatherCandidates of one side, the answer given to its page. */
async function negotiate(peer, ep, offer) {
  const answer = await ep.processOffer(offer);
  await ep.gatherCandidates();
  await peer.setAnswer(answer);
}

test('one2one: caller and callee see each other', async () => {
  const caller = await env.browser.openPeer(env.pages, 'caller');
  const callee = await env.browser.openPeer(env.pages, 'callee');
  const callerOffer = await caller.start({ color: BLUE });
  const calleeOffer = await callee.start({ color: ORANGE });
  const pipeline = await env.kms.client.create('MediaPipeline');
  const callerEp = await pipeline.create('WebRtcEndpoint');
  caller.sendCandidatesTo(callerEp);
  caller.receiveCandidatesFrom(callerEp);
  const calleeEp = await pipeline.create('WebRtcEndpoint');
  callee.sendCandidatesTo(calleeEp);
  callee.receiveCandidatesFrom(calleeEp);
  await callerEp.connect(calleeEp);
  await calleeEp.connect(callerEp);
  await negotiate(callee, calleeEp, calleeOffer);
  await negotiate(caller, callerEp, callerOffer);

  await caller.waitForVideo();
  await callee.waitForVideo();
  await seesColor(caller, ORANGE);
  await seesColor(callee, BLUE);
  assert.deepEqual(caller.errors.concat(callee.errors), []);
  await pipeline.release();
  await caller.close();
  await callee.close();
});

test('one2many: receive-only viewers see the presenter', async () => {
  const presenter = await env.browser.openPeer(env.pages, 'presenter');
  // kurento-utils WebRtcPeerSendonly / WebRtcPeerRecvonly.
  const presenterOffer = await presenter.start({ color: ORANGE, receive: false });
  const pipeline = await env.kms.client.create('MediaPipeline');
  const presenterEp = await pipeline.create('WebRtcEndpoint');
  presenter.sendCandidatesTo(presenterEp);
  presenter.receiveCandidatesFrom(presenterEp);
  await negotiate(presenter, presenterEp, presenterOffer);

  const viewers = [];
  for (const name of ['viewer 1', 'viewer 2']) {
    const viewer = await env.browser.openPeer(env.pages, name);
    const viewerOffer = await viewer.start({ send: false });
    assert.match(viewerOffer, /a=recvonly/);
    const viewerEp = await pipeline.create('WebRtcEndpoint');
    viewer.sendCandidatesTo(viewerEp);
    viewer.receiveCandidatesFrom(viewerEp);
    const answer = await viewerEp.processOffer(viewerOffer);
    assert.match(answer, /a=sendonly/);
    await presenterEp.connect(viewerEp);
    await viewerEp.gatherCandidates();
    await viewer.setAnswer(answer);
    viewers.push({ viewer, viewerEp });
  }
  for (const { viewer } of viewers) {
    await viewer.waitForVideo();
    await seesColor(viewer, ORANGE);
  }
  // A viewer leaves (the tutorial releases its endpoint); the other keeps receiving.
  await viewers[0].viewerEp.release();
  await viewers[0].viewer.close();
  await viewers[1].viewer.waitForVideo();
  assert.deepEqual(presenter.errors.concat(viewers[1].viewer.errors), []);
  await pipeline.release();
  await presenter.close();
  await viewers[1].viewer.close();
});
