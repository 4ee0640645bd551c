/**
 * Writing an image: config and manifest blobs (the layers must already be in the content store), in the OCI
 * or Docker v2 schema 2 media types. Returns the manifest descriptor; naming it is ImageStore.put's job.
 */
import { MediaType } from '../image/mediatypes';
import type { Descriptor, ImageConfig, Manifest } from '../image/types';
import type { ContentStore } from './types';

export interface WriteImageOptions {
  config: ImageConfig;
  layers: Descriptor[];
  format?: 'oci' | 'docker';
  annotations?: Record<string, string>;
}

/** Serialize JSON the way the store always does (stable: same input, same digest). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v);
}

export async function writeImage(content: ContentStore, opts: WriteImageOptions): Promise<{ manifest: Descriptor; config: Descriptor }> {
  const docker = opts.format === 'docker';
  const cfgBytes = Buffer.from(canonicalJson(opts.config));
  const cfg = await content.writeBlob(cfgBytes);
  const config: Descriptor = { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: cfg.digest, size: cfg.size };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config,
    layers: opts.layers,
  };
  if (opts.annotations && !docker) manifest.annotations = opts.annotations;
  const m = await content.writeBlob(canonicalJson(manifest));
  return { manifest: { mediaType: manifest.mediaType!, digest: m.digest, size: m.size }, config };
}
