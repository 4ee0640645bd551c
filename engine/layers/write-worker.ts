/**
 * The layer writer's worker thread (bundled as dist/layer-worker.js): it walks the tree and reads the files — the
 * system calls, most of a small-file layer's cost — while the main thread hashes and stores the chunks it posts.
 * The tar bytes are those of the in-thread writer (the same LayerEmitter); the diff id is the main thread's.
 *
 * Protocol. In: { root, opts, xattrs, control } (control: Int32Array over a SharedArrayBuffer: [0] chunks the
 * worker may still post, [1] set to stop). Out: { chunk: ArrayBuffer, offset, length } (transferred), then
 * { end: { entries, fileBytes, size } }, or { error: { message, kind } }, or { stopped: true }.
 */
import { parentPort } from 'node:worker_threads';
import { LayerwiseError } from '../errors';
import type { LayerWriteOptions } from './index';
import { LayerEmitter, treeChunks } from './write';

export interface LayerJob {
  root: string;
  opts: LayerWriteOptions;
  /** structured clone turns Buffers into Uint8Arrays */
  xattrs: Map<string, Array<[string, Uint8Array]>> | null;
  control: Int32Array;
}

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
  port.on('message', (job: LayerJob) => {
    const post = (m: LayerWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
    const { control } = job;
    try {
      const em = new LayerEmitter(job.opts, asBuffers(job.xattrs), false);
      for (const chunk of treeChunks(job.root, em, job.opts)) {
        // wait for a credit (the main thread gives one back for each chunk its consumer takes)
        while (Atomics.load(control, 0) <= 0 && Atomics.load(control, 1) === 0) Atomics.wait(control, 0, Atomics.load(control, 0), 1000);
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
