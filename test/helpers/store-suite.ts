/**
 * One conformance suite for the store interfaces (ContentStore, ImageStore, SnapshotStore, Locks). Every
 * implementation runs it through a factory: `storeConformance('on-disk', async () => ({ … }))`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import * as tar from 'tar-stream';
import type { ContentStore, ImageStore, Locks, SnapshotStore } from '../../engine/store/types';
import { writeImage } from '../../engine/store/commit';
import { isLayerwiseError } from '../../engine/errors';
import { MediaType } from '../../engine/image/mediatypes';
import type { Descriptor, ImageConfig } from '../../engine/image/types';

async function streamBytes(r: NodeJS.ReadableStream): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) out.push(c);
  return Buffer.concat(out);
}

export interface StoreUnderTest {
  content: ContentStore;
  images: ImageStore;
  snapshots?: SnapshotStore;
  locks: Locks;
  /** flip a byte of a committed blob (to test verification); omit when the store cannot be corrupted */
  corruptBlob?(digest: string): Promise<void>;
  /** leave a lock held by a process that is dead */
  makeStaleLock?(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function rejectsKind(p: Promise<unknown>, kind: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isLayerwiseError(e), `expected a LayerwiseError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

/** A layer tar (uncompressed) with the given files. */
export async function makeLayerTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => { chunks.push(c as Buffer); });
  const ended = new Promise<void>((res, rej) => {
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  const dirs = new Set<string>();
  for (const name of Object.keys(files).sort()) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        pack.entry({ name: d + '/', type: 'directory', mode: 0o755, mtime: new Date(0) });
      }
    }
    pack.entry({ name, mode: 0o644, mtime: new Date(0) }, files[name]!);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Write a small image (gzip layers) into `content`; returns its manifest descriptor, config digest, diff ids. */
export async function makeImage(
  content: ContentStore,
  layerFiles: Record<string, string>[],
  cmd: string[] = ['sh'],
): Promise<{ manifest: Descriptor; id: string; diffIds: string[]; layers: Descriptor[] }> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const files of layerFiles) {
    const t = await makeLayerTar(files);
    diffIds.push(sha(t));
    const gz = gzipSync(t);
    const info = await content.writeBlob(gz);
    layers.push({ mediaType: MediaType.ociLayerGzip, digest: info.digest, size: info.size });
  }
  const config: ImageConfig = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: cmd, Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
  };
  const { manifest, config: cfg } = await writeImage(content, { config, layers });
  return { manifest, id: cfg.digest, diffIds, layers };
}

export function storeConformance(name: string, factory: StoreFactory): void {
  const withStore = (fn: (s: StoreUnderTest) => Promise<void>) => async () => {
    const s = await factory();
    try {
      await fn(s);
    } finally {
      await s.cleanup();
    }
  };

  describe(`store conformance: ${name}`, () => {
    describe('ContentStore', () => {
      it('writes a blob under its sha256 and reads it back', withStore(async ({ content }) => {
        const data = Buffer.from('hello layerwise\n');
        const info = await content.writeBlob(data);
        assert.equal(info.digest, sha(data));
        assert.equal(info.size, data.length);
        assert.deepEqual(await content.info(info.digest), { digest: info.digest, size: data.length });
        assert.deepEqual(await content.readBlobBytes(info.digest), data);
        const chunks: Buffer[] = [];
        for await (const c of await content.readBlob(info.digest, { verify: true })) chunks.push(c as Buffer);
        assert.deepEqual(Buffer.concat(chunks), data);
      }));

      it('ingests a stream and reports progress', withStore(async ({ content }) => {
        const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
        const all = Buffer.concat(parts);
        const seen: number[] = [];
        const info = await content.ingest(Readable.from(parts), { expected: { digest: sha(all), size: all.length }, onProgress: (n) => seen.push(n) });
        assert.equal(info.digest, sha(all));
        assert.equal(seen[seen.length - 1], all.length);
        assert.ok(seen.every((n, i) => i === 0 || n > seen[i - 1]!), 'progress increases');
      }));

      it('ingests many MiB of tiny and odd-sized chunks byte for byte; a producer that quits early commits nothing', withStore(async ({ content }) => {
        let seed = 42;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
        const parts: Buffer[] = [];
        let total = 0;
        while (total < 5 << 20) {
          const n = rnd() < 0.7 ? 1 + Math.floor(rnd() * 600) : Math.floor(rnd() * 300_000);
          const b = Buffer.alloc(n, Math.floor(rnd() * 256));
          parts.push(b);
          total += n;
        }
        const all = Buffer.concat(parts);
        const seen: number[] = [];
        const info = await content.ingest(Readable.from(parts), { onChunk: (c) => seen.push(c.length) });
        assert.deepEqual(info, { digest: sha(all), size: all.length });
        assert.equal(seen.reduce((a, b) => a + b, 0), all.length);
        assert.deepEqual(await streamBytes(await content.readBlob(info.digest)), all);
        // whole MiB chunks, the last pushed together with the end: every byte is in the file
        const mib = [1, 2, 3].map((i) => Buffer.alloc(1 << 20, i));
        let k = 0;
        const together = new Readable({
          read() {
            const p = mib[k++];
            if (!p) return;
            this.push(p);
            if (k === mib.length) this.push(null);
          },
        });
        const t3 = await content.ingest(together);
        assert.deepEqual(await streamBytes(await content.readBlob(t3.digest, { verify: true })), Buffer.concat(mib));
        // destroyed without an error before its end
        const quitter = new Readable({
          read() {
            this.push(Buffer.alloc(3 << 20, 5));
            setImmediate(() => this.destroy());
          },
        });
        await rejectsKind(content.ingest(quitter), 'io', /closed before its end/);
        // one that failed before the ingest began
        const early = new Readable({ read() {} });
        early.on('error', () => undefined);
        early.destroy(new Error('failed first'));
        await assert.rejects(content.ingest(early), /failed first/);
        // an observer that refuses the data stops the ingest
        await assert.rejects(content.ingest(Readable.from(parts), { onChunk: () => { throw new Error('not this'); } }), /not this/);
        const blobs: string[] = [];
        for await (const b of content.walk()) blobs.push(b.digest);
        assert.deepEqual(blobs.sort(), [info.digest, t3.digest].sort());
      }));

      it('refuses a blob whose digest does not match, and keeps nothing', withStore(async ({ content }) => {
        const data = Buffer.from('payload');
        const wrong = sha('something else');
        await rejectsKind(content.writeBlob(data, { digest: wrong }), 'corrupt', /digest mismatch/);
        assert.equal(await content.info(wrong), undefined);
        assert.equal(await content.info(sha(data)), undefined);
        const all: string[] = [];
        for await (const b of content.walk()) all.push(b.digest);
        assert.deepEqual(all, []);
      }));

      it('refuses a blob whose size does not match (short and long)', withStore(async ({ content }) => {
        const data = Buffer.from('twelve bytes');
        await rejectsKind(content.writeBlob(data, { digest: sha(data), size: data.length + 1 }), 'corrupt', /size mismatch/);
        await rejectsKind(content.writeBlob(data, { digest: sha(data), size: data.length - 1 }), 'corrupt', /size mismatch/);
        assert.equal(await content.info(sha(data)), undefined);
      }));

      it('rejects malformed digests', withStore(async ({ content }) => {
        await rejectsKind(content.writeBlob('x', { digest: 'sha256:xyz' }), 'invalid');
        await rejectsKind(content.info('md5:abc'), 'invalid');
      }));

      it('a failing input stream commits nothing', withStore(async ({ content }) => {
        const bad = new Readable({
          read() {
            this.push(Buffer.alloc(1000, 1));
            this.destroy(new Error('network went away'));
          },
        });
        await assert.rejects(content.ingest(bad), /network went away/);
        const all: string[] = [];
        for await (const b of content.walk()) all.push(b.digest);
        assert.deepEqual(all, []);
      }));

      it('reports a missing blob as not-found', withStore(async ({ content }) => {
        const d = sha('absent');
        assert.equal(await content.info(d), undefined);
        await rejectsKind(content.readBlob(d), 'not-found');
        await rejectsKind(content.readBlobBytes(d), 'not-found');
      }));

      it('deletes and walks', withStore(async ({ content }) => {
        const a = await content.writeBlob('a');
        const b = await content.writeBlob('b');
        const seen = new Set<string>();
        for await (const x of content.walk()) seen.add(x.digest);
        assert.deepEqual(seen, new Set([a.digest, b.digest]));
        assert.equal(await content.delete(a.digest), true);
        assert.equal(await content.delete(a.digest), false);
        assert.equal(await content.info(a.digest), undefined);
        assert.ok(await content.info(b.digest));
      }));

      it('concurrent writers of the same content both succeed', withStore(async ({ content }) => {
        const data = Buffer.alloc(300_000, 7);
        const [x, y] = await Promise.all([content.writeBlob(data), content.ingest(Readable.from([data.subarray(0, 1000), data.subarray(1000)]))]);
        assert.equal(x.digest, y.digest);
        assert.deepEqual(await content.readBlobBytes(x.digest), data);
      }));

      it('verifying reads detect a corrupted blob', withStore(async (s) => {
        if (!s.corruptBlob) return;
        const info = await s.content.writeBlob(Buffer.alloc(5000, 3));
        await s.corruptBlob(info.digest);
        await rejectsKind(s.content.readBlobBytes(info.digest), 'corrupt');
        const stream = await s.content.readBlob(info.digest, { verify: true });
        await assert.rejects(async () => {
          for await (const _ of stream) {
            /* read */
          }
        }, /mismatch/);
        // an unverified read still works (fsck uses that to report)
        let n = 0;
        for await (const c of await s.content.readBlob(info.digest)) n += (c as Buffer).length;
        assert.equal(n, 5000);
      }));
    });

    describe('ImageStore', () => {
      it('names an image with the full normalized reference', withStore(async ({ content, images }) => {
        const img = await makeImage(content, [{ 'etc/hello': 'hi' }]);
        await images.put('busybox', img.manifest);
        const recs = await images.list();
        assert.deepEqual(recs.map((r) => r.name), ['docker.io/library/busybox:latest']);
        assert.equal((await images.get('docker.io/library/busybox:latest'))?.target.digest, img.manifest.digest);
        assert.equal((await images.get('busybox:latest'))?.target.digest, img.manifest.digest);
        assert.equal(await images.get('busybox:other'), undefined);
      }));

      it('resolves by name, id, short id, id prefix and digest reference', withStore(async ({ content, images }) => {
        const img = await makeImage(content, [{ a: '1' }]);
        await images.put('localhost:5000/team/app:v1', img.manifest);
        const hex = img.id.slice(7);
        for (const q of ['localhost:5000/team/app:v1', img.id, hex, hex.slice(0, 12), hex.slice(0, 5), `localhost:5000/team/app@${img.manifest.digest}`, img.manifest.digest]) {
          const r = await images.resolve(q);
          assert.equal(r.id, img.id, q);
          assert.equal(r.manifest.config.digest, img.id);
          assert.deepEqual(r.config.rootfs.diff_ids, img.diffIds);
          assert.deepEqual(r.names, ['localhost:5000/team/app:v1']);
        }
        await rejectsKind(images.resolve('localhost:5000/team/app:v2'), 'not-found', /^No such image: localhost:5000\/team\/app:v2$/);
        await rejectsKind(images.resolve('nothere'), 'not-found', /^No such image: nothere$/);
        await rejectsKind(images.resolve(`other@${img.manifest.digest}`), 'not-found');
      }));

      it('rejects uppercase repository names with docker\'s message', withStore(async ({ content, images }) => {
        const img = await makeImage(content, [{ a: '1' }]);
        await rejectsKind(images.put('BusyBox', img.manifest), 'invalid', /repository name \(library\/BusyBox\) must be lowercase/);
        await rejectsKind(images.resolve('BusyBox'), 'invalid', /must be lowercase/);
      }));

      it('an ambiguous id prefix is an error', withStore(async ({ content, images }) => {
        // find two images whose ids share a first hex digit
        const made: { id: string; manifest: Descriptor }[] = [];
        for (let i = 0; i < 17; i++) {
          const img = await makeImage(content, [{ f: String(i) }]);
          made.push(img);
          await images.put(`img${i}`, img.manifest);
        }
        const first = new Map<string, number>();
        let clash = '';
        for (const m of made) {
          const c = m.id[7]!;
          first.set(c, (first.get(c) ?? 0) + 1);
          if (first.get(c)! > 1) clash = c;
        }
        assert.ok(clash, 'some two of 17 ids (pigeonhole) share a first digit');
        await rejectsKind(images.resolve(clash), 'conflict', /multiple IDs found/);
      }));

      it('moving a tag leaves the old image dangling', withStore(async ({ content, images }) => {
        const a = await makeImage(content, [{ v: 'a' }]);
        const b = await makeImage(content, [{ v: 'b' }]);
        await images.put('app', a.manifest);
        await images.put('app', b.manifest);
        const recs = await images.list();
        assert.equal(recs.length, 2);
        assert.equal(recs.find((r) => r.name === 'docker.io/library/app:latest')?.target.digest, b.manifest.digest);
        const dangling = recs.filter((r) => r.name === '');
        assert.deepEqual(dangling.map((r) => r.target.digest), [a.manifest.digest]);
        // the dangling image still resolves by id
        assert.equal((await images.resolve(a.id.slice(7, 19))).id, a.id);
        // naming it again removes the dangling entry
        await images.put('app:old', a.manifest);
        assert.equal((await images.list()).filter((r) => r.name === '').length, 0);
      }));

      it('two names, one image; delete removes one name only', withStore(async ({ content, images }) => {
        const a = await makeImage(content, [{ v: 'a' }]);
        await images.put('app:1', a.manifest);
        await images.put('app:2', a.manifest);
        assert.deepEqual((await images.resolve('app:1')).names.sort(), ['docker.io/library/app:1', 'docker.io/library/app:2']);
        assert.equal(await images.delete('app:1'), true);
        assert.equal(await images.delete('app:1'), false);
        assert.deepEqual((await images.resolve(a.id)).names, ['docker.io/library/app:2']);
        assert.equal(await images.deleteTarget(a.manifest.digest), 1);
        await rejectsKind(images.resolve(a.id), 'not-found');
      }));

      it('refuses to name a manifest that is not in the content store', withStore(async ({ images }) => {
        const d = sha('nope');
        await rejectsKind(images.put('x', { mediaType: MediaType.ociManifest, digest: d, size: 4 }), 'not-found');
        assert.deepEqual(await images.list(), []);
      }));

      it('concurrent puts are all kept (index updates are serialized)', withStore(async ({ content, images }) => {
        const imgs = await Promise.all(Array.from({ length: 8 }, (_, i) => makeImage(content, [{ n: String(i) }])));
        await Promise.all(imgs.map((img, i) => images.put(`c${i}`, img.manifest)));
        const names = (await images.list()).map((r) => r.name).sort();
        assert.deepEqual(names, imgs.map((_, i) => `docker.io/library/c${i}:latest`).sort());
      }));

      it('resolves an index to this platform\'s manifest', withStore(async ({ content, images }) => {
        const img = await makeImage(content, [{ p: 'x' }]);
        const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
        const other = arch === 'amd64' ? 'arm64' : 'amd64';
        const index = {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [
            { mediaType: MediaType.ociManifest, digest: sha('missing'), size: 10, platform: { os: 'linux', architecture: other } },
            { ...img.manifest, platform: { os: 'linux', architecture: arch } },
          ],
        };
        const info = await content.writeBlob(JSON.stringify(index));
        await images.put('multi', { mediaType: MediaType.ociIndex, digest: info.digest, size: info.size });
        const r = await images.resolve('multi');
        assert.equal(r.id, img.id);
        assert.equal(r.target.digest, info.digest);
        assert.equal(r.manifestDescriptor.digest, img.manifest.digest);
      }));
    });

    describe('SnapshotStore', () => {
      it('unpacks each layer once, by chain id, with lower dirs top first', withStore(async ({ content, snapshots }) => {
        if (!snapshots) return;
        const img = await makeImage(content, [{ 'bin/a': 'A' }, { 'bin/b': 'B' }]);
        const snaps = await snapshots.prepare(img.layers, img.diffIds);
        assert.equal(snaps.length, 2);
        assert.equal(snaps[0]!.chainId, img.diffIds[0]);
        assert.equal(snaps[1]!.parent, snaps[0]!.chainId);
        assert.equal(await fsp.readFile(join(snaps[0]!.dir, 'bin/a'), 'utf8'), 'A');
        assert.equal(await fsp.readFile(join(snaps[1]!.dir, 'bin/b'), 'utf8'), 'B');
        // the top snapshot holds only its own layer
        await assert.rejects(fsp.stat(join(snaps[1]!.dir, 'bin/a')));
        assert.deepEqual(await snapshots.lowerDirs(snaps[1]!.chainId), [snaps[1]!.dir, snaps[0]!.dir]);
        // again: nothing new is unpacked (same dirs, same inode)
        const ino = (await fsp.stat(join(snaps[0]!.dir, 'bin/a'))).ino;
        const again = await snapshots.prepare(img.layers, img.diffIds);
        assert.deepEqual(again.map((s) => s.dir), snaps.map((s) => s.dir));
        assert.equal((await fsp.stat(join(snaps[0]!.dir, 'bin/a'))).ino, ino);
        assert.equal((await snapshots.list()).length, 2);
        assert.ok((await snapshots.usage()) >= 2);
        assert.equal(await snapshots.remove(snaps[1]!.chainId), true);
        assert.equal(await snapshots.get(snaps[1]!.chainId), undefined);
      }));

      it('a layer whose content does not match its diff id leaves no snapshot', withStore(async ({ content, snapshots }) => {
        if (!snapshots) return;
        const img = await makeImage(content, [{ a: '1' }]);
        const wrong = sha('not the diff id');
        await rejectsKind(snapshots.prepare(img.layers, [wrong]), 'corrupt');
        assert.equal(await snapshots.get(wrong), undefined);
        assert.deepEqual(await snapshots.list(), []);
      }));

      it('concurrent prepares of one layer share one snapshot', withStore(async ({ content, snapshots }) => {
        if (!snapshots) return;
        const img = await makeImage(content, [{ 'x/y': 'z'.repeat(10000) }]);
        const [a, b] = await Promise.all([snapshots.prepare(img.layers, img.diffIds), snapshots.prepare(img.layers, img.diffIds)]);
        assert.equal(a[0]!.dir, b[0]!.dir);
        assert.equal(await fsp.readFile(join(a[0]!.dir, 'x/y'), 'utf8'), 'z'.repeat(10000));
        assert.equal((await snapshots.list()).length, 1);
      }));
    });

    describe('Locks', () => {
      it('exclusive holders never overlap', withStore(async ({ locks }) => {
        let inside = 0;
        let maxInside = 0;
        const order: number[] = [];
        await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            locks.withExclusive('t', async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              await new Promise<void>((r) => setImmediate(r));
              order.push(i);
              inside--;
            }),
          ),
        );
        assert.equal(maxInside, 1);
        assert.equal(order.length, 5);
      }));

      it('tryExclusive fails while held and succeeds after release; shared holders block exclusive', withStore(async ({ locks }) => {
        const h = await locks.exclusive('x');
        assert.equal(await locks.tryExclusive('x'), undefined);
        await h.release();
        const h2 = await locks.tryExclusive('x');
        assert.ok(h2);
        await h2.release();
        const s1 = await locks.shared('x');
        const s2 = await locks.shared('x');
        assert.equal(await locks.tryExclusive('x'), undefined, 'sharers block an exclusive holder');
        await s1.release();
        let got = false;
        const ex = locks.exclusive('x').then((l) => {
          got = true;
          return l;
        });
        await new Promise<void>((r) => setImmediate(r));
        assert.equal(got, false);
        await s2.release();
        const l = await ex;
        assert.equal(got, true);
        await l.release();
      }));

      it('breaks a lock whose holder died', withStore(async (s) => {
        if (!s.makeStaleLock) return;
        await s.makeStaleLock('stale');
        const h = await s.locks.exclusive('stale', { timeoutMs: 5000 });
        await h.release();
      }));
    });
  });
}
