/**
 * TarScanner against independent oracles: GNU tar writes the archives (gnu, pax and ustar formats; long names,
 * long link targets, hard links, symlinks, empty files, non-ASCII names), GNU tar extracts them, and a walk of
 * the extracted tree (st_size of every non-directory, hard links once — how Docker sizes a layer) is the
 * expected size. The stream is fed in random chunk sizes. Plus the layerinfo records of the store: written by
 * import, computed again from a gzip blob when missing, dropped by GC with their blob.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TarScanner } from '../../engine/layers/tarscan';
import { writeLayer } from '../../engine/layers';
import { openStore } from '../../engine/store/store';
import { importRootfs } from '../../engine/store/import';
import { collectGarbage } from '../../engine/store/gc';
import { sha256 } from '../../engine/image/digest';
import { isLayerwiseError } from '../../engine/errors';
import { prng } from '../helpers/prng';

const haveTar = spawnSync('tar', ['--version']).status === 0;

function makeTree(root: string): void {
  const w = (p: string, n: number, fill = 1) => {
    fs.mkdirSync(join(root, p, '..'), { recursive: true });
    fs.writeFileSync(join(root, p), Buffer.alloc(n, fill));
  };
  w('a/small', 10);
  w('a/block', 512);
  w('a/big', 70_001);
  w('a/empty', 0);
  w(`a/${'long-name-'.repeat(15)}`, 777);
  w(`${'deep/'.repeat(30)}f`, 33);
  w('a/ünïcödé', 5);
  fs.linkSync(join(root, 'a/big'), join(root, 'a/big-hard'));
  fs.linkSync(join(root, 'a/small'), join(root, 'a/small-hard'));
  fs.symlinkSync('small', join(root, 'a/sym'));
  fs.symlinkSync(`/${'x'.repeat(150)}/target`, join(root, 'a/long-sym'));
  fs.symlinkSync('ü-target', join(root, 'a/utf8-sym'));
  fs.mkdirSync(join(root, 'empty-dir'));
}

/** Docker's count of an unpacked tree: st_size of every non-directory, hard links once. */
function walkSize(dir: string): number {
  const seen = new Set<number>();
  let n = 0;
  const visit = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) visit(p);
      else if (!seen.has(st.ino)) {
        seen.add(st.ino);
        n += st.size;
      }
    }
  };
  visit(dir);
  return n;
}

function scanInChunks(buf: Buffer, seed: number): TarScanner {
  const rnd = prng(seed);
  const s = new TarScanner();
  let off = 0;
  while (off < buf.length) {
    const k = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 700 : 70_000));
    s.update(buf.subarray(off, off + k));
    off += k;
  }
  s.finish();
  return s;
}

function expectInvalid(fn: () => void, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isLayerwiseError(e) && e.kind === 'invalid' && re.test(e.message));
}

describe('TarScanner', { skip: haveTar ? false : 'GNU tar is not installed' }, () => {
  let dir: string;
  let tree: string;
  before(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'lw-tarscan-'));
    tree = join(dir, 'tree');
    fs.mkdirSync(tree);
    makeTree(tree);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const format of ['gnu', 'pax', 'posix']) {
    it(`sums what GNU tar (--format=${format}) unpacks to, whatever the chunking`, () => {
      const file = join(dir, `${format}.tar`);
      const c = spawnSync('tar', [`--format=${format}`, '-cf', file, '-C', tree, '.'], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stderr);
      const out = join(dir, `x-${format}`);
      fs.mkdirSync(out);
      assert.equal(spawnSync('tar', ['-xf', file, '-C', out]).status, 0);
      const want = walkSize(out);
      const buf = fs.readFileSync(file);
      const entries = Number(spawnSync('sh', ['-c', `tar -tf ${file} | wc -l`], { encoding: 'utf8' }).stdout.trim());
      for (const seed of [1, 2, 3, 4, 5]) {
        const s = scanInChunks(buf, seed);
        assert.equal(s.unpackedSize, want, `seed ${seed}`);
        assert.equal(s.entries, entries);
        assert.equal(s.ended, true);
        assert.equal(s.bytes, buf.length);
      }
    });
  }

  it("sums our own writeLayer output the same way", async () => {
    const w = writeLayer(tree, { source: 'dir' });
    const chunks: Buffer[] = [];
    for await (const c of w.stream) chunks.push(c as Buffer);
    await w.done;
    const out = join(dir, 'x-ours');
    fs.mkdirSync(out);
    fs.writeFileSync(join(dir, 'ours.tar'), Buffer.concat(chunks));
    assert.equal(spawnSync('tar', ['-xf', join(dir, 'ours.tar'), '-C', out]).status, 0);
    assert.equal(scanInChunks(Buffer.concat(chunks), 9).unpackedSize, walkSize(out));
  });

  it('refuses what is not a tar, a damaged header and a cut-off tar', () => {
    const rnd = prng(7);
    const junk = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rnd() * 256)));
    expectInvalid(() => new TarScanner().update(junk), /not a tar archive/);
    const file = join(dir, 'pax.tar');
    if (!fs.existsSync(file)) assert.equal(spawnSync('tar', ['--format=pax', '-cf', file, '-C', tree, '.']).status, 0);
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    // the second header block of the archive: find a later header by its ustar magic and flip a name byte
    const second = bad.indexOf('ustar', 1024);
    assert.ok(second > 0);
    bad[second - 257 + 1] ^= 0x55;
    expectInvalid(() => scanInChunks(bad, 1), /bad header checksum/);
    // cut inside the data of the big file
    const cut = good.subarray(0, good.indexOf(Buffer.alloc(600, 1)) + 100);
    expectInvalid(() => scanInChunks(cut, 1), /unexpected end/);
    // an empty stream is an empty layer
    const empty = new TarScanner();
    empty.finish();
    assert.equal(empty.unpackedSize, 0);
  });
});

describe('layerinfo records', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'lw-layerinfo-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('import records the layer; a missing record is computed from the blob (gzip too); GC drops it with the blob', async () => {
    const store = await openStore(join(dir, 'store'));
    const tree = join(dir, 'tree');
    fs.mkdirSync(tree);
    fs.writeFileSync(join(tree, 'f'), Buffer.alloc(5000, 1));
    fs.symlinkSync('f', join(tree, 'l'));
    const r = await importRootfs(store, { dir: tree }, { ref: 'li:1' });
    const img = await store.images.resolve('li:1');
    const layer = img.manifest.layers[0]!;
    assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    assert.equal(layer.digest, r.diffId, 'a plain layer: the blob digest is the diff id');
    assert.deepEqual(await store.layerInfo.get(layer.digest), { diffId: r.diffId, unpackedSize: 5001 });
    // a torn record reads as missing and is computed again
    fs.writeFileSync(join(store.root, 'layerinfo', `${layer.digest.slice(7)}.json`), '{"diffId":"sha');
    assert.equal(await store.layerInfo.get(layer.digest), undefined);
    assert.equal(await store.layerInfo.unpackedSize(layer), 5001);
    // the same layer gzip-compressed, with no record: read, decompressed, scanned once, then recorded
    const plain = fs.readFileSync(store.content.blobPath(layer.digest));
    const gz = await store.content.writeBlob(gzipSync(plain));
    assert.equal(await store.layerInfo.get(gz.digest), undefined);
    assert.equal(await store.layerInfo.unpackedSize({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...gz }), 5001);
    assert.deepEqual(await store.layerInfo.get(gz.digest), { diffId: sha256(plain), unpackedSize: 5001 });
    // a blob that is not a layer: its own size, and no record
    const json = await store.content.writeBlob('{"not":"a layer"}');
    assert.equal(await store.layerInfo.unpackedSize({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...json }), json.size);
    assert.equal(await store.layerInfo.get(json.digest), undefined);
    // GC: the unreferenced gzip blob goes, and its record with it; the image's stays
    await collectGarbage(store);
    assert.equal(await store.content.info(gz.digest), undefined);
    assert.equal(fs.existsSync(join(store.root, 'layerinfo', `${gz.digest.slice(7)}.json`)), false);
    assert.ok(await store.layerInfo.get(layer.digest));
  });
});
