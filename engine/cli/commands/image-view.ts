/**
 * The image views the CLI prints: one summary per store entry (for `images`, `system df`, `image prune`) and the
 * `docker inspect` JSON shape. Size is what Docker shows: the unpacked size of the image's layers (file sizes
 * and symlink lengths, see engine/layers/tarscan.ts), from the store's layer records, computed once for a layer
 * that has none.
 */
import { familiarRepository, parseReference } from '../../image/refs';
import { resolveManifest, readConfig } from '../../store/manifests';
import type { Store } from '../../store/store';
import type { ResolvedImage } from '../../store/types';
import type { ContainerConfig, Descriptor, ImageConfig, Manifest } from '../../image/types';
import { sortedMap } from '../../image/sorted-map';
import { goRfc3339Nano } from './image-cli';

export interface ImageSummary {
  id: string;
  /** full normalized name, '' when dangling */
  name: string;
  target: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  created?: string;
  size: number;
}

/** Docker's image size: the sum of the unpacked sizes of its layers. */
export async function imageSize(store: Store, m: Manifest): Promise<number> {
  let n = 0;
  for (const l of m.layers) n += await store.layerInfo.unpackedSize(l);
  return n;
}

/** Every entry of the store that resolves (entries whose blobs are broken are skipped: fsck reports them). */
/** `withSizes: false` leaves `size` 0 (computing a layer's size the first time reads the whole layer). */
export async function summaries(store: Store, withSizes = true): Promise<ImageSummary[]> {
  const out: ImageSummary[] = [];
  for (const r of await store.images.list()) {
    try {
      const { manifest } = await resolveManifest(store.content, r.target);
      const config = await readConfig(store.content, manifest);
      const s: ImageSummary = { id: manifest.config.digest, name: r.name, target: r.target, manifest, config, size: withSizes ? await imageSize(store, manifest) : 0 };
      if (config.created) s.created = config.created;
      out.push(s);
    } catch {
      /* broken entry */
    }
  }
  return out;
}

/** `busybox`, `latest` (or `<none>`) for a full name */
export function repoAndTag(name: string): { repo: string; tag: string; digest?: string } {
  if (!name) return { repo: '<none>', tag: '<none>' };
  const r = parseReference(name, { defaultTag: false });
  const out: { repo: string; tag: string; digest?: string } = { repo: familiarRepository(r), tag: r.tag ?? '<none>' };
  if (r.digest) out.digest = r.digest;
  return out;
}

function orNull<T>(v: T | undefined): T | null {
  return v === undefined ? null : v;
}

function dockerConfig(c: ContainerConfig | undefined): Record<string, unknown> {
  const cfg = c ?? {};
  const out: Record<string, unknown> = {
    Hostname: '',
    Domainname: '',
    User: cfg.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
  };
  if (cfg.ExposedPorts) out.ExposedPorts = sortedMap(cfg.ExposedPorts);
  Object.assign(out, {
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: orNull(cfg.Env),
    Cmd: orNull(cfg.Cmd ?? undefined),
  });
  if (cfg.Healthcheck) out.Healthcheck = cfg.Healthcheck;
  if (cfg.ArgsEscaped) out.ArgsEscaped = cfg.ArgsEscaped;
  Object.assign(out, {
    Image: '',
    Volumes: orNull(cfg.Volumes && sortedMap(cfg.Volumes)),
    WorkingDir: cfg.WorkingDir ?? '',
    Entrypoint: orNull(cfg.Entrypoint ?? undefined),
    OnBuild: orNull(cfg.OnBuild ?? undefined),
    Labels: orNull(cfg.Labels && sortedMap(cfg.Labels)),
  });
  if (cfg.StopSignal) out.StopSignal = cfg.StopSignal;
  if (cfg.Shell) out.Shell = cfg.Shell;
  return out;
}

/** The object `docker image inspect` prints for an image. */
/** `size`: imageSize() of the image */
export function inspectObject(img: ResolvedImage, root: string, size: number): Record<string, unknown> {
  const repoTags: string[] = [];
  const repoDigests: string[] = [];
  for (const n of img.names) {
    const r = parseReference(n, { defaultTag: false });
    const repo = familiarRepository(r);
    if (r.tag !== undefined) repoTags.push(`${repo}:${r.tag}`);
    const rd = `${repo}@${r.digest ?? img.target.digest}`;
    if (!repoDigests.includes(rd)) repoDigests.push(rd);
  }
  const c = img.config;
  return {
    Id: img.id,
    RepoTags: repoTags,
    RepoDigests: repoDigests,
    Parent: '',
    Comment: c.comment ?? (c.history?.length ? c.history[c.history.length - 1]!.comment ?? '' : ''),
    Created: goRfc3339Nano(c.created),
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: dockerConfig(c.config),
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: size,
    GraphDriver: { Data: { Root: root }, Name: 'layerwise' },
    RootFS: { Type: 'layers', Layers: [...c.rootfs.diff_ids] },
    Metadata: { LastTagTime: img.target.annotations?.['org.opencontainers.image.created'] ?? '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: img.target.mediaType, digest: img.target.digest, size: img.target.size },
  };
}
