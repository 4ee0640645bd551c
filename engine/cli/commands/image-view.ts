/**
 * The image views the CLI prints: one summary per store entry (for `images`, `system df`, `image prune`) and the
 * `docker inspect` JSON shape. Size is the bytes the image's layers take in the store (compressed as stored),
 * like the content size `docker images` shows with the containerd image store.
 */
import { familiarRepository, parseReference } from '../../image/refs';
import { resolveManifest, readConfig } from '../../store/manifests';
import type { Store } from '../../store/store';
import type { ResolvedImage } from '../../store/types';
import type { ContainerConfig, Descriptor, ImageConfig, Manifest } from '../../image/types';

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

export function imageSize(m: Manifest): number {
  return m.layers.reduce((n, l) => n + l.size, 0);
}

/** Every entry of the store that resolves (entries whose blobs are broken are skipped: fsck reports them). */
export async function summaries(store: Store): Promise<ImageSummary[]> {
  const out: ImageSummary[] = [];
  for (const r of await store.images.list()) {
    try {
      const { manifest } = await resolveManifest(store.content, r.target);
      const config = await readConfig(store.content, manifest);
      const s: ImageSummary = { id: manifest.config.digest, name: r.name, target: r.target, manifest, config, size: imageSize(manifest) };
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
  if (cfg.ExposedPorts) out.ExposedPorts = cfg.ExposedPorts;
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
    Volumes: orNull(cfg.Volumes),
    WorkingDir: cfg.WorkingDir ?? '',
    Entrypoint: orNull(cfg.Entrypoint ?? undefined),
    OnBuild: orNull(cfg.OnBuild ?? undefined),
    Labels: orNull(cfg.Labels),
  });
  if (cfg.StopSignal) out.StopSignal = cfg.StopSignal;
  if (cfg.Shell) out.Shell = cfg.Shell;
  return out;
}

/** The object `docker image inspect` prints for an image. */
export function inspectObject(img: ResolvedImage, root: string): Record<string, unknown> {
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
    Created: c.created ?? '0001-01-01T00:00:00Z',
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: dockerConfig(c.config),
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: imageSize(img.manifest),
    GraphDriver: { Data: { Root: root }, Name: 'layerwise' },
    RootFS: { Type: 'layers', Layers: [...c.rootfs.diff_ids] },
    Metadata: { LastTagTime: img.target.annotations?.['org.opencontainers.image.created'] ?? '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: img.target.mediaType, digest: img.target.digest, size: img.target.size },
  };
}
