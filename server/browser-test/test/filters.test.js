// SPDX-License-Identifier: MPL-2.0
// Node filter tutorials over a WebRTC loopback, in their call order, with the real
// kurento-module-* npm packages registered in kurento-client: chroma (the background image
// replaces the green screen in the returned video) and pointerdetector (WindowIn / WindowOut as
// the orange disc of the camera crosses a window), crowddetector (occupancy of the tutorial's
// region over the synthetic crowd) and platedetector (the plate of the approaching
// car read from the returned video). Each scenario has its own browser, its fake
// camera fed with a y4m made at test time from a bundled clip.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const {
  LONG, media, waitFor, stillY4m, clipY4m, rawImage, withBrowser, useKurentoAndBrowser, meanColor, kurento,
} = require('../lib/harness.js');

for (const m of ['chroma', 'pointerdetector', 'crowddetector', 'platedetector']) kurento.register(require(`kurento-module-${m}`));

const env = useKurentoAndBrowser({ browser: false });

/**
 * One filter tutorial: a browser whose camera is `y4m` (removed afterwards), its page's offer,
 * a pipeline and WebRtcEndpoint; `fn({ peer, pipeline, ep, offer, loop })` creates the filter and
 * calls `loop(filter, { between, beforeOffer })`: the tutorials' cands → ep.connect(filter) →
 * (`between`) → filter.connect(ep) → (their listeners and calls: `beforeOffer`) → processOffer →
 * gatherCandidates, the answer to the page, video back.
 */
async function filterTutorial(name, y4m, fn) {
  try {
    await withBrowser({ video: y4m }, async (browser) => {
      const peer = await browser.openPeer(env.pages, name);
      const offer = await peer.start();
      const pipeline = await env.kms.client.create('MediaPipeline');
      const ep = await pipeline.create('WebRtcEndpoint');
      const loop = async (filter, { between = async () => {}, beforeOffer = async () => {} } = {}) => {
        peer.sendCandidatesTo(ep);
        await ep.connect(filter);
        await between();
        await filter.connect(ep);
        peer.receiveCandidatesFrom(ep);
        await beforeOffer();
        const answer = await ep.processOffer(offer);
        await ep.gatherCandidates();
        await peer.setAnswer(answer);
        await peer.waitForVideo();
      };
      await fn({ peer, pipeline, loop });
      assert.deepEqual(peer.errors, []);
      await pipeline.release();
      await peer.close();
    });
  } finally {
    fs.rmSync(path.dirname(y4m), { recursive: true, force: true });
  }
}

const isGreen = ([r, g, b]) => g > r + 50 && g > b + 50;
const near = (a, b, d = 45) => a.every((v, i) => Math.abs(v - b[i]) < d);

test('chroma: the background image replaces the green screen of the camera', async () => {
  const y4m = stillY4m('chroma_640x480.webm');
  const background = media('chroma_background_1280x720.jpg');
  const backgroundFrame = rawImage(background, 640, 480);
  await filterTutorial('chroma', y4m, async ({ peer, pipeline, loop }) => {
    const WindowParam = kurento.getComplexType('chroma.WindowParam');
    const filter = await pipeline.create('chroma.ChromaFilter', {
      window: WindowParam({ topRightCornerX: 5, topRightCornerY: 5, width: 30, height: 30 }),
    });
    // The tutorial's order: ep.connect(filter), setBackground, filter.connect(ep).
    await loop(filter, { between: () => filter.setBackground(pathToFileURL(background).href) });

    // 16×16 blocks entirely green on the camera should show the background image after the
    // calibration (61 frames); blocks without any green keep the camera's picture.
    const local = await peer.capture('local');
    const B = 16;
    const green = [];
    const other = [];
    for (let y = 48; y + B <= 480; y += B) {
      for (let x = 48; x + B <= 640; x += B) {
        let n = 0;
        for (let yy = y; yy < y + B; yy += 4) {
          for (let xx = x; xx < x + B; xx += 4) if (isGreen(meanColor(local, xx, yy, 1, 1))) n++;
        }
        if (n === 16) green.push({ x, y });
        else if (n === 0) other.push({ x, y });
      }
    }
    assert.ok(green.length > 200 && other.length > 50, `camera blocks: ${green.length} green, ${other.length} other`);
    const score = (frame) => {
      const keyed = green.filter((b) => {
        const m = meanColor(frame, b.x, b.y, B, B);
        return !isGreen(m) && near(m, meanColor(backgroundFrame, b.x, b.y, B, B));
      }).length;
      const kept = other.filter((b) => near(meanColor(frame, b.x, b.y, B, B), meanColor(local, b.x, b.y, B, B))).length;
      return { keyed: keyed / green.length, kept: kept / other.length };
    };
    const seen = await waitFor('the background where the camera is green', async () => {
      const s = score(await peer.capture('remote'));
      return s.keyed > 0.9 ? s : null;
    });
    assert.ok(seen.kept > 0.9, `the foreground is the camera's: ${JSON.stringify(seen)}`);
  });
});

/** Where the orange disc of pointer_640x480.webm is at `frame` (truth file). */
function disc(frame) {
  const rows = fs.readFileSync(media('pointer_640x480_truth.csv'), 'utf8').trim().split('\n').slice(1);
  const [, cx, cy] = rows.map((l) => l.split(',').map(Number)).find((r) => r[0] === frame);
  return { cx, cy };
}

const isOrange = ([r, g, b]) => r > 180 && g > 60 && g < 160 && b < 90;

test('pointerdetector: WindowIn and WindowOut as the camera\'s pointer crosses a window', async () => {
  // 10 s of the clip at 10 fps: the disc rests at the centre for 2 s, then a Lissajous path.
  const y4m = clipY4m('pointer_640x480.webm', 10);
  await filterTutorial('pointerdetector', y4m, async ({ peer, pipeline, loop }) => {
    const WindowParam = kurento.getComplexType('pointerdetector.WindowParam');
    const WindowMedia = kurento.getComplexType('pointerdetector.PointerDetectorWindowMediaParam');
    // The calibration region where the clip's pointer rests (the tutorial's is top-left, where
    // its user holds the pointer).
    const filter = await pipeline.create('pointerdetector.PointerDetectorFilter', {
      calibrationRegion: WindowParam({ topRightCornerX: 305, topRightCornerY: 225, width: 30, height: 30 }),
    });
    const seen = { WindowIn: [], WindowOut: [] };
    const { cx, cy } = disc(90);
    await loop(filter, { beforeOffer: async () => {
      filter.on('WindowIn', (e) => seen.WindowIn.push(e));
      filter.on('WindowOut', (e) => seen.WindowOut.push(e));
      // The tutorial's two windows, and one around a point of the pointer's path.
      await filter.addWindow(WindowMedia({ id: 'window0', height: 50, width: 50, upperRightX: 500, upperRightY: 150 }));
      await filter.addWindow(WindowMedia({ id: 'window1', height: 50, width: 50, upperRightX: 500, upperRightY: 250 }));
      await filter.addWindow(WindowMedia({ id: 'path', height: 90, width: 90, upperRightX: cx - 45, upperRightY: cy - 45 }));
    } });

    // The user holds the pointer in the calibration region and asks to track its colour:
    // the disc at rest in the centre on two captures of the returned video half a second
    // apart (not passing through), then trackColorFromCalibrationRegion.
    const centre = async () => isOrange(meanColor(await peer.capture('remote', 64, 48), 31, 23, 2, 2));
    let inPath = null;
    for (let attempt = 0; attempt < 3 && !inPath; attempt++) {
      await waitFor('the pointer at rest in the calibration region', async () => {
        if (!(await centre())) return false;
        await new Promise((r) => setTimeout(r, 500));
        return centre();
      }, LONG, 100);
      await filter.trackColorFromCalibrationRegion();
      // One loop of the clip (10 s) takes the disc through the window.
      inPath = await waitFor('WindowIn path', () => seen.WindowIn.find((e) => e.windowId === 'path'), 15000)
        .catch(() => null);
    }
    assert.ok(inPath, `WindowIn of the path window: ${JSON.stringify(seen)}`);
    assert.equal(inPath.type, 'WindowIn');
    const out = await waitFor('WindowOut path', () => seen.WindowOut.find((e) => e.windowId === 'path'));
    assert.equal(out.type, 'WindowOut');
    assert.ok(seen.WindowIn.indexOf(inPath) >= 0 && out.timestampMillis >= inPath.timestampMillis);
    await peer.waitForVideo();
    await filter.clearWindows();
  });
});

test('crowddetector: occupancy events of the tutorial\'s region over a walking crowd', async () => {
  const y4m = clipY4m('crowd_synth_640x480.webm', 10);
  await filterTutorial('crowddetector', y4m, async ({ peer, pipeline, loop }) => {
    const point = kurento.getComplexType('crowddetector.RelativePoint');
    const config = kurento.getComplexType('crowddetector.RegionOfInterestConfig');
    const roi = kurento.getComplexType('crowddetector.RegionOfInterest');
    // The Node tutorial's configuration; its four-point region made the whole picture (the plaza).
    const filter = await pipeline.create('crowddetector.CrowdDetectorFilter', {
      rois: [roi({
        id: 'roi1',
        points: [point({ x: 0, y: 0 }), point({ x: 1, y: 0 }), point({ x: 1, y: 1 }), point({ x: 0, y: 1 })],
        regionOfInterestConfig: config({
          occupancyLevelMin: 10, occupancyLevelMed: 35, occupancyLevelMax: 65, occupancyNumFramesToEvent: 5,
          fluidityLevelMin: 10, fluidityLevelMed: 35, fluidityLevelMax: 65, fluidityNumFramesToEvent: 5,
          sendOpticalFlowEvent: false, opticalFlowNumFramesToEvent: 3, opticalFlowNumFramesToReset: 3,
          opticalFlowAngleOffset: 0,
        }),
      })],
    });
    const seen = { CrowdDetectorOccupancy: [], CrowdDetectorFluidity: [], CrowdDetectorDirection: [] };
    await loop(filter, { beforeOffer: async () => {
      for (const n of Object.keys(seen)) filter.on(n, (e) => seen[n].push(e));
    } });
    // People walk on the plaza: the region is occupied.
    const occupancy = await waitFor('CrowdDetectorOccupancy above level 0',
      () => seen.CrowdDetectorOccupancy.find((e) => e.occupancyLevel > 0));
    assert.equal(occupancy.roiId, 'roi1');
    assert.ok(occupancy.occupancyPercentage > 0 && occupancy.occupancyLevel <= 3, JSON.stringify(occupancy));
    // Fluidity of a walking crowd stays at level 0 (its level rises for people standing
    // still), so no CrowdDetectorFluidity is required here; the direction event is disabled.
    for (const e of seen.CrowdDetectorFluidity) assert.equal(e.roiId, 'roi1');
    assert.deepEqual(seen.CrowdDetectorDirection, []);
  });
});

test('platedetector: PlateDetected with the plate of the camera\'s car', async () => {
  const y4m = clipY4m('plate_640x480.webm', 10);
  await filterTutorial('platedetector', y4m, async ({ peer, pipeline, loop }) => {
    const filter = await pipeline.create('platedetector.PlateDetectorFilter');
    const plates = [];
    await loop(filter, { beforeOffer: async () => {
      filter.on('PlateDetected', (e) => plates.push(e));
    } });
    // The car of plate_640x480.webm carries the fictitious plate 2843 KLM.
    const plate = await waitFor('PlateDetected 2843KLM',
      () => plates.find((e) => e.plate.replace(/[^0-9A-Z]/g, '') === '2843KLM'));
    assert.equal(plate.type, 'plate-detected'); // Kurento's own type string for this event
    assert.match(plate.source, /platedetector\.PlateDetectorFilter$/);
  });
});
