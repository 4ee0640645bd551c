/**
 * The local store's base images as rules see them (BaseImageView): for each FROM of a document (expanded as the
 * builder expands it), the platform of the image the store holds under that name, picked for the platform the
 * build expects. Read-only; results are cached per store root until the store changes (StoreWatcher).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatPlatform, hostPlatform } from '../../engine/dockerfile/index';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { Store } from '../../engine/store';
import { readConfig, resolveManifest } from '../../engine/store/manifests';
import { scopesOf } from './scopes';
import type { BaseImageView, PlatformLike } from './types';

const OSES = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'plan9', 'js', 'wasip1']);
const ARCH_ALIASES: Record<string, PlatformLike> = {
  x86_64: { os: '', architecture: 'amd64' },
  'x86-64': { os: '', architecture: 'amd64' },
  aarch64: { os: '', architecture: 'arm64' },
  armhf: { os: '', architecture: 'arm', variant: 'v7' },
  armel: { os: '', architecture: 'arm', variant: 'v6' },
  i386: { os: '', architecture: '386' },
};

/** containerd's normalisation: arch aliases, arm64's v8 and amd64's v1 are the default, arm defaults to v7. */
export function normalizePlatform(p: PlatformLike): PlatformLike {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant = variant ?? alias.variant;
  }
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'amd64' && (variant === 'v1' || variant === '1')) variant = undefined;
  if (architecture === 'arm' && !variant) variant = 'v7';
  if (variant && /^\d+$/.test(variant)) variant = `v${variant}`;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `linux/arm64/v8`, `linux/amd64`, `arm64` (an architecture on linux) or `windows`; undefined when unparsable. */
export function parsePlatform(s: string): PlatformLike | undefined {
  const parts = s.trim().split('/');
  if (parts.some((p) => !p) || parts.length > 3) return undefined;
  if (parts.length === 1) {
    const one = parts[0]!.toLowerCase();
    if (OSES.has(one)) return normalizePlatform({ os: one, architecture: hostPlatform().architecture });
    return normalizePlatform({ os: 'linux', architecture: one });
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) });
}

/** The platform a stage's FROM expects: its `--platform` (expanded) or the builder's default (the host's). */
export function expectedPlatform(file: Dockerfile, stage: number): PlatformLike | undefined {
  const base = scopesOf(file).scopes.stageBase[stage];
  const flag = file.stages[stage]?.from.flags.find((f) => f.name === 'platform');
  if (!flag) return normalizePlatform(hostPlatform());
  const value = base?.platform ?? flag.value;
  if (!value || value.includes('$')) return undefined;
  return parsePlatform(value);
}

type Lookup = PlatformLike | null;

interface RootEntry {
  store: Store;
  results: Map<string, Lookup>;
  pending: Map<string, Promise<void>>;
}

function keyOf(ref: string, p: PlatformLike): string {
  return `${ref}\u0000${formatPlatform(p)}`;
}

/** The platform the store holds under `ref` for `expected` (an index is resolved for it); null when absent. */
async function lookup(store: Store, ref: string, expected: PlatformLike): Promise<Lookup> {
  try {
    const rec = await store.images.get(ref);
    if (!rec) return null;
    const { manifest } = await resolveManifest(store.content, rec.target, expected);
    const cfg = await readConfig(store.content, manifest);
    if (!cfg.os || !cfg.architecture) return null;
    return { os: cfg.os, architecture: cfg.architecture, ...(cfg.variant ? { variant: cfg.variant } : {}) };
  } catch {
    // not a valid reference, no manifest for that platform, an unreadable blob: the build would say so
    return null;
  }
}

export class BaseImageCache {
  private readonly roots = new Map<string, RootEntry>();

  /**
   * The view for a document's FROM lines against the store at `root`; undefined when there is no store there.
   * Lookups not seen before are read from the store first (later calls answer from the cache).
   */
  async viewFor(file: Dockerfile, root: string): Promise<BaseImageView | undefined> {
    let entry = this.roots.get(root);
    if (!entry) {
      if (!existsSync(join(root, 'oci-layout'))) return undefined; // never create a store from the editor
      entry = { store: new Store(root), results: new Map(), pending: new Map() };
      this.roots.set(root, entry);
    }
    const e = entry;
    const waits: Promise<void>[] = [];
    const bases = scopesOf(file).scopes.stageBase;
    for (const st of file.stages) {
      if (st.base.kind !== 'image') continue;
      const ref = bases[st.index]?.image;
      const expected = expectedPlatform(file, st.index);
      if (!ref || ref.includes('$') || ref.toLowerCase() === 'scratch' || !expected) continue;
      const key = keyOf(ref, expected);
      if (e.results.has(key)) continue;
      let p = e.pending.get(key);
      if (!p) {
        p = lookup(e.store, ref, expected).then((r) => {
          if (this.roots.get(root) === e) e.results.set(key, r);
          e.pending.delete(key);
        });
        e.pending.set(key, p);
      }
      waits.push(p);
    }
    if (waits.length) await Promise.all(waits);
    return {
      platformOf: (ref, expected) => e.results.get(keyOf(ref, expected)) ?? undefined,
    };
  }

  /** The store at `root` changed (an image was built, pulled, loaded, tagged or removed): forget what was read. */
  changed(root: string): void {
    this.roots.delete(root);
  }
}
