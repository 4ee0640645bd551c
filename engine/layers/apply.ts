/** applyLayer: safe extraction of a layer (any compression) onto a directory. */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fs from 'node:fs';
import { constants as C, promises as fsp } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { LayerwiseError } from '../errors';
import { mkfifo, mknod } from './devices';
import { mapOwner } from './idmap';
import type { ApplyOptions, ApplyResult, LayerEntry } from './index';
import { readLayer, type RawEntry } from './tarentry';
import { isOverlayPrivate, setXattrs, type XattrSet } from './xattrs';

const MAX_SYMLINK_HOPS = 40;
const DEFAULT_MAX_ENTRY = 2 ** 40;

// Metadata calls are synchronous on purpose: one layer is applied sequentially anyway, and a thread-pool
// round trip per syscall made small-file layers several times slower than GNU tar.
function lstatOrNull(p: string): Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

function io(what: string, e: unknown): LayerwiseError {
  if (e instanceof LayerwiseError) return e;
  return new LayerwiseError('io', `${what}: ${(e as Error).message}`, { cause: e });
}

/** Extraction state for one layer. Paths are resolved inside `root` with chroot semantics: a symlink met on
 *  the way (absolute or with `..`) is followed as if `root` were `/`, so nothing is ever created outside. */
class Applier {
  private readonly dirCache = new Map<string, string>();
  /** absolute paths this layer created (whiteouts and opaque markers never remove these) */
  private readonly created = new Set<string>();
  private readonly dirs: Array<{ abs: string; mode: number; mtime: number }> = [];
  private readonly xattrs: XattrSet[] = [];
  /** userxattr overlay mode: directories holding xwhiteouts, and opaque ones */
  private readonly xwhiteoutDirs = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  private readonly mode: 'delete' | 'overlay' | 'overlay-userxattr';

  constructor(
    private readonly root: string,
    private readonly opts: ApplyOptions,
  ) {
    this.mode = opts.whiteoutMode ?? 'delete';
  }

  /** The real directory for relative dir `rel` (created with 0755 where missing when `create`), or null. */
  private resolveDir(rel: string, create: boolean, entryName: string): string | null {
    if (rel === '') return this.root;
    const hit = this.dirCache.get(rel);
    if (hit !== undefined) return hit;
    let parts = rel.split('/');
    let resolved: string[] = [];
    let hops = 0;
    while (parts.length) {
      const c = parts.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        resolved.pop();
        continue;
      }
      const abs = join(this.root, ...resolved, c);
      const st = lstatOrNull(abs);
      if (!st) {
        if (!create) return null;
        try {
          fs.mkdirSync(abs, { mode: 0o755 });
        } catch (e) {
          throw io(`cannot create ${abs}`, e);
        }
        resolved.push(c);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw new LayerwiseError('unsafe', `layer entry "${entryName}": too many levels of symbolic links`);
        const link = fs.readlinkSync(abs);
        if (link.startsWith('/')) resolved = [];
        parts = [...link.split('/'), ...parts];
        continue;
      }
      if (!st.isDirectory()) {
        if (!create) return null;
        throw new LayerwiseError('invalid', `layer entry "${entryName}": "${posix.join(...resolved, c)}" is not a directory`);
      }
      resolved.push(c);
    }
    const out = join(this.root, ...resolved);
    this.dirCache.set(rel, out);
    return out;
  }

  /** Removes whatever is at abs (not following symlinks). */
  private remove(abs: string, st: Stats): void {
    if (st.isDirectory() || st.isSymbolicLink()) this.dirCache.clear();
    try {
      if (st.isDirectory()) fs.rmSync(abs, { recursive: true, force: true });
      else fs.unlinkSync(abs);
    } catch (e) {
      throw io(`cannot remove ${abs}`, e);
    }
  }

  private owner(e: LayerEntry): { uid: number; gid: number } | null {
    if (!this.opts.preserveOwnership) return null;
    return mapOwner(this.opts.idMap, 'toHost', e.uid, e.gid);
  }

  private chown(abs: string, e: LayerEntry): void {
    const o = this.owner(e);
    if (!o) return;
    try {
      fs.lchownSync(abs, o.uid, o.gid);
    } catch (err) {
      throw io(`cannot set the owner of ${abs} to ${o.uid}:${o.gid}`, err);
    }
  }

  private keepXattrs(abs: string, e: LayerEntry): void {
    if (this.opts.xattrs === false || !e.xattrs) return;
    for (const [name, value] of Object.entries(e.xattrs)) {
      if (isOverlayPrivate(name)) continue; // a layer must never steer overlayfs (redirects, metacopy, ...)
      this.xattrs.push({ path: abs, name, value });
    }
  }

  async entry(raw: RawEntry): Promise<void> {
    const e = raw.entry;
    const name = raw.name;
    if (e.whiteout) return this.whiteout(e, name);
    if (e.path === '') return; // the root itself: its metadata belongs to the target
    const parentRel = posix.dirname(e.path) === '.' ? '' : posix.dirname(e.path);
    const base = posix.basename(e.path);
    const parent = this.resolveDir(parentRel, true, name)!;
    const abs = join(parent, base);

    switch (e.type) {
      case 'dir': {
        const existing = lstatOrNull(abs);
        if (existing && !existing.isDirectory()) this.remove(abs, existing);
        if (!existing || !existing.isDirectory()) {
          try {
            fs.mkdirSync(abs, { mode: 0o700 });
          } catch (err) {
            throw io(`cannot create ${abs}`, err);
          }
        } else if ((existing.mode & 0o700) !== 0o700) {
          // make sure we can write children whatever the final mode is
          fs.chmodSync(abs, (existing.mode & 0o7777) | 0o700);
        }
        this.chown(abs, e);
        this.dirs.push({ abs, mode: e.mode, mtime: e.mtime });
        break;
      }
      case 'file': {
        const max = this.opts.maxEntrySize ?? DEFAULT_MAX_ENTRY;
        if (raw.size > max || raw.size < 0) throw new LayerwiseError('unsafe', `layer entry "${name}" is too large (${raw.size} bytes)`);
        const fd = this.create(abs, () => fs.openSync(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600));
        try {
          let written = 0;
          for await (const chunk of raw.data) {
            let off = 0;
            while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
            written += chunk.length;
          }
          if (written !== raw.size) throw new LayerwiseError('corrupt', `layer entry "${name}" is truncated`);
          const o = this.owner(e);
          if (o) {
            try {
              fs.fchownSync(fd, o.uid, o.gid);
            } catch (err) {
              throw io(`cannot set the owner of ${abs} to ${o.uid}:${o.gid}`, err);
            }
          }
          fs.fchmodSync(fd, e.mode);
          fs.futimesSync(fd, e.mtime, e.mtime);
        } finally {
          fs.closeSync(fd);
        }
        break;
      }
      case 'hardlink': {
        const t = e.linkTarget!;
        const tParent = this.resolveDir(posix.dirname(t) === '.' ? '' : posix.dirname(t), false, name);
        const tAbs = tParent === null ? null : join(tParent, posix.basename(t));
        const tSt = tAbs === null ? null : lstatOrNull(tAbs);
        if (!tAbs || !tSt) {
          throw new LayerwiseError('unsafe', `layer entry "${name}" is a hard link to "${t}", which is not in the target (yet)`);
        }
        if (tSt.isDirectory()) throw new LayerwiseError('unsafe', `layer entry "${name}" is a hard link to a directory ("${t}")`);
        if (tAbs === abs) break;
        const existing = lstatOrNull(abs);
        if (existing && existing.ino === tSt.ino && existing.dev === tSt.dev) break;
        this.create(abs, () => fs.linkSync(tAbs, abs));
        break;
      }
      case 'symlink': {
        this.create(abs, () => fs.symlinkSync(e.linkTarget ?? '', abs));
        this.chown(abs, e);
        try {
          fs.lutimesSync(abs, e.mtime, e.mtime);
        } catch {
          /* not supported everywhere */
        }
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (e.type !== 'fifo' && !this.opts.allowDevices) {
          if (this.opts.skipDevices) return;
          throw new LayerwiseError('unsafe', `layer entry "${name}" is a device node; device nodes are not allowed here`);
        }
        const existing = lstatOrNull(abs);
        if (existing) this.remove(abs, existing);
        if (e.type === 'fifo') await mkfifo(abs, e.mode);
        else await mknod(abs, e.type, e.devMajor ?? 0, e.devMinor ?? 0, e.mode);
        this.chown(abs, e);
        fs.chmodSync(abs, e.mode);
        fs.utimesSync(abs, e.mtime, e.mtime);
        break;
      }
    }
    this.created.add(abs);
    this.keepXattrs(abs, e);
  }

  /** Runs `make` (which creates abs exclusively); if something is in the way, removes it and retries. */
  private create<T>(abs: string, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw io(`cannot create ${abs}`, err);
    }
    const existing = lstatOrNull(abs);
    if (existing) this.remove(abs, existing);
    try {
      return make();
    } catch (err) {
      throw io(`cannot create ${abs}`, err);
    }
  }

  private async whiteout(e: LayerEntry, name: string): Promise<void> {
    if (e.whiteout === 'opaque') {
      const dir = this.resolveDir(e.path, this.mode !== 'delete', name);
      if (dir === null) return;
      if (this.mode === 'delete') this.clearOpaque(dir);
      else {
        this.opaqueDirs.add(dir);
        const key = this.mode === 'overlay' ? 'trusted.overlay.opaque' : 'user.overlay.opaque';
        this.xattrs.push({ path: dir, name: key, value: Buffer.from('y') });
      }
      return;
    }
    const parentRel = posix.dirname(e.path) === '.' ? '' : posix.dirname(e.path);
    const victim = posix.basename(e.path);
    const parent = this.resolveDir(parentRel, this.mode !== 'delete', name);
    if (parent === null) return;
    const abs = join(parent, victim);
    if (this.created.has(abs)) return; // a whiteout only hides what lower layers have
    const existing = lstatOrNull(abs);
    if (existing) this.remove(abs, existing);
    if (this.mode === 'delete') return;
    if (this.mode === 'overlay') {
      await mknod(abs, 'char', 0, 0, 0);
    } else {
      try {
        fs.closeSync(fs.openSync(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644));
      } catch (err) {
        throw io(`cannot create ${abs}`, err);
      }
      this.xattrs.push({ path: abs, name: 'user.overlay.whiteout', value: Buffer.alloc(0) });
      this.xwhiteoutDirs.add(parent);
    }
    this.created.add(abs);
  }

  /** Opaque directory in 'delete' mode: remove everything in it that this layer did not create. */
  private clearOpaque(dir: string): void {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      throw io(`cannot read ${dir}`, err);
    }
    for (const n of names) {
      const abs = join(dir, n);
      const st = lstatOrNull(abs);
      if (!st) continue;
      if (this.created.has(abs)) {
        if (st.isDirectory()) this.clearOpaque(abs);
        continue;
      }
      this.remove(abs, st);
    }
  }

  /** Paths recorded earlier are only touched if no symlink has since appeared on the way to them. */
  private stillInside(abs: string): boolean {
    try {
      return fs.realpathSync(dirname(abs)) === dirname(abs) && (abs === this.root || abs.startsWith(this.root + '/'));
    } catch {
      return false;
    }
  }

  async finish(): Promise<void> {
    if (this.mode === 'overlay-userxattr') {
      for (const d of this.xwhiteoutDirs) {
        if (!this.opaqueDirs.has(d)) this.xattrs.push({ path: d, name: 'user.overlay.opaque', value: Buffer.from('x') });
      }
    }
    if (this.xattrs.length) await setXattrs(this.xattrs.filter((x) => this.stillInside(x.path)));
    // directories last, deepest first: their modes may forbid writing and their mtimes change with children
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const d = this.dirs[i]!;
      if (!this.stillInside(d.abs)) continue;
      const st = lstatOrNull(d.abs);
      if (!st || !st.isDirectory()) continue;
      try {
        fs.chmodSync(d.abs, d.mode);
        fs.utimesSync(d.abs, d.mtime, d.mtime);
      } catch (err) {
        throw io(`cannot set the mode of ${d.abs}`, err);
      }
    }
  }
}

async function realDir(target: string): Promise<string> {
  let root: string;
  try {
    root = await fsp.realpath(target);
  } catch (e) {
    throw new LayerwiseError('not-found', `no such directory: ${target}`, { cause: e });
  }
  const st = await fsp.stat(root);
  if (!st.isDirectory()) throw new LayerwiseError('invalid', `not a directory: ${target}`);
  return root;
}

/**
 * Applies a layer (plain, gzip or zstd tar) onto `target` (an existing directory): see ApplyOptions. Unsafe
 * entries: `..` escapes, hard links to paths not in the target, device nodes when not allowed, whiteouts of
 * `.`/`..` throw LayerwiseError('unsafe'); absolute names and symlinks on the way are resolved inside the target
 * (as if it were `/`), so nothing is ever written outside it; existing symlinks at an entry's path are replaced,
 * never written through. A malformed or truncated tar throws LayerwiseError('corrupt'). On error, what was
 * extracted so far stays in `target`: use `extractLayerTo` for all-or-nothing.
 */
export async function applyLayer(input: NodeJS.ReadableStream, target: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const root = await realDir(target);
  const applier = new Applier(root, opts);
  const r = await readLayer(input, (raw) => applier.entry(raw), {
    ...(opts.maxTotalSize !== undefined ? { maxTotalSize: opts.maxTotalSize } : {}),
    ...(opts.rootedNames ? { rootedNames: true } : {}),
  });
  await applier.finish();
  return r;
}

/**
 * Extracts a layer into `dest`, which must not exist yet, all-or-nothing: it extracts into a temporary
 * sibling directory and renames that into place on success; on failure the temporary directory is removed
 * and `dest` does not appear.
 */
export async function extractLayerTo(input: NodeJS.ReadableStream, dest: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp, { mode: 0o755 });
  try {
    const r = await applyLayer(input, tmp, opts);
    try {
      await fsp.rename(tmp, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new LayerwiseError('conflict', `${dest} already exists`, { cause: e });
      throw io(`cannot rename into ${dest}`, e);
    }
    return r;
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}
