/**
 * `load`: images from a tar stream (plain or compressed) or an OCI layout directory:
 *  - `docker save` output of Docker 20–24 (manifest.json + `<id>/layer.tar` + `<id>.json`, symlinked
 *    duplicate layers) and of Docker 25+ (the same manifest.json pointing into an OCI layout: `blobs/sha256/…`,
 *    `index.json`, `oci-layout`);
 *  - OCI image layouts, as an archive (`skopeo copy … oci-archive:`) or a directory.
 * Every file of the archive is streamed into the content store as it arrives (bounded memory); files under
 * `blobs/sha256/` are committed only if they match their names. Names are set last, under a write session,
 * so an interrupted load leaves only unreferenced blobs that GC removes.
 */
import { promises as fsp, createReadStream } from 'node:fs';
import { join, posix } from 'node:path';
import * as tar from 'tar-stream';
import { LayerwiseError } from '../errors';
import { isDigest } from '../image/digest';
import { MediaType, isIndexType, isManifestType, ociLayerType } from '../image/mediatypes';
import { familiarString, formatReference, parseReference } from '../image/refs';
import { CONTAINERD_IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type Index, type Manifest } from '../image/types';
import { decompress, detectCompression } from '../layers';
import { readConfig, readJsonBlob, reachableFrom, resolveManifest, sniffMediaType } from './manifests';
import type { Store } from './store';
import type { BlobInfo } from './types';
import { LayerSniffer, type LayerInfo } from './layerinfo';

export interface LoadOptions {
  /** bytes of the (decompressed) archive read so far */
  onProgress?: (bytes: number) => void;
}

export interface LoadedImage {
  id: string;
  /** full normalized names given to it (empty: loaded untagged) */
  names: string[];
  manifest: Descriptor;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const JSON_MAX = 8 << 20;

function corrupt(msg: string): LayerwiseError {
  return new LayerwiseError('corrupt', msg);
}

function normEntry(name: string): string {
  return posix.normalize(name.replace(/^\.?\/+/, '')).replace(/\/+$/, '');
}

/** What an archive held: every file by path, as a blob in the store, plus its small JSON files. */
interface ArchiveFiles {
  blobs: Map<string, BlobInfo>;
  /** what scanning plain tar blobs on the way in found (recorded for the layers of the loaded images) */
  layerInfo: Map<string, LayerInfo>;
  links: Map<string, string>;
  json: Map<string, Buffer>;
}

function blobOf(files: ArchiveFiles, path: string, depth = 0): BlobInfo | undefined {
  const p = normEntry(path);
  const b = files.blobs.get(p);
  if (b) return b;
  const t = files.links.get(p);
  if (t !== undefined && depth < 16) return blobOf(files, t, depth + 1);
  return undefined;
}

async function readArchive(store: Store, input: NodeJS.ReadableStream, opts: LoadOptions): Promise<ArchiveFiles> {
  const files: ArchiveFiles = { blobs: new Map(), layerInfo: new Map(), links: new Map(), json: new Map() };
  const { stream } = decompress(input);
  const ex = tar.extract();
  let bytes = 0;
  stream.on('data', (c: Buffer) => {
    bytes += c.length;
    opts.onProgress?.(bytes);
  });
  stream.on('error', (e: Error) => ex.destroy(e));
  stream.pipe(ex);
  let sawEntry = false;
  try {
    for await (const entry of ex) {
      sawEntry = true;
      const h = entry.header;
      const name = normEntry(h.name);
      if (name.startsWith('..') || posix.isAbsolute(name)) throw new LayerwiseError('unsafe', `archive entry ${JSON.stringify(h.name)} is outside the archive`);
      if (h.type === 'symlink' || h.type === 'link') {
        const target = h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname ?? '') : normEntry(h.linkname ?? '');
        files.links.set(name, normEntry(target));
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      const size = h.size ?? 0;
      // archive metadata stays in memory; it is never a blob
      if (!m && /^(manifest\.json|index\.json|oci-layout|repositories|[^/]+\/(json|VERSION))$/.test(name)) {
        if (size > JSON_MAX) throw corrupt(`${name} in the archive is too large`);
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        files.json.set(name, Buffer.concat(chunks));
        continue;
      }
      // a plain layer tar is scanned on the way in (its unpacked size, for `images`)
      const sniff = new LayerSniffer();
      let info: BlobInfo;
      if (size < 1 << 20) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const buf = Buffer.concat(chunks);
        sniff.update(buf);
        info = await store.content.writeBlob(buf, m ? { digest: `sha256:${m[1]}`, size } : undefined);
      } else {
        info = await store.content.ingest(entry as unknown as NodeJS.ReadableStream, {
          expected: m ? { digest: `sha256:${m[1]}`, size: h.size } : { size: h.size },
          onChunk: (c) => sniff.update(c),
        });
      }
      files.blobs.set(name, info);
      const li = sniff.result(info.digest);
      if (li) files.layerInfo.set(info.digest, li);
    }
  } catch (e) {
    if (e instanceof LayerwiseError) throw e;
    throw new LayerwiseError('invalid', `the input is not a valid image archive: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!sawEntry) throw new LayerwiseError('invalid', 'unexpected EOF: the input is empty or not a tar archive');
  return files;
}

function parseJson<T>(files: ArchiveFiles, path: string): T | undefined {
  const b = files.json.get(path);
  if (!b) return undefined;
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch {
    throw corrupt(`${path} in the archive is not valid JSON`);
  }
}

function safeName(n: string): string | undefined {
  try {
    const r = parseReference(n);
    return formatReference(r);
  } catch {
    return undefined;
  }
}

/** Load the images of a legacy `docker save` manifest.json entry (no OCI manifest in the archive). */
async function loadLegacyEntry(store: Store, files: ArchiveFiles, e: DockerManifestEntry): Promise<LoadedImage> {
  const cfgBlob = blobOf(files, e.Config);
  if (!cfgBlob) throw corrupt(`the archive has no ${e.Config}`);
  const hexName = /([a-f0-9]{64})(\.json)?$/.exec(e.Config)?.[1];
  if (hexName && `sha256:${hexName}` !== cfgBlob.digest) throw corrupt(`${e.Config} does not match its name (sha256 ${cfgBlob.digest})`);
  const config = await readJsonBlob<ImageConfig>(store.content, cfgBlob.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (!Array.isArray(e.Layers) || e.Layers.length !== diffIds.length) {
    throw corrupt(`image ${cfgBlob.digest}: ${e.Layers?.length ?? 0} layers in manifest.json but ${diffIds.length} diff ids in its config`);
  }
  const layers: Descriptor[] = [];
  for (let i = 0; i < e.Layers.length; i++) {
    const b = blobOf(files, e.Layers[i]!);
    if (!b) throw corrupt(`the archive has no ${e.Layers[i]}`);
    const head = await readHead(store, b.digest);
    const c = detectCompression(head);
    if (c === 'none' && b.digest !== diffIds[i]) throw corrupt(`layer ${e.Layers[i]} does not match diff id ${diffIds[i]}`);
    layers.push({ mediaType: ociLayerType(c), digest: b.digest, size: b.size });
  }
  const cfgBytes = await store.content.readBlobBytes(cfgBlob.digest);
  // the config keeps its exact bytes (the image id is their digest): only the manifest is new, in the OCI
  // media types (skopeo's and umoci's `oci:` readers skip index entries of Docker media types)
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cfgBlob.digest, size: cfgBytes.length },
    layers,
  };
  const m = await store.content.writeBlob(JSON.stringify(manifest));
  const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: m.digest, size: m.size };
  return { id: cfgBlob.digest, names: (e.RepoTags ?? []).map(safeName).filter((x): x is string => !!x), manifest: desc };
}

async function readHead(store: Store, digest: string): Promise<Buffer> {
  const s = await store.content.readBlob(digest);
  for await (const c of s) {
    s.destroy();
    return (c as Buffer).subarray(0, 8);
  }
  return Buffer.alloc(0);
}

/** Check that everything a target needs for this platform is present, and return the image id. */
async function checkTarget(store: Store, target: Descriptor): Promise<string> {
  const { manifest } = await resolveManifest(store.content, target);
  await readConfig(store.content, manifest);
  for (const l of manifest.layers) if (!(await store.content.info(l.digest))) throw corrupt(`the archive lacks layer ${l.digest}`);
  return manifest.config.digest;
}

async function loadLayoutIndex(store: Store, files: ArchiveFiles, idx: Index, dockerEntries: DockerManifestEntry[] | undefined): Promise<LoadedImage[]> {
  const out: LoadedImage[] = [];
  const tagsByConfig = new Map<string, string[]>();
  for (const e of dockerEntries ?? []) {
    const cfg = blobOf(files, e.Config);
    if (cfg) tagsByConfig.set(cfg.digest, (e.RepoTags ?? []).map(safeName).filter((x): x is string => !!x));
  }
  const seen = new Map<string, LoadedImage>();
  for (const d of idx.manifests ?? []) {
    if (!isDigest(d.digest)) throw corrupt(`index.json names an invalid digest ${d.digest}`);
    if (!(await store.content.info(d.digest))) throw corrupt(`the archive lacks ${d.digest}`);
    let mt = d.mediaType;
    if (!isIndexType(mt) && !isManifestType(mt)) mt = sniffMediaType(await readJsonBlob(store.content, d.digest)) ?? MediaType.ociManifest;
    const target: Descriptor = { mediaType: mt!, digest: d.digest, size: d.size };
    if (d.platform) target.platform = d.platform;
    const id = await checkTarget(store, target);
    const a = d.annotations ?? {};
    const names: string[] = [];
    const full = a[CONTAINERD_IMAGE_NAME_ANNOTATION] ? safeName(a[CONTAINERD_IMAGE_NAME_ANNOTATION]!) : undefined;
    if (full) names.push(full);
    const refName = a[REF_NAME_ANNOTATION];
    // a full reference (ours, or skopeo's `oci:DIR:name:tag`) names the image; a bare tag alone does not
    if (!full && refName && /[/:]/.test(refName)) {
      const n = safeName(refName);
      if (n) names.push(n);
    }
    for (const n of tagsByConfig.get(id) ?? []) if (!names.includes(n)) names.push(n);
    const prev = seen.get(d.digest);
    if (prev) {
      for (const n of names) if (!prev.names.includes(n)) prev.names.push(n);
      continue;
    }
    const li: LoadedImage = { id, names, manifest: target };
    seen.set(d.digest, li);
    out.push(li);
  }
  return out;
}

async function commit(store: Store, images: LoadedImage[], layerInfo?: Map<string, LayerInfo>): Promise<void> {
  if (layerInfo?.size) {
    for (const img of images) {
      const { manifest } = await resolveManifest(store.content, img.manifest);
      for (const l of manifest.layers) {
        const li = layerInfo.get(l.digest);
        if (li && !(await store.layerInfo.get(l.digest))) await store.layerInfo.put(l.digest, li);
      }
    }
  }
  for (const img of images) {
    if (img.names.length === 0) await store.images.putDangling(img.manifest);
    for (const n of img.names) await store.images.put(n, img.manifest);
  }
}

/** Load every image of an archive stream. */
export async function loadArchive(store: Store, input: NodeJS.ReadableStream, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const session = await store.writeSession();
  try {
    const files = await readArchive(store, input, opts);
    const dockerEntries = parseJson<DockerManifestEntry[]>(files, 'manifest.json');
    const idx = parseJson<Index>(files, 'index.json');
    let images: LoadedImage[];
    if (idx && Array.isArray(idx.manifests) && files.json.has('oci-layout')) {
      images = await loadLayoutIndex(store, files, idx, dockerEntries);
    } else if (Array.isArray(dockerEntries)) {
      images = [];
      for (const e of dockerEntries) images.push(await loadLegacyEntry(store, files, e));
    } else {
      throw new LayerwiseError('invalid', 'the archive is neither `docker save` output (no manifest.json) nor an OCI layout (no index.json)');
    }
    if (images.length === 0) throw new LayerwiseError('invalid', 'the archive holds no image');
    await commit(store, images, files.layerInfo);
    return images;
  } finally {
    await session.release();
  }
}

/** Load every image of an OCI layout directory (`index.json` + `blobs/`). */
export async function loadLayoutDir(store: Store, dir: string, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  const session = await store.writeSession();
  try {
    let idx: Index;
    try {
      idx = JSON.parse(await fsp.readFile(join(dir, 'index.json'), 'utf8')) as Index;
    } catch {
      throw new LayerwiseError('invalid', `${dir} is not an OCI image layout (no readable index.json)`);
    }
    let bytes = 0;
    const copy = async (digest: string, size?: number) => {
      if (!isDigest(digest)) throw corrupt(`invalid digest ${digest}`);
      const have = await store.content.info(digest);
      if (have && (size === undefined || have.size === size)) return;
      const src = createReadStream(join(dir, 'blobs', 'sha256', digest.slice(7)));
      const base = bytes;
      await store.content.ingest(src, { expected: size === undefined ? { digest } : { digest, size }, onProgress: (n) => opts.onProgress?.((bytes = base + n)) });
    };
    const files: ArchiveFiles = { blobs: new Map(), layerInfo: new Map(), links: new Map(), json: new Map() };
    for (const d of idx.manifests ?? []) {
      await copy(d.digest, d.size);
      const need = new Set<string>();
      await reachableFrom(store.content, { mediaType: d.mediaType ?? '', digest: d.digest, size: d.size }, need);
      // reachableFrom reads the copied manifests; copy what they name, then walk again for nested indexes
      for (let round = 0; round < 4; round++) {
        let added = false;
        for (const dg of need) {
          if (!(await store.content.info(dg))) {
            try {
              await copy(dg);
              added = true;
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
            }
          }
        }
        if (!added) break;
        need.clear();
        await reachableFrom(store.content, { mediaType: d.mediaType ?? '', digest: d.digest, size: d.size }, need);
      }
    }
    const images = await loadLayoutIndex(store, files, idx, undefined);
    if (images.length === 0) throw new LayerwiseError('invalid', 'the layout holds no image');
    await commit(store, images);
    return images;
  } finally {
    await session.release();
  }
}

/** The line `docker load` prints for an image. */
export function loadedLines(images: LoadedImage[]): string[] {
  const out: string[] = [];
  for (const i of images) {
    if (i.names.length === 0) out.push(`Loaded image ID: ${i.id}`);
    for (const n of i.names) out.push(`Loaded image: ${familiarString(n)}`);
  }
  return out;
}
