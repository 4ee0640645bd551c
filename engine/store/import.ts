/**
 * `import`: a root filesystem (a tar, plain or compressed, or a directory) becomes a one-layer image, like
 * `docker import`. The layer is stored gzip-compressed; its diff id is hashed from the plain tar on the way.
 * Everything is written under a write session (GC waits), blobs first and the name last, so an interrupted
 * import leaves at most unreferenced blobs.
 */
import { Transform, type Readable } from 'node:stream';
import { LayerwiseError } from '../errors';
import { applyChanges } from '../image/changes';
import { hostPlatform } from '../image/chain';
import { newHash } from '../image/digest';
import { parseReference } from '../image/refs';
import { MediaType } from '../image/mediatypes';
import type { Descriptor, ImageConfig, Platform } from '../image/types';
import { decompress, writeLayer } from '../layers';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { writeImage } from './commit';
import type { Store } from './store';

export interface ImportOptions {
  /** name the image (`docker import FILE NAME`) */
  ref?: string;
  /** Dockerfile instructions to apply (`-c 'CMD ["sh"]'`) */
  changes?: string[];
  /** the history comment (`-m`) */
  message?: string;
  platform?: Platform;
  /** where it came from, for the history comment (`Imported from …`) */
  source?: string;
  /** bytes of plain tar processed so far */
  onProgress?: (bytes: number) => void;
}

export interface ImportResult {
  id: string;
  manifest: Descriptor;
  diffId: string;
}

/** Hash the plain tar (the diff id), count it, and check that it is a tar at all. */
class TarHasher extends Transform {
  readonly hash = newHash();
  bytes = 0;
  private head = Buffer.alloc(0);
  private checked = false;
  constructor(private readonly onProgress?: (n: number) => void) {
    super();
  }
  private check(final: boolean): Error | undefined {
    if (this.checked || (!final && this.head.length < 512)) return undefined;
    this.checked = true;
    const h = this.head.subarray(0, 512);
    if (h.length === 0) return undefined; // an empty tar stream: an empty layer
    if (h.length < 512) return new LayerwiseError('invalid', 'the input is not a tar archive');
    if (h.every((b) => b === 0)) return undefined;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    const stored = parseInt(h.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
    if (stored !== sum) return new LayerwiseError('invalid', 'the input is not a tar archive');
    return undefined;
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    if (!this.checked) this.head = Buffer.concat([this.head, chunk]);
    const err = this.check(false);
    if (err) return cb(err);
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    cb(null, chunk);
  }
  override _flush(cb: (e?: Error | null) => void): void {
    cb(this.check(true));
  }
}

export async function importRootfs(store: Store, input: { tar: NodeJS.ReadableStream } | { dir: string }, opts: ImportOptions = {}): Promise<ImportResult> {
  // bad names and changes fail before anything is written
  if (opts.ref) parseReference(opts.ref);
  const containerConfig = applyChanges({}, opts.changes ?? []);
  const session = await store.writeSession();
  try {
    let plain: Readable;
    let written: Promise<unknown> = Promise.resolve();
    if ('tar' in input) {
      plain = decompress(input.tar).stream;
    } else {
      const w = writeLayer(input.dir, { source: 'dir' });
      plain = w.stream;
      written = w.done;
    }
    const hasher = new TarHasher(opts.onProgress);
    const gz = createGzip({ level: 1 });
    // pipeline destroys every stage on the first error and rejects; ingest sees the error through gz
    const piped = pipeline(plain, hasher, gz);
    const [blob] = await Promise.all([store.content.ingest(gz), piped, written]);
    const diffId = 'sha256:' + hasher.hash.digest('hex');
    const layer: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size };
    const p = opts.platform ?? hostPlatform();
    const created = new Date().toISOString();
    const config: ImageConfig = {
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      created,
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: '', comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
    };
    const { manifest, config: cfg } = await writeImage(store.content, { config, layers: [layer] });
    if (opts.ref) await store.images.put(opts.ref, manifest);
    else await store.images.putDangling(manifest);
    return { id: cfg.digest, manifest, diffId };
  } finally {
    await session.release();
  }
}
