/** writeDiffLayer: the layer that turns `lower` into `upper`, by comparing two full trees (for hosts without
 *  overlayfs, where a RUN step works on a copy of the lower tree). */
import type { Stats } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LayerwiseError } from '../errors';
import type { LayerWriteOptions, LayerWriteResult } from './index';
import { excludeSet, layerStream, openSource } from './write';
import { readTreeXattrs } from './xattrs';

function lstatOrNull(p: string): Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new LayerwiseError('io', `cannot stat ${p}: ${(e as Error).message}`, { cause: e });
  }
}

function kind(st: Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

function sameXattrs(a: Array<[string, Buffer]> | undefined, b: Array<[string, Buffer]> | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  const m = new Map(y.map(([k, v]) => [k, v]));
  return x.every(([k, v]) => m.get(k)?.equals(v) === true);
}

/** Whether the object changed between lower and upper (metadata; file content is compared by size and mtime
 *  at nanosecond precision, and by bytes when the mtime is equal but the inode differs — as after a copy). */
function changed(l: Stats, u: Stats, la: string, ua: string, lx: Array<[string, Buffer]> | undefined, ux: Array<[string, Buffer]> | undefined): boolean {
  if (kind(l) !== kind(u)) return true;
  if ((l.mode & 0o7777) !== (u.mode & 0o7777) || l.uid !== u.uid || l.gid !== u.gid) return true;
  if (!sameXattrs(lx, ux)) return true;
  if (u.isDirectory()) return l.mtimeMs !== u.mtimeMs;
  if (u.isSymbolicLink()) return fs.readlinkSync(la) !== fs.readlinkSync(ua);
  if (u.isCharacterDevice() || u.isBlockDevice()) return l.rdev !== u.rdev;
  if (u.isFile()) {
    if (l.size !== u.size || l.mtimeMs !== u.mtimeMs) return true;
    if (l.dev === u.dev && l.ino === u.ino) return false;
    return !sameContent(la, ua, u.size);
  }
  return false;
}

function sameContent(a: string, b: string, size: number): boolean {
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  try {
    const ba = Buffer.allocUnsafe(Math.min(size, 1 << 20) || 1);
    const bb = Buffer.allocUnsafe(ba.length);
    for (let left = size; left > 0; ) {
      const n = fs.readSync(fa, ba, 0, Math.min(ba.length, left), null);
      const m = fs.readSync(fb, bb, 0, n, null);
      if (n === 0 || m !== n || !ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
      left -= n;
    }
    return true;
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/**
 * Writes the layer that, applied onto `lower`, gives `upper`: added and changed entries, `.wh.` whiteouts for
 * removed ones, parent directories of every change (so that a snapshot keeps their modes). Deterministic
 * like writeLayer (same options; `source` is ignored).
 */
export function writeDiffLayer(lower: string, upper: string, opts: LayerWriteOptions): { stream: Readable; done: Promise<LayerWriteResult> } {
  return layerStream(async function* () {
    const { root, emitter: em } = await openSource(upper, { ...opts, source: 'dir' });
    const lroot = fs.realpathSync(lower);
    const lx = opts.xattrs !== false ? await readTreeXattrs(lroot) : null;
    const exclude = excludeSet(opts);

    /** Everything under an added directory. */
    function* added(rel: string): Generator<Buffer> {
      for (const name of fs.readdirSync(join(root, rel)).sort()) {
        const r = `${rel}/${name}`;
        if (exclude.has(r)) continue;
        const st = lstatOrNull(join(root, r));
        if (!st) continue;
        yield* em.entry(r, join(root, r), st);
        if (st.isDirectory()) yield* added(r);
      }
    }

    type Action = { t: 'entry' | 'added' | 'whiteout'; rel: string; abs: string; st: Stats };
    /** The changes inside directory rel (present in both trees), in layer order; no data is read here. */
    function scan(rel: string): Action[] {
      const ua = rel ? join(root, rel) : root;
      const la = rel ? join(lroot, rel) : lroot;
      const out: Action[] = [];
      const items: Array<{ n: string; key: string; u: Stats | null; l: Stats | null }> = [];
      for (const n of new Set([...fs.readdirSync(ua), ...fs.readdirSync(la)])) {
        const r = rel ? `${rel}/${n}` : n;
        if (exclude.has(r)) continue;
        const u = lstatOrNull(join(ua, n));
        const l = lstatOrNull(join(la, n));
        items.push({ n, key: u ? n : `.wh.${n}`, u, l });
      }
      items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const { n, u, l } of items) {
        const r = rel ? `${rel}/${n}` : n;
        if (!u) {
          if (l) out.push({ t: 'whiteout', rel: r, abs: join(la, n), st: l });
          continue;
        }
        if (!l || kind(l) !== kind(u)) {
          out.push({ t: u.isDirectory() ? 'added' : 'entry', rel: r, abs: join(ua, n), st: u });
          continue;
        }
        const self = changed(l, u, join(la, n), join(ua, n), lx?.get(r), em.xattrs?.get(r));
        if (u.isDirectory()) {
          const below = scan(r);
          if (self || below.length) out.push({ t: 'entry', rel: r, abs: join(ua, n), st: u }, ...below);
        } else if (self) out.push({ t: 'entry', rel: r, abs: join(ua, n), st: u });
      }
      return out;
    }

    for (const a of scan('')) {
      if (a.t === 'whiteout') yield* em.whiteout(a.rel, a.st);
      else {
        yield* em.entry(a.rel, a.abs, a.st);
        if (a.t === 'added') yield* added(a.rel);
      }
    }
    yield* em.end();
    return em.result();
  });
}
