/**
 * `pull`: an image from a registry into the store, as `docker pull` does. The manifest (by tag or digest; from a
 * multi-platform index, the one for the platform asked for, the host's by default), its config and its layers
 * are fetched, each committed only when it matches its digest and size, and each layer's diff id checked against
 * the config. Layers the store already has are not fetched again. Everything is written under a write session
 * (GC waits) and the name is set last, so an interrupted pull leaves only unreferenced blobs.
 *
 * What the name points at: the index when the host's platform was pulled out of one (so that `inspect` shows the
 * index digest in RepoDigests, as Docker does; the store's partial index lists platforms never pulled, which
 * everything reading it skips), else the platform's manifest.
 */
import { LayerwiseError } from '../errors';
import { hostPlatform, formatPlatform, platformMatches } from '../image/chain';
import { sha256 } from '../image/digest';
import { isIndexType, isManifestType } from '../image/mediatypes';
import { familiarString, formatReference, parseReference } from '../image/refs';
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from '../image/types';
import type { Store } from '../store/store';
import { RegistryClient, RegistryError, type RegistryOptions } from './client';

export type LayerStatus = 'Already exists' | 'Pulling fs layer' | 'Download complete' | 'Pull complete';

export interface PullOptions extends RegistryOptions {
  /** the platform to take out of a multi-platform image (default: this host's) */
  platform?: Platform;
  /** each layer's progress: its blob digest, what happened, bytes so far */
  onLayer?: (digest: string, status: LayerStatus, bytes?: number) => void;
}

export interface PullResult {
  /** the full normalized name the image now has */
  name: string;
  /** what the name points at (index or manifest) */
  target: Descriptor;
  /** the digest the registry has the image under (index or manifest): Docker's `Digest:` line */
  digest: string;
  /** the image id (config digest) */
  id: string;
  /** the name already pointed at this image, and nothing had to be fetched */
  upToDate: boolean;
}

/** How many layers download at once (Docker's default, max-concurrent-downloads). */
const CONCURRENT = 3;

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new LayerwiseError('corrupt', `${what} from the registry is not valid JSON`);
  }
}

function mediaTypeOf(declared: string, doc: { mediaType?: string; manifests?: unknown; config?: unknown; schemaVersion?: number }): string {
  if (doc.schemaVersion === 1 || /^application\/vnd\.docker\.distribution\.manifest\.v1\+(pretty)?jws|^application\/vnd\.docker\.distribution\.manifest\.v1\+json$/.test(declared)) {
    throw new LayerwiseError(
      'invalid',
      'the image is in the Docker Image manifest version 2, schema 1 format, which Docker removed and layerwise does not read: push it again with a current tool',
    );
  }
  if (doc.mediaType) return doc.mediaType;
  if (isIndexType(declared) || isManifestType(declared)) return declared;
  if (Array.isArray(doc.manifests)) return 'application/vnd.oci.image.index.v1+json';
  if (doc.config) return 'application/vnd.oci.image.manifest.v1+json';
  throw new LayerwiseError('invalid', `the registry answered a document of type "${declared}", not an image manifest or index`);
}

/** The manifest for `want` out of an index (attestations, with platform unknown/unknown, never). */
function pickPlatform(index: Index, want: Platform, indexDigest: string): Descriptor {
  const real = index.manifests.filter((m) => (isManifestType(m.mediaType) || m.mediaType === undefined) && m.platform?.os !== 'unknown');
  const pick = real.find((m) => platformMatches(m.platform, want)) ?? (real.length === 1 && !real[0]!.platform ? real[0] : undefined);
  if (!pick) {
    const has = real.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
    throw new LayerwiseError('not-found', `no matching manifest for ${formatPlatform(want)} in the manifest list entries (${indexDigest} has: ${has || 'none'})`);
  }
  return pick;
}

async function runLimited<T>(items: T[], limit: number, f: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        await f(items[i]!, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** Attempts of a blob download (a connection cut or bytes that do not match start it over, as Docker retries). */
const ATTEMPTS = 3;

/**
 * A blob download, tried again when the connection failed or the bytes did not match (the store keeps nothing of a
 * failed try); a registry's clear refusal (404, 401, 403) is not retried. The last failure names the blob.
 */
async function withRetries<T>(what: string, f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      const final = e instanceof RegistryError && (e.status === 404 || e.status === 401 || e.status === 403);
      if (final || attempt >= ATTEMPTS) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new LayerwiseError(e instanceof LayerwiseError ? e.kind : 'network', `${what}: ${msg}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`, { cause: e });
      }
      // a short pause before the next try: 0.5 s, then 1 s
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

export async function pullImage(store: Store, input: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(input);
  const name = formatReference(ref);
  const shown = familiarString(ref);
  const client = new RegistryClient(ref.domain, ref.path, opts);
  const reference = ref.digest ?? ref.tag!;
  const want = opts.platform ?? hostPlatform();
  const session = await store.writeSession();
  try {
    let fetched = false;
    const got = await client.getManifest(reference).catch((e: unknown) => {
      // as the Docker daemon says it
      if (e instanceof RegistryError && e.status === 404) throw new LayerwiseError('not-found', `manifest for ${shown} not found: ${e.text || 'manifest unknown'}`);
      throw e;
    });
    const topDigest = sha256(got.bytes);
    if (ref.digest && topDigest !== ref.digest) throw new LayerwiseError('corrupt', `the registry's manifest for ${shown} hashes to ${topDigest}, not the digest asked for`);
    if (got.digest && got.digest.startsWith('sha256:') && got.digest !== topDigest) {
      throw new LayerwiseError('corrupt', `the registry says the manifest of ${shown} is ${got.digest}, but its bytes hash to ${topDigest}`);
    }
    const topDoc = parseJson<Manifest & Index & { schemaVersion?: number }>(got.bytes, `the manifest of ${shown}`);
    const topType = mediaTypeOf(got.mediaType, topDoc);
    const top: Descriptor = { mediaType: topType, digest: topDigest, size: got.bytes.length };
    const toWrite: { bytes: Buffer; digest: string }[] = [{ bytes: got.bytes, digest: topDigest }];
    let manifestDesc = top;
    let manifest: Manifest = topDoc;
    let fromIndex = false;
    if (isIndexType(topType)) {
      fromIndex = true;
      if (!Array.isArray(topDoc.manifests)) throw new LayerwiseError('corrupt', `the index of ${shown} lists no manifests`);
      const pick = pickPlatform(topDoc, want, topDigest);
      const child = await client.getManifest(pick.digest);
      const d = sha256(child.bytes);
      if (d !== pick.digest) throw new LayerwiseError('corrupt', `the registry's manifest ${pick.digest} of ${shown} hashes to ${d}`);
      const doc = parseJson<Manifest & Index & { schemaVersion?: number }>(child.bytes, `the manifest ${pick.digest} of ${shown}`);
      const t = mediaTypeOf(pick.mediaType || child.mediaType, doc);
      if (!isManifestType(t)) throw new LayerwiseError('invalid', `${pick.digest} in the index of ${shown} is not an image manifest`);
      manifestDesc = { mediaType: t, digest: d, size: child.bytes.length, ...(pick.platform ? { platform: pick.platform } : {}) };
      manifest = doc;
      toWrite.push({ bytes: child.bytes, digest: d });
    } else if (!isManifestType(topType)) {
      throw new LayerwiseError('invalid', `${shown} is a ${topType}, not an image`);
    }
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new LayerwiseError('corrupt', `the manifest of ${shown} has no config or no layers`);

    // the config
    if (!(await store.content.info(manifest.config.digest))) {
      fetched = true;
      await withRetries(`the config of ${shown}`, async () =>
        store.content.ingest(await client.getBlob(manifest.config.digest), { expected: { digest: manifest.config.digest, size: manifest.config.size } }),
      );
    }
    const config = parseJson<ImageConfig>(await store.content.readBlobBytes(manifest.config.digest, { maxSize: 8 << 20 }), `the config of ${shown}`);
    const diffIds = config.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
      throw new LayerwiseError('corrupt', `the config of ${shown} lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} layers, its manifest ${manifest.layers.length}`);
    }
    if (!fromIndex && (config.os !== want.os || config.architecture !== want.architecture) && opts.platform) {
      throw new LayerwiseError('not-found', `image ${shown} is for ${config.os}/${config.architecture}, not ${formatPlatform(want)}`);
    }

    // the host's platform out of an index (or anything by the index's digest): the name is the index's
    const host = hostPlatform();
    const target = fromIndex && (ref.digest || platformMatches(manifestDesc.platform, host)) ? top : { mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size };
    const before = await store.images.get(name);
    const have = await Promise.all(manifest.layers.map(async (l) => !!(await store.content.info(l.digest))));
    // the name has this image already, whole: nothing to say about its layers (as docker pull says nothing)
    const same = !fetched && before?.target.digest === target.digest && have.every(Boolean);

    // the layers, three at a time; each one's diff id checked against the config
    await runLimited(manifest.layers, CONCURRENT, async (layer, i) => {
      const present = have[i]!;
      if (present) {
        if (!same) opts.onLayer?.(layer.digest, 'Already exists');
      } else {
        fetched = true;
        opts.onLayer?.(layer.digest, 'Pulling fs layer');
        let last = 0;
        await withRetries(`layer ${layer.digest} of ${shown}`, async () =>
          store.content.ingest(await client.getBlob(layer.digest), {
            expected: { digest: layer.digest, size: layer.size },
            ...(opts.onLayer
              ? {
                  onProgress: (n: number) => {
                    if (n - last >= 1 << 20) {
                      last = n;
                      opts.onLayer!(layer.digest, 'Download complete', n);
                    }
                  },
                }
              : {}),
          }),
        );
      }
      const info = await store.layerInfo.ensure(layer.digest);
      if (!info) throw new LayerwiseError('corrupt', `layer ${layer.digest} of ${shown} is not a readable layer tar`);
      if (info.diffId !== diffIds[i]) throw new LayerwiseError('corrupt', `layer ${layer.digest} of ${shown} unpacks to ${info.diffId}, but the config says ${diffIds[i]}`);
      if (!present) opts.onLayer?.(layer.digest, 'Pull complete');
    });

    for (const w of toWrite) await store.content.writeBlob(w.bytes, { digest: w.digest, size: w.bytes.length });
    await store.images.put(name, target);
    return { name, target, digest: topDigest, id: manifest.config.digest, upToDate: !fetched && before?.target.digest === target.digest };
  } finally {
    await session.release();
  }
}
