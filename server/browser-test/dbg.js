const h = require('./lib/harness.js');
(async () => {
  const kms = await h.startKurento();
  const pages = await h.startPageServer();
  const y4m = h.stillY4m('faces_640x480.webm');
  const b = await h.launchBrowser({ video: y4m });
  try {
  const peer = await b.openPeer(pages);
  const offer = await peer.start();
  const pipeline = await kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  await peer.negotiate(ep, offer);
  await ep.connect(ep);
  await peer.waitForVideo();
  console.log('video ok', await peer.videoStats());
  const filter = await pipeline.create('FaceOverlayFilter');
  filter.on('MediaFlowInStateChanged', (e) => console.log('filter in', e.state, e.mediaType));
  filter.on('MediaFlowOutStateChanged', (e) => console.log('filter out', e.state, e.mediaType));
  await filter.setOverlayedImage(h.media('hat.png'), -0.35, -1.2, 1.6, 1.6);
  await ep.connect(filter);
  await filter.connect(ep);
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 1500));
    console.log(await peer.videoStats(), await filter.isMediaFlowingIn('VIDEO'), await filter.isMediaFlowingOut('VIDEO'));
  }
  require('fs').writeFileSync('/tmp/bt-frames/late.rgba', (await peer.capture('remote')).data);
  console.log(JSON.stringify(await ep.getSourceConnections()), JSON.stringify(await ep.getSinkConnections()));
  } finally { await b.close(); pages.close(); kms.stop(); process.exit(0); }
})();
