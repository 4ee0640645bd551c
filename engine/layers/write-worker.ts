/**
 * The layer writer's worker thread (bundled as dist/layer-worker.js): it walks the tree and reads the files — the
 * system calls, most of a small-file layer's cost — while the main thread hashes and stores the chunks it posts.
 * The tar bytes are those of the in-thread writer (the same LayerEmitter); the diff id is the main thread's.
 *
 * Protocol. In: { root, opts, xattrs, control } (control: Int32Array over a SharedArrayBuffer: [0] chunks the
 * worker may still post, [1] set to stop). Out: { chunk: ArrayBuffer, offset, length } (transferred), then
 * { end: { entries, fileBytes, size } }, or { error: { message, kind } }, or { stopped: true }.
 * Chunks given back: once, { returns: MessagePort } (transferred), on which the main thread sends back the
 * ArrayBuffers of chunks its consumer is done with (transferred); the worker takes them, synchronously, when it
 * needs a new staging buffer, and keeps up to POOL of them between layers.
 */
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { LayerwiseError } from '../errors';
import type { LayerWriteOptions } from './index';
import { LayerEmitter, OUT_CHUNK, treeChunks } from './write';

/** given-back buffers kept: a little more than the chunks in flight (credits + the store's writes in flight) */
const POOL = 16;

export interface LayerJob {
  root: string;
  opts: LayerWriteOptions;
  /** structured clone turns Buffers into Uint8Arrays */
  xattrs: Map<string, Array<[string, Uint8Array]>> | null;
  control: Int32Array;
}

export type LayerWorkerInit = { returns: MessagePort };

export type LayerWorkerMessage =
  | { chunk: ArrayBuffer; offset: number; length: number }
  | { end: { entries: number; fileBytes: number; size: number } }
  | { error: { message: string; kind: string } }
  | { stopped: true };

function asBuffers(x: LayerJob['xattrs']): Map<string, Array<[string, Buffer]>> | null {
  if (!x) return null;
  const out = new Map<string, Array<[string, Buffer]>>();
  for (const [k, list] of x) out.set(k, list.map(([n, v]) => [n, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]));
  return out;
}

export function serveLayerJobs(port: NonNullable<typeof parentPort>): void {
  let returns: MessagePort | undefined;
  const pool: ArrayBuffer[] = [];
  /** a staging buffer: one given back when there is one, else fresh memory */
  const alloc = (): Buffer => {
    if (returns) {
      for (let m = receiveMessageOnPort(returns); m; m = receiveMessageOnPort(returns)) {
        const ab = m.message as unknown;
        if (ab instanceof ArrayBuffer && ab.byteLength === OUT_CHUNK && pool.length < POOL) pool.push(ab);
      }
    }
    const ab = pool.pop();
    return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(OUT_CHUNK);
  };
  port.on('message', (job: LayerJob | LayerWorkerInit) => {
    if ('returns' in job) {
      returns = job.returns;
      return;
    }
    const post = (m: LayerWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
    const { control } = job;
    try {
      const em = new LayerEmitter(job.opts, asBuffers(job.xattrs), false, alloc);
      for (const chunk of treeChunks(job.root, em, job.opts)) {
        // wait for a credit (the main thread gives one back for each chunk its consumer takes). The wait is on the
        // value seen empty: a credit given between that load and the wait changes the value, and the wait returns at
        // once ("not-equal"); waiting on a fresh load instead slept through such a credit until the timeout.
        for (let credits = Atomics.load(control, 0); credits <= 0 && Atomics.load(control, 1) === 0; credits = Atomics.load(control, 0)) {
          Atomics.wait(control, 0, credits);
        }
        if (Atomics.load(control, 1) !== 0) {
          post({ stopped: true });
          return;
        }
        Atomics.sub(control, 0, 1);
        // a chunk owns its memory (the emitter stages into a fresh 1 MiB buffer after each): hand it over
        const ab = chunk.buffer as ArrayBuffer;
        post({ chunk: ab, offset: chunk.byteOffset, length: chunk.length }, [ab]);
      }
      const r = em.result();
      post({ end: { entries: r.entries, fileBytes: r.fileBytes, size: r.size } });
    } catch (e) {
      post({ error: { message: e instanceof Error ? e.message : String(e), kind: e instanceof LayerwiseError ? e.kind : 'io' } });
    }
  });
}

if (parentPort && process.env.LAYERWISE_LAYER_WORKER_MAIN !== '0') serveLayerJobs(parentPort);
