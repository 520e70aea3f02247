// SPDX-License-Identifier: MPL-2.0
// The data-channel tutorials with a real Chromium page: hello-world with data channels (the
// endpoint connected to itself echoes what the page sends) and KmsShowData in the loop (text
// sent on the page's data channel is drawn on the video the page gets back).
'use strict';

const test = require('node:test');
const assert = require('node:assert');

const { waitFor, useKurentoAndBrowser, recordEvents, kurento } = require('../lib/harness.js');

// KmsShowData is a class of the datachannelexample module (its real npm client).
kurento.register(require('kurento-module-datachannelexample'));

const env = useKurentoAndBrowser();

test('data channel echo: useDataChannels, loopback, a string sent from the page comes back', async () => {
  const peer = await env.browser.openPeer(env.pages, 'data-echo');
  const offer = await peer.start({ dataChannel: 'chat' });
  assert.match(offer, /^m=application .*webrtc-datachannel/m);
  const pipeline = await env.kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint', { useDataChannels: true });
  const events = recordEvents(ep, ['DataChannelOpened', 'DataChannelClosed']);
  // The tutorial's loopback: without a media type, DATA is connected as well.
  await ep.connect(ep);
  const types = (await ep.getSinkConnections()).map((c) => c.type).sort();
  assert.ok(types.includes('DATA'), JSON.stringify(types));
  await peer.negotiate(ep, offer);
  await waitFor('the page\'s channel open', async () => (await peer.dataChannel()).state === 'open');
  await waitFor('DataChannelOpened', () => events.DataChannelOpened.length > 0);
  await peer.sendText('hello kurento ✓');
  await waitFor('the echo', async () => (await peer.dataChannel()).received.includes('hello kurento ✓'));
  await peer.sendText('second');
  await waitFor('the second echo', async () => (await peer.dataChannel()).received.includes('second'));
  // Only what was sent comes back, once each, in order.
  assert.deepEqual((await peer.dataChannel()).received, ['hello kurento ✓', 'second']);
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});

/** Near-white pixels (text) in the lower band of a captured 640×480 RGBA frame. */
function whitePixels(frame) {
  let n = 0;
  for (let y = 380; y < 475; y++) {
    for (let x = 40; x < 600; x++) {
      const i = (y * frame.width + x) * 4;
      if (frame.data[i] > 200 && frame.data[i + 1] > 200 && frame.data[i + 2] > 200) n++;
    }
  }
  return n;
}

test('KmsShowData in the loop: text sent on the data channel is drawn on the returned video', async () => {
  const peer = await env.browser.openPeer(env.pages, 'show-data');
  // A plain dark picture (its moving white bar stays in the top rows).
  const offer = await peer.start({ dataChannel: 'text', color: [20, 40, 120] });
  const pipeline = await env.kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint', { useDataChannels: true });
  const show = await pipeline.create('KmsShowData');
  await ep.connect(show);
  await show.connect(ep);
  const fromEp = (await show.getSourceConnections()).map((c) => c.type).sort();
  assert.ok(fromEp.includes('DATA') && fromEp.includes('VIDEO'), JSON.stringify(fromEp));
  await peer.negotiate(ep, offer);
  await peer.waitForVideo();
  await waitFor('the page\'s channel open', async () => (await peer.dataChannel()).state === 'open');
  const before = whitePixels(await peer.capture('remote'));
  assert.ok(before < 50, `no text before any message: ${before} white pixels`);

  await peer.sendText('KURENTO DATA CHANNEL');
  const drawn = await waitFor('the text on the returned video', async () => {
    const n = whitePixels(await peer.capture('remote'));
    return n > 400 ? n : null;
  });
  assert.ok(whitePixels(await peer.capture('local')) < 50, 'the camera picture has no text');
  // An empty message clears the text.
  await peer.sendText('');
  await waitFor('the text cleared', async () => whitePixels(await peer.capture('remote')) < 50);
  assert.ok(drawn > before);
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});
