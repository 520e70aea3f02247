// SPDX-License-Identifier: MPL-2.0
// Java tutorial player in its call order, the page receive-only: PlayerEndpoint (a bundled clip,
// file:// URI) → WebRtcEndpoint. The page decodes the clip at its size; getVideoInfo, pause and
// play, a seek with setPosition, and EndOfStream reaching the client.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { pathToFileURL } = require('node:url');

const { LONG, media, once, waitFor, useKurentoAndBrowser, recordEvents } = require('../lib/harness.js');

const env = useKurentoAndBrowser();

/** framesDecoded once it has not moved for a second: what a user sees as a frozen picture. */
async function frozen(peer) {
  let last = -1;
  return waitFor('the video to stop', async () => {
    const n = (await peer.videoStats()).framesDecoded;
    const still = n === last;
    last = n;
    return still ? { framesDecoded: n } : null;
  }, LONG, 1000);
}

test('player: PlayerEndpoint → WebRtcEndpoint, the page plays, pauses, seeks and ends', async () => {
  const peer = await env.browser.openPeer(env.pages, 'player');
  const offer = await peer.start({ send: false, receive: true });
  const pipeline = await env.kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  // faces_640x480.webm: 12 s, 360 frames of 640×480 VP8.
  const player = await pipeline.create('PlayerEndpoint', { uri: pathToFileURL(media('faces_640x480.webm')).href });
  await player.connect(ep);
  peer.sendCandidatesTo(ep);
  peer.receiveCandidatesFrom(ep);
  const answer = await ep.processOffer(offer);
  assert.match(answer, /^m=video .*\r?\n(.*\r?\n)*a=sendonly/m);
  const connected = once(ep, 'MediaStateChanged', LONG, (e) => e.newState === 'CONNECTED');
  await ep.gatherCandidates();
  const events = recordEvents(player, ['EndOfStream', 'Error']);
  await player.play();
  await peer.setAnswer(answer);
  await connected;

  // The tutorial asks for the video info once the media is connected.
  const info = await player.getVideoInfo();
  assert.equal(info.isSeekable, true, JSON.stringify(info));
  assert.equal(info.seekableInit, 0, JSON.stringify(info));
  assert.ok(Math.abs(info.duration - 12000) <= 100, JSON.stringify(info));
  assert.ok(Math.abs(info.seekableEnd - info.duration) <= 100, JSON.stringify(info));

  const { first } = await peer.waitForVideo();
  assert.deepEqual([first.width, first.height], [640, 480]);

  // Pause: the picture stops; the position holds.
  await player.pause();
  const stopped = await frozen(peer);
  const pausedAt = await player.getPosition();
  assert.ok(pausedAt > 0 && pausedAt < 12000, `paused at ${pausedAt}`);
  assert.equal((await peer.videoStats()).framesDecoded, stopped.framesDecoded);
  assert.equal(await player.getPosition(), pausedAt);
  // Play again: frames again.
  await player.play();
  await waitFor('frames after play', async () => (await peer.videoStats()).framesDecoded > stopped.framesDecoded + 10);

  // Seek near the end (the tutorial's setPosition): the position jumps, the video goes on, and
  // EndOfStream arrives long before the clip's 12 s would have played from the start.
  assert.equal(events.EndOfStream.length, 0);
  const eos = once(player, 'EndOfStream', LONG);
  await player.setPosition(10000);
  const position = await player.getPosition();
  assert.ok(position >= 9900 && position <= 12000, `position after the seek: ${position}`);
  const afterSeek = (await peer.videoStats()).framesDecoded;
  await waitFor('frames after the seek', async () => (await peer.videoStats()).framesDecoded > afterSeek + 5);
  const end = await eos;
  assert.equal(end.type, 'EndOfStream');
  assert.deepEqual(events.Error, []);
  // Kurento keeps the endpoint connected after the end; the picture stops.
  await frozen(peer);
  assert.deepEqual(peer.errors, []);
  await pipeline.release();
  await peer.close();
});
