/**
 * HashThread and ingest's hashThread option: the digest is the sha256 of the chunks in order, for shared
 * (SharedArrayBuffer) and ordinary chunks of any size; an ingest that hashes on the thread stores the same blob as
 * one that hashes in-thread, gives each chunk back only once it is written and hashed, and still refuses bytes
 * that do not match the expected digest (nothing stored, no temp file left).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HashThread } from '../../engine/store/hash-thread';
import { openStore } from '../../engine/store/store';
import { readAheadStream } from '../../engine/store/readahead';
import { isLayerwiseError } from '../../engine/errors';

test('HashThread: the sha256 of shared and ordinary chunks, in the order given', async () => {
  const t = new HashThread();
  const whole = createHash('sha256');
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) {
    const bytes = randomBytes(i * 997 % 70_000);
    whole.update(bytes);
    if (i % 2) {
      const shared = Buffer.from(new SharedArrayBuffer(bytes.length + 16), 8, bytes.length);
      bytes.copy(shared);
      pending.push(t.update(shared));
    } else pending.push(t.update(Buffer.concat([Buffer.from('x'), bytes]).subarray(1)));
  }
  await Promise.all(pending);
  assert.equal(await t.digest(), 'sha256:' + whole.digest('hex'));
});

test('ingest with hashThread: the same blob as in-thread hashing; chunks given back once written and hashed; a wrong digest stores nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lw-hashthread-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await openStore(join(dir, 'store'));
  const data = randomBytes(5 * 1024 * 1024 + 333);
  const file = join(dir, 'data');
  await writeFile(file, data);
  const expected = 'sha256:' + createHash('sha256').update(data).digest('hex');

  const plain = await store.content.ingest(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
  assert.equal(plain.digest, expected);
  await store.content.delete(plain.digest);

  // through shared read-ahead buffers, which go back to be read into again: a buffer given back too early would
  // be overwritten before it is hashed or written, and the blob would not be these bytes
  const src = readAheadStream(file, { chunk: 64 * 1024, depth: 4, shared: true });
  let released = 0;
  const info = await store.content.ingest(src, {
    hashThread: true,
    release: (c) => {
      released++;
      src.release(c);
    },
  });
  assert.equal(info.digest, expected);
  assert.equal(info.size, data.length);
  assert.ok(released > 10, `${released} chunks given back`);
  assert.ok((await readFile(join(dir, 'store', 'blobs', 'sha256', expected.slice(7)))).equals(data));

  await assert.rejects(
    store.content.ingest(Readable.from([data]), { hashThread: true, expected: { digest: 'sha256:' + '0'.repeat(64) } }),
    (e: unknown) => isLayerwiseError(e) && e.kind === 'corrupt',
  );
  assert.deepEqual((await readdir(join(dir, 'store', 'blobs', 'sha256'))).sort(), [expected.slice(7)]);
  assert.deepEqual(await readdir(join(dir, 'store', 'tmp')).catch(() => []), []);
});
