import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { applyLayer, compress, decompress, detectCompression, writeLayer, type Compression } from '../../engine/layers';
import { describeTree, haveTool } from '../fixtures/layers/tree';

let work: string;
let src: string;
let layer: Buffer;
let diffId: string;

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'layers-z-'));
  src = join(work, 'src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(src, 'etc', `file-${i}`), `line ${i}\n`.repeat(200 * i + 1));
  writeFileSync(join(src, 'random'), createHash('sha512').update('seed').digest().toString('hex').repeat(3000));
  const w = writeLayer(src, { source: 'dir', sourceDateEpoch: 0 });
  layer = await collect(w.stream);
  diffId = (await w.done).diffId;
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('layers: compression', () => {
  test('detectCompression reads magic bytes', () => {
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
    assert.equal(detectCompression(layer.subarray(0, 512)), 'none');
    assert.equal(detectCompression(Buffer.alloc(0)), 'none');
  });

  for (const c of ['gzip', 'zstd'] as const) {
    test(`compress(${c}) output is accepted by the ${c === 'gzip' ? 'gunzip' : 'zstd -d'} program`, async (t) => {
      const tool = c === 'gzip' ? 'gzip' : 'zstd';
      if (!haveTool(tool)) return t.skip(`${tool} not installed (Debian package ${tool})`);
      const z = await collect(compress(Readable.from([layer]), c));
      assert.equal(detectCompression(z), c);
      assert.ok(z.length < layer.length, 'compressed is smaller');
      const r = spawnSync(tool, ['-d', '-c'], { input: z, maxBuffer: 1 << 28 });
      assert.equal(r.status, 0, r.stderr?.toString());
      assert.ok(r.stdout.equals(layer), 'round trip through the tool');
      // levels are honoured: the fastest level is not smaller than the strongest
      const fast = await collect(compress(Readable.from([layer]), c, 1));
      const strong = await collect(compress(Readable.from([layer]), c, 9));
      assert.ok(fast.length >= strong.length, `${fast.length} >= ${strong.length}`);
    });

    test(`decompress reads ${c} written by the ${c} program, and applyLayer applies it`, async (t) => {
      const tool = c === 'gzip' ? 'gzip' : 'zstd';
      if (!haveTool(tool)) return t.skip(`${tool} not installed (Debian package ${tool})`);
      const z = spawnSync(tool, ['-c'], { input: layer, maxBuffer: 1 << 28 }).stdout;
      const d = decompress(Readable.from([z]));
      const plain = await collect(d.stream);
      assert.equal(await d.compression, c);
      assert.ok(plain.equals(layer));
      const dst = join(work, `dst-${c}`);
      mkdirSync(dst);
      const r = await applyLayer(Readable.from([z]), dst);
      assert.equal(r.compression, c);
      assert.equal(r.diffId, diffId);
      assert.equal(r.compressedDigest, sha(z));
      assert.equal(r.bytes, layer.length);
      assert.equal(describeTree(dst), describeTree(src));
    });
  }

  test('plain input passes through decompress unchanged, also in small chunks', async () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 3) chunks.push(layer.subarray(i, i + 3));
    const d = decompress(Readable.from(chunks.slice(0, 200).concat([layer.subarray(600)])));
    assert.ok((await collect(d.stream)).equals(layer));
    assert.equal(await d.compression, 'none' as Compression);
    const z = await collect(compress(Readable.from([layer]), 'gzip'));
    const zchunks: Buffer[] = [];
    for (let i = 0; i < z.length; i += 7) zchunks.push(z.subarray(i, i + 7));
    const dz = decompress(Readable.from(zchunks));
    assert.ok((await collect(dz.stream)).equals(layer));
    assert.equal(await dz.compression, 'gzip');
  });

  test("compress('none') is the identity", async () => {
    assert.ok((await collect(compress(Readable.from([layer]), 'none'))).equals(layer));
  });

  test('a missing zstd program is a clear error', async (t) => {
    if (!haveTool('zstd')) return t.skip('zstd not installed');
    if ('createZstdDecompress' in zlib) return t.skip('this Node decodes zstd itself: the zstd program is not used');
    const z = spawnSync('zstd', ['-c'], { input: layer }).stdout;
    const oldPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const d = decompress(Readable.from([z]));
      await assert.rejects(collect(d.stream), { kind: 'invalid', message: /zstd.*apt-get install zstd/ });
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
