/**
 * The content store on disk: `blobs/sha256/<hex>` of an OCI image layout. Ingest streams into
 * `tmp/<pid>-…-ingest`, hashing as it goes, fsyncs, checks digest and size, and only then renames into
 * `blobs/`: a blob file is always complete and correct unless the disk itself corrupts it (fsck finds that).
 */
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashThread } from './hash-thread';
import { LayerwiseError } from '../errors';
import { digestHex, isDigest, newHash, sha256 } from '../image/digest';
import { fsyncPath, tempName } from './fs-atomic';
import type { BlobInfo, ContentStore, Expected, IngestOptions } from './types';

/** blobs up to this size are read synchronously by readBlobBytes */
const SMALL_BLOB = 1 << 20;

function notFound(digest: string): LayerwiseError {
  return new LayerwiseError('not-found', `blob not found: ${digest}`);
}

function mismatch(what: string, expected: string | number, got: string | number): LayerwiseError {
  return new LayerwiseError('corrupt', `${what} mismatch: expected ${expected}, got ${got}`);
}

/** Passes bytes through and fails at the end when they do not hash to `digest` (and `size`). */
export class VerifyStream extends Transform {
  private readonly hash = newHash();
  private bytes = 0;
  constructor(private readonly digest: string, private readonly size?: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = 'sha256:' + this.hash.digest('hex');
    if (this.size !== undefined && this.bytes !== this.size) return cb(mismatch(`size of ${this.digest}`, this.size, this.bytes));
    if (got !== this.digest) return cb(mismatch('digest', this.digest, got));
    cb();
  }
}

export class FileContentStore implements ContentStore {
  readonly blobDir: string;
  constructor(readonly root: string, readonly tmpDir: string) {
    this.blobDir = join(root, 'blobs', 'sha256');
  }

  /** the file of a blob (it may not exist) */
  blobPath(digest: string): string {
    return join(this.blobDir, digestHex(digest));
  }

  async info(digest: string): Promise<BlobInfo | undefined> {
    try {
      const st = await fsp.stat(this.blobPath(digest));
      return st.isFile() ? { digest, size: st.size } : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async readBlob(digest: string, opts: { verify?: boolean } = {}): Promise<Readable> {
    const path = this.blobPath(digest);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(digest);
      throw e;
    }
    const src = fh.createReadStream({ highWaterMark: 1 << 20 });
    if (!opts.verify) return src;
    const v = new VerifyStream(digest);
    src.on('error', (e) => v.destroy(e));
    return src.pipe(v);
  }

  async readBlobBytes(digest: string, opts: { maxSize?: number } = {}): Promise<Buffer> {
    const info = await this.info(digest);
    if (!info) throw notFound(digest);
    const max = opts.maxSize ?? 64 << 20;
    if (info.size > max) throw new LayerwiseError('invalid', `blob ${digest} is too large (${info.size} bytes, at most ${max} expected)`);
    // manifests and configs are a few kB: read at once (fs.promises would take four thread-pool round trips)
    const buf = info.size <= SMALL_BLOB ? readFileSync(this.blobPath(digest)) : await fsp.readFile(this.blobPath(digest));
    const got = sha256(buf);
    if (got !== digest) throw mismatch('digest', digest, got);
    return buf;
  }

  async writeBlob(data: Buffer | string, expected?: Expected): Promise<BlobInfo> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    // bytes in hand are hashed first: a blob already present (a rebuilt image's config and manifest) is not
    // written and synced again
    const digest = 'sha256:' + newHash().update(buf).digest('hex');
    if ((expected?.digest === undefined || expected.digest === digest) && (expected?.size === undefined || expected.size === buf.length)) {
      const have = await this.info(digest);
      if (have && have.size === buf.length) return have;
    }
    return this.ingest(Readable.from([buf]), expected ? { expected } : {});
  }

  async ingest(input: NodeJS.ReadableStream, opts: IngestOptions = {}): Promise<BlobInfo> {
    const exp = opts.expected ?? {};
    if (exp.digest !== undefined && !isDigest(exp.digest)) throw new LayerwiseError('invalid', `invalid digest: ${exp.digest}`);
    // already present and verified on the way in: drain the input and skip the copy
    if (exp.digest && exp.size !== undefined) {
      const have = await this.info(exp.digest);
      if (have && have.size === exp.size) {
        await drain(input);
        return have;
      }
    }
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, tempName('ingest'));
    const hash = newHash();
    const producerDigest = opts.producerDigest;
    const release = opts.release;
    producerDigest?.catch(() => undefined); // a producer that fails fails the stream too (handled below)
    let bytes = 0;
    const fh = await fsp.open(tmp, 'wx', 0o644);
    // the hash thread, when asked for (started once nothing can fail before the try below ends it): each chunk is
    // released once written and hashed
    const thread = opts.hashThread && !producerDigest ? new HashThread() : undefined;
    // The writes of full batches (thread pool, positional, up to WRITES_IN_FLIGHT at once) overlap the hashing of
    // the next data (this thread). One fsync at the end (datasyncs every 32 MiB in the background were measured
    // slower: more system time, no earlier finish).
    const inflight = new Set<Promise<void>>();
    let writeError: unknown;
    const settle = async () => {
      while (inflight.size) await Promise.allSettled([...inflight]);
    };
    try {
      let batch: Buffer[] = [];
      /** with the hash thread: when it is done with each chunk of the batch */
      let batchHashed: Promise<void>[] = [];
      let batchBytes = 0;
      let position = 0;
      // queues the batch at once (so that settle() at the end covers every byte); returns undefined when another
      // write may start at once, else a promise of when one of the writes in flight is done
      const flush = (): Promise<void> | undefined => {
        if (writeError !== undefined) return Promise.reject(writeError);
        const bufs = batch;
        const hashedAll = batchHashed.length ? Promise.all(batchHashed) : undefined;
        const at = position;
        position += batchBytes;
        batch = [];
        batchHashed = [];
        batchBytes = 0;
        const w: Promise<void> = (hashedAll ? Promise.all([writeAllAt(fh, bufs, at), hashedAll]) : writeAllAt(fh, bufs, at)).then(
          () => {
            inflight.delete(w);
            if (release) for (const b of bufs) release(b);
          },
          (e: unknown) => {
            inflight.delete(w);
            writeError ??= e;
          },
        );
        inflight.add(w);
        if (inflight.size < WRITES_IN_FLIGHT) return undefined;
        return Promise.race(inflight).then(() => {
          if (writeError !== undefined) throw writeError;
        });
      };
      // 'data' events rather than an async iterator: the iterator's read() concatenates whatever is buffered
      // (a copy of every byte when the producer pushes small chunks, like a layer's 512-byte headers)
      await new Promise<void>((resolve, reject) => {
        const src = input as Readable;
        let failed = false;
        const fail = (e: unknown) => {
          if (failed) return;
          failed = true;
          src.removeListener('data', onData);
          src.destroy?.(); // like leaving a for-await loop: the producer stops
          reject(e);
        };
        const onData = (c: Buffer | string) => {
          if (failed) return;
          const chunk = typeof c === 'string' ? Buffer.from(c) : c;
          if (chunk.length === 0) return;
          try {
            opts.onChunk?.(chunk);
            bytes += chunk.length;
            if (exp.size !== undefined && bytes > exp.size) throw mismatch('size', exp.size, `more than ${exp.size}`);
            if (thread) batchHashed.push(thread.update(chunk));
            else if (!producerDigest) hash.update(chunk);
            batch.push(chunk);
            batchBytes += chunk.length;
            opts.onProgress?.(bytes);
          } catch (e) {
            fail(e);
            return;
          }
          const gate = batchBytes >= WRITE_BATCH ? flush() : undefined;
          if (gate) {
            src.pause();
            gate.then(
              () => {
                if (!failed) src.resume();
              },
              (e: unknown) => fail(e),
            );
          }
        };
        let ended = false;
        // a producer that failed or quit before we got here (while the temp file was being opened)
        const r = src as Readable & { errored?: Error | null };
        if (r.destroyed) {
          fail(r.errored ?? new LayerwiseError('io', 'the input closed before its end'));
          return;
        }
        src.on('data', onData);
        src.once('end', () => {
          ended = true;
          if (!failed) resolve();
        });
        src.once('error', (e: Error) => fail(e));
        src.once('close', () => {
          if (!ended) fail(new LayerwiseError('io', 'the input closed before its end'));
        });
      });
      if (batchBytes) void flush();
      await settle();
      if (writeError !== undefined) throw writeError;
      opts.onEnd?.();
      await fh.sync();
    } catch (e) {
      // nothing may still be writing to the file when it is closed and removed
      await settle();
      await thread?.close();
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    let digest: string;
    try {
      digest = producerDigest ? await producerDigest : thread ? await thread.digest() : 'sha256:' + hash.digest('hex');
      if (!isDigest(digest)) throw new LayerwiseError('internal', `the producer of a blob gave an invalid digest: ${digest}`);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    try {
      if (exp.size !== undefined && bytes !== exp.size) throw mismatch('size', exp.size, bytes);
      if (exp.digest !== undefined && digest !== exp.digest) throw mismatch('digest', exp.digest, digest);
      await fsp.mkdir(this.blobDir, { recursive: true });
      await fsp.rename(tmp, this.blobPath(digest));
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fsyncPath(this.blobDir);
    return { digest, size: bytes };
  }

  async delete(digest: string): Promise<boolean> {
    try {
      await fsp.unlink(this.blobPath(digest));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async *walk(): AsyncIterable<BlobInfo> {
    let names: string[];
    try {
      names = await fsp.readdir(this.blobDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const n of names.sort()) {
      if (!/^[a-f0-9]{64}$/.test(n)) continue;
      try {
        const st = await fsp.stat(join(this.blobDir, n));
        if (st.isFile()) yield { digest: 'sha256:' + n, size: st.size };
      } catch {
        /* removed meanwhile */
      }
    }
  }

  /** Hash a committed blob's file; returns the actual digest and size. */
  async verify(digest: string): Promise<{ ok: boolean; actual: string; size: number }> {
    const hash = newHash();
    let size = 0;
    await pipeline(createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 }), async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        hash.update(c);
        size += c.length;
      }
    });
    const actual = 'sha256:' + hash.digest('hex');
    return { ok: actual === digest, actual, size };
  }
}

/** gather chunks up to this many bytes into one write */
const WRITE_BATCH = 1 << 20;

/** How many batch writes may be in flight at once (positional writes: their order does not matter). Buffered
 *  writes to one file hold its inode lock, so they run one at a time whatever the number, and a queued writer spins
 *  on the lock: measured on 2 cores (500 MB imports, tar and directory, 8 of each), 2 keeps the next write ready
 *  without the spinning of 3, whose slow runs were slower; 1 left the disk idle between writes. */
const WRITES_IN_FLIGHT = 2;

async function writeAllAt(fh: fsp.FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  let at = position;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest, at);
    at += bytesWritten;
    let left = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (left >= b.length) left -= b.length;
      else {
        next.push(left > 0 ? b.subarray(left) : b);
        left = 0;
      }
    }
    rest = next;
  }
}

async function drain(input: NodeJS.ReadableStream): Promise<void> {
  for await (const _ of input as AsyncIterable<unknown>) {
    /* discard */
  }
}
