/**
 * `import`: a root filesystem (a tar, plain or compressed, or a directory) becomes a one-layer image, like
 * `docker import`. The layer is stored as a plain tar (as Docker keeps it; `save` writes it as is, compression
 * is for the wire): one pass that hashes once (the blob digest is the diff id) and writes at disk speed. On the
 * way, a TarScanner checks that the input is a tar and sums its unpacked size (what `images` shows).
 * Everything is written under a write session (GC waits), blobs first and the name last, so an interrupted
 * import leaves at most unreferenced blobs.
 */
import type { Readable } from 'node:stream';
import { applyChanges } from '../image/changes';
import { hostPlatform } from '../image/chain';
import { parseReference } from '../image/refs';
import { MediaType } from '../image/mediatypes';
import type { Descriptor, ImageConfig, Platform } from '../image/types';
import { decompress, writeLayer } from '../layers';
import { TarScanner } from '../layers/tarscan';
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

export async function importRootfs(store: Store, input: { tar: NodeJS.ReadableStream } | { dir: string }, opts: ImportOptions = {}): Promise<ImportResult> {
  // bad names and changes fail before anything is written
  if (opts.ref) parseReference(opts.ref);
  const containerConfig = applyChanges({}, opts.changes ?? []);
  const session = await store.writeSession();
  try {
    let plain: Readable;
    let written: Promise<unknown> = Promise.resolve();
    let producerDigest: Promise<string> | undefined;
    let release: ((chunk: Buffer) => void) | undefined;
    if ('tar' in input) {
      plain = decompress(input.tar).stream;
      // a plain tar's chunks reach the store as the source made them: written, they go back to be read into again
      // (a decompressed stream's chunks are the decompressor's: releasing one of those is ignored)
      const src = input.tar as { release?: (chunk: Buffer) => void };
      if (typeof src.release === 'function') release = (c) => src.release!(c);
    } else {
      const w = writeLayer(input.dir, { source: 'dir' });
      plain = w.stream;
      // the layer worker's chunks go back to it once written, to be filled again
      release = w.stream.release;
      written = w.done;
      producerDigest = w.done.then((d) => d.diffId); // the writer hashes what it yields: no second hash
    }
    const scan = new TarScanner();
    const ingesting = store.content.ingest(plain, {
      onChunk: (c) => scan.update(c),
      onEnd: () => scan.finish(),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(producerDigest ? { producerDigest } : {}),
      ...(release ? { release } : {}),
      // a tar's bytes are hashed here, on a thread of their own (a directory's by the layer writer)
      ...(producerDigest ? {} : { hashThread: true }),
    });
    // a failed ingest (bad tar, disk full) must stop the producer too
    ingesting.catch(() => plain.destroy());
    const [blob] = await Promise.all([ingesting, written]);
    const diffId = blob.digest;
    await store.layerInfo.put(blob.digest, { diffId, unpackedSize: scan.unpackedSize });
    const layer: Descriptor = { mediaType: MediaType.ociLayer, digest: blob.digest, size: blob.size };
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
