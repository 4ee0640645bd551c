/**
 * GC by reachability (refs, build cache records, container records), never removing what is in use; snapshot
 * verification in fsck; locks held by a process that was killed are broken.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore, type Store } from '../../engine/store/store';
import { collectGarbage, planGc } from '../../engine/store/gc';
import { fsck } from '../../engine/store/fsck';
import { chainIds } from '../../engine/image/chain';
import { makeImage } from '../helpers/store-suite';

let root: string;
let store: Store;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'lw-gc-'));
  store = await openStore(root);
});
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function blobs(): Promise<Set<string>> {
  const s = new Set<string>();
  for await (const b of store.content.walk()) s.add(b.digest);
  return s;
}

describe('garbage collection', () => {
  it('keeps what names reach, shared layers included, and removes the rest', async () => {
    const shared = { 'bin/sh': 'shell' };
    const a = await makeImage(store.content, [shared, { a: '1' }]);
    const b = await makeImage(store.content, [shared, { b: '2' }]);
    await store.images.put('a', a.manifest);
    await store.images.put('b', b.manifest);
    const orphan = await store.content.writeBlob('nobody names me');
    const r = await collectGarbage(store);
    assert.deepEqual(r?.blobs, [orphan.digest]);
    await store.images.delete('a');
    const r2 = await collectGarbage(store);
    const left = await blobs();
    assert.ok(left.has(a.layers[0]!.digest), 'the shared layer stays (b uses it)');
    assert.ok(!left.has(a.layers[1]!.digest) && !left.has(a.id) && !left.has(a.manifest.digest));
    assert.equal(r2?.blobs.length, 3);
    assert.ok(r2!.reclaimed > 0);
    assert.equal((await store.images.resolve('b')).id, b.id, 'b is intact');
  });

  it('build cache records keep the images and blobs they name', async () => {
    const img = await makeImage(store.content, [{ x: '1' }, { y: '2' }]);
    const loose = await store.content.writeBlob('a cached layer blob');
    await fsp.writeFile(join(root, 'cache', 'step.json'), JSON.stringify({ key: 'k', result: img.manifest.digest, extra: [loose.digest] }));
    assert.equal((await collectGarbage(store))?.blobs.length, 0);
    const snaps = await store.snapshots.prepare(img.layers, img.diffIds);
    assert.equal((await collectGarbage(store))?.snapshots.length, 0, 'snapshots of a cached image stay');
    await fsp.rm(join(root, 'cache', 'step.json'));
    const r = await collectGarbage(store);
    assert.equal(r?.blobs.length, 5);
    assert.deepEqual(r?.snapshots.sort(), snaps.map((s) => s.chainId).sort());
    assert.deepEqual([...(await blobs())], []);
  });

  it('container records keep their image (by id) and their snapshots even when it has no name', async () => {
    const img = await makeImage(store.content, [{ x: '1' }]);
    await store.images.putDangling(img.manifest);
    await store.snapshots.prepare(img.layers, img.diffIds);
    await fsp.mkdir(join(root, 'containers', 'abc123'), { recursive: true });
    await fsp.writeFile(join(root, 'containers', 'abc123', 'config.json'), JSON.stringify({ Image: img.id, Rootfs: chainIds(img.diffIds).pop() }));
    // image prune -a would drop the entry; the record still keeps the config and the snapshot
    await store.images.deleteTarget(img.manifest.digest);
    const plan = await planGc(store);
    assert.ok(plan.keepBlobs.has(img.id));
    assert.ok(plan.keepSnapshots.has(img.diffIds[0]!));
    const r = await collectGarbage(store);
    assert.ok(!r!.blobs.includes(img.id));
    assert.deepEqual(r!.snapshots, []);
  });

  it('GC waits for writers: nothing is collected while a write session is open', async () => {
    const session = await store.writeSession();
    const fresh = await store.content.writeBlob('being written, not yet named');
    assert.equal(await collectGarbage(store, { wait: false }), undefined, 'GC does not run during a write');
    let ran = false;
    const waiting = collectGarbage(store).then((r) => {
      ran = true;
      return r;
    });
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(ran, false);
    assert.ok(await store.content.info(fresh.digest));
    await session.release();
    const r = await waiting;
    assert.deepEqual(r?.blobs, [fresh.digest], 'after the session ends, an unnamed blob is garbage');
  });
});

describe('fsck of snapshots', () => {
  it('finds a modified snapshot and --repair removes it; prepare rebuilds it', async () => {
    const img = await makeImage(store.content, [{ 'etc/motd': 'hello' }]);
    await store.images.put('m', img.manifest);
    const [s] = await store.snapshots.prepare(img.layers, img.diffIds);
    assert.deepEqual((await fsck(store)).problems, []);
    await fsp.writeFile(join(s!.dir, 'etc/motd'), 'tampered');
    const r = await fsck(store);
    assert.deepEqual(r.problems.map((p) => p.kind), ['corrupt-snapshot']);
    const fixed = await fsck(store, { repair: true });
    assert.equal(fixed.problems[0]!.repaired, true);
    assert.equal(await store.snapshots.get(s!.chainId), undefined);
    const [again] = await store.snapshots.prepare(img.layers, img.diffIds);
    assert.equal(await fsp.readFile(join(again!.dir, 'etc/motd'), 'utf8'), 'hello');
    // a half-made snapshot directory (no meta.json) is reported as broken
    await fsp.mkdir(join(root, 'snapshots', 'f'.repeat(64)), { recursive: true });
    assert.deepEqual((await fsck(store)).problems.map((p) => p.kind), ['broken-snapshot']);
  });
});

describe('locks across processes', () => {
  it('a lock held by a process killed with SIGKILL is broken by the next one', async () => {
    const script = `
      const { openStore } = require(${JSON.stringify(resolve(__dirname, '../../engine/store/store'))});
      openStore(process.argv[1]).then(async (s) => {
        await s.locks.exclusive('index');
        await s.writeSession();
        process.stdout.write('locked\\n');
        setInterval(() => {}, 1000);
      });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && res());
      child.on('exit', (c) => rej(new Error(`child exited ${c}`)));
    });
    const img = await makeImage(store.content, [{ a: 'b' }]);
    // held by a live process: not free
    assert.equal(await store.locks.tryExclusive('index'), undefined);
    assert.equal(await collectGarbage(store, { wait: false }), undefined);
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    child.kill('SIGKILL');
    await exited;
    await store.images.put('after-crash', img.manifest);
    assert.equal((await store.images.resolve('after-crash')).id, img.id);
    assert.ok(await collectGarbage(store, { wait: false }), 'the dead writer no longer blocks GC');
  });
});
