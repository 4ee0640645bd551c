/**
 * `save`: images to a tar, in the form Docker 25+ writes (and every `docker load` since 1.10 reads):
 *   blobs/sha256/<hex>      manifests, configs and layers, as stored (verified while written)
 *   oci-layout, index.json  an OCI layout: one entry per name, annotated with `io.containerd.image.name`
 *                           (the full name) and `org.opencontainers.image.ref.name` (the tag), as Docker does
 *   manifest.json           Docker's legacy index: [{Config, RepoTags, Layers}] with paths into blobs/
 *   repositories            {repo: {tag: top layer hex}} for very old loaders
 * With format 'oci', only the OCI layout (an OCI archive, as `skopeo copy … oci-archive:` reads it).
 */
import * as tar from 'tar-stream';
import { pipeline } from 'node:stream/promises';
import { LayerwiseError } from '../errors';
import { digestHex } from '../image/digest';
import { MediaType } from '../image/mediatypes';
import { familiarRepository, familiarString, formatReference, parseReference, repositoryName } from '../image/refs';
import { CONTAINERD_IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION, type Descriptor, type Index } from '../image/types';
import { OCI_LAYOUT, type Store } from './store';
import type { ResolvedImage } from './types';

export interface SaveOptions {
  format?: 'docker' | 'oci';
  /** bytes of blobs written so far */
  onProgress?: (bytes: number) => void;
}

interface SaveItem {
  image: ResolvedImage;
  /** full normalized names to record */
  names: string[];
}

/** Resolve what the user asked for, as `docker save` does: a name, a repository (all its tags), an id. */
export async function resolveForSave(store: Store, inputs: string[]): Promise<SaveItem[]> {
  const items = new Map<string, SaveItem>();
  const all = await store.images.list();
  for (const input of inputs) {
    let names: string[] = [];
    let image: ResolvedImage | undefined;
    let parsed: ReturnType<typeof parseReference> | undefined;
    try {
      parsed = parseReference(input, { defaultTag: false });
    } catch {
      parsed = undefined;
    }
    if (parsed && parsed.tag === undefined && parsed.digest === undefined) {
      // a bare repository: every tag of it (docker save busybox)
      const repo = repositoryName(parsed);
      const tagged = all.filter((r) => r.name && !r.name.includes('@') && r.name.slice(0, r.name.lastIndexOf(':')) === repo);
      if (tagged.length) {
        for (const r of tagged) {
          const img = await store.images.resolve(r.name);
          const it = items.get(img.manifestDescriptor.digest) ?? { image: img, names: [] };
          if (!it.names.includes(r.name)) it.names.push(r.name);
          items.set(img.manifestDescriptor.digest, it);
        }
        continue;
      }
    }
    image = await store.images.resolve(input);
    if (parsed && parsed.digest === undefined) names = [formatReference(parseReference(input))];
    const it = items.get(image.manifestDescriptor.digest) ?? { image, names: [] };
    for (const n of names) if (!it.names.includes(n)) it.names.push(n);
    items.set(image.manifestDescriptor.digest, it);
  }
  return [...items.values()];
}

export async function saveImages(store: Store, inputs: string[], out: NodeJS.WritableStream, opts: SaveOptions = {}): Promise<void> {
  if (inputs.length === 0) throw new LayerwiseError('usage', 'save requires at least one image');
  const items = await resolveForSave(store, inputs);
  const pack = tar.pack();
  const done = pipeline(pack, out as NodeJS.WritableStream & { end(): void });
  const mtime = new Date(0);
  const written = new Set<string>();
  let bytes = 0;
  try {
    pack.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime });
    pack.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime });
    const writeBlob = async (d: Descriptor) => {
      if (written.has(d.digest)) return;
      written.add(d.digest);
      const info = await store.content.info(d.digest);
      if (!info) throw new LayerwiseError('not-found', `blob ${d.digest} of the image is missing from the store`);
      const src = await store.content.readBlob(d.digest, { verify: true });
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ name: `blobs/sha256/${digestHex(d.digest)}`, size: info.size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
        src.on('error', (e: Error) => {
          sink.destroy(e);
          reject(e);
        });
        src.on('data', (c: Buffer) => {
          bytes += c.length;
          opts.onProgress?.(bytes);
        });
        src.pipe(sink);
      });
    };
    const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    const dockerManifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { image, names } of items) {
      const m = image.manifestDescriptor;
      await writeBlob(m);
      await writeBlob(image.manifest.config);
      for (const l of image.manifest.layers) await writeBlob(l);
      const base: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size };
      if (names.length === 0) index.manifests.push(base);
      for (const n of names) {
        const r = parseReference(n);
        const annotations: Record<string, string> = { [CONTAINERD_IMAGE_NAME_ANNOTATION]: n };
        if (r.tag) annotations[REF_NAME_ANNOTATION] = r.tag;
        index.manifests.push({ ...base, annotations });
        const top = image.manifest.layers[image.manifest.layers.length - 1];
        if (r.tag && top) (repositories[familiarRepository(r)] ??= {})[r.tag] = digestHex(top.digest);
      }
      dockerManifest.push({
        Config: `blobs/sha256/${digestHex(image.manifest.config.digest)}`,
        RepoTags: names.length ? names.filter((n) => !n.includes('@')).map((n) => familiarString(n)) : null,
        Layers: image.manifest.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
      });
    }
    const small = (name: string, text: string) => pack.entry({ name, mode: 0o644, mtime }, text);
    small('oci-layout', JSON.stringify(OCI_LAYOUT));
    small('index.json', JSON.stringify(index));
    if (opts.format !== 'oci') {
      small('manifest.json', JSON.stringify(dockerManifest));
      if (Object.keys(repositories).length) small('repositories', JSON.stringify(repositories));
    }
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await done.catch(() => undefined);
    throw e;
  }
  await done;
}
