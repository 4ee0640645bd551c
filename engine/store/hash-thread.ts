/**
 * sha256 on a worker thread, for big blobs coming into the store (import) or read out of it verified (save,
 * unpacking): hashing a 500 MB layer takes ~0.4 s of this thread, which then cannot read, scan and write at the
 * same time. Chunks backed by a SharedArrayBuffer (readAheadStream's, with `shared`) are hashed where they are;
 * any other chunk is copied into a shared slot of a small pool, reused once hashed. Chunks are hashed in the order they are given; `update` resolves once the worker is done with
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

/** the size of a shared slot an unshared chunk is copied into */
const SLOT_SIZE = 1 << 20;

export class HashThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, () => void>();
  private digestWaiter: ((hex: string) => void) | undefined;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  /** shared copies of unshared chunks, free for the next */
  private readonly slots: SharedArrayBuffer[] = [];

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
      return Promise.race([done, this.failed]);
    }
    // not shared: copied into a shared slot, which goes back to the pool once hashed (fresh memory for every
    // chunk costs page faults, and the thread's garbage collector frees handed-over buffers late)
    let slot = this.slots.pop();
    if (!slot || slot.byteLength < chunk.length) slot = new SharedArrayBuffer(Math.max(chunk.length, SLOT_SIZE));
    new Uint8Array(slot, 0, chunk.length).set(chunk);
    this.worker.postMessage({ id, buffer: slot, offset: 0, length: chunk.length });
    const s = slot;
    return Promise.race([
      done.then(() => {
        this.slots.push(s);
      }),
      this.failed,
    ]);
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
