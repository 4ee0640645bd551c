/** Encoding of tar headers for layers we write: ustar headers, with a PAX extended header when a field does
 *  not fit (long or non-ASCII names and link targets, big ids and sizes) and for xattrs
 *  (`SCHILY.xattr.<name>`, values kept as raw bytes). Deterministic: no uname/gname, fixed PAX header name,
 *  records in a fixed order. */

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** relative path; for directories without the trailing '/' (added here) */
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** sorted by name by the caller or here */
  xattrs?: Array<[string, Buffer]>;
}

const TYPEFLAG: Record<TarType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const MAX_OCT7 = 0o7777777;
const MAX_OCT11 = 0o77777777777;

function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function writeOctal(buf: Buffer, off: number, len: number, value: number): void {
  // len-1 octal digits, then NUL
  const s = Math.max(0, Math.floor(value)).toString(8).padStart(len - 1, '0');
  buf.write(s, off, len - 1, 'ascii');
  buf[off + len - 1] = 0;
}

function writeStr(buf: Buffer, off: number, len: number, s: string): void {
  buf.write(s, off, len, 'utf8');
}

/** One PAX record: "<len> <key>=<value>\n", len counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function ustar(h: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const b = Buffer.alloc(512);
  writeStr(b, 0, 100, h.name);
  writeOctal(b, 100, 8, h.mode & 0o7777);
  writeOctal(b, 108, 8, h.uid > MAX_OCT7 ? 0 : h.uid);
  writeOctal(b, 116, 8, h.gid > MAX_OCT7 ? 0 : h.gid);
  writeOctal(b, 124, 12, h.size > MAX_OCT11 ? 0 : h.size);
  writeOctal(b, 136, 12, Math.min(h.mtime, MAX_OCT11));
  b.fill(0x20, 148, 156);
  b.write(h.typeflag, 156, 1, 'ascii');
  writeStr(b, 157, 100, h.linkname);
  b.write('ustar\u000000', 257, 8, 'ascii');
  writeOctal(b, 329, 8, h.devmajor > MAX_OCT7 ? 0 : h.devmajor);
  writeOctal(b, 337, 8, h.devminor > MAX_OCT7 ? 0 : h.devminor);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  const cs = sum.toString(8).padStart(6, '0');
  b.write(cs, 148, 6, 'ascii');
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

function putAscii(buf: Buffer, off: number, s: string): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    buf[off + i] = c;
    sum += c;
  }
  return sum;
}

/** len-1 octal digits, then NUL (the field must already be zero); returns the bytes' sum */
function putOctal(buf: Buffer, off: number, len: number, value: number): number {
  let v = Math.max(0, Math.floor(value));
  let sum = 0;
  for (let i = off + len - 2; i >= off; i--) {
    const c = 0x30 + (v % 8);
    buf[i] = c;
    sum += c;
    v = Math.floor(v / 8);
  }
  return sum;
}

const USTAR_MAGIC_SUM = putAscii(Buffer.alloc(8), 0, 'ustar\u000000');

/**
 * The common case of encodeHeader, written straight into `buf` at `off` (512 bytes, which it overwrites): an
 * entry whose name and link target are printable ASCII of at most 100 bytes, with no xattrs and ids and size that
 * fit their octal fields. Returns false, writing nothing, when the entry needs a PAX header (then use
 * encodeHeader). The bytes are encodeHeader's, without its allocations (a layer of small files has one header for
 * every few kilobytes).
 */
export function encodeUstarInto(buf: Buffer, off: number, h: TarHeader): boolean {
  const name = h.type === 'dir' ? `${h.name}/` : h.name;
  const linkname = h.linkname ?? '';
  if (name.length > 100 || linkname.length > 100 || !isPlainAscii(name) || !isPlainAscii(linkname)) return false;
  if (h.size > MAX_OCT11 || h.uid > MAX_OCT7 || h.gid > MAX_OCT7 || (h.xattrs && h.xattrs.length)) return false;
  const devmajor = h.devmajor ?? 0;
  const devminor = h.devminor ?? 0;
  buf.fill(0, off, off + 512);
  let sum = putAscii(buf, off, name);
  sum += putOctal(buf, off + 100, 8, h.mode & 0o7777);
  sum += putOctal(buf, off + 108, 8, h.uid);
  sum += putOctal(buf, off + 116, 8, h.gid);
  sum += putOctal(buf, off + 124, 12, h.size);
  sum += putOctal(buf, off + 136, 12, Math.min(h.mtime, MAX_OCT11));
  sum += 8 * 0x20; // the checksum field counts as spaces
  const tf = TYPEFLAG[h.type].charCodeAt(0);
  buf[off + 156] = tf;
  sum += tf;
  sum += putAscii(buf, off + 157, linkname);
  putAscii(buf, off + 257, 'ustar\u000000');
  sum += USTAR_MAGIC_SUM;
  sum += putOctal(buf, off + 329, 8, devmajor > MAX_OCT7 ? 0 : devmajor);
  sum += putOctal(buf, off + 337, 8, devminor > MAX_OCT7 ? 0 : devminor);
  putOctal(buf, off + 148, 7, sum); // six digits and a NUL, then a space
  buf[off + 155] = 0x20;
  return true;
}

/** A name that fits the 100-byte ustar field, for readers that ignore PAX (the PAX `path` wins). */
function shortName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= 100 ? ascii : ascii.slice(ascii.length - 100);
}

/** The header block(s) of one entry: [PAX header + PAX data + padding] + ustar header. */
export function encodeHeader(h: TarHeader): Buffer {
  const name = h.type === 'dir' ? `${h.name}/` : h.name;
  const linkname = h.linkname ?? '';
  const pax: Buffer[] = [];
  const nameFits = isPlainAscii(name) && name.length <= 100;
  const linkFits = isPlainAscii(linkname) && linkname.length <= 100;
  if (!nameFits) pax.push(paxRecord('path', Buffer.from(name, 'utf8')));
  if (!linkFits) pax.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
  if (h.size > MAX_OCT11) pax.push(paxRecord('size', Buffer.from(String(h.size))));
  if (h.uid > MAX_OCT7) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > MAX_OCT7) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (h.xattrs) {
    const xs = [...h.xattrs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [k, v] of xs) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  }
  const main = ustar({
    name: nameFits ? name : shortName(name),
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime: h.mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: linkFits ? linkname : shortName(linkname),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const data = Buffer.concat(pax);
  const paxHead = ustar({
    name: 'PaxHeader',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: h.mtime,
    typeflag: 'x',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHead, data, padding(data.length), main]);
}

const ZEROS = Buffer.alloc(1024);
/** Zero bytes that pad `size` bytes of entry data to a 512-byte block. */
export function padding(size: number): Buffer {
  const r = size % 512;
  return r === 0 ? ZEROS.subarray(0, 0) : ZEROS.subarray(0, 512 - r);
}
/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Buffer = ZEROS;
