// SPDX-License-Identifier: MPL-2.0
// Fixtures of the browser suite: the release server (started by ../../js-test/lib/server.js)
// with ICE on loopback only, the real kurento-client, a local HTTP server for pages/, headless
// Debian Chromium driven by playwright-core (never a downloaded browser), and a `Peer` per page
// that does the signalling a tutorial's application server does.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const kurento = require('kurento-client');
const { chromium } = require('playwright-core');
const { ROOT, startServer, connectStrict, once } = require('../../js-test/lib/server.js');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGES = path.join(__dirname, '..', 'pages');

/** Generous: the machine is small and shared; waits end as soon as their condition holds. */
const LONG = Number(process.env.BROWSER_TEST_TIMEOUT_MS || 60000);

function media(name) {
  return path.join(ROOT, 'gst-tests/media', name);
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `ms`. */
async function waitFor(what, fn, ms = LONG, every = 200) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The server with every module, ICE restricted to `lo`, and a connected kurento-client. */
async function startKurento() {
  // The variable of Kurento's container image; the server inherits this environment.
  process.env.KMS_NETWORK_INTERFACES = process.env.KMS_NETWORK_INTERFACES || 'lo';
  const server = await startServer();
  const client = await connectStrict(kurento, server.url);
  return {
    url: server.url,
    client,
    stop() {
      client.close();
      server.stop();
    },
  };
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.png': 'image/png' };

/** Serves pages/ on 127.0.0.1, plus `extra` files ({ 'name.js': '/abs/path' }, e.g. the
 *  kurento-utils bundle); resolves { url, close() }. */
function startPageServer(dir = PAGES, extra = {}) {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = Object.hasOwn(extra, name) ? extra[name] : path.join(dir, path.normalize(name));
    if ((!Object.hasOwn(extra, name) && !file.startsWith(dir)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() });
    });
  });
}

/**
 * A y4m file for `--use-file-for-fake-video-capture`: the first frame of a bundled webm clip
 * held for `frames` frames (Chromium loops the file), so the picture is exactly frame 0 of the
 * clip's truth file. Made at test time with GStreamer (imagefreeze, y4menc).
 */
function stillY4m(clip, frames = 30) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-y4m-'));
  const out = path.join(dir, `${path.basename(clip, '.webm')}.y4m`);
  execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${media(clip)}`, '!', 'matroskademux', '!',
    'vp8dec', '!', 'videoconvert', '!', 'video/x-raw,format=I420', '!', 'imagefreeze', `num-buffers=${frames}`,
    '!', 'y4menc', '!', 'filesink', `location=${out}`]);
  return out;
}

/**
 * A y4m file of a whole bundled webm clip for `--use-file-for-fake-video-capture` (Chromium
 * loops it at the file's rate), re-timed to `fps` to keep the file small. Made at test time
 * with GStreamer (videorate, y4menc). Remove its directory after use.
 */
function clipY4m(clip, fps = 10) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-y4m-'));
  const out = path.join(dir, `${path.basename(clip, '.webm')}.y4m`);
  execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${media(clip)}`, '!', 'matroskademux', '!',
    'vp8dec', '!', 'videorate', '!', `video/x-raw,framerate=${fps}/1`, '!', 'videoconvert', '!',
    'video/x-raw,format=I420', '!', 'y4menc', '!', 'filesink', `location=${out}`]);
  return out;
}

/** An image file (jpg/png) decoded and scaled to `width`×`height`: { width, height, data: RGBA }. */
function rawImage(file, width = 640, height = 480) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-img-'));
  const out = path.join(dir, 'frame.rgba');
  try {
    execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${file}`, '!', 'decodebin', '!', 'videoconvert', '!',
      'videoscale', '!', `video/x-raw,format=RGBA,width=${width},height=${height}`, '!', 'filesink',
      `location=${out}`]);
    return { width, height, data: fs.readFileSync(out) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The browser library of the tutorials, npm `kurento-utils` (it ships CommonJS only, no
 * browser bundle): bundled at test time with esbuild (`events` as the browser shim of Node's
 * module) into a temporary file that sets `window.kurentoUtils`, as the tutorials' bower
 * bundle does. Returns the file's path; remove its directory after use.
 */
function kurentoUtilsBundle() {
  const esbuild = require('esbuild');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-utils-'));
  const out = path.join(dir, 'kurento-utils.js');
  esbuild.buildSync({
    stdin: { contents: "window.kurentoUtils = require('kurento-utils');", resolveDir: path.join(__dirname, '..') },
    bundle: true,
    outfile: out,
    define: { global: 'window' },
    logLevel: 'error',
  });
  return out;
}

/** Chromium's flags for these tests (see server/browser-test/README.md). */
function chromiumArgs(video) {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    // Several pages at once: none of them may be throttled as a background page.
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ];
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  return args;
}

/**
 * Launches Debian's Chromium with a fresh profile. `video`: a y4m file for the fake camera
 * (default: Chromium's own fake camera). Resolves a Browser: `openPeer(pages)`, `close()`.
 */
async function launchBrowser({ video } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: chromiumArgs(video),
  });
  return {
    context,
    /** A new page of pages/ with its peer helper. */
    /** `scripts`: more scripts of the page server loaded into the page, in order. */
    openPeer: (pages, name, { scripts = [] } = {}) => Peer.open(context, pages.url, name, scripts),
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The usual fixture of a test file: registers node:test `before`/`after` hooks that start the
 * server (`startKurento`), the page server and a browser (`launchBrowser(opts)`), and stop them.
 * Returns an object whose `kms`, `pages`, `browser` are set once `before` ran. Options: those of
 * `launchBrowser`, `browser: false` (no shared browser), `extra: () => ({ name: file })` (more
 * files for the page server, made in `before`).
 *   const env = useKurentoAndBrowser({ video: stillY4m('faces_640x480.webm') });
 *   test('…', async () => { const peer = await env.browser.openPeer(env.pages); … });
 */
function useKurentoAndBrowser(opts = {}) {
  const test = require('node:test');
  const env = { kms: null, pages: null, browser: null };
  test.before(async () => {
    env.kms = await startKurento();
    env.pages = await startPageServer(PAGES, opts.extra ? opts.extra() : {});
    // `browser: false`: the tests launch their own (`withBrowser`), e.g. one camera clip each.
    if (opts.browser !== false) env.browser = await launchBrowser(opts);
  });
  test.after(async () => {
    if (env.browser) await env.browser.close();
    if (env.pages) env.pages.close();
    if (env.kms) env.kms.stop();
  });
  return env;
}

/** `fn(browser)` with a browser closed afterwards, whatever happens. */
async function withBrowser(opts, fn) {
  const browser = await launchBrowser(opts);
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/** One page: the browser half of a tutorial, signalled by the test. */
class Peer {
  static async open(context, url, name = 'peer', scripts = []) {
    const page = await context.newPage();
    const peer = new Peer(page, name);
    page.on('pageerror', (e) => peer.errors.push(String(e)));
    await page.exposeFunction('kmsCandidate', (c) => peer.onLocalCandidate(c));
    await page.goto(url);
    for (const s of scripts) await page.addScriptTag({ url: url + s });
    return peer;
  }

  constructor(page, name) {
    this.page = page;
    this.name = name;
    this.errors = [];
    this.localCandidates = [];
    this.toEndpoint = null;
    this.remoteQueue = [];
    this.answered = false;
  }

  onLocalCandidate(c) {
    // Only the page's loopback candidates are signalled: the media must not need anything but
    // 127.0.0.1 (or ::1), whatever other interfaces the machine has.
    if (!/ (127\.0\.0\.1|::1) /.test(c.candidate)) return;
    if (this.toEndpoint) this.toEndpoint(c);
    else this.localCandidates.push(c);
  }

  /** Creates the page's RTCPeerConnection (options of pages/peer.js `start`); the offer. */
  start(opts = {}) {
    return this.page.evaluate((o) => window.kms.start(o), opts);
  }

  /** The tutorials' "cands": queued browser candidates, then each new one, to addIceCandidate. */
  sendCandidatesTo(ep) {
    const IceCandidate = kurento.getComplexType('IceCandidate');
    this.toEndpoint = (c) => {
      ep.addIceCandidate(IceCandidate(c)).catch((e) => this.errors.push(`addIceCandidate: ${e.message}`));
    };
    for (const c of this.localCandidates.splice(0)) this.toEndpoint(c);
  }

  /** IceCandidateFound of `ep` go to the page (after the answer, as a signalling server would). */
  receiveCandidatesFrom(ep) {
    ep.on('IceCandidateFound', (e) => {
      const c = { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex };
      if (this.answered) this.addRemoteCandidate(c);
      else this.remoteQueue.push(c);
    });
  }

  addRemoteCandidate(c) {
    this.page.evaluate((x) => window.kms.addCandidate(x), c).catch((e) => this.errors.push(`addCandidate: ${e.message}`));
  }

  async setAnswer(sdp) {
    await this.page.evaluate((s) => window.kms.setAnswer(s), sdp);
    this.answered = true;
    for (const c of this.remoteQueue.splice(0)) this.addRemoteCandidate(c);
  }

  videoStats() {
    return this.page.evaluate(() => window.kms.videoStats());
  }

  /** Waits until the remote video has a size and `framesDecoded` rose by `frames` twice. */
  async waitForVideo(frames = 15) {
    const first = await waitFor(`${this.name}: remote video with a size`, async () => {
      const s = await this.videoStats();
      return s.width > 0 && s.height > 0 && s.framesDecoded > 0 ? s : null;
    });
    const second = await waitFor(`${this.name}: framesDecoded rising`, async () => {
      const s = await this.videoStats();
      return s.framesDecoded >= first.framesDecoded + frames ? s : null;
    });
    const third = await waitFor(`${this.name}: framesDecoded still rising`, async () => {
      const s = await this.videoStats();
      return s.framesDecoded >= second.framesDecoded + frames ? s : null;
    });
    return { first, second, third };
  }

  /** Sends text on the page's data channel (`start({ dataChannel: label })`). */
  sendText(text) {
    return this.page.evaluate((t) => window.kms.sendText(t), text);
  }

  /** The page's data channel: { state, events: ['open', …], received: [text, …] }. */
  dataChannel() {
    return this.page.evaluate(() => window.kms.dataChannel());
  }

  /** Runs the tutorial's signalling for `ep` and this page: candidates both ways, processOffer,
   *  gatherCandidates, the answer to the page. Returns the answer. */
  async negotiate(ep, offer) {
    this.sendCandidatesTo(ep);
    this.receiveCandidatesFrom(ep);
    const answer = await ep.processOffer(offer);
    await ep.gatherCandidates();
    await this.setAnswer(answer);
    return answer;
  }

  /** A frame of the 'remote' or 'local' video as { width, height, data: RGBA Buffer }. */
  async capture(which = 'remote', width = 640, height = 480) {
    const b64 = await this.page.evaluate(([w, x, y]) => window.kms.capture(w, x, y), [which, width, height]);
    return { width, height, data: Buffer.from(b64, 'base64') };
  }

  close() {
    return this.page.close();
  }
}

/** Average RGB of a rectangle of a captured frame. */
function meanColor(frame, x0, y0, w, h) {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(frame.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(frame.width, x0 + w); x++) {
      const i = (y * frame.width + x) * 4;
      sum[0] += frame.data[i];
      sum[1] += frame.data[i + 1];
      sum[2] += frame.data[i + 2];
      n++;
    }
  }
  return sum.map((v) => v / Math.max(n, 1));
}

/**
 * The Node hello-world tutorial's server side for `peer`'s offer, in its order: pipeline,
 * WebRtcEndpoint (its `eventNames` recorded), cands, `ep.connect(ep)`, IceCandidateFound to the
 * page, processOffer, gatherCandidates, the answer to the page. Resolves { pipeline, ep, answer,
 * events, flowing } (`flowing`: MediaFlowInStateChanged FLOWING of the video, a promise).
 */
async function helloWorld(kms, peer, offer, eventNames = []) {
  const pipeline = await kms.client.create('MediaPipeline');
  const ep = await pipeline.create('WebRtcEndpoint');
  const events = recordEvents(ep, eventNames);
  peer.sendCandidatesTo(ep);
  await ep.connect(ep);
  peer.receiveCandidatesFrom(ep);
  const flowing = once(ep, 'MediaFlowInStateChanged', LONG, (e) => e.state === 'FLOWING' && e.mediaType === 'VIDEO');
  const answer = await ep.processOffer(offer);
  await ep.gatherCandidates();
  await peer.setAnswer(answer);
  return { pipeline, ep, answer, events, flowing };
}

/** Records the named events of a media object: { name: [payload, …] }. */
function recordEvents(object, names) {
  const seen = {};
  for (const n of names) {
    seen[n] = [];
    object.on(n, (e) => seen[n].push(e));
  }
  return seen;
}

module.exports = {
  LONG, media, waitFor, once, startKurento, startPageServer, stillY4m, clipY4m, rawImage, kurentoUtilsBundle, chromiumArgs,
  launchBrowser, withBrowser, useKurentoAndBrowser, Peer, meanColor, recordEvents, helloWorld, kurento,
};
