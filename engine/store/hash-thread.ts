/**
 * sha256 on a worker thread, for big blobs coming into the store (import, load): hashing a 500 MB layer takes
 * ~0.4 s of this thread, which then cannot read, scan and write at the same time. Chunks backed by a
 * SharedArrayBuffer (readAheadStream's, with `shared`) are hashed where they are; any other chunk is copied once
 * into the message. Chunks are hashed in the order they are given; `update` resolves once the worker is done with
 * that chunk (its memory may then be reused), `digest` with the digest of everything given.
 *
 * The worker is a few lines of inline code (no bundle to find), started per blob: ~20 ms of the other core, so
 * it is meant for blobs of many megabytes.
 */
import type { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.buffer) {
    hash.update(new Uint8Array(m.buffer, m.offset, m.length));
    parentPort.postMessage({ done: m.id });
  } else if (m.end) {
    parentPort.postMessage({ digest: hash.digest('hex') });
  }
});
`;

export class HashThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, () => void>();
  private digestWaiter: ((hex: string) => void) | undefined;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;

  constructor() {
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    this.worker = new WorkerThread(WORKER_SOURCE, { eval: true });
    let reject!: (e: Error) => void;
    this.failed = new Promise<never>((_, rej) => (reject = rej));
    this.failed.catch(() => undefined);
    const fail = (e: Error) => {
      this.failure ??= e;
      reject(this.failure);
    };
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.done !== undefined) {
        const w = this.waiting.get(m.done);
        this.waiting.delete(m.done);
        w?.();
      } else if (m.digest !== undefined) this.digestWaiter?.(m.digest);
    });
    this.worker.on('error', (e) => fail(e));
    this.worker.on('exit', (code) => fail(new Error(`the hash thread exited (${code})`)));
  }

  /** Hashes `chunk` next; resolves when the thread no longer needs its memory. */
  update(chunk: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    const done = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    if (chunk.buffer instanceof SharedArrayBuffer) {
      this.worker.postMessage({ id, buffer: chunk.buffer, offset: chunk.byteOffset, length: chunk.length });
    } else {
      // not shared: one copy of exactly these bytes, handed over
      const copy = new ArrayBuffer(chunk.length);
      new Uint8Array(copy).set(chunk);
      this.worker.postMessage({ id, buffer: copy, offset: 0, length: chunk.length }, [copy]);
    }
    return Promise.race([done, this.failed]);
  }

  /** `sha256:<hex>` of every chunk given; ends the thread. */
  async digest(): Promise<string> {
    const hex = new Promise<string>((resolve) => (this.digestWaiter = resolve));
    this.worker.postMessage({ end: true });
    try {
      return 'sha256:' + (await Promise.race([hex, this.failed]));
    } finally {
      await this.worker.terminate();
    }
  }

  /** Ends the thread without a digest (an ingest that failed). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
