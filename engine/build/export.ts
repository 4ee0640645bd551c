/**
 * `build -o/--output`: the built image's root filesystem written out as files, as BuildKit's client exporters do
 * (`docker build -o out .` copies the last stage's files into ./out; `type=tar` writes them as one tar, `dest=-` to
 * standard output). The layers are applied in order in a scratch directory of the store (whiteouts delete there),
 * and the merged tree goes out as a plain tar: a tar file, or unpacked into the destination by the same applier that
 * unpacks layers (no path can leave it), owned by the user who runs the build, as the docker client writes them.
 * Nothing in the destination is deleted; files of the image replace files of the same name.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LayerwiseError } from '../errors';
import { applyLayer, writeLayer } from '../layers';
import { tempName } from '../store/fs-atomic';
import type { Store } from '../store/store';

export interface BuildOutput {
  type: 'local' | 'tar';
  /** a directory (local), a file or `-` for standard output (tar) */
  dest: string;
}

/** `-o DIR`, `-o -` (a tar on standard output), or `type=local|tar,dest=PATH` as buildx takes them. */
export function parseOutput(spec: string): BuildOutput {
  if (!spec.includes('=')) return spec === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: spec };
  const fields = new Map<string, string>();
  for (const f of spec.split(',')) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new LayerwiseError('usage', `invalid output ${JSON.stringify(spec)}: ${JSON.stringify(f)} is not key=value`);
    fields.set(f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'local';
  if (type !== 'local' && type !== 'tar') {
    throw new LayerwiseError('usage', `output type ${JSON.stringify(type)} is not supported: this engine writes local (a directory) or tar; images go to its own store (-t), and save writes them as archives`);
  }
  const dest = fields.get('dest');
  if (!dest) throw new LayerwiseError('usage', `invalid output ${JSON.stringify(spec)}: dest is required`);
  if (type === 'local' && dest === '-') throw new LayerwiseError('usage', 'output type local needs a directory: use type=tar for standard output');
  return { type, dest };
}

/** Writes the root filesystem of the image whose manifest is `manifestDigest` to `out` (dest already resolved). */
export async function exportRootfs(store: Store, manifestDigest: string, out: BuildOutput, stdout: NodeJS.WritableStream): Promise<void> {
  const img = await store.images.resolve(manifestDigest);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  await mkdir(store.tmpDir, { recursive: true });
  const work = join(store.tmpDir, tempName('export'));
  try {
    const merged = join(work, 'fs');
    await mkdir(merged, { recursive: true });
    for (const layer of img.manifest.layers) {
      await applyLayer(await store.content.readBlob(layer.digest, { verify: true }), merged, { preserveOwnership: root, allowDevices: root, skipDevices: !root });
    }
    const tar = writeLayer(merged, { source: 'dir', xattrs: false });
    // (its failure surfaces through the stream too: not an unhandled rejection when the copy stops first)
    tar.done.catch(() => undefined);
    if (out.type === 'tar') {
      await pipeline(tar.stream, out.dest === '-' ? stdout : createWriteStream(out.dest), out.dest === '-' ? { end: false } : {});
    } else {
      // a directory made here is private to the user, as the docker client makes it; the files are the user's
      // (the client writes them: a tar keeps the image's owners, a folder does not)
      await mkdir(out.dest, { recursive: true, mode: 0o700 });
      await applyLayer(tar.stream, out.dest, { xattrs: false, skipDevices: !root, allowDevices: root });
    }
    await tar.done;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
