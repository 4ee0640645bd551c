/**
 * Snapshots: each layer unpacked once, in `snapshots/<chain id hex>/fs`, with `meta.json` beside it. A snapshot
 * holds only its own layer's changes (whiteouts in the overlay form), so an image's root filesystem is the
 * overlay of its snapshots' dirs (lowerDirs). Unpacking happens in `tmp/` and the finished directory is renamed
 * into place, so a snapshot directory is complete or absent. `meta.json` records a digest of the unpacked tree
 * (paths, types, modes, sizes, link targets and file contents) that fsck recomputes.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { chainIds } from '../image/chain';
import { digestHex, newHash } from '../image/digest';
import type { Descriptor } from '../image/types';
import { applyLayer, writeLayer, type LayerWriteOptions } from '../layers';
import { exists, fsyncPath, readJsonFile, tempName } from './fs-atomic';
import type { ContentStore, SnapshotInfo, SnapshotStore } from './types';

interface SnapshotMeta {
  chainId: string;
  diffId: string;
  parent?: string;
  size: number;
  /** treeDigest of `fs` (snapshots unpacked from a blob), or 'layer' when `fs` is checked by writing it as a layer
   *  again with `layer` options and comparing the diff id (snapshots adopted from the upper dir a layer was
   *  written from: it is that layer, byte for byte) */
  tree: string;
  layer?: LayerWriteOptions;
  whiteoutMode: SnapshotInfo['whiteoutMode'];
  created: string;
}

export function defaultWhiteoutMode(): SnapshotInfo['whiteoutMode'] {
  return typeof process.getuid === 'function' && process.getuid() === 0 ? 'overlay' : 'overlay-userxattr';
}

/**
 * A digest of a directory tree's content and metadata (not mtimes), and the bytes of its files.
 * Synchronous reads, one buffer for all files: a snapshot of thousands of small files is read several times faster
 * than through a stream per file, and the event loop gets a turn between directories.
 */
export async function treeDigest(dir: string): Promise<{ digest: string; size: number }> {
  const h = newHash();
  let size = 0;
  const buf = Buffer.allocUnsafe(1 << 20);

  async function walk(rel: string): Promise<void> {
    const names = fs.readdirSync(join(dir, rel)).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(dir, r);
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o170000).toString(8) + ':' + (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        h.update(`d ${r} ${mode}\n`);
        await new Promise<void>((res) => setImmediate(res));
        await walk(r);
      } else if (st.isSymbolicLink()) {
        h.update(`l ${r} ${mode} ${fs.readlinkSync(p)}\n`);
      } else if (st.isFile()) {
        const fh = newHash();
        const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          for (;;) {
            const n2 = fs.readSync(fd, buf, 0, buf.length, null);
            if (n2 === 0) break;
            fh.update(buf.subarray(0, n2));
          }
        } finally {
          fs.closeSync(fd);
        }
        size += st.size;
        h.update(`f ${r} ${mode} ${st.size} ${fh.digest('hex')}\n`);
      } else {
        h.update(`o ${r} ${mode} ${st.rdev}\n`);
      }
    }
  }
  await walk('');
  return { digest: 'sha256:' + h.digest('hex'), size };
}

export class DirSnapshotStore implements SnapshotStore {
  constructor(
    readonly dir: string,
    readonly tmpDir: string,
    readonly content: ContentStore,
    readonly whiteoutMode: SnapshotInfo['whiteoutMode'] = defaultWhiteoutMode(),
  ) {}

  private pathOf(chainId: string): string {
    return join(this.dir, digestHex(chainId));
  }

  private infoOf(meta: SnapshotMeta): SnapshotInfo {
    const i: SnapshotInfo = {
      chainId: meta.chainId,
      diffId: meta.diffId,
      dir: join(this.pathOf(meta.chainId), 'fs'),
      size: meta.size,
      whiteoutMode: meta.whiteoutMode,
    };
    if (meta.parent) i.parent = meta.parent;
    return i;
  }

  async meta(chainId: string): Promise<SnapshotMeta | undefined> {
    try {
      const m = await readJsonFile<SnapshotMeta>(join(this.pathOf(chainId), 'meta.json'));
      return m && m.chainId === chainId ? m : undefined;
    } catch {
      return undefined;
    }
  }

  async get(chainId: string): Promise<SnapshotInfo | undefined> {
    const m = await this.meta(chainId);
    return m ? this.infoOf(m) : undefined;
  }

  async prepare(layers: readonly Descriptor[], diffIds: readonly string[]): Promise<SnapshotInfo[]> {
    if (layers.length !== diffIds.length) {
      throw new LayerwiseError('corrupt', `image has ${layers.length} layers but ${diffIds.length} diff ids`);
    }
    const chains = chainIds(diffIds);
    const out: SnapshotInfo[] = [];
    for (let i = 0; i < chains.length; i++) {
      const chainId = chains[i]!;
      const have = await this.get(chainId);
      if (have) {
        out.push(have);
        continue;
      }
      out.push(await this.unpack(layers[i]!, diffIds[i]!, chainId, i > 0 ? chains[i - 1] : undefined));
    }
    return out;
  }

  private async unpack(layer: Descriptor, diffId: string, chainId: string, parent: string | undefined): Promise<SnapshotInfo> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const work = join(this.tmpDir, tempName('snapshot'));
    const fsDir = join(work, 'fs');
    await fsp.mkdir(fsDir, { recursive: true });
    try {
      const blob = await this.content.readBlob(layer.digest, { verify: true });
      const root = typeof process.getuid === 'function' && process.getuid() === 0;
      const r = await applyLayer(blob, fsDir, { whiteoutMode: this.whiteoutMode, preserveOwnership: root, allowDevices: root });
      if (r.diffId !== diffId) throw new LayerwiseError('corrupt', `layer ${layer.digest}: diff id ${r.diffId} does not match the config's ${diffId}`);
      return await this.publish(work, chainId, diffId, parent);
    } catch (e) {
      await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** Writes meta.json for the finished `work/fs` and renames `work` into place (or uses another process's). */
  private async publish(
    work: string,
    chainId: string,
    diffId: string,
    parent: string | undefined,
    written?: { layer: LayerWriteOptions; size: number },
  ): Promise<SnapshotInfo> {
    const tree = written ? { digest: 'layer', size: written.size } : await treeDigest(join(work, 'fs'));
    const meta: SnapshotMeta = { chainId, diffId, size: tree.size, tree: tree.digest, whiteoutMode: this.whiteoutMode, created: new Date().toISOString() };
    if (written) meta.layer = written.layer;
    if (parent) meta.parent = parent;
    await fsp.writeFile(join(work, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    await fsyncPath(join(work, 'meta.json'));
    await fsp.mkdir(this.dir, { recursive: true });
    try {
      await fsp.rename(work, this.pathOf(chainId));
      await fsyncPath(this.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // another process made the same snapshot first: use theirs
      await fsp.rm(work, { recursive: true, force: true });
      const theirs = await this.get(chainId);
      if (theirs) return theirs;
      throw e;
    }
    return this.infoOf(meta);
  }

  /**
   * Takes a directory that already holds exactly one layer's changes in this store's whiteout form — the overlay
   * upper dir a build step just wrote — as the snapshot of `chainId`, instead of unpacking the layer's blob
   * again. The directory is moved (it must be on the store's file system); it is gone afterwards either way.
   * `written` says how the layer was written from it (the options, and the bytes of file content): fsck checks
   * the snapshot by writing it again, so adopting reads nothing.
   */
  async adopt(dir: string, diffId: string, chainId: string, parent: string | undefined, written?: { layer: LayerWriteOptions; size: number }): Promise<SnapshotInfo> {
    const have = await this.get(chainId);
    if (have) {
      await fsp.rm(dir, { recursive: true, force: true });
      return have;
    }
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const work = join(this.tmpDir, tempName('snapshot'));
    await fsp.mkdir(work);
    try {
      await fsp.rename(dir, join(work, 'fs'));
      return await this.publish(work, chainId, diffId, parent, written);
    } catch (e) {
      await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }

  async lowerDirs(chainId: string): Promise<string[]> {
    const dirs: string[] = [];
    let cur: string | undefined = chainId;
    while (cur) {
      const s = await this.get(cur);
      if (!s) throw new LayerwiseError('not-found', `snapshot not found: ${cur}`);
      dirs.push(s.dir);
      cur = s.parent;
    }
    return dirs;
  }

  async list(): Promise<SnapshotInfo[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: SnapshotInfo[] = [];
    for (const n of names.sort()) {
      if (!/^[a-f0-9]{64}$/.test(n)) continue;
      const s = await this.get('sha256:' + n);
      if (s) out.push(s);
    }
    return out;
  }

  /** snapshot directories that have no valid meta.json (fsck reports/removes them) */
  async broken(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names.sort()) {
      if (!/^[a-f0-9]{64}$/.test(n) || !(await this.meta('sha256:' + n)) || !(await exists(join(this.dir, n, 'fs')))) out.push(join(this.dir, n));
    }
    return out;
  }

  /** recompute a snapshot's tree digest (or, for a snapshot adopted from the dir its layer was written from, the
   *  layer's diff id) */
  async verify(chainId: string): Promise<{ ok: boolean; expected: string; actual: string }> {
    const m = await this.meta(chainId);
    if (!m) return { ok: false, expected: '?', actual: 'missing' };
    const dir = join(this.pathOf(chainId), 'fs');
    if (m.tree === 'layer' && m.layer) {
      let actual: string;
      try {
        const w = writeLayer(dir, m.layer);
        w.stream.resume();
        actual = (await w.done).diffId;
      } catch (e) {
        actual = `unreadable: ${e instanceof Error ? e.message : String(e)}`;
      }
      return { ok: actual === m.diffId, expected: m.diffId, actual };
    }
    const t = await treeDigest(dir);
    return { ok: t.digest === m.tree, expected: m.tree, actual: t.digest };
  }

  async remove(chainId: string): Promise<boolean> {
    const p = this.pathOf(chainId);
    if (!(await exists(p))) return false;
    // rename first so that a half-removed snapshot is never seen under its name
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const aside = join(this.tmpDir, tempName('rm-snapshot'));
    await fsp.rename(p, aside);
    await fsp.rm(aside, { recursive: true, force: true });
    return true;
  }

  async usage(): Promise<number> {
    let total = 0;
    for (const s of await this.list()) total += s.size;
    return total;
  }
}
