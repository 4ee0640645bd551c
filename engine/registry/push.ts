/**
 * `push`: an image of the store to a registry, as `docker push` does. The store keeps layers as plain tars
 * (builds and imports write them so); on the wire they are gzip, as Docker sends them: each plain layer is
 * compressed once into the store (deterministically: the same layer gives the same blob, so pushing again
 * changes nothing), and the image is pushed as a manifest over those blobs, with the same config (the image id
 * does not change). Blobs the registry has are not sent again ("Layer already exists"). The pushed manifest is
 * kept in the store and the pushed name points at it, so that `inspect` shows the registry's digest in
 * RepoDigests, as after `docker push`.
 *
 * A name that points at a multi-platform index whose platforms are all in the store pushes them all and the
 * index (as they are: re-compressing would change the digests the index lists); otherwise the host's manifest.
 */
import { PassThrough } from 'node:stream';
import { LayerwiseError } from '../errors';
import { sha256 } from '../image/digest';
import { MediaType, isIndexType, layerCompression } from '../image/mediatypes';
import { familiarRepository, formatReference, parseReference } from '../image/refs';
import { REF_NAME_ANNOTATION, type Descriptor, type Index, type Manifest } from '../image/types';
import { compress } from '../layers';
import { readJsonBlob, resolveManifest } from '../store/manifests';
import type { Store } from '../store/store';
import { RegistryClient, type RegistryOptions } from './client';

export type PushStatus = 'Preparing' | 'Pushing' | 'Pushed' | 'Layer already exists';

export interface PushOptions extends RegistryOptions {
  /** each layer's progress, by its diff id (Docker's layer ids in push output are diff ids) */
  onLayer?: (diffId: string, status: PushStatus) => void;
}

export interface PushResult {
  name: string;
  tag: string;
  /** the digest of the manifest (or index) the registry now has under the tag */
  digest: string;
  size: number;
}

/** The gzip blob of a plain layer, compressed into the store once (and recorded as the same layer). */
async function gzipLayer(store: Store, layer: Descriptor, docker: boolean): Promise<Descriptor> {
  const info = await store.layerInfo.ensure(layer.digest);
  const blob = await store.content.ingest(compress(await store.content.readBlob(layer.digest, { verify: true }), 'gzip'));
  if (info) await store.layerInfo.put(blob.digest, info).catch(() => undefined);
  return { mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: blob.digest, size: blob.size };
}

async function pushBlob(client: RegistryClient, store: Store, d: Descriptor): Promise<'exists' | 'pushed'> {
  return client.putBlob(d.digest, d.size, () => {
    // a stream made when the upload starts (and again if it has to start over)
    const out = new PassThrough();
    store.content.readBlob(d.digest, { verify: true }).then(
      (s) => {
        s.once('error', (e) => out.destroy(e));
        s.pipe(out);
      },
      (e: unknown) => out.destroy(e as Error),
    );
    return out;
  });
}

/** Push one manifest's config and layers (gzip on the wire), then the manifest under `reference`. */
async function pushManifest(
  store: Store,
  client: RegistryClient,
  desc: Descriptor,
  reference: string,
  opts: PushOptions & { recompress: boolean },
): Promise<{ digest: string; size: number; bytes: Buffer; mediaType: string }> {
  const manifest = await readJsonBlob<Manifest>(store.content, desc.digest);
  const mediaType = desc.mediaType || manifest.mediaType || MediaType.ociManifest;
  const docker = mediaType === MediaType.dockerManifest;
  const config = await readJsonBlob<{ rootfs?: { diff_ids?: string[] } }>(store.content, manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers: Descriptor[] = [];
  // Docker lists the top layer first
  for (let i = manifest.layers.length - 1; i >= 0; i--) opts.onLayer?.(diffIds[i] ?? manifest.layers[i]!.digest, 'Preparing');
  for (const l of manifest.layers) {
    if (!(await store.content.info(l.digest))) throw new LayerwiseError('not-found', `layer ${l.digest} of the image is missing from the store (run fsck)`);
    layers.push(opts.recompress && layerCompression(l.mediaType) === 'none' ? await gzipLayer(store, l, docker) : l);
  }
  await Promise.all(
    layers.map(async (l, i) => {
      const id = diffIds[i] ?? l.digest;
      const r = await pushBlob(client, store, l);
      opts.onLayer?.(id, r === 'exists' ? 'Layer already exists' : 'Pushed');
    }),
  );
  await pushBlob(client, store, manifest.config);
  const changed = layers.some((l, i) => l.digest !== manifest.layers[i]!.digest);
  const out: Manifest = changed ? { ...manifest, layers } : manifest;
  const bytes = changed ? Buffer.from(JSON.stringify(out)) : await store.content.readBlobBytes(desc.digest, { maxSize: 8 << 20 });
  const digest = sha256(bytes);
  if (changed) await store.content.writeBlob(bytes, { digest, size: bytes.length });
  const said = await client.putManifest(reference, bytes, mediaType);
  if (said && said !== digest) throw new LayerwiseError('network', `the registry stored the manifest as ${said}, not ${digest}`);
  return { digest, size: bytes.length, bytes, mediaType };
}

export async function pushImage(store: Store, input: string, opts: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(input);
  if (ref.digest) throw new LayerwiseError('usage', 'cannot push a digest reference');
  const name = formatReference(ref);
  const record = await store.images.get(name);
  if (!record) throw new LayerwiseError('not-found', `An image does not exist locally with the tag: ${familiarRepository(ref)}`);
  const client = new RegistryClient(ref.domain, ref.path, opts);
  const tag = ref.tag!;
  const session = await store.writeSession();
  try {
    let pushed: { digest: string; size: number; mediaType: string };
    if (isIndexType(record.target.mediaType)) {
      const index = await readJsonBlob<Index>(store.content, record.target.digest);
      const present = await Promise.all(index.manifests.map(async (m) => !!(await store.content.info(m.digest))));
      if (present.every(Boolean)) {
        for (const m of index.manifests) await pushManifest(store, client, m, m.digest, { ...opts, recompress: false });
        const bytes = await store.content.readBlobBytes(record.target.digest, { maxSize: 8 << 20 });
        await client.putManifest(tag, bytes, record.target.mediaType);
        pushed = { digest: record.target.digest, size: bytes.length, mediaType: record.target.mediaType };
      } else {
        const { descriptor } = await resolveManifest(store.content, record.target);
        pushed = await pushManifest(store, client, descriptor, tag, { ...opts, recompress: true });
      }
    } else {
      pushed = await pushManifest(store, client, record.target, tag, { ...opts, recompress: true });
    }
    if (pushed.digest !== record.target.digest) {
      // the name now stands for what the registry has (same config: same image id)
      await store.images.update((idx) => {
        const e = idx.manifests.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === name);
        if (!e) return;
        e.digest = pushed.digest;
        e.size = pushed.size;
        e.mediaType = pushed.mediaType;
        delete e.platform;
      });
    }
    return { name, tag, digest: pushed.digest, size: pushed.size };
  } finally {
    await session.release();
  }
}
