/** writeLayer: a directory tree or an overlay upper dir -> a deterministic, uncompressed OCI layer tar. */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayerwiseError } from '../errors';
import { mapOwner } from './idmap';
import type { LayerWriteOptions, LayerWriteResult } from './index';
import { END_OF_ARCHIVE, encodeHeader, encodeUstarInto, padding, type TarHeader, type TarType } from './tarheader';
import { isOverlayPrivate, readTreeXattrs } from './xattrs';
import { layerWorker } from './write-pool';

const CHUNK = 256 << 10;
/** the size of every chunk a layer stream yields but its last */
export const OUT_CHUNK = 1 << 20;

function freshChunk(): Buffer {
  return Buffer.allocUnsafe(OUT_CHUNK);
}

/** A layer's tar bytes. `release`, where the stream has it, gives back a chunk it pushed once nothing refers to
 *  it any more, to be filled again: fresh memory costs a page fault every 4 KiB written into it. A released
 *  Buffer may be emptied at once (its memory moves back to the thread that fills it); anything else is ignored. */
export type LayerStream = Readable & { release?(chunk: Buffer): void };

export function devMajor(rdev: number): number {
  return (Math.floor(rdev / 256) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
export function devMinor(rdev: number): number {
  return (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isWhiteoutXattr(x: Array<[string, Buffer]> | undefined): boolean {
  return !!x?.some(([k]) => k === 'trusted.overlay.whiteout' || k === 'user.overlay.whiteout');
}
function isOpaqueXattr(x: Array<[string, Buffer]> | undefined): boolean {
  return !!x?.some(([k, v]) => (k === 'trusted.overlay.opaque' || k === 'user.overlay.opaque') && v.toString('latin1') === 'y');
}

interface Walked {
  rel: string;
  abs: string;
  st: Stats;
}

/** Depth-first walk, children sorted by name, parents before children; the root itself is not yielded.
 *  File system calls are synchronous on purpose: a thread-pool round trip per lstat/open/read made
 *  small-file trees several times slower than GNU tar. */
function* walk(root: string, exclude: Set<string>): Generator<Walked> {
  function* visit(rel: string): Generator<Walked> {
    const abs = rel ? join(root, rel) : root;
    let names: string[];
    try {
      names = fs.readdirSync(abs);
    } catch (e) {
      throw new LayerwiseError('io', `cannot read directory ${abs}: ${(e as Error).message}`, { cause: e });
    }
    names.sort(compareNames);
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (exclude.has(r)) continue;
      const a = join(root, r);
      let st: Stats;
      try {
        st = fs.lstatSync(a);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          if (name.includes('\uFFFD')) {
            throw new LayerwiseError('invalid', `cannot write /${r} to a layer: its name is not UTF-8 (shown with \uFFFD), which this engine does not support yet; rename it or remove it in the same step`);
          }
          continue; // vanished while walking
        }
        throw new LayerwiseError('io', `cannot stat ${a}: ${(e as Error).message}`, { cause: e });
      }
      yield { rel: r, abs: a, st };
      if (st.isDirectory()) yield* visit(r);
    }
  }
  yield* visit('');
}

/** Builds the tar bytes of a layer entry by entry, hashing and counting as it goes. Shared by writeLayer
 *  and writeDiffLayer. Everything goes through one staging buffer (file data is read straight into it) and
 *  comes out in chunks of OUT_CHUNK bytes: a stream chunk, an allocation and a hash update per header or
 *  small file made small-file layers slow. The generators yield only full chunks; `end()` yields the rest. */
export class LayerEmitter {
  /** undefined: the consumer hashes the chunks (the layer worker's emitter; see write-worker.ts) */
  private readonly hash: ReturnType<typeof createHash> | undefined;
  private readonly links = new Map<string, string>();
  private out: Buffer;
  private len = 0;
  size = 0;
  entries = 0;
  fileBytes = 0;

  constructor(
    private readonly opts: LayerWriteOptions,
    /** xattrs by relative path (null: none known) */
    readonly xattrs: Map<string, Array<[string, Buffer]>> | null,
    hashing = true,
    /** a staging buffer of OUT_CHUNK bytes (the layer worker hands out buffers its consumer gave back) */
    private readonly alloc: () => Buffer = freshChunk,
  ) {
    this.hash = hashing ? createHash('sha256') : undefined;
    this.out = alloc();
  }

  /** The staged bytes as a chunk (hashed and counted), and a fresh staging buffer. */
  private flush(): Buffer {
    const chunk = this.len === this.out.length ? this.out : this.out.subarray(0, this.len);
    this.hash?.update(chunk);
    this.size += chunk.length;
    this.out = this.alloc();
    this.len = 0;
    return chunk;
  }

  private *put(b: Buffer): Generator<Buffer> {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, this.out.length - this.len);
      b.copy(this.out, this.len, off, off + n);
      this.len += n;
      off += n;
      if (this.len === this.out.length) yield this.flush();
    }
  }

  header(rel: string, st: Stats, type: TarType, extra: Partial<TarHeader> = {}): TarHeader {
    const ids = this.opts.owner ?? mapOwner(this.opts.idMap, 'toContainer', st.uid, st.gid);
    let mtime = Math.floor(st.mtimeMs / 1000);
    const sde = this.opts.sourceDateEpoch;
    if (sde !== undefined && mtime > sde) mtime = sde;
    if (mtime < 0) mtime = 0;
    const h: TarHeader = { name: rel, type, mode: st.mode & 0o7777, uid: ids.uid, gid: ids.gid, size: 0, mtime, ...extra };
    if (this.opts.xattrs !== false && !h.xattrs) {
      const xs = this.xattrs?.get(rel)?.filter(([k]) => !isOverlayPrivate(k));
      if (xs && xs.length) h.xattrs = xs;
    }
    return h;
  }

  /** `.wh.<name>` for the removed path rel; st gives its mtime/owner (the whiteout's or the removed file's). */
  *whiteout(rel: string, st: Stats): Generator<Buffer> {
    const slash = rel.lastIndexOf('/');
    const name = slash < 0 ? `.wh.${rel}` : `${rel.slice(0, slash)}/.wh.${rel.slice(slash + 1)}`;
    this.entries++;
    yield* this.put(encodeHeader(this.header(name, st, 'file', { mode: 0, xattrs: [] })));
  }

  /** `<dir>/.wh..wh..opq` */
  *opaque(rel: string, st: Stats): Generator<Buffer> {
    this.entries++;
    yield* this.put(encodeHeader(this.header(`${rel}/.wh..wh..opq`, st, 'file', { mode: 0, xattrs: [] })));
  }

  /** Header and data of one file system object (sockets yield nothing). */
  *entry(rel: string, abs: string, st: Stats): Generator<Buffer> {
    let h: TarHeader;
    if (st.isDirectory()) {
      h = this.header(rel, st, 'dir');
    } else if (st.isFile()) {
      this.fileBytes += st.size;
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(key) : undefined;
      if (first !== undefined) h = this.header(rel, st, 'link', { linkname: first });
      else {
        if (st.nlink > 1) this.links.set(key, rel);
        h = this.header(rel, st, 'file', { size: st.size });
      }
    } else if (st.isSymbolicLink()) {
      h = this.header(rel, st, 'symlink', { linkname: fs.readlinkSync(abs) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      h = this.header(rel, st, st.isCharacterDevice() ? 'char' : 'block', { devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
    } else if (st.isFIFO()) {
      h = this.header(rel, st, 'fifo');
    } else return; // sockets have no place in a layer
    this.entries++;
    if (this.out.length - this.len >= 512 && encodeUstarInto(this.out, this.len, h)) {
      this.len += 512;
      if (this.len === this.out.length) yield this.flush();
    } else yield* this.put(encodeHeader(h));
    if (h.type !== 'file' || h.size === 0) return;
    const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      let left = h.size;
      while (left > 0) {
        const bytesRead = fs.readSync(fd, this.out, this.len, Math.min(this.out.length - this.len, left), null);
        if (bytesRead === 0) throw new LayerwiseError('io', `${abs} shrank while it was being written to a layer`);
        left -= bytesRead;
        this.len += bytesRead;
        if (this.len === this.out.length) yield this.flush();
      }
    } finally {
      fs.closeSync(fd);
    }
    const pad = padding(h.size);
    if (pad.length) yield* this.put(pad);
  }

  /** The end-of-archive marker and whatever is still staged. */
  *end(): Generator<Buffer> {
    yield* this.put(END_OF_ARCHIVE);
    if (this.len) yield this.flush();
  }

  result(): LayerWriteResult {
    return { diffId: this.hash ? `sha256:${this.hash.digest('hex')}` : '', size: this.size, entries: this.entries, fileBytes: this.fileBytes };
  }
}

/** Resolves and checks a source directory, and reads its xattrs when needed. */
export async function openSource(dir: string, opts: LayerWriteOptions): Promise<{ root: string; emitter: LayerEmitter }> {
  const { root, xattrs } = await sourceInfo(dir, opts);
  return { root, emitter: new LayerEmitter(opts, xattrs) };
}

/** The real path of a source directory (checked) and its xattrs when the options need them. */
export async function sourceInfo(dir: string, opts: LayerWriteOptions): Promise<{ root: string; xattrs: Map<string, Array<[string, Buffer]>> | null }> {
  let st0: Stats;
  try {
    st0 = await fsp.stat(dir);
  } catch (e) {
    throw new LayerwiseError('not-found', `no such directory: ${dir}`, { cause: e });
  }
  if (!st0.isDirectory()) throw new LayerwiseError('invalid', `not a directory: ${dir}`);
  const root = await fsp.realpath(dir);
  const needXattrs = opts.xattrs !== false || opts.source === 'overlay';
  const xattrs = needXattrs ? await readTreeXattrs(root) : null;
  if (opts.source === 'overlay' && xattrs === null) {
    throw new LayerwiseError('invalid', 'reading an overlay upper dir needs getfattr (Debian package attr) to see opaque directories');
  }
  return { root, xattrs };
}

/** The `done` promise of a layer being written, and how to settle it (a rejection nobody awaits is not reported:
 *  callers may only listen to the stream). */
export function pendingResult(): { done: Promise<LayerWriteResult>; resolveDone: (r: LayerWriteResult) => void; rejectDone: (e: unknown) => void } {
  let resolveDone!: (r: LayerWriteResult) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<LayerWriteResult>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined);
  return { done, resolveDone, rejectDone };
}

/** Wraps a generator of tar bytes into the { stream, done } pair the API returns. `produce` must end with
 *  emitter.end() and return emitter.result(). */
export function layerStream(produce: () => AsyncGenerator<Buffer, LayerWriteResult>): { stream: Readable; done: Promise<LayerWriteResult> } {
  const { done, resolveDone, rejectDone } = pendingResult();
  async function* run(): AsyncGenerator<Buffer> {
    const gen = produce();
    for (;;) {
      const r = await gen.next();
      if (r.done) {
        resolveDone(r.value);
        return;
      }
      yield r.value;
    }
  }
  const stream = Readable.from(run(), { objectMode: false, highWaterMark: 4 * CHUNK });
  stream.on('error', (e) => rejectDone(e));
  stream.on('close', () => rejectDone(new LayerwiseError('io', 'layer stream closed before it was fully read')));
  return { stream, done };
}

export function excludeSet(opts: LayerWriteOptions): Set<string> {
  return new Set((opts.exclude ?? []).map((p) => p.replace(/^\/+/, '').replace(/\/+$/, '')));
}

/**
 * Writes an uncompressed, deterministic layer tar of `dir` (see LayerWriteOptions). Entries are sorted by
 * name depth-first (parents before children), long/unicode names use PAX, hard links inside the tree become
 * tar links, xattrs are kept (except overlayfs' own), sockets are skipped. The diffID is computed while
 * streaming; `done` resolves after the stream has been fully read (and rejects on any error, which also
 * destroys `stream`). Overlay: redirect_dir/metacopy upper dirs are not supported (Layerwise mounts without).
 */
export function writeLayer(dir: string, opts: LayerWriteOptions): { stream: LayerStream; done: Promise<LayerWriteResult> } {
  const worker = layerWorker();
  if (worker) return worker.write(dir, opts);
  return layerStream(async function* () {
    const { root, emitter: em } = await openSource(dir, opts);
    yield* treeChunks(root, em, opts);
    return em.result();
  });
}

/** The tar bytes of the tree at `root`, through `em`, ending with the end-of-archive marker (synchronous: the
 *  file system calls are made as the chunks are pulled). */
export function* treeChunks(root: string, em: LayerEmitter, opts: LayerWriteOptions): Generator<Buffer, void> {
    const overlay = opts.source === 'overlay';
    for (const { rel, abs, st } of walk(root, excludeSet(opts))) {
      if (overlay) {
        const base = rel.slice(rel.lastIndexOf('/') + 1);
        if (base.startsWith('.wh.')) {
          throw new LayerwiseError('invalid', `cannot represent "${rel}" in a layer: names starting with .wh. are reserved for whiteouts`);
        }
        const x = em.xattrs?.get(rel);
        if ((st.isCharacterDevice() && st.rdev === 0) || (st.isFile() && st.size === 0 && isWhiteoutXattr(x))) {
          yield* em.whiteout(rel, st);
          continue;
        }
        yield* em.entry(rel, abs, st);
        if (st.isDirectory() && isOpaqueXattr(x)) yield* em.opaque(rel, st);
      } else yield* em.entry(rel, abs, st);
    }
    yield* em.end();
}
