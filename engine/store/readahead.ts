/**
 * A regular file as a stream that keeps several reads in flight: the next chunks are read (thread pool) while the
 * consumer hashes and writes this one (main thread). fs.createReadStream starts its next read only once the
 * consumer's 'data' handlers have run, so reading and hashing take turns; an import of a big tar spent a third of
 * its time waiting for its own reads. Chunks are the stream's own buffers: the consumer may keep them (e.g. for
 * batched writes) and, when it is done with one, give it back with `release` to be read into again — fresh memory
 * costs page faults on every read (measured: 100 reads of 1 MiB, 9 ms into reused buffers, 20-80 ms into fresh
 * ones). A consumer that never releases gets fresh buffers throughout.
 */
import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';

export interface ReadAheadOptions {
  /** bytes a read (default 1 MiB) */
  chunk?: number;
  /** reads in flight (default 4) */
  depth?: number;
  /** read into SharedArrayBuffer memory, which a worker thread can see without a copy (HashThread) */
  shared?: boolean;
}

export type ReadAheadStream = Readable & {
  /** Gives back a chunk this stream pushed (or a part of one), once nothing refers to it any more. Anything else
   *  is ignored. */
  release(chunk: Buffer): void;
};

export function readAheadStream(path: string, opts: ReadAheadOptions = {}): ReadAheadStream {
  const chunk = opts.chunk ?? 1 << 20;
  const depth = Math.max(1, opts.depth ?? 4);
  let fh: fsp.FileHandle | undefined;
  let opening: Promise<fsp.FileHandle> | undefined;
  let position = 0;
  let eof = false;
  const inflight: Promise<Buffer>[] = [];
  let pumping = false;
  /** buffers given back, and the buffers this stream made (by their memory), lent out or not — weakly: a chunk the
   *  consumer never gives back is the garbage collector's */
  const free: Buffer[] = [];
  const ours = new WeakMap<ArrayBufferLike, { buf: Buffer; lent: boolean }>();

  const take = (): Buffer => {
    const reused = free.pop();
    const buf = reused ?? (opts.shared ? Buffer.from(new SharedArrayBuffer(chunk)) : Buffer.allocUnsafeSlow(chunk));
    if (!reused) ours.set(buf.buffer, { buf, lent: true });
    else ours.get(buf.buffer)!.lent = true;
    return buf;
  };

  const issue = (h: fsp.FileHandle): void => {
    while (!eof && inflight.length < depth) {
      const buf = take();
      const at = position;
      position += chunk;
      const p = h.read(buf, 0, chunk, at).then(({ bytesRead }) => {
        if (bytesRead < chunk) eof = true; // a short read of a regular file: its end (later reads give 0)
        return bytesRead === chunk ? buf : buf.subarray(0, bytesRead);
      });
      p.catch(() => undefined); // reported in order by pump
      inflight.push(p);
    }
  };

  const stream = new Readable({
    highWaterMark: depth * chunk,
    read() {
      if (pumping) return;
      pumping = true;
      void pump();
    },
    destroy(err, cb) {
      const h = fh;
      fh = undefined;
      // reads in flight finish before the descriptor is closed
      void Promise.allSettled(inflight)
        .then(() => h?.close())
        .then(
          () => cb(err),
          (e: unknown) => cb((err ?? e) as Error | null),
        );
    },
  });

  async function pump(): Promise<void> {
    try {
      if (!fh) fh = await (opening ??= fsp.open(path, 'r'));
      for (;;) {
        if (stream.destroyed) return;
        issue(fh);
        const next = inflight.shift();
        if (!next) {
          stream.push(null);
          return;
        }
        const buf = await next;
        if (stream.destroyed) return;
        if (buf.length === 0) {
          // the end: whatever else is in flight read past it
          inflight.length = 0;
          stream.push(null);
          return;
        }
        if (!stream.push(buf)) {
          issue(fh); // keep reading ahead while the consumer catches up
          return;
        }
      }
    } catch (e) {
      stream.destroy(e as Error);
    } finally {
      pumping = false;
    }
  }

  return Object.assign(stream, {
    release(c: Buffer): void {
      const e = ours.get(c.buffer);
      if (!e || !e.lent) return; // not ours, or given back already
      e.lent = false;
      free.push(e.buf);
    },
  });
}
