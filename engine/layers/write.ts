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
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader, type TarType } from './tarheader';
import { isOverlayPrivate, readTreeXattrs } from './xattrs';

const CHUNK = 1 << 20;

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
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished while walking
        throw new LayerwiseError('io', `cannot stat ${a}: ${(e as Error).message}`, { cause: e });
      }
      yield { rel: r, abs: a, st };
      if (st.isDirectory()) yield* visit(r);
    }
  }
  yield* visit('');
}

/**
 * Writes an uncompressed, deterministic layer tar of `dir` (see LayerWriteOptions). Entries are sorted by
 * name depth-first (parents before children), long/unicode names use PAX, hard links inside the tree become
 * tar links, xattrs are kept (except overlayfs' own), sockets are skipped. The diffID is computed while
 * streaming; `done` resolves after the stream has been fully read (and rejects on any error, which also
 * destroys `stream`).
 */
export function writeLayer(dir: string, opts: LayerWriteOptions): { stream: Readable; done: Promise<LayerWriteResult> } {
  const hash = createHash('sha256');
  let size = 0;
  let entries = 0;
  let resolveDone!: (r: LayerWriteResult) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<LayerWriteResult>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => undefined); // callers may only listen to the stream

  const exclude = new Set((opts.exclude ?? []).map((p) => p.replace(/^\/+/, '').replace(/\/+$/, '')));
  const keepXattrs = opts.xattrs !== false;
  const sde = opts.sourceDateEpoch;

  const emit = (b: Buffer): Buffer => {
    hash.update(b);
    size += b.length;
    return b;
  };

  async function* generate(): AsyncGenerator<Buffer> {
    let st0: Stats;
    try {
      st0 = await fsp.stat(dir);
    } catch (e) {
      throw new LayerwiseError('not-found', `no such directory: ${dir}`, { cause: e });
    }
    if (!st0.isDirectory()) throw new LayerwiseError('invalid', `not a directory: ${dir}`);
    const root = await fsp.realpath(dir);
    const needXattrs = keepXattrs || opts.source === 'overlay';
    const xattrs = needXattrs ? await readTreeXattrs(root) : null;
    if (opts.source === 'overlay' && xattrs === null) {
      throw new LayerwiseError('invalid', 'reading an overlay upper dir needs getfattr (Debian package attr) to see opaque directories');
    }
    const links = new Map<string, string>();

    const header = (rel: string, st: Stats, type: TarType, extra: Partial<TarHeader> = {}): TarHeader => {
      const ids = opts.owner ?? mapOwner(opts.idMap, 'toContainer', st.uid, st.gid);
      let mtime = Math.floor(st.mtimeMs / 1000);
      if (sde !== undefined && mtime > sde) mtime = sde;
      if (mtime < 0) mtime = 0;
      const h: TarHeader = { name: rel, type, mode: st.mode & 0o7777, uid: ids.uid, gid: ids.gid, size: 0, mtime, ...extra };
      if (keepXattrs && !h.xattrs) {
        const xs = xattrs?.get(rel)?.filter(([k]) => !isOverlayPrivate(k));
        if (xs && xs.length) h.xattrs = xs;
      }
      return h;
    };
    const whiteout = (rel: string, st: Stats): TarHeader => {
      const slash = rel.lastIndexOf('/');
      const name = slash < 0 ? `.wh.${rel}` : `${rel.slice(0, slash)}/.wh.${rel.slice(slash + 1)}`;
      return header(name, st, 'file', { mode: 0, xattrs: [] });
    };

    for (const { rel, abs, st } of walk(root, exclude)) {
      const base = rel.slice(rel.lastIndexOf('/') + 1);
      if (opts.source === 'overlay') {
        if (base.startsWith('.wh.')) {
          throw new LayerwiseError('invalid', `cannot represent "${rel}" in a layer: names starting with .wh. are reserved for whiteouts`);
        }
        const isWh = (st.isCharacterDevice() && st.rdev === 0) || (st.isFile() && st.size === 0 && isWhiteoutXattr(xattrs?.get(rel)));
        if (isWh) {
          entries++;
          yield emit(encodeHeader(whiteout(rel, st)));
          continue;
        }
      }
      let h: TarHeader;
      if (st.isDirectory()) {
        h = header(rel, st, 'dir');
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) h = header(rel, st, 'link', { linkname: first });
        else {
          if (st.nlink > 1) links.set(key, rel);
          h = header(rel, st, 'file', { size: st.size });
        }
      } else if (st.isSymbolicLink()) {
        const target = fs.readlinkSync(abs);
        h = header(rel, st, 'symlink', { linkname: target });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        h = header(rel, st, st.isCharacterDevice() ? 'char' : 'block', { devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
      } else if (st.isFIFO()) {
        h = header(rel, st, 'fifo');
      } else continue; // sockets have no place in a layer

      entries++;
      yield emit(encodeHeader(h));
      if (h.type === 'dir' && opts.source === 'overlay' && isOpaqueXattr(xattrs?.get(rel))) {
        entries++;
        yield emit(encodeHeader(header(`${rel}/.wh..wh..opq`, st, 'file', { mode: 0, xattrs: [] })));
      }
      if (h.type === 'file' && h.size > 0) {
        const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          let left = h.size;
          while (left > 0) {
            const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
            const bytesRead = fs.readSync(fd, buf, 0, buf.length, null);
            if (bytesRead === 0) throw new LayerwiseError('io', `${abs} shrank while it was being written to a layer`);
            left -= bytesRead;
            yield emit(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
          }
        } finally {
          fs.closeSync(fd);
        }
        const pad = padding(h.size);
        if (pad.length) yield emit(pad);
      }
    }
    yield emit(END_OF_ARCHIVE);
    resolveDone({ diffId: `sha256:${hash.digest('hex')}`, size, entries });
  }

  const stream = Readable.from(generate(), { objectMode: false, highWaterMark: 4 * CHUNK });
  stream.on('error', (e) => rejectDone(e));
  stream.on('close', () => rejectDone(new LayerwiseError('io', 'layer stream closed before it was fully read')));
  return { stream, done };
}
