/** Reading layer tars with tar-stream: entry normalisation shared by applyLayer and listLayer. */
import { posix } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { createHash, type Hash } from 'node:crypto';
import * as tar from 'tar-stream';
import { LayerwiseError } from '../errors';
import { decompress } from './compression';
import type { Compression, LayerEntry, LayerEntryType } from './index';

const RAW_XATTRS = Symbol('rawXattrs');

/** A PAX extended header's records, `length key=value\n` each, with values kept as bytes (tar-stream decodes
 *  them as UTF-8, which breaks binary xattrs such as security.capability). Stops at the first malformed one. */
export function paxRecords(buf: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let off = 0;
  while (off < buf.length) {
    let sp = off;
    while (sp < buf.length && buf[sp] !== 0x20) sp++;
    const len = parseInt(buf.subarray(off, sp).toString('latin1'), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.push([rec.subarray(0, eq).toString('utf8'), rec.subarray(eq + 1)]);
    off += len;
  }
  return out;
}

/** The SCHILY.xattr.* records of a PAX header, values as bytes. */
function rawPaxXattrs(buf: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of paxRecords(buf)) if (key.startsWith('SCHILY.xattr.')) out.push([key.slice('SCHILY.xattr.'.length), Buffer.from(value)]);
  return out;
}

interface ExtractInternals {
  _header: { type: string | null } | null;
  _pax: Record<string | symbol, unknown> | null;
  _decodeLongHeader(buf: Buffer): void;
}

/** A tar-stream extractor that also keeps raw xattr values from PAX headers (instance-local hook). */
function makeExtract(): tar.Extract {
  // v7 tars (no ustar magic) are accepted like Docker does; header checksums are still verified
  const ex = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const internals = ex as unknown as ExtractInternals;
  const orig = internals._decodeLongHeader;
  if (typeof orig === 'function') {
    internals._decodeLongHeader = function (this: ExtractInternals, buf: Buffer) {
      orig.call(this, buf);
      if (this._header?.type === 'pax-header' && this._pax) this._pax[RAW_XATTRS] = rawPaxXattrs(buf);
    };
  }
  return ex;
}

const TYPES: Record<string, LayerEntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  'character-device': 'char',
  'block-device': 'block',
  directory: 'dir',
  fifo: 'fifo',
};

/** A tar entry name -> a clean relative path ('' = the root), or null when it escapes the root.
 *  Absolute names are taken relative to the root (neutralised), like Docker and containerd do. */
export function cleanPath(name: string, rooted = false): string | null {
  if (name.includes('\0')) return null;
  let p = name.replace(/^\/+/, '');
  if (p === '') return '';
  // rooted: cleaned as if under `/`, so `..` stops at the root (containerd's Apply, which ADD's extraction uses)
  p = rooted ? posix.normalize('/' + p).slice(1) : posix.normalize(p);
  if (p === '') return '';
  if (p === '..' || p.startsWith('../')) return null;
  p = p.replace(/\/+$/, '');
  return p === '.' ? '' : p;
}

export interface RawEntry {
  /** name as in the tar */
  name: string;
  entry: LayerEntry;
  /** data of file entries (read it at most once; unread data is skipped) */
  data: AsyncIterable<Buffer>;
  /** declared data size */
  size: number;
  /** byte offset in the uncompressed tar where this entry's data ends (padded) */
  end: number;
}

type TarStreamHeader = Omit<tar.Header, 'pax' | 'type'> & { type: string | null; pax?: Record<string | symbol, unknown> | null; byteOffset?: number };

function num(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function unsafe(msg: string): LayerwiseError {
  return new LayerwiseError('unsafe', msg);
}

/** Maps a tar header to a LayerEntry; throws LayerwiseError('unsafe'|'invalid') for bad names/types. `rooted`: see
 *  cleanPath (names with `..` are kept inside the target instead of refused). */
export function toLayerEntry(h: TarStreamHeader, rooted = false): LayerEntry {
  const type = h.type ? TYPES[h.type] : undefined;
  if (!type) throw new LayerwiseError('invalid', `layer entry "${h.name}" has an unsupported type (${h.type ?? 'unknown'})`);
  const path = cleanPath(h.name, rooted);
  if (path === null) throw unsafe(`layer entry "${h.name}" escapes the target`);
  const pax = h.pax ?? undefined;
  const mtimeRaw = num(pax?.mtime) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  const e: LayerEntry = {
    path,
    type,
    size: type === 'file' ? (h.size ?? 0) : 0,
    mode: (h.mode ?? 0) & 0o7777,
    uid: num(pax?.uid) ?? h.uid ?? 0,
    gid: num(pax?.gid) ?? h.gid ?? 0,
    mtime: Math.floor(mtimeRaw),
  };
  if (type === 'symlink') e.linkTarget = h.linkname ?? '';
  if (type === 'hardlink') {
    const t = cleanPath(h.linkname ?? '', rooted);
    if (t === null || t === '') throw unsafe(`layer entry "${h.name}" is a hard link to "${h.linkname ?? ''}", outside the target`);
    e.linkTarget = t;
  }
  if (type === 'char' || type === 'block') {
    e.devMajor = h.devmajor ?? 0;
    e.devMinor = h.devminor ?? 0;
  }
  const base = posix.basename(path);
  if (path !== '' && base.startsWith('.wh.')) {
    if (base === '.wh..wh..opq') {
      e.whiteout = 'opaque';
      e.path = posix.dirname(path) === '.' ? '' : posix.dirname(path);
    } else {
      const victim = base.slice(4);
      if (victim === '' || victim === '.' || victim === '..') throw unsafe(`layer entry "${h.name}" is a whiteout of "${victim}", outside its directory`);
      e.whiteout = 'file';
      const dir = posix.dirname(path);
      e.path = dir === '.' ? victim : `${dir}/${victim}`;
    }
  }
  const raw = pax?.[RAW_XATTRS];
  if (Array.isArray(raw) && raw.length) e.xattrs = Object.fromEntries(raw as Array<[string, Buffer]>);
  return e;
}

function tap(hash: Hash, count: { n: number }, max?: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      count.n += chunk.length;
      if (max !== undefined && count.n > max) return cb(new LayerwiseError('unsafe', `layer is larger than the ${max}-byte limit once decompressed`));
      cb(null, chunk);
    },
  });
}

function asCorrupt(e: unknown): unknown {
  if (e instanceof LayerwiseError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  // errors from the operating system (ENOSPC, EACCES, ...) are not the layer's fault
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new LayerwiseError('io', (e as Error).message, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new LayerwiseError('corrupt', `layer is not a valid tar: ${msg}`, { cause: e });
}

export interface TarReadResult {
  diffId: string;
  compressedDigest?: string;
  compression: Compression;
  entries: number;
  bytes: number;
}

/**
 * Reads a layer (any compression) entry by entry: `onEntry` gets each entry and must consume or ignore its
 * data stream (ignored data is drained). Detects truncation (no end-of-archive block) and reports it as
 * LayerwiseError('corrupt'); tar-stream parse errors become 'corrupt' too.
 */
export async function readLayer(
  input: NodeJS.ReadableStream,
  onEntry: (e: RawEntry) => Promise<void>,
  limits: { maxTotalSize?: number; rootedNames?: boolean } = {},
): Promise<TarReadResult> {
  const compHash = createHash('sha256');
  const compCount = { n: 0 };
  const tarHash = createHash('sha256');
  const tarCount = { n: 0 };
  const src = input as Readable;
  const rawTap = tap(compHash, compCount);
  src.on('error', (e: Error) =>
    rawTap.destroy(e instanceof LayerwiseError ? e : new LayerwiseError('io', `cannot read the layer: ${e.message}`, { cause: e })),
  );
  src.pipe(rawTap);
  const { stream: plain, compression } = decompress(rawTap);
  const plainTap = tap(tarHash, tarCount, limits.maxTotalSize);
  plain.on('error', (e: Error) => plainTap.destroy(e));
  const ex = makeExtract();
  plainTap.on('error', (e: Error) => ex.destroy(e));
  plain.pipe(plainTap).pipe(ex);
  let entries = 0;
  let lastEnd = 0;
  try {
    for await (const ent of ex) {
      const h = ent.header as unknown as TarStreamHeader;
      const size = h.size ?? 0;
      const dataStart = h.byteOffset ?? 0;
      const end = dataStart + Math.ceil(size / 512) * 512;
      lastEnd = end;
      entries++;
      const entry = toLayerEntry(h, limits.rootedNames === true);
      let used = false;
      const data: AsyncIterable<Buffer> = {
        [Symbol.asyncIterator]() {
          used = true;
          return (ent as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
        },
      };
      await onEntry({ name: h.name, entry, data, size, end });
      if (!used) for await (const _chunk of ent as AsyncIterable<Buffer>) void _chunk;
    }
  } catch (e) {
    ex.destroy();
    plain.destroy();
    rawTap.destroy();
    src.unpipe(rawTap);
    src.destroy?.();
    throw asCorrupt(e);
  }
  const c = await compression;
  if (tarCount.n === 0) throw new LayerwiseError('corrupt', 'layer is empty (not a tar archive)');
  if (tarCount.n < lastEnd + 512) throw new LayerwiseError('corrupt', 'layer tar is truncated (no end-of-archive marker)');
  const r: TarReadResult = { diffId: `sha256:${tarHash.digest('hex')}`, compression: c, entries, bytes: tarCount.n };
  if (c !== 'none') r.compressedDigest = `sha256:${compHash.digest('hex')}`;
  return r;
}
