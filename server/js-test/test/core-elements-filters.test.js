// SPDX-License-Identifier: MPL-2.0
// The real kurento-client@7.3.0 against kurento-media-server with the core, elements and filters
// modules: strict connect, the tutorials' objects and calls, real media and events.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const kurento = require('kurento-client');
const { media, startServer, connectStrict, once, qrClip } = require('../lib/server');

let server;
let client;

before(async () => {
  server = await startServer();
  client = await connectStrict(kurento, server.url);
});

after(() => {
  if (client) client.close();
  if (server) server.stop();
});

test('getInfo lists the modules of the repository', async () => {
  const manager = await client.getServerManager();
  const info = await manager.getInfo();
  const names = info.modules.map((m) => m.name);
  for (const m of ['core', 'elements', 'filters']) assert.ok(names.includes(m), names.join());
  const factories = info.modules.flatMap((m) => m.factories);
  for (const f of ['MediaPipeline', 'PassThrough', 'PlayerEndpoint', 'FaceOverlayFilter', 'ZBarFilter']) {
    assert.ok(factories.includes(f), f);
  }
});

/** `promise`, or a failure after `ms` (the client's promise never settles on some errors). */
function within(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))]);
}

test('getParent: none for a pipeline, the pipeline for an element', async () => {
  const pipeline = await client.create('MediaPipeline');
  const pass = await pipeline.create('PassThrough');
  assert.equal(await within(pipeline.getParent(), 5000, 'pipeline.getParent()'), undefined);
  assert.equal((await within(pass.getParent(), 5000, 'pass.getParent()')).id, pipeline.id);
  assert.equal((await pipeline.getMediaPipeline()).id, pipeline.id);
  await pipeline.release();
});

test('magic mirror on a clip: PlayerEndpoint → FaceOverlayFilter → PassThrough to EndOfStream', async () => {
  const pipeline = await client.create('MediaPipeline');
  const player = await pipeline.create('PlayerEndpoint', { uri: media('faces_640x480.webm') });
  const face = await pipeline.create('FaceOverlayFilter');
  const pass = await pipeline.create('PassThrough');
  await face.setOverlayedImage(media('hat.png'), -0.35, -1.2, 1.6, 1.6);
  await player.connect(face);
  await face.connect(pass);
  const flowing = once(pass, 'MediaFlowInStateChanged', 20000, (e) => e.state === 'FLOWING' && e.mediaType === 'VIDEO');
  const eos = once(player, 'EndOfStream', 60000);
  await player.play();
  const flow = await flowing;
  assert.equal(flow.source.id || flow.source, pass.id);
  assert.equal(await pass.isMediaFlowingIn('VIDEO'), true);
  const info = await player.getVideoInfo();
  assert.ok(info.duration > 10000, JSON.stringify(info));
  assert.ok((await player.getPosition()) >= 0);
  const sources = await face.getSourceConnections();
  assert.ok(sources.some((c) => (c.source.id || c.source) === player.id));
  await face.unsetOverlayedImage();
  await face.setOverlayedImage(media('hat.png'), -0.35, -1.2, 1.6, 1.6);
  const end = await eos;
  assert.equal(end.type, 'EndOfStream');
  assert.deepEqual((await pipeline.getChildren()).map((c) => c.id).sort(), [player.id, face.id, pass.id].sort());
  await pipeline.release();
});

test('PlayerEndpoint on a missing file raises Error', async () => {
  const pipeline = await client.create('MediaPipeline');
  const player = await pipeline.create('PlayerEndpoint', { uri: 'file:///nonexistent/missing.webm' });
  const error = once(player, 'Error', 20000);
  await player.play().catch(() => {});
  const e = await error;
  assert.match(e.description, /missing\.webm/);
  await pipeline.release();
});

test('ZBarFilter reads a QR code: CodeFound', async () => {
  const pipeline = await client.create('MediaPipeline');
  const player = await pipeline.create('PlayerEndpoint', { uri: qrClip('KURENTO-RS NODE') });
  const zbar = await pipeline.create('ZBarFilter');
  await player.connect(zbar);
  const found = once(zbar, 'CodeFound', 20000);
  await player.play();
  const code = await found;
  assert.equal(code.codeType, 'QR-Code');
  assert.equal(code.value, 'KURENTO-RS NODE');
  await pipeline.release();
});

test('ImageOverlayFilter and GStreamerFilter (allowed and refused)', async () => {
  const pipeline = await client.create('MediaPipeline');
  const logo = await pipeline.create('ImageOverlayFilter');
  await logo.addImage('logo', media('hat.png'), 0.7, 0.05, 0.25, 0.25, true, true);
  await logo.removeImage('logo');
  const flip = await pipeline.create('GStreamerFilter', { command: 'videoflip method=horizontal-flip' });
  assert.equal(await flip.getCommand(), 'videoflip method=horizontal-flip');
  await flip.setElementProperty('method', 'vertical-flip');
  const player = await pipeline.create('PlayerEndpoint', { uri: media('faces_640x480.webm') });
  await player.connect(logo);
  await logo.connect(flip);
  // The flipped output feeds nothing here: media reaching the GStreamerFilter proves the chain.
  const out = once(flip, 'MediaFlowInStateChanged', 20000, (e) => e.state === 'FLOWING');
  await player.play();
  await out;
  await assert.rejects(
    pipeline.create('GStreamerFilter', { command: 'filesink location=/tmp/kms-refused' }),
    (err) => err.code === 40001 && /not allowed/.test(err.message),
  );
  await assert.rejects(
    pipeline.create('RtpEndpoint'),
    (err) => err.code === 40006,
  );
  await pipeline.release();
});
