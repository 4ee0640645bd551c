import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, createReadStream, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { applyLayer, extractLayerTo, listLayer, writeLayer, type LayerEntry, type LayerWriteOptions } from '../../engine/layers';
import { describeTree, haveTool, isRoot, sh, userXattrsWork } from '../fixtures/layers/tree';

let work: string;
let src: string;
let xattrsOk = false;

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function write(dir: string, opts: LayerWriteOptions = { source: 'dir' }) {
  const { stream, done } = writeLayer(dir, opts);
  const bytes = await collect(stream);
  return { bytes, ...(await done) };
}

async function list(bytes: Buffer): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  for await (const e of listLayer(Readable.from([bytes]))) out.push(e);
  return out;
}

const T0 = 1_600_000_000;

/** A tree with every kind of entry a layer can hold. */
function buildTree(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'hello\n');
  writeFileSync(join(root, 'empty-file'), '');
  writeFileSync(join(root, 'big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin/suid'), '#!/bin/sh\n');
  chmodSync(join(root, 'bin/suid'), 0o4755);
  writeFileSync(join(root, 'bin/sgid'), 'x');
  chmodSync(join(root, 'bin/sgid'), 0o2711);
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
  mkdirSync(join(root, 'empty'));
  mkdirSync(join(root, 'ro'));
  writeFileSync(join(root, 'ro/inside'), 'read-only dir child');
  symlinkSync('a.txt', join(root, 'link'));
  symlinkSync('/etc/passwd', join(root, 'abslink'));
  symlinkSync('does/not/exist', join(root, 'dangling'));
  writeFileSync(join(root, 'hard1'), 'shared inode');
  linkSync(join(root, 'hard1'), join(root, 'hard2'));
  mkdirSync(join(root, 'sub'));
  linkSync(join(root, 'hard1'), join(root, 'sub/hard3'));
  // long names: a >100-byte path and a 200-byte single name
  const deep = join(root, 'd'.repeat(60), 'e'.repeat(60), 'f'.repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'g'.repeat(200)), 'long');
  symlinkSync('t'.repeat(150), join(root, 'longlink'));
  mkdirSync(join(root, 'ünïcödé'));
  writeFileSync(join(root, 'ünïcödé/日本語.txt'), 'unicode');
  writeFileSync(join(root, 'emoji-😀'), 'smile');
  writeFileSync(join(root, 'odd name\\with\nnewline'), 'odd');
  spawnSync('mkfifo', [join(root, 'fifo')]);
  if (xattrsOk) {
    sh(`setfattr -n user.bin -v 0x00ff10c3 '${join(root, 'a.txt')}'`);
    sh(`setfattr -n user.text -v 'hello world' '${join(root, 'sub')}'`);
    sh(`setfattr -n user.empty '${join(root, 'sub/hard3')}'`);
  }
  if (isRoot()) chownSync(join(root, 'a.txt'), 1234, 5678);
  // mtimes last (children change their directory's mtime); ro/ last of all
  let i = 0;
  const stamp = (rel: string) => utimesSync(join(root, rel), T0 + i, T0 + i++);
  for (const rel of ['a.txt', 'empty-file', 'big.bin', 'bin/suid', 'bin/sgid', 'ro/inside', 'hard1', 'ünïcödé/日本語.txt', 'emoji-😀']) stamp(rel);
  for (const rel of ['bin', 'tmp', 'empty', 'sub', 'ünïcödé', 'ro']) stamp(rel);
  chmodSync(join(root, 'ro'), 0o555);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'layers-rt-'));
  xattrsOk = haveTool('setfattr') && userXattrsWork(work);
  src = join(work, 'src');
  buildTree(src);
});
after(() => {
  spawnSync('chmod', ['-R', 'u+w', work]);
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
});

const full = () => ({ mtime: true, owner: isRoot(), xattrs: xattrsOk });

describe('layers: write -> apply round trip', () => {
  test('applying a written layer onto a fresh directory gives an identical tree', async (t) => {
    if (!xattrsOk) t.diagnostic('user xattrs unsupported here: xattrs not compared');
    const w = await write(src);
    assert.equal(w.diffId, `sha256:${createHash('sha256').update(w.bytes).digest('hex')}`);
    assert.equal(w.size, w.bytes.length);
    const dst = join(work, 'dst');
    mkdirSync(dst);
    const r = await applyLayer(Readable.from([w.bytes]), dst, { preserveOwnership: isRoot() });
    assert.equal(r.diffId, w.diffId);
    assert.equal(r.entries, w.entries);
    assert.equal(r.compression, 'none');
    assert.equal(r.compressedDigest, undefined);
    const want = describeTree(src, full());
    assert.equal(describeTree(dst, full()), want);
    // the things this test exists for are really in the description
    assert.match(want, /^bin\/suid file .* mode=4755/m);
    assert.match(want, /^tmp dir mode=1777/m);
    assert.match(want, /^ro dir mode=555/m);
    assert.match(want, /^sub\/hard3 hardlink to hard1/m);
    assert.match(want, /g{200} file/);
    assert.match(want, /^fifo fifo/m);
    if (xattrsOk) assert.match(want, /^a\.txt .*user\.bin=0x00ff10c3/m);
    if (xattrsOk) assert.match(want, /^hard1 .*user\.empty/m);
    // and writing the applied tree again gives the same layer
    const w2 = await write(dst);
    assert.equal(w2.diffId, w.diffId);
  });

  test('GNU tar reads our layer into the same tree', async (t) => {
    if (!haveTool('tar')) return t.skip('GNU tar not installed');
    const w = await write(src);
    const file = join(work, 'layer.tar');
    writeFileSync(file, w.bytes);
    const dst = join(work, 'gnu');
    mkdirSync(dst);
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner -xpf '${file}' -C '${dst}'`);
    assert.equal(describeTree(dst, full()), describeTree(src, full()));
  });

  for (const format of ['gnu', 'posix'] as const) {
    test(`a tar written by GNU tar (--format=${format}) applies to the same tree`, async (t) => {
      if (!haveTool('tar')) return t.skip('GNU tar not installed');
      const file = join(work, `gnu-${format}.tar`);
      sh(`tar --format=${format} ${format === 'posix' ? "--xattrs --xattrs-include='*'" : ''} --numeric-owner -cf '${file}' -C '${src}' .`);
      const dst = join(work, `from-gnu-${format}`);
      mkdirSync(dst);
      await applyLayer(createReadStream(file), dst, { preserveOwnership: isRoot() });
      const opts = { ...full(), xattrs: format === 'posix' && xattrsOk };
      assert.equal(describeTree(dst, opts), describeTree(src, opts));
    });
  }

  test('extractLayerTo is all-or-nothing', async () => {
    const w = await write(src);
    const dest = join(work, 'snap');
    await extractLayerTo(Readable.from([w.bytes]), dest, { preserveOwnership: isRoot() });
    assert.equal(describeTree(dest, full()), describeTree(src, full()));
    const dest2 = join(work, 'snap-broken');
    await assert.rejects(extractLayerTo(Readable.from([w.bytes.subarray(0, 5000)]), dest2), { kind: 'corrupt' });
    assert.deepEqual(spawnSync('ls', ['-a', work], { encoding: 'utf8' }).stdout.split('\n').filter((n) => n.includes('snap-broken')), []);
    await assert.rejects(extractLayerTo(Readable.from([w.bytes]), dest), { kind: 'conflict' });
  });

  test('listLayer reports every entry in order, parents before children', async () => {
    const w = await write(src);
    const entries = await list(w.bytes);
    assert.equal(entries.length, w.entries);
    const paths = entries.map((e) => e.path);
    for (const [i, p] of paths.entries()) {
      const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
      if (parent) assert.ok(paths.indexOf(parent) > -1 && paths.indexOf(parent) < i, `${parent} before ${p}`);
    }
    const byPath = new Map(entries.map((e) => [e.path, e]));
    assert.equal(byPath.get('link')?.type, 'symlink');
    assert.equal(byPath.get('link')?.linkTarget, 'a.txt');
    assert.equal(byPath.get('hard2')?.type, 'hardlink');
    assert.equal(byPath.get('hard2')?.linkTarget, 'hard1');
    assert.equal(byPath.get('bin/suid')?.mode, 0o4755);
    assert.equal(byPath.get('big.bin')?.size, 3 * 1024 * 1024 + 17);
    assert.equal(byPath.get('a.txt')?.mtime, T0);
    assert.ok(byPath.has('ünïcödé/日本語.txt'));
    assert.ok(byPath.has('odd name\\with\nnewline'));
    if (xattrsOk) assert.deepEqual(byPath.get('a.txt')?.xattrs, { 'user.bin': Buffer.from([0, 0xff, 0x10, 0xc3]) });
  });
});

describe('layers: reading edge cases', () => {
  test('a consumer may stop listing early', async () => {
    const w = await write(src);
    let n = 0;
    for await (const e of listLayer(Readable.from([w.bytes.subarray(0, 4096), w.bytes.subarray(4096)]))) {
      assert.ok(e.path);
      if (++n === 3) break;
    }
    assert.equal(n, 3);
  });

  test('an input stream error is an io error, not corruption', async () => {
    const w = await write(src);
    const input = new Readable({
      read() {
        this.push(w.bytes.subarray(0, 2048));
        this.destroy(new Error('connection reset'));
      },
    });
    const dst = join(work, 'io-err');
    mkdirSync(dst);
    await assert.rejects(applyLayer(input, dst), { kind: 'io', message: /connection reset/ });
  });
});

describe('layers: a full disk', () => {
  test('ENOSPC is an io error and extractLayerTo leaves nothing behind', async (t) => {
    if (!isRoot()) return t.skip('needs root to mount a small tmpfs');
    const mnt = join(work, 'small');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) return t.skip(`cannot mount tmpfs here: ${m.stderr.trim()}`);
    try {
      const w = await write(src); // holds a 3 MB file
      await assert.rejects(extractLayerTo(Readable.from([w.bytes]), join(mnt, 'snap')), { kind: 'io', message: /ENOSPC|no space/i });
      assert.deepEqual(spawnSync('ls', ['-A', mnt], { encoding: 'utf8' }).stdout, '');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('layers: determinism', () => {
  test('two writes of the same tree give the same bytes and diffID', async () => {
    const a = await write(src);
    const b = await write(src);
    assert.equal(a.diffId, b.diffId);
    assert.ok(a.bytes.equals(b.bytes));
  });

  test('sourceDateEpoch clamps mtimes, so touching files does not change the layer', async () => {
    const dir = join(work, 'sde');
    mkdirSync(join(dir, 'x'), { recursive: true });
    writeFileSync(join(dir, 'x/f'), 'data');
    const sde = 1_000_000_000;
    const a = await write(dir, { source: 'dir', sourceDateEpoch: sde });
    for (const e of await list(a.bytes)) assert.equal(e.mtime, sde, e.path);
    const plainA = await write(dir, { source: 'dir' });
    utimesSync(join(dir, 'x/f'), sde + 5000, sde + 5000);
    const b = await write(dir, { source: 'dir', sourceDateEpoch: sde });
    assert.equal(b.diffId, a.diffId);
    const plainB = await write(dir, { source: 'dir' });
    assert.notEqual(plainB.diffId, plainA.diffId);
    // older mtimes are kept as they are
    utimesSync(join(dir, 'x/f'), 12345, 12345);
    const c = await write(dir, { source: 'dir', sourceDateEpoch: sde });
    assert.equal((await list(c.bytes)).find((e) => e.path === 'x/f')?.mtime, 12345);
  });

  test('owner forces uid/gid; idMap maps host ids back to container ids', async (t) => {
    if (!isRoot()) return t.skip('needs root to chown test files');
    const dir = join(work, 'ids');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), '1');
    chownSync(join(dir, 'f'), 100_005, 100_007);
    writeFileSync(join(dir, 'unmapped'), '2');
    chownSync(join(dir, 'unmapped'), 42, 42);
    const forced = await list((await write(dir, { source: 'dir', owner: { uid: 0, gid: 0 } })).bytes);
    assert.deepEqual(forced.map((e) => [e.path, e.uid, e.gid]), [['f', 0, 0], ['unmapped', 0, 0]]);
    const idMap = { uids: [{ containerId: 0, hostId: 100_000, size: 65536 }], gids: [{ containerId: 0, hostId: 100_000, size: 65536 }] };
    const mapped = await list((await write(dir, { source: 'dir', idMap })).bytes);
    assert.deepEqual(mapped.map((e) => [e.path, e.uid, e.gid]), [['f', 5, 7], ['unmapped', 65534, 65534]]);
    // and applying with the same map chowns back to host ids
    const dst = join(work, 'ids-dst');
    mkdirSync(dst);
    await applyLayer(Readable.from([(await write(dir, { source: 'dir', idMap })).bytes]), dst, { preserveOwnership: true, idMap });
    assert.match(describeTree(dst, { owner: true }), /^f file .* owner=100005:100007$/m);
  });

  test('a file name that is not UTF-8 is a clear error, never silently dropped', async () => {
    const dir = join(work, 'latin1');
    mkdirSync(dir);
    sh(`touch "${dir}/$(printf 'caf\\351')"`);
    await assert.rejects(write(dir), { kind: 'invalid', message: /not UTF-8/ });
  });

  test('exclude leaves paths out of the layer', async () => {
    const dir = join(work, 'excl');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    for (const f of ['hosts', 'hostname', 'passwd']) writeFileSync(join(dir, 'etc', f), f);
    const e = await list((await write(dir, { source: 'dir', exclude: ['etc/hosts', '/etc/hostname'] })).bytes);
    assert.deepEqual(e.map((x) => x.path), ['etc', 'etc/passwd']);
  });
});
