// SPDX-License-Identifier: MPL-2.0
// Starts target/<profile>/kurento-media-server with every module of the build directory
// (KURENTO_MODULES_PATH = GST_PLUGIN_PATH = the build directory: the repository's contract)
// on a free port, and connects the real kurento-client to it.
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
const BUILD = path.resolve(ROOT, process.env.KMS_BUILD_DIR || 'target/release');

function media(name) {
  return 'file://' + path.join(ROOT, 'gst-tests/media', name);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts the server; resolves { url, stop() } once it listens. */
async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-js-'));
  const port = await freePort();
  const conf = path.join(dir, 'kurento.conf.json');
  fs.writeFileSync(conf, JSON.stringify({ mediaServer: { net: { websocket: { port, path: 'kurento' } } } }));
  const child = spawn(path.join(BUILD, 'kurento-media-server'), ['--conf-file', conf], {
    env: { ...process.env, KURENTO_MODULES_PATH: BUILD, GST_PLUGIN_PATH: BUILD, KURENTO_LOG: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + log)), 30000);
    child.stderr.on('data', (d) => {
      log += d;
      if (log.includes('Listening on ws://')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}/kurento`,
    stop() {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Strict connect (callback style): fails unless getInfo lists every registered module. */
function connectStrict(kurento, url) {
  return new Promise((resolve, reject) => {
    kurento(url, { strict: true, failAfter: 5 }, (err, client) => (err ? reject(err) : resolve(client)));
  });
}

/** The first `event` of `object` that satisfies `pred`, within `ms`. */
function once(object, event, ms, pred = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    const listener = (e) => {
      if (pred(e)) {
        clearTimeout(timer);
        object.removeListener(event, listener);
        resolve(e);
      }
    };
    object.on(event, listener);
  });
}

/** A QR-code clip made with GStreamer's qroverlay, for the ZBarFilter. */
function qrClip(text) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kms-qr-')), 'qr.webm');
  execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=45', 'pattern=white', '!',
    'video/x-raw,width=640,height=480,framerate=15/1', '!', 'qroverlay', `data=${text}`, 'x=50', 'y=50',
    'pixel-size=6', '!', 'videoconvert', '!', 'vp8enc', 'deadline=1', '!', 'webmmux', '!', 'filesink',
    `location=${file}`]);
  return 'file://' + file;
}

module.exports = { ROOT, media, startServer, connectStrict, once, qrClip };
