/**
 * Reading the image model out of a content store: JSON blobs (verified), an index resolved to the manifest for
 * this platform, a manifest's config. Shared by the image store, GC, save and the CLI.
 */
import { LayerwiseError } from '../errors';
import { hostPlatform, platformMatches } from '../image/chain';
import { isIndexType, isManifestType } from '../image/mediatypes';
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from '../image/types';
import type { ContentStore } from './types';

const JSON_MAX = 8 << 20;

export async function readJsonBlob<T>(content: ContentStore, digest: string): Promise<T> {
  const buf = await content.readBlobBytes(digest, { maxSize: JSON_MAX });
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw new LayerwiseError('corrupt', `blob ${digest} is not valid JSON`);
  }
}

/** Media type of a JSON manifest/index blob, from its descriptor or, failing that, from its content. */
export function sniffMediaType(doc: { mediaType?: string; manifests?: unknown; config?: unknown }): string | undefined {
  if (doc.mediaType) return doc.mediaType;
  if (Array.isArray(doc.manifests)) return 'application/vnd.oci.image.index.v1+json';
  if (doc.config) return 'application/vnd.oci.image.manifest.v1+json';
  return undefined;
}

export function isIndexDescriptor(d: Descriptor): boolean {
  return isIndexType(d.mediaType);
}

/** Follow an index (nested ones too) down to the manifest for `platform` whose blob is present. */
export async function resolveManifest(
  content: ContentStore,
  target: Descriptor,
  platform: Platform = hostPlatform(),
): Promise<{ descriptor: Descriptor; manifest: Manifest }> {
  let desc = target;
  for (let depth = 0; depth < 4; depth++) {
    const doc = await readJsonBlob<Manifest & Index>(content, desc.digest);
    const mt = desc.mediaType || sniffMediaType(doc);
    if (isManifestType(mt) || (!isIndexType(mt) && doc.config)) return { descriptor: desc, manifest: doc as Manifest };
    if (!Array.isArray(doc.manifests)) throw new LayerwiseError('corrupt', `${desc.digest} is neither a manifest nor an index`);
    const candidates = doc.manifests.filter((m) => isManifestType(m.mediaType) || isIndexType(m.mediaType));
    // attestation manifests (buildx) have platform unknown/unknown: never pick them
    const real = candidates.filter((m) => m.platform?.os !== 'unknown');
    let pick = real.find((m) => platformMatches(m.platform, platform) && isManifestType(m.mediaType));
    if (!pick) {
      for (const m of real) {
        if (m.platform === undefined && (await content.info(m.digest))) {
          pick = m;
          break;
        }
      }
    }
    if (!pick) {
      const names = real.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : '?')).join(', ');
      throw new LayerwiseError('not-found', `no manifest for ${platform.os}/${platform.architecture} in ${desc.digest} (has: ${names || 'none'})`);
    }
    desc = pick;
  }
  throw new LayerwiseError('corrupt', `index nesting too deep at ${target.digest}`);
}

export async function readConfig(content: ContentStore, manifest: Manifest): Promise<ImageConfig> {
  const cfg = await readJsonBlob<ImageConfig>(content, manifest.config.digest);
  if (!cfg.rootfs || !Array.isArray(cfg.rootfs.diff_ids)) throw new LayerwiseError('corrupt', `config ${manifest.config.digest} has no rootfs.diff_ids`);
  return cfg;
}

/** Every digest reachable from `target` (itself, child manifests, configs, layers). Missing children are
 *  skipped (an index may list platforms that were never pulled). */
export async function reachableFrom(content: ContentStore, target: Descriptor, out: Set<string>): Promise<void> {
  if (out.has(target.digest)) return;
  out.add(target.digest);
  const mt = target.mediaType;
  if (!isIndexType(mt) && !isManifestType(mt) && mt !== undefined && mt !== '') return;
  if (!(await content.info(target.digest))) return;
  let doc: Manifest & Index;
  try {
    doc = await readJsonBlob<Manifest & Index>(content, target.digest);
  } catch {
    return; // corrupt: fsck reports it
  }
  if (Array.isArray(doc.manifests)) {
    for (const m of doc.manifests) if (m && typeof m.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(m.digest)) await reachableFrom(content, m, out);
  }
  const isDigestString = (d: unknown): d is string => typeof d === 'string' && /^sha256:[a-f0-9]{64}$/.test(d);
  if (doc.config && isDigestString(doc.config.digest)) out.add(doc.config.digest);
  if (Array.isArray(doc.layers)) for (const l of doc.layers) if (isDigestString(l?.digest)) out.add(l.digest);
  if (doc.subject && isDigestString(doc.subject.digest)) out.add(doc.subject.digest);
}
