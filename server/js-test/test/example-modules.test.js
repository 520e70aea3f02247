// SPDX-License-Identifier: MPL-2.0
// The real kurento-module-chroma, -crowddetector, -platedetector and -pointerdetector npm
// packages against kurento-media-server. Runs only when the server's getInfo lists those modules
// (their crates are built in another branch); otherwise each test is skipped, saying why.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const kurento = require('kurento-client');
const { ROOT, media, startServer, connectStrict, once } = require('../lib/server');

const MODULES = ['chroma', 'crowddetector', 'platedetector', 'pointerdetector'];
let server;
let client;
let missing = [];

before(async () => {
  server = await startServer();
  // Non-strict first: find out whether the modules are served at all.
  const probe = await kurento(server.url, { strict: false });
  const info = await (await probe.getServerManager()).getInfo();
  probe.close();
  const names = info.modules.map((m) => m.name);
  missing = MODULES.filter((m) => !names.includes(m));
  if (missing.length === 0) {
    for (const m of MODULES) kurento.register(require(`kurento-module-${m}`));
    client = await connectStrict(kurento, server.url);
  }
});

after(() => {
  if (client) client.close();
  if (server) server.stop();
});

function skipUnlessServed(t) {
  if (missing.length) {
    t.skip(`modules not built in this tree: ${missing.join(', ')}`);
    return true;
  }
  return false;
}

test('ChromaFilter with the tutorial parameters', async (t) => {
  if (skipUnlessServed(t)) return;
  const pipeline = await client.create('MediaPipeline');
  const window = kurento.getComplexType('chroma.WindowParam')({
    topRightCornerX: 5, topRightCornerY: 5, width: 40, height: 40,
  });
  const chroma = await pipeline.create('chroma.ChromaFilter', { window });
  await chroma.setBackground(media('chroma_background_1280x720.jpg'));
  const player = await pipeline.create('PlayerEndpoint', { uri: media('chroma_640x480.webm') });
  await player.connect(chroma);
  const eos = once(player, 'EndOfStream', 60000);
  await player.play();
  await chroma.unsetBackground();
  await eos;
  await pipeline.release();
});

test('CrowdDetectorFilter with the tutorial parameters', async (t) => {
  if (skipUnlessServed(t)) return;
  const pipeline = await client.create('MediaPipeline');
  const point = kurento.getComplexType('crowddetector.RelativePoint');
  const config = kurento.getComplexType('crowddetector.RegionOfInterestConfig');
  const roi = kurento.getComplexType('crowddetector.RegionOfInterest');
  const rois = [roi({
    id: 'roi1',
    points: [point({ x: 0, y: 0 }), point({ x: 0.5, y: 0 }), point({ x: 0.5, y: 0.5 }), point({ x: 0, y: 0.5 })],
    regionOfInterestConfig: config({
      occupancyLevelMin: 10, occupancyLevelMed: 35, occupancyLevelMax: 65, occupancyNumFramesToEvent: 5,
      fluidityLevelMin: 10, fluidityLevelMed: 35, fluidityLevelMax: 65, fluidityNumFramesToEvent: 5,
      sendOpticalFlowEvent: false, opticalFlowNumFramesToEvent: 3, opticalFlowNumFramesToReset: 3,
      opticalFlowAngleOffset: 0,
    }),
  })];
  const crowd = await pipeline.create('crowddetector.CrowdDetectorFilter', { rois });
  await crowd.setProcessingWidth(320);
  assert.equal(await crowd.getProcessingWidth(), 320);
  // The synthetic crowd clip, where one pedestrian covers ~3 % of a 160x120 cell: a grid of
  // such cells with thresholds to match gives occupancy events through the protocol.
  const cells = [];
  for (let gy = 0; gy < 4; gy++) {
    for (let gx = 0; gx < 4; gx++) {
      const [x0, y0, x1, y1] = [gx / 4, gy / 4, (gx * 160 + 159) / 640, (gy * 120 + 119) / 480];
      cells.push(roi({
        id: `c${gx}${gy}`,
        points: [point({ x: x0, y: y0 }), point({ x: x1, y: y0 }), point({ x: x1, y: y1 }), point({ x: x0, y: y1 })],
        regionOfInterestConfig: config({ occupancyLevelMin: 2, occupancyLevelMed: 5, occupancyLevelMax: 10, occupancyNumFramesToEvent: 3 }),
      }));
    }
  }
  const grid = await pipeline.create('crowddetector.CrowdDetectorFilter', { rois: cells });
  const player = await pipeline.create('PlayerEndpoint', { uri: media('crowd_synth_640x480.webm') });
  const pass = await pipeline.create('PassThrough');
  await player.connect(grid);
  await grid.connect(pass);
  const occupancy = once(grid, 'CrowdDetectorOccupancy', 60000, (e) => e.occupancyLevel > 0);
  const eos = once(player, 'EndOfStream', 90000);
  await player.play();
  const e = await occupancy;
  assert.match(e.roiId, /^c[0-3][0-3]$/);
  assert.equal(e.roiID, e.roiId);
  assert.ok(e.occupancyPercentage > 0 && e.occupancyPercentage <= 100, JSON.stringify(e));
  await eos;
  await pipeline.release();
});

test('PlateDetectorFilter reads 2843KLM: PlateDetected', async (t) => {
  if (skipUnlessServed(t)) return;
  const pipeline = await client.create('MediaPipeline');
  const player = await pipeline.create('PlayerEndpoint', { uri: media('plate_640x480.webm') });
  const plate = await pipeline.create('platedetector.PlateDetectorFilter');
  const pass = await pipeline.create('PassThrough');
  await plate.setPlateWidthPercentage(0.3);
  await player.connect(plate);
  await plate.connect(pass);
  const detected = once(plate, 'PlateDetected', 60000, (e) => e.plate.replace(/[^0-9A-Z]/g, '') === '2843KLM');
  const eos = once(player, 'EndOfStream', 60000);
  await player.play();
  const e = await detected;
  assert.equal(e.type, 'plate-detected');
  assert.deepEqual(e.tags, [], 'sendTagsInEvents is off');
  await eos;
  await pipeline.release();
});

test('PointerDetectorFilter: WindowIn and WindowOut on the disc path', async (t) => {
  if (skipUnlessServed(t)) return;
  // Truth: frame,cx,cy,side. The disc rests at the centre for 2 s (calibration), then moves.
  const rows = fs.readFileSync(path.join(ROOT, 'gst-tests/media/pointer_640x480_truth.csv'), 'utf8')
    .trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const [, cx, cy] = rows.find((r) => r[0] === 90); // a point of the path after calibration
  const pipeline = await client.create('MediaPipeline');
  const windowParam = kurento.getComplexType('pointerdetector.WindowParam');
  const windowMedia = kurento.getComplexType('pointerdetector.PointerDetectorWindowMediaParam');
  const pointer = await pipeline.create('pointerdetector.PointerDetectorFilter', {
    calibrationRegion: windowParam({ topRightCornerX: 305, topRightCornerY: 225, width: 30, height: 30 }),
  });
  // The tutorial's two windows, plus one around a point the disc passes.
  await pointer.addWindow(windowMedia({ id: 'goal', height: 50, width: 50, upperRightX: 500, upperRightY: 150 }));
  await pointer.addWindow(windowMedia({ id: 'goal2', height: 50, width: 50, upperRightX: 500, upperRightY: 250 }));
  await pointer.removeWindow('goal2');
  await pointer.addWindow(windowMedia({ id: 'path', height: 80, width: 80, upperRightX: cx - 40, upperRightY: cy - 40 }));
  await pointer.addTag('app', 'pointer');
  await pointer.setSendTagsInEvents(true);
  const player = await pipeline.create('PlayerEndpoint', { uri: media('pointer_640x480.webm') });
  const pass = await pipeline.create('PassThrough');
  await player.connect(pointer);
  await pointer.connect(pass);
  const windowIn = once(pointer, 'WindowIn', 30000, (e) => e.windowId === 'path');
  const windowOut = once(pointer, 'WindowOut', 30000, (e) => e.windowId === 'path');
  const eos = once(player, 'EndOfStream', 60000);
  await player.play();
  await new Promise((r) => setTimeout(r, 1000)); // the disc is inside the calibration region
  await pointer.trackColorFromCalibrationRegion();
  const entered = await windowIn;
  assert.deepEqual(entered.tags.map((t) => [t.key, t.value]), [['app', 'pointer']], 'sendTagsInEvents is on');
  await windowOut;
  await pointer.clearWindows();
  await eos;
  await pipeline.release();
});
