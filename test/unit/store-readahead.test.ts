/**
 * readAheadStream: a regular file read with several reads in flight gives its bytes in order, whole, for sizes
 * around the chunk size; it honours back-pressure (a paused consumer does not make it buffer the whole file); a
 * missing file is an error on the stream; destroying it early closes the file.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAheadStream } from '../../engine/store/readahead';

/** A temp dir, removed after the test. */
async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lw-readahead-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('gives every byte in order, for sizes around the chunk size and depths 1 to 5', async (t) => {
  const dir = await tempDir(t);
  const chunk = 4096;
  for (const size of [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 7 * chunk + 123, 40_000]) {
    const data = randomBytes(size);
    const f = join(dir, `f${size}`);
    await writeFile(f, data);
    for (const depth of [1, 2, 5]) assert.ok((await collect(readAheadStream(f, { chunk, depth }))).equals(data), `size ${size} depth ${depth}`);
  }
});

test('a slow consumer holds the reading back: no more than its buffer and the reads in flight are read ahead', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 'big');
  const data = randomBytes(256 * 1024);
  await writeFile(f, data);
  const chunk = 1024;
  const depth = 2;
  const s = readAheadStream(f, { chunk, depth });
  const parts: Buffer[] = [];
  let most = 0;
  await new Promise<void>((res, rej) => {
    s.on('data', (c: Buffer) => {
      parts.push(c);
      // the consumer is slower than the reads: it takes a turn of the event loop for each chunk
      s.pause();
      setImmediate(() => {
        most = Math.max(most, s.readableLength);
        s.resume();
      });
    });
    s.once('end', () => res());
    s.once('error', rej);
  });
  assert.ok(Buffer.concat(parts).equals(data));
  assert.ok(most <= (depth + 1) * chunk, `buffered up to ${most} bytes of ${data.length}`);
  assert.ok(most > 0, 'the reads did run ahead of the consumer');
});

test('a missing file is an error on the stream; destroying early closes the file', async (t) => {
  await assert.rejects(collect(readAheadStream('/nonexistent/lw-readahead')), /ENOENT/);
  const dir = await tempDir(t);
  const f = join(dir, 'f');
  await writeFile(f, randomBytes(64 * 1024));
  const fdsBefore = readdirSync('/proc/self/fd').length;
  const s = readAheadStream(f, { chunk: 1024, depth: 3 });
  await new Promise<void>((res) => s.once('data', () => res()));
  await new Promise<void>((res) => s.destroy().once('close', () => res()));
  assert.equal(readdirSync('/proc/self/fd').length, fdsBefore);
});

test('released chunks are read into again (and only once each); what it did not make is ignored', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 'f');
  const data = randomBytes(64 * 1024 + 7);
  await writeFile(f, data);
  const s = readAheadStream(f, { chunk: 1024, depth: 2 });
  const copies: Buffer[] = [];
  const memory = new Set<ArrayBufferLike>();
  await new Promise<void>((res, rej) => {
    s.on('data', (c: Buffer) => {
      copies.push(Buffer.from(c)); // the consumer copies, then gives the chunk back
      memory.add(c.buffer);
      s.release(c);
      s.release(c); // twice: ignored
      s.release(Buffer.alloc(1024)); // not the stream's: ignored
    });
    s.once('end', () => res());
    s.once('error', rej);
  });
  assert.ok(Buffer.concat(copies).equals(data));
  // 65 chunks were read through a handful of buffers: the reads in flight and the stream's own buffer
  assert.ok(memory.size <= 8, `${memory.size} buffers for 65 chunks`);
});

test('an import of a 24 MB tar through it stores exactly the file (its buffers are reused only once written)', async (t) => {
  const { openStore } = await import('../../engine/store/store');
  const { importRootfs } = await import('../../engine/store/import');
  const { writeLayer } = await import('../../engine/layers');
  const { createHash } = await import('node:crypto');
  const { createWriteStream, mkdirSync } = await import('node:fs');
  const { readFile } = await import('node:fs/promises');
  const { pipeline } = await import('node:stream/promises');
  const dir = await tempDir(t);
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  for (let i = 0; i < 24; i++) await writeFile(join(tree, `f${i}`), randomBytes(1 << 20));
  const tarPath = join(dir, 'rootfs.tar');
  await pipeline(writeLayer(tree, { source: 'dir' }).stream, createWriteStream(tarPath));
  const plain = await readFile(tarPath);
  const store = await openStore(join(dir, 'store'));
  // small chunks and a shallow read-ahead: every buffer is reused many times
  const r = await importRootfs(store, { tar: readAheadStream(tarPath, { chunk: 64 * 1024, depth: 3 }) });
  const digest = 'sha256:' + createHash('sha256').update(plain).digest('hex');
  assert.equal(r.diffId, digest);
  assert.ok((await readFile(join(dir, 'store', 'blobs', 'sha256', digest.slice(7)))).equals(plain));
});

test('chunks a consumer never gives back are not kept by the stream (a 48 MiB read holds a few MiB once collected)', async (t) => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = await tempDir(t);
  const f = join(dir, 'f');
  const mib = Buffer.alloc(1 << 20, 1);
  await writeFile(f, (function* () {
    for (let i = 0; i < 48; i++) yield mib;
  })());
  // collections until the backing stores are released (freed memory is given back a little later)
  const collect = async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise<void>((res) => setImmediate(res));
    }
  };
  await collect();
  const base = process.memoryUsage().arrayBuffers;
  const s = readAheadStream(f);
  let n = 0;
  await new Promise<void>((res, rej) => {
    s.on('data', (c: Buffer) => void (n += c.length));
    s.once('end', () => res());
    s.once('error', rej);
  });
  assert.equal(n, 48 << 20);
  await collect();
  const held = process.memoryUsage().arrayBuffers - base;
  assert.ok(held < 12 << 20, `${(held / 2 ** 20).toFixed(1)} MiB still held after reading 48 MiB`);
  assert.ok(s.readableEnded); // the stream itself is still alive: it is its chunks that went
});
