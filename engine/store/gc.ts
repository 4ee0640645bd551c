/**
 * Garbage collection by reachability. Roots:
 *  - every entry of index.json (named and dangling images): the manifests, configs and layers they reach;
 *  - build cache records: every file under `cache/` (JSON or text); each `sha256:<hex>` in it is kept — a blob
 *    (a manifest/index is followed to what it reaches, a config keeps its snapshots) or a snapshot chain id;
 *  - container records: the same for every file under `containers/<id>/`.
 * Snapshots are kept when their chain id belongs to a kept config's layer stack or is named by a record.
 * GC runs under the exclusive `gc` lock; writers (load, import, build, pull) hold it shared while they write
 * blobs that no root names yet, so GC never removes content that is about to be referenced.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { chainIds } from '../image/chain';
import type { ImageConfig, Index, Manifest } from '../image/types';
import { readJsonBlob, reachableFrom } from './manifests';
import type { Store } from './store';

const DIGEST_G = /sha256:[a-f0-9]{64}/g;
const RECORD_MAX = 16 << 20;

/** Every digest named in the files under `dir` (recursively). */
export async function digestsInRecords(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  async function walk(d: string, depth: number): Promise<void> {
    if (depth > 4) return;
    let ents: import('node:fs').Dirent[];
    try {
      ents = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        // a container's rootfs/upper dirs are not records
        if (!/^(rootfs|upper|work|merged|fs|diff)$/.test(e.name)) await walk(p, depth + 1);
      } else if (e.isFile()) {
        try {
          const st = await fsp.stat(p);
          if (st.size > RECORD_MAX) continue;
          const text = await fsp.readFile(p, 'utf8');
          for (const m of text.matchAll(DIGEST_G)) out.add(m[0]);
        } catch {
          /* gone meanwhile */
        }
      }
    }
  }
  await walk(dir, 0);
  return out;
}

export interface GcPlan {
  keepBlobs: Set<string>;
  keepSnapshots: Set<string>;
  deleteBlobs: { digest: string; size: number }[];
  deleteSnapshots: { chainId: string; size: number }[];
}

export async function planGc(store: Store): Promise<GcPlan> {
  const keep = new Set<string>();
  const idx: Index = await store.images.readIndex();
  for (const d of idx.manifests) await reachableFrom(store.content, d, keep);
  const recordRoots = new Set<string>([...(await digestsInRecords(store.cacheDir)), ...(await digestsInRecords(store.containersDir))]);
  for (const dg of recordRoots) {
    const info = await store.content.info(dg);
    if (!info) continue;
    keep.add(dg);
    if (info.size < 8 << 20) {
      try {
        const doc = await readJsonBlob<Partial<Manifest & Index>>(store.content, dg);
        // a manifest or an index (an image config also has a `config` field, but without a digest)
        if (doc && (Array.isArray(doc.manifests) || typeof doc.config?.digest === 'string')) {
          keep.delete(dg);
          await reachableFrom(store.content, { mediaType: doc.mediaType ?? '', digest: dg, size: info.size }, keep);
        }
      } catch {
        /* not JSON: a layer */
      }
    }
  }
  // snapshots of every kept config
  const keepSnapshots = new Set<string>();
  for (const dg of keep) {
    const info = await store.content.info(dg);
    if (!info || info.size > 8 << 20) continue;
    try {
      const cfg = await readJsonBlob<Partial<ImageConfig>>(store.content, dg);
      if (cfg && cfg.rootfs && Array.isArray(cfg.rootfs.diff_ids)) for (const c of chainIds(cfg.rootfs.diff_ids)) keepSnapshots.add(c);
    } catch {
      /* not a config */
    }
  }
  for (const dg of recordRoots) keepSnapshots.add(dg);
  const deleteBlobs: GcPlan['deleteBlobs'] = [];
  for await (const b of store.content.walk()) if (!keep.has(b.digest)) deleteBlobs.push(b);
  const deleteSnapshots: GcPlan['deleteSnapshots'] = [];
  for (const s of await store.snapshots.list()) if (!keepSnapshots.has(s.chainId)) deleteSnapshots.push({ chainId: s.chainId, size: s.size });
  return { keepBlobs: keep, keepSnapshots, deleteBlobs, deleteSnapshots };
}

export interface GcResult {
  blobs: string[];
  snapshots: string[];
  /** bytes freed */
  reclaimed: number;
}

/** Remove what nothing reaches. With `wait: false`, returns undefined when another process is writing. */
export async function collectGarbage(store: Store, opts: { wait?: boolean } = {}): Promise<GcResult | undefined> {
  const lock = opts.wait === false ? await store.locks.tryExclusive('gc') : await store.locks.exclusive('gc');
  if (!lock) return undefined;
  try {
    const plan = await planGc(store);
    const res: GcResult = { blobs: [], snapshots: [], reclaimed: 0 };
    for (const b of plan.deleteBlobs) {
      if (await store.content.delete(b.digest)) {
        res.blobs.push(b.digest);
        res.reclaimed += b.size;
      }
    }
    for (const s of plan.deleteSnapshots) {
      if (await store.snapshots.remove(s.chainId)) {
        res.snapshots.push(s.chainId);
        res.reclaimed += s.size;
      }
    }
    const present = new Set<string>();
    for await (const b of store.content.walk()) present.add(b.digest);
    await store.layerInfo.prune(present);
    return res;
  } finally {
    await lock.release();
  }
}

/** Digests (image ids, manifest digests, chain ids) that container records name: those images are in use. */
export async function digestsInUse(store: Store): Promise<Set<string>> {
  return digestsInRecords(store.containersDir);
}

/** Container ids (their directory names under containers/) whose records name any of `digests`. */
export async function containersUsing(store: Store, digests: readonly string[]): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(store.containersDir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    const found = await digestsInRecords(join(store.containersDir, n));
    if (digests.some((d) => found.has(d))) out.push(n);
  }
  return out;
}
