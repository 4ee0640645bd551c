/**
 * The layer worker (engine/layers/write-worker.ts, a worker thread that walks and reads the tree while the main
 * thread hashes): the same bytes, diff id and counts as the in-thread writer, for a tree with every kind of entry,
 * an overlay upper dir (whiteouts, an opaque directory; as root) and excludes; a consumer that gives up stops it
 * and it takes the next layer; errors come back with their kind. The worker runs from a bundle made here with
 * esbuild, as dist/layer-worker.js ships.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { buildSync } from 'esbuild';
import { writeLayer, type LayerWriteOptions } from '../../engine/layers';
import { resetLayerWorker } from '../../engine/layers/write-pool';
import { haveTool, isRoot, sh, userXattrsWork } from '../fixtures/layers/tree';

let work: string;
let bundle: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'layers-worker-'));
  bundle = join(work, 'layer-worker.js');
  buildSync({ entryPoints: [join(__dirname, '../../engine/layers/write-worker.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'warning' });
});
after(() => {
  delete process.env.LAYERWISE_LAYER_WORKER;
  resetLayerWorker();
  rmSync(work, { recursive: true, force: true });
});

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The layer of `dir` written in-thread and by the worker. */
async function both(dir: string, opts: LayerWriteOptions) {
  const out = [];
  for (const w of ['0', bundle]) {
    process.env.LAYERWISE_LAYER_WORKER = w;
    resetLayerWorker();
    const { stream, done } = writeLayer(dir, opts);
    const bytes = await collect(stream);
    out.push({ bytes, ...(await done) });
  }
  return { inThread: out[0]!, worker: out[1]! };
}

test('the worker writes the bytes the in-thread writer writes: every kind of entry, big files across chunks, excludes', async () => {
  const root = join(work, 'tree');
  mkdirSync(join(root, 'sub/deeper'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'hello\n');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'big.bin'), randomBytes(5 * 1024 * 1024 + 123)); // more chunks than the credits
  for (let i = 0; i < 300; i++) writeFileSync(join(root, 'sub', `f${i}`), randomBytes(i * 37));
  writeFileSync(join(root, 'sub/deeper/x'), 'x');
  symlinkSync('a.txt', join(root, 'link'));
  linkSync(join(root, 'a.txt'), join(root, 'sub/hard'));
  const long = join(root, 'l'.repeat(90), 'm'.repeat(90));
  mkdirSync(long, { recursive: true });
  writeFileSync(join(long, 'ünïcödé-😀'), 'pax');
  spawnSync('mkfifo', [join(root, 'fifo')]);
  if (haveTool('setfattr') && userXattrsWork(work)) sh(`setfattr -n user.k -v 0x00ff10 '${join(root, 'a.txt')}'`);
  for (const opts of [{ source: 'dir' } as const, { source: 'dir' as const, exclude: ['sub/deeper', 'big.bin'] }, { source: 'dir' as const, owner: { uid: 0, gid: 0 } }]) {
    const { inThread, worker } = await both(root, opts);
    assert.ok(worker.bytes.equals(inThread.bytes), `same bytes (${JSON.stringify(opts)})`);
    assert.deepEqual({ ...worker, bytes: undefined }, { ...inThread, bytes: undefined });
    assert.ok(worker.entries > 300);
  }
});

test('an overlay upper dir (whiteouts, an opaque directory) comes out the same from the worker', async (t) => {
  if (!isRoot() || !haveTool('setfattr')) return t.skip('needs root (a 0/0 device whiteout, trusted.overlay.opaque)');
  const upper = join(work, 'upper');
  mkdirSync(join(upper, 'opaque'), { recursive: true });
  writeFileSync(join(upper, 'opaque/new'), 'n');
  sh(`setfattr -n trusted.overlay.opaque -v y '${join(upper, 'opaque')}'`);
  sh(`mknod '${join(upper, 'gone')}' c 0 0`);
  writeFileSync(join(upper, 'kept'), 'k');
  const { inThread, worker } = await both(upper, { source: 'overlay' });
  assert.ok(worker.bytes.equals(inThread.bytes));
  const text = worker.bytes.toString('latin1');
  assert.ok(text.includes('.wh.gone') && text.includes('opaque/.wh..wh..opq'));
});

test('a consumer that gives up stops the worker (done rejects), and the worker takes the next layer; errors keep their kind', async () => {
  process.env.LAYERWISE_LAYER_WORKER = bundle;
  resetLayerWorker();
  const root = join(work, 'cancel');
  mkdirSync(root);
  for (let i = 0; i < 12; i++) writeFileSync(join(root, `f${i}`), randomBytes(1 << 20));
  const first = writeLayer(root, { source: 'dir' });
  await new Promise<void>((res) => first.stream.once('data', () => res()));
  first.stream.destroy();
  await assert.rejects(first.done);
  // the next layer: whole and right (the worker has seen the stop, or the layer is written in-thread meanwhile)
  const second = writeLayer(root, { source: 'dir' });
  const bytes = await collect(second.stream);
  const r = await second.done;
  assert.equal(r.size, bytes.length);
  process.env.LAYERWISE_LAYER_WORKER = '0';
  resetLayerWorker();
  const ref = writeLayer(root, { source: 'dir' });
  assert.ok((await collect(ref.stream)).equals(bytes));
  process.env.LAYERWISE_LAYER_WORKER = bundle;
  resetLayerWorker();
  const missing = writeLayer(join(work, 'nope'), { source: 'dir' });
  missing.stream.on('error', () => undefined).resume();
  await assert.rejects(missing.done, (e: Error & { kind?: string }) => e.kind === 'not-found');
  // a name the layer cannot hold: the worker's own error, with its kind
  const bad = join(work, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, '.wh.reserved'), '');
  const w = writeLayer(bad, { source: 'overlay' });
  w.stream.on('error', () => undefined).resume();
  await assert.rejects(w.done, (e: Error & { kind?: string }) => e.kind === 'invalid' && /reserved for whiteouts/.test(e.message));
});

test('chunks given back go to the worker and are filled again: the bytes stay right, a chunk is given back once, a slow consumer gets the whole layer', async () => {
  const root = join(work, 'recycle');
  mkdirSync(root);
  for (let i = 0; i < 24; i++) writeFileSync(join(root, `f${String(i).padStart(2, '0')}`), randomBytes((1 << 20) + i * 4099));
  process.env.LAYERWISE_LAYER_WORKER = '0';
  resetLayerWorker();
  const ref = writeLayer(root, { source: 'dir' });
  const expected = await collect(ref.stream);
  assert.equal(ref.stream.release, undefined, 'the in-thread writer has no chunks to take back');

  process.env.LAYERWISE_LAYER_WORKER = bundle;
  resetLayerWorker();
  for (let round = 0; round < 2; round++) {
    const { stream, done } = writeLayer(root, { source: 'dir' });
    assert.equal(typeof stream.release, 'function');
    const copies: Buffer[] = [];
    let given = 0;
    // one chunk a turn of the event loop, each copied and given back: the worker waits for credits again and again
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('end', () => resolve());
      stream.on('data', (c: Buffer) => {
        stream.pause();
        copies.push(Buffer.from(c));
        const before = c.length;
        stream.release!(c);
        if (c.length === 0 && before > 0) given++; // its memory went back to the worker
        stream.release!(c); // twice: ignored
        stream.release!(Buffer.alloc(1 << 20)); // not the stream's: ignored
        setImmediate(() => stream.resume());
      });
    });
    const r = await done;
    const bytes = Buffer.concat(copies);
    assert.equal(r.size, bytes.length);
    assert.ok(bytes.equals(expected), `round ${round}: the bytes of the in-thread writer`);
    assert.ok(copies.length > 20);
    assert.equal(given, copies.length, 'every chunk went back');
  }
});
