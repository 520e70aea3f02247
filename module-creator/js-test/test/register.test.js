// SPDX-License-Identifier: MPL-2.0
// Generates the JavaScript client modules of the project's extra modules with
// kurento-module-creator, registers them in the real kurento-client@7.3.0, drives them
// against a minimal Kurento Protocol server, and type-checks their .d.ts files with tsc.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const WebSocket = require('ws');

const repo = path.resolve(__dirname, '../../..');
const out = path.resolve(__dirname, '../generated');
const MODULES = ['chroma', 'crowddetector', 'platedetector', 'pointerdetector', 'datachannelexample'];

function creator() {
  if (process.env.KURENTO_MODULE_CREATOR) return process.env.KURENTO_MODULE_CREATOR;
  for (const profile of ['release', 'debug']) {
    const p = path.join(repo, 'target', profile, 'kurento-module-creator');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('build kurento-module-creator first (cargo build --release --workspace)');
}

function generate(module) {
  const dir = path.join(out, module);
  const stdout = execFileSync(creator(), ['-r', path.join(repo, 'modules', module, 'interface'), '-c', dir, '-it', 'js', '-d', '-lf'], { encoding: 'utf8' });
  assert.match(stdout, /Generation success/);
  return dir;
}

const dirs = {};
for (const m of MODULES) dirs[m] = generate(m);

const kurento = require('kurento-client');

test('register() accepts every generated module', () => {
  for (const m of MODULES) kurento.register(require(dirs[m]));
  const reg = kurento.register;
  for (const m of MODULES) assert.ok(reg.modules.includes(m), `module ${m} registered`);
  assert.strictEqual(reg.classes['chroma.ChromaFilter'], require(dirs.chroma).ChromaFilter);
  assert.strictEqual(reg.classes.ChromaFilter, require(dirs.chroma).ChromaFilter);
  assert.ok(reg.classes['crowddetector.CrowdDetectorFilter']);
  assert.ok(reg.classes['datachannelexample.KmsShowFaces']);
  assert.ok(reg.complexTypes['chroma.WindowParam']);
  assert.ok(reg.complexTypes['crowddetector.RegionOfInterest']);
});

test('generated classes are constructible and inherit the client core classes', () => {
  const { ChromaFilter } = require(dirs.chroma);
  const filter = new ChromaFilter();
  assert.ok(filter instanceof kurento.register.abstracts['kurento.Filter']);
  assert.ok(filter instanceof kurento.register.abstracts['kurento.MediaElement']);
  assert.strictEqual(typeof filter.setBackground, 'function');
  assert.strictEqual(typeof filter.connect, 'function', 'inherited from MediaElement');
  const { CrowdDetectorFilter } = require(dirs.crowddetector);
  assert.ok(CrowdDetectorFilter.events.includes('CrowdDetectorOccupancy'));
  assert.ok(CrowdDetectorFilter.events.includes('ElementConnected'));
  assert.deepStrictEqual(CrowdDetectorFilter.constructorParams.rois, { type: 'crowddetector.RegionOfInterest[]', required: true });
  const { WindowParam } = require(dirs.chroma).complexTypes;
  const w = WindowParam({ topRightCornerX: 5, topRightCornerY: 5, width: 30, height: 30 });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(w)),
    { topRightCornerX: 5, topRightCornerY: 5, width: 30, height: 30, __module__: 'chroma', __type__: 'WindowParam' });
  const check = kurento.checkType['crowddetector.RegionOfInterest'];
  assert.throws(() => check('rois', {}));
});

/** A tiny Kurento Protocol server: records requests and answers like KMS. */
function fakeServer() {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, path: '/kurento' });
  const requests = [];
  let n = 0;
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const req = JSON.parse(data.toString());
      requests.push(req);
      const p = req.params || {};
      let result = { sessionId: 'S' };
      switch (req.method) {
        case 'ping': result = { value: 'pong' }; break;
        case 'describe':
          result = { sessionId: 'S', type: 'ServerManager', qualifiedType: 'kurento.ServerManager', hierarchy: ['kurento.MediaObject'] };
          break;
        case 'create': {
          const type = p.type.includes('.') ? p.type : 'kurento.' + p.type;
          const id = (p.constructorParams && p.constructorParams.mediaPipeline ? p.constructorParams.mediaPipeline + '/' : '') + 'O' + (n++) + '_' + type;
          result = { sessionId: 'S', value: id };
          break;
        }
        case 'invoke':
          if (p.operation === 'getInfo') {
            result = { sessionId: 'S', value: { version: '7.3.0', type: 'KMS', capabilities: ['transactions'],
              modules: ['core', 'elements', 'filters'].concat(MODULES).map((name) => ({ name, version: '7.3.1', generationTime: '', factories: [] })) } };
          } else {
            result = { sessionId: 'S', value: null };
          }
          break;
        case 'subscribe': {
          result = { sessionId: 'S', value: 'SUB' + (n++) };
          // Raise the event right away, as a filter would.
          setTimeout(() => ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'onEvent', params: { value: {
            object: p.object, type: p.type,
            data: { source: p.object, timestampMillis: '1700000000000', tags: [], type: p.type, roiId: 'roi1', occupancyPercentage: 40.5, occupancyLevel: 1 } } } })), 10);
          break;
        }
        default: break;
      }
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result }));
    });
  });
  return new Promise((resolve) => wss.on('listening', () => resolve({ wss, requests, url: `ws://127.0.0.1:${wss.address().port}/kurento` })));
}

test('generated modules talk the Kurento Protocol through kurento-client', async () => {
  for (const m of MODULES) kurento.register(require(dirs[m]));
  const { wss, requests, url } = await fakeServer();
  const client = await new Promise((resolve, reject) => kurento(url, (err, c) => (err ? reject(err) : resolve(c))));
  const pipeline = await new Promise((resolve, reject) => client.create('MediaPipeline', (e, p) => (e ? reject(e) : resolve(p))));
  const { WindowParam } = require(dirs.chroma).complexTypes;
  // Resolving a promise with a MediaObject yields a disguised copy: check the class in the callback.
  let made;
  const filter = await new Promise((resolve, reject) =>
    pipeline.create('chroma.ChromaFilter', { window: WindowParam({ topRightCornerX: 5, topRightCornerY: 5, width: 30, height: 30 }) },
      (e, f) => { made = f; return e ? reject(e) : resolve(f); }));
  assert.ok(made instanceof require(dirs.chroma).ChromaFilter);
  await new Promise((resolve, reject) => filter.setBackground('file:///bg.jpg', (e) => (e ? reject(e) : resolve())));

  const create = requests.find((r) => r.method === 'create' && r.params.type === 'chroma.ChromaFilter');
  assert.deepStrictEqual(create.params.constructorParams.window,
    { topRightCornerX: 5, topRightCornerY: 5, width: 30, height: 30, __module__: 'chroma', __type__: 'WindowParam' });
  assert.match(create.params.constructorParams.mediaPipeline, /_kurento\.MediaPipeline$/);
  const invoke = requests.find((r) => r.method === 'invoke' && r.params.operation === 'setBackground');
  assert.deepStrictEqual(invoke.params.operationParams, { uri: 'file:///bg.jpg' });
  assert.strictEqual(invoke.params.object, filter.id);

  const crowd = await new Promise((resolve, reject) =>
    pipeline.create('crowddetector.CrowdDetectorFilter', { rois: [] }, (e, f) => (e ? reject(e) : resolve(f))));
  const event = await new Promise((resolve) => crowd.on('CrowdDetectorOccupancy', resolve));
  assert.strictEqual(event.roiId, 'roi1');
  assert.strictEqual(event.occupancyLevel, 1);
  await new Promise((resolve, reject) => crowd.setProcessingWidth(160, (e) => (e ? reject(e) : resolve())));
  const set = requests.find((r) => r.params && r.params.operation === 'setProcessingWidth');
  assert.deepStrictEqual(set.params.operationParams, { processingWidth: 160 });

  client.close();
  wss.close();
});

test('the .d.ts files compile with tsc --strict', () => {
  const usage = path.join(out, 'usage.ts');
  fs.writeFileSync(usage, `
import * as chroma from './chroma';
import * as crowd from './crowddetector';
import * as pointer from './pointerdetector';
import * as plate from './platedetector';
import * as dce from './datachannelexample';

export async function use(f: chroma.ChromaFilter, c: crowd.CrowdDetectorFilter, p: pointer.PointerDetectorFilter,
                          pl: plate.PlateDetectorFilter, s: dce.KmsSendData): Promise<number> {
  const w: chroma.WindowParam = chroma.WindowParam({ topRightCornerX: 5, topRightCornerY: 5, width: 30, height: 30 });
  const args: chroma.ChromaFilterParams = { mediaPipeline: f.getMediaPipeline as unknown as chroma.core.MediaPipeline, window: w };
  await f.setBackground('file:///bg.jpg');
  f.on('Error', (e) => e.errorCode.toFixed());
  c.on('CrowdDetectorFluidity', (e) => e.fluidityPercentage.toFixed());
  p.on('WindowIn', (e) => e.windowId.toUpperCase());
  pl.on('PlateDetected', (e) => e.plate.length);
  await p.addWindow({ id: 'w0', width: 50, height: 50, upperRightX: 500, upperRightY: 150 });
  const roi: crowd.RegionOfInterest = { id: 'r', points: [{ x: 0.1, y: 0.2 }], regionOfInterestConfig: {} };
  const kind: chroma.core.MediaType = 'VIDEO';
  // A returned remote object may be absent (a pipeline's parent resolves to undefined).
  const parent: chroma.core.MediaObject | undefined = await f.getParent();
  const pipeline: chroma.core.MediaPipeline | undefined = await f.getMediaPipeline();
  const children: Array<chroma.core.MediaObject> = await f.getChildren();
  void args; void roi; void kind; void s; void parent; void pipeline; void children;
  return c.getProcessingWidth();
}
`);
  const tsc = path.join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2019', '--moduleResolution', 'node', usage], { encoding: 'utf8' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
  // And a wrong use is rejected, so the check means something.
  fs.writeFileSync(usage, "import * as chroma from './chroma';\nexport const w: chroma.WindowParam = { topRightCornerX: 'five', topRightCornerY: 5, width: 30, height: 30 };\n");
  assert.throws(() => execFileSync(process.execPath, [tsc, '--noEmit', '--strict', usage], { encoding: 'utf8' }));
  // Nor can a caller forget that a parent may be absent.
  fs.writeFileSync(usage, "import * as chroma from './chroma';\nexport async function p(f: chroma.ChromaFilter): Promise<string> { return (await f.getParent()).getName(); }\n");
  assert.throws(() => execFileSync(process.execPath, [tsc, '--noEmit', '--strict', usage], { encoding: 'utf8' }));
});

/** Everything of a descriptor the protocol depends on (docs left out). */
function signature(kmd) {
  const s = new Set();
  const add = (...x) => s.add(JSON.stringify(x));
  for (const c of kmd.remoteClasses || []) {
    add('class', c.name, c.extends, !!c.abstract);
    for (const p of (c.constructor && c.constructor.params) || []) add('ctor', c.name, p.name, p.type, !!p.optional, p.defaultValue);
    for (const m of c.methods || []) {
      add('method', c.name, m.name, m.return && m.return.type);
      for (const p of m.params || []) add('param', c.name, m.name, p.name, p.type, !!p.optional, p.defaultValue);
    }
    for (const p of c.properties || []) add('prop', c.name, p.name, p.type, !!p.readOnly, !!p.final);
    for (const e of c.events || []) add('classEvent', c.name, e);
  }
  for (const t of kmd.complexTypes || []) {
    add('type', t.name, t.typeFormat, t.extends, t.values);
    for (const p of t.properties || []) add('field', t.name, p.name, p.type, !!p.optional, p.defaultValue);
  }
  for (const e of kmd.events || []) {
    add('event', e.name, e.extends);
    for (const p of e.properties || []) add('eventField', e.name, p.name, p.type, !!p.optional);
  }
  return s;
}

test('core, elements and filters descriptors match the published kurento-client 7.3.0 ones', () => {
  for (const m of ['core', 'elements', 'filters']) {
    const dir = path.join(out, 'kmd');
    execFileSync(creator(), ['-r', path.join(repo, 'modules', m, 'interface'), '-o', dir], { encoding: 'utf8' });
    const mine = signature(JSON.parse(fs.readFileSync(path.join(dir, `${m}.kmd.json`), 'utf8')));
    // The published files have raw newlines inside strings (kmd-format.md §2): escape them first.
    const text = fs.readFileSync(require.resolve(`kurento-client-${m}/src/${m}.kmd.json`), 'utf8');
    const published = signature(JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"/gs, (str) => str.replace(/\n/g, '\\n').replace(/\t/g, '\\t'))));
    assert.ok(published.size > 10, `${m}: the published descriptor was read`);
    assert.deepStrictEqual([...mine].filter((x) => !published.has(x)), [], `${m}: only in ours`);
    assert.deepStrictEqual([...published].filter((x) => !mine.has(x)), [], `${m}: only in the published descriptor`);
  }
});
