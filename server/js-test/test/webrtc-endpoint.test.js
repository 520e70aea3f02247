// SPDX-License-Identifier: MPL-2.0
// WebRtcEndpoint (module elements) through the real kurento-client@7.3.0, with an offer Chromium
// 156 made (test/chromium-offer.sdp): negotiation, ICE gathering on loopback
// (KMS_NETWORK_INTERFACES=lo), candidate queueing, properties, and Kurento's error codes.
// Media with real browsers: ../browser-test.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const kurento = require('kurento-client');
const { startServer, connectStrict, once } = require('../lib/server');

const OFFER = fs.readFileSync(path.join(__dirname, 'chromium-offer.sdp'), 'utf8');
const IceCandidate = kurento.getComplexType('IceCandidate');

let server;
let client;

before(async () => {
  process.env.KMS_NETWORK_INTERFACES = 'lo';
  server = await startServer();
  client = await connectStrict(kurento, server.url);
});

after(() => {
  if (client) client.close();
  if (server) server.stop();
});

/** Callback style: the promise style of generated methods swallows server errors. */
function call(obj, method, ...args) {
  return new Promise((resolve, reject) => {
    obj[method](...args, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

const code = (n) => (err) => err.code === n;

test('processOffer with a Chromium offer, candidates before the offer, gathering on loopback', async () => {
  const pipeline = await client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  const found = [];
  let gatheredEarly = false;
  ep.on('IceCandidateFound', (e) => found.push(e));
  // The Node tutorials give the browser's candidates before processOffer: queued.
  await call(ep, 'addIceCandidate', IceCandidate({
    candidate: 'candidate:3029200346 1 udp 2122194687 127.0.0.1 50389 typ host generation 0',
    sdpMid: '0', sdpMLineIndex: 0,
  }));
  // An mDNS candidate is ignored, not an error.
  await call(ep, 'addIceCandidate', IceCandidate({
    candidate: 'candidate:1 1 udp 2122194687 6f2b1c0e-2f5e-4e41-9d7e-3e0b8a1e2c11.local 50390 typ host',
    sdpMid: '0', sdpMLineIndex: 0,
  }));
  await assert.rejects(call(ep, 'addIceCandidate', IceCandidate({ candidate: 'candidate:garbage', sdpMid: '0', sdpMLineIndex: 0 })),
    code(40401));
  await assert.rejects(call(ep, 'getLocalSessionDescriptor'), code(40202));
  await assert.rejects(call(ep, 'getRemoteSessionDescriptor'), code(40203));
  await assert.rejects(call(ep, 'processAnswer', 'v=0'), code(40209));

  const answer = await call(ep, 'processOffer', OFFER);
  // Chromium interop: BUNDLE, VP8 and Opus with the browser's payload types, rtcp-fb, no
  // SSRC-0 RTX group (Chromium then shows no video).
  assert.match(answer, /^a=group:BUNDLE 0 1/m);
  assert.match(answer, /^a=rtpmap:96 VP8\/90000/m);
  assert.match(answer, /^a=rtpmap:111 OPUS\/48000\/2/im);
  assert.match(answer, /^a=rtcp-fb:96 nack pli/m);
  assert.match(answer, /^a=rtcp-fb:96 ccm fir/m);
  assert.doesNotMatch(answer, /a=ssrc-group:FID \d+ 0\b|a=ssrc:0 /);
  assert.match(answer, /^a=setup:(active|passive)/m);
  assert.equal(await call(ep, 'getLocalSessionDescriptor'), answer);
  assert.equal(await call(ep, 'getRemoteSessionDescriptor'), OFFER);
  await assert.rejects(call(ep, 'processOffer', OFFER), code(40208));

  // No IceCandidateFound before gatherCandidates (gathering has already run).
  await new Promise((r) => setTimeout(r, 500));
  gatheredEarly = found.length > 0;
  assert.equal(gatheredEarly, false);
  const done = once(ep, 'IceGatheringDone', 20000);
  await call(ep, 'gatherCandidates');
  await done;
  assert.ok(found.length > 0);
  for (const e of found) {
    const c = e.candidate;
    assert.match(c.candidate, /^candidate:\S+ 1 (UDP|TCP) \d+ (127\.0\.0\.1|::1) \d+ typ host/i, c.candidate);
    assert.equal(c.sdpMLineIndex, 0);
    assert.equal(c.sdpMid, '0');
    assert.equal(e.type, 'IceCandidateFound');
    assert.equal(e.source.id || e.source, ep.id);
  }
  assert.equal(await call(ep, 'getConnectionState'), 'DISCONNECTED');
  assert.equal(await call(ep, 'getMediaState'), 'DISCONNECTED');
  const dtls = await call(ep, 'getDtlsConnectionState');
  assert.ok(dtls.length >= 1 && ['NEW', 'CONNECTING'].includes(dtls[0].state), JSON.stringify(dtls));
  await pipeline.release();
});

test('generateOffer, processAnswer order errors, recvonly', async () => {
  const pipeline = await client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  const offer = await call(ep, 'generateOffer');
  assert.match(offer, /^m=audio .* UDP\/TLS\/RTP\/SAVPF/m);
  assert.match(offer, /^m=video .* UDP\/TLS\/RTP\/SAVPF/m);
  assert.match(offer, /VP8\/90000/);
  assert.match(offer, /a=sendrecv/);
  await assert.rejects(call(ep, 'generateOffer'), code(40208));
  await assert.rejects(call(ep, 'processAnswer', 'not an sdp'), (e) => e.code === 40206 || e.code === 40201);
  const viewer = await pipeline.create('WebRtcEndpoint', { recvonly: true });
  const recvOffer = await call(viewer, 'generateOffer');
  assert.match(recvOffer, /a=recvonly/);
  assert.doesNotMatch(recvOffer, /a=sendrecv/);
  const data = await pipeline.create('WebRtcEndpoint', { useDataChannels: true });
  assert.match(await call(data, 'generateOffer'), /^m=application .* webrtc-datachannel/m);
  await pipeline.release();
});

test('WebRtcEndpoint properties round-trip; SdpEndpoint and BaseRtpEndpoint ones too', async () => {
  const pipeline = await client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  const props = {
    StunServerAddress: '127.0.0.1', StunServerPort: 3478, TurnUrl: 'user:pass@127.0.0.1:3479',
    NetworkInterfaces: 'lo', ExternalIPv4: '198.51.100.7', ExternalIPv6: '2001:db8::7', IceTcp: true,
    MaxAudioRecvBandwidth: 64, MaxVideoRecvBandwidth: 900, MinVideoRecvBandwidth: 100,
    MinVideoSendBandwidth: 150, MaxVideoSendBandwidth: 1200, Mtu: 1100,
  };
  assert.equal(await call(ep, 'getMtu'), 1200);
  assert.equal(await call(ep, 'getMaxVideoSendBandwidth'), 500);
  for (const [name, value] of Object.entries(props)) {
    await call(ep, `set${name}`, value);
    assert.deepEqual(await call(ep, `get${name}`), value, name);
  }
  await assert.rejects(call(ep, 'setMtu', 0), code(40107));
  const remb = await call(ep, 'getRembParams');
  assert.equal(remb.rembOnConnect, 300000);
  assert.deepEqual(await call(ep, 'getICECandidatePairs'), []);
  assert.deepEqual(await call(ep, 'getIceConnectionState'), []);
  await assert.rejects(call(ep, 'closeDataChannel', 7), (e) => e.code >= 40000);
  // ExternalIPv4 replaces the address of the candidates announced.
  const found = [];
  ep.on('IceCandidateFound', (e) => found.push(e.candidate.candidate));
  const done = once(ep, 'IceGatheringDone', 20000);
  await call(ep, 'processOffer', OFFER);
  await call(ep, 'gatherCandidates');
  await done;
  assert.ok(found.some((c) => / 198\.51\.100\.7 /.test(c)), found.join('\n'));
  await pipeline.release();
});
