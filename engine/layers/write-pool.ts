/**
 * The main-thread side of the layer worker (write-worker.ts): one worker thread per process, started on first use
 * and kept (it does not hold the process open between layers), writing one layer at a time; a second layer
 * written at the same time is written in-thread. The worker is used when its bundle (dist/layer-worker.js) sits
 * beside the running bundle or LAYERWISE_LAYER_WORKER names it; otherwise (the TypeScript sources under tsx, say)
 * layers are written in-thread, with the same bytes.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { MessagePort, Worker } from 'node:worker_threads';
import { LayerwiseError, type ErrorKind } from '../errors';
import type { LayerWriteOptions, LayerWriteResult } from './index';
import type { LayerJob, LayerWorkerInit, LayerWorkerMessage } from './write-worker';
import { OUT_CHUNK, pendingResult, sourceInfo, type LayerStream } from './write';

/** chunks (of 1 MiB) the worker may have posted ahead of the consumer */
const CREDITS = 4;

function workerPath(): string | undefined {
  const env = process.env.LAYERWISE_LAYER_WORKER;
  if (env !== undefined) return env === '' || env === '0' ? undefined : env;
  if (__filename.endsWith('.ts')) return undefined;
  const p = join(__dirname, 'layer-worker.js');
  return existsSync(p) ? p : undefined;
}

/** Tells the worker to stop. The credit count changes too: a worker between its check of the flag and its wait
 *  (on the count it saw empty) wakes at once instead of sleeping through the notification. */
function stopWorker(control: Int32Array): void {
  Atomics.store(control, 1, 1);
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
}

class LayerWorker {
  private worker: Worker | undefined;
  /** where chunks the consumer is done with go back to the worker (see write-worker.ts) */
  private returns: MessagePort | undefined;
  busy = false;
  broken = false;

  constructor(private readonly path: string) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    // node:worker_threads is loaded with the first layer written: a cached build writes none
    const { Worker: WorkerThread, MessageChannel } = require('node:worker_threads') as typeof import('node:worker_threads');
    const w = new WorkerThread(this.path);
    w.unref();
    const channel = new MessageChannel();
    channel.port1.unref();
    const init: LayerWorkerInit = { returns: channel.port2 };
    w.postMessage(init, [channel.port2]);
    this.returns = channel.port1;
    w.on('error', () => {
      // a worker that dies is not used again (the layer it was writing fails with the error below)
      this.broken = true;
      this.worker = undefined;
    });
    w.on('exit', () => {
      this.worker = undefined;
      this.returns = undefined;
    });
    this.worker = w;
    return w;
  }

  /** Gives a chunk's memory back to the worker (a chunk of this worker's, given back once: see LayerStream). */
  private giveBack(lent: Set<ArrayBuffer>, c: Buffer): void {
    const ab = c.buffer as ArrayBuffer;
    if (!lent.delete(ab)) return;
    if (this.returns && ab.byteLength === OUT_CHUNK) this.returns.postMessage(ab, [ab]);
  }

  write(dir: string, opts: LayerWriteOptions): { stream: LayerStream; done: Promise<LayerWriteResult> } {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.busy = true;
    const hash = createHash('sha256');
    let size = 0;
    const { done, resolveDone, rejectDone } = pendingResult();
    const control = new Int32Array(new SharedArrayBuffer(8));
    Atomics.store(control, 0, CREDITS);
    let owed = 0;
    let finished = false;
    let worker: Worker | undefined;
    /** the chunks pushed and not given back yet */
    const lent = new Set<ArrayBuffer>();
    const giveCredit = (n: number) => {
      if (n <= 0) return;
      Atomics.add(control, 0, n);
      Atomics.notify(control, 0);
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      if (worker) {
        worker.removeListener('message', onMessage);
        worker.removeListener('error', onError);
        worker.unref();
      }
      this.busy = false;
    };
    const fail = (e: unknown) => {
      stopWorker(control); // the worker stops at its next chunk
      finish();
      rejectDone(e);
      if (!stream.destroyed) stream.destroy(e as Error);
    };
    const onMessage = (m: LayerWorkerMessage) => {
      if (finished) return;
      if ('chunk' in m) {
        const b = Buffer.from(m.chunk, m.offset, m.length);
        lent.add(m.chunk);
        hash.update(b);
        size += b.length;
        if (stream.push(b)) giveCredit(1);
        else owed++;
      } else if ('end' in m) {
        finish();
        stream.push(null);
        resolveDone({ diffId: `sha256:${hash.digest('hex')}`, size, entries: m.end.entries, fileBytes: m.end.fileBytes });
      } else if ('error' in m) {
        fail(new LayerwiseError(m.error.kind as ErrorKind, m.error.message));
      }
    };
    const onError = (e: Error) => fail(new LayerwiseError('internal', `layer worker failed: ${e.message}`, { cause: e }));
    const stream = new Readable({
      highWaterMark: CREDITS << 20,
      read() {
        const n = owed;
        owed = 0;
        giveCredit(n);
      },
      destroy(err, cb) {
        if (!finished) {
          // the consumer gave up (or failed): stop the worker; done rejects
          stopWorker(control);
          const w = worker;
          finish();
          // the worker answers { stopped } or finishes its chunk; either way it is free for the next job once
          // it has seen the stop flag — until then it is not handed another
          if (w) {
            self.busy = true;
            const release = (m: LayerWorkerMessage) => {
              if ('stopped' in m || 'end' in m || 'error' in m) {
                w.removeListener('message', release);
                self.busy = false;
              }
            };
            w.on('message', release);
          }
          rejectDone(err ?? new LayerwiseError('io', 'layer stream closed before it was fully read'));
        }
        cb(err);
      },
    });
    const layerStream: LayerStream = Object.assign(stream, { release: (c: Buffer) => this.giveBack(lent, c) });
    // the thread starts while the tree's xattrs are read (start() hands out the running one)
    this.start();
    void (async () => {
      try {
        const { root, xattrs } = await sourceInfo(dir, opts);
        if (finished) return;
        worker = this.start();
        worker.ref(); // a layer being written keeps the process alive
        worker.on('message', onMessage);
        worker.once('error', onError);
        const job: LayerJob = { root, opts, xattrs, control };
        worker.postMessage(job);
      } catch (e) {
        fail(e);
      }
    })();
    return { stream: layerStream, done };
  }
}

let pool: LayerWorker | undefined;

/** The layer worker when it can take a layer now; undefined: write in-thread. */
export function layerWorker(): LayerWorker | undefined {
  if (pool === undefined) {
    const p = workerPath();
    if (!p) return undefined;
    pool = new LayerWorker(p);
  }
  if (pool.busy || pool.broken) return undefined;
  return pool;
}

/** Forget the worker (tests switch LAYERWISE_LAYER_WORKER between cases). */
export function resetLayerWorker(): void {
  pool = undefined;
}
