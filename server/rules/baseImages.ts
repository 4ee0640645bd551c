/**
 * The local store's base images as rules see them (BaseImageView): for each FROM of a document (expanded as the
 * builder expands it), the platform of the image the store holds under that name, picked for the platform the
 * build expects. Read-only; results are cached per store root until the store changes (StoreWatcher).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatPlatform, hostPlatform } from '../../engine/dockerfile/index';
import { normalizePlatform, parsePlatform } from '../../engine/dockerfile/platform';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { Store } from '../../engine/store';
import { readConfig, resolveManifest } from '../../engine/store/manifests';
import { scopesOf } from './scopes';
import type { BaseImageView, PlatformLike } from './types';

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
