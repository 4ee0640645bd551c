/**
 * The store at a root directory:
 *   oci-layout, index.json, blobs/sha256/<hex>   an OCI image layout (skopeo/umoci read it)
 *   snapshots/<chain id hex>/{fs,meta.json}      unpacked layers (overlay lower dirs)
 *   cache/                                       build cache records (JSON; every `sha256:` digest in them is a GC root)
 *   containers/<id>/                             container records (JSON; every `sha256:` digest in them is a GC root)
 *   layerinfo/<blob hex>.json                    diff id and unpacked size of a layer blob (a cache; see layerinfo.ts)
 *   locks/                                       cross-process locks
 *   tmp/                                         ingest and unpack work files, named `<pid>-…`; ones whose pid is
 *                                                dead are removed when the store is opened
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { exists, pidAlive, tempOwner, writeFileAtomic } from './fs-atomic';
import { FileContentStore } from './content';
import { LayoutImageStore, emptyIndex } from './images';
import { LayerInfoStore } from './layerinfo';
import { FileLocks } from './locks';
import { DirSnapshotStore } from './snapshots';

export const OCI_LAYOUT = { imageLayoutVersion: '1.0.0' };

export class Store {
  readonly content: FileContentStore;
  readonly images: LayoutImageStore;
  readonly snapshots: DirSnapshotStore;
  readonly locks: FileLocks;
  readonly layerInfo: LayerInfoStore;
  readonly tmpDir: string;
  readonly cacheDir: string;
  readonly containersDir: string;

  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    this.cacheDir = join(root, 'cache');
    this.containersDir = join(root, 'containers');
    this.locks = new FileLocks(join(root, 'locks'));
    this.content = new FileContentStore(root, this.tmpDir);
    this.images = new LayoutImageStore(root, this.content, this.locks, this.tmpDir);
    this.layerInfo = new LayerInfoStore(join(root, 'layerinfo'), this.content, this.tmpDir);
    this.snapshots = new DirSnapshotStore(join(root, 'snapshots'), this.tmpDir, this.content);
  }

  /** Hold this while writing blobs that no ref names yet (load, import, build, pull): GC waits for it. */
  async writeSession(): Promise<import('./types').LockHandle> {
    return this.locks.shared('gc');
  }

  /** Leftovers of processes that died (temp files/dirs, stale lock temp files): what `cleanTemp` would remove. */
  async staleTemp(): Promise<string[]> {
    const out: string[] = [];
    const check = async (dir: string) => {
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch {
        return;
      }
      for (const n of names) {
        const pid = tempOwner(n);
        if (pid !== undefined && !pidAlive(pid)) out.push(join(dir, n));
      }
    };
    await check(this.tmpDir);
    await check(this.root); // `.index.json.<pid>-…` from writeFileAtomic
    await check(join(this.root, 'locks'));
    return out;
  }

  async cleanTemp(): Promise<string[]> {
    const stale = await this.staleTemp();
    for (const p of stale) await fsp.rm(p, { recursive: true, force: true });
    return stale;
  }
}

/** Open (creating if needed) the store at `root`, and clean what dead processes left in tmp/. */
export async function openStore(root: string, opts: { create?: boolean; clean?: boolean } = {}): Promise<Store> {
  const create = opts.create ?? true;
  const layoutPath = join(root, 'oci-layout');
  if (!(await exists(layoutPath))) {
    if (!create) throw new LayerwiseError('not-found', `no store at ${root}`);
    await fsp.mkdir(root, { recursive: true });
    await writeFileAtomic(layoutPath, JSON.stringify(OCI_LAYOUT) + '\n');
  } else {
    try {
      const l = JSON.parse(await fsp.readFile(layoutPath, 'utf8')) as { imageLayoutVersion?: string };
      if (typeof l.imageLayoutVersion !== 'string') throw new Error('no version');
    } catch {
      throw new LayerwiseError('corrupt', `${layoutPath} is not an OCI layout file`);
    }
  }
  await Promise.all(['blobs/sha256', 'snapshots', 'cache', 'containers', 'locks', 'tmp'].map((d) => fsp.mkdir(join(root, d), { recursive: true })));
  const store = new Store(root);
  if (!(await exists(store.images.indexPath))) {
    await store.locks.withExclusive('index', async () => {
      if (!(await exists(store.images.indexPath))) {
        await writeFileAtomic(store.images.indexPath, JSON.stringify(emptyIndex(), null, 2) + '\n');
      }
    });
  }
  if (opts.clean !== false) await store.cleanTemp();
  return store;
}
