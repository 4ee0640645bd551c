/**
 * TarScanner: a cheap pass over a plain tar stream that looks only at its header blocks (the file data is
 * skipped by arithmetic, never copied). It checks that the bytes are a tar (header checksums, sizes), and sums
 * the unpacked size of the layer the way Docker 26 (overlay2) counts a layer it loads or imports: a walk of the
 * unpacked layer adding the `st_size` of everything but directories, hard links once — regular file sizes plus
 * symlink target lengths (whiteouts are 0/0 devices: 0). Checked against the real Docker in
 * test/integration/interop.test.ts. (Layers Docker builds itself with BuildKit are counted without their
 * symlinks, so a built image can show a few bytes less there than once it is saved and loaded.) Used where a
 * layer passes through the store anyway (import, load), so that `images` can show Docker's SIZE without
 * unpacking anything again.
 */
import { LayerwiseError } from '../errors';
import { paxRecords } from './tarentry';

const BLOCK = 512;
/** entry types whose size field is not followed by data (as Go's archive/tar reads them) */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

function invalid(msg: string): LayerwiseError {
  return new LayerwiseError('invalid', msg);
}

/** Octal (NUL/space terminated) or GNU base-256 numeric field. */
function parseNumber(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    // the sign bit (0xff) would mean negative: treat as invalid
    if (b[off] === 0xff) return -1;
    return v + (b[off]! & 0x3f) * 256 ** (len - 1);
  }
  let v = 0;
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return -1;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? 0 : v;
}

/** A tar header block's checksum: the unsigned or the signed byte sum, the checksum field counted as spaces. */
export function headerChecksumOk(h: Buffer): boolean {
  const stored = parseNumber(h, 148, 8);
  if (stored < 0) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** The PAX records we care about (size, linkpath), values as strings. */
function paxSizeAndLink(buf: Buffer): { size?: number; linkpath?: string } {
  const out: { size?: number; linkpath?: string } = {};
  for (const [key, value] of paxRecords(buf)) {
    if (key === 'size') out.size = Number(value.toString('latin1'));
    else if (key === 'linkpath') out.linkpath = value.toString('utf8');
  }
  return out;
}

export class TarScanner {
  /** Docker's size of the unpacked layer (see the file comment) */
  unpackedSize = 0;
  /** entries seen (PAX/GNU meta headers not counted) */
  entries = 0;
  /** bytes seen */
  bytes = 0;
  /** saw the end-of-archive marker (a zero block) */
  ended = false;

  /** header blocks seen, meta headers included */
  private headers = 0;
  private head = Buffer.allocUnsafe(BLOCK);
  private headFill = 0;
  /** bytes of entry data (incl. padding) still to skip */
  private skip = 0;
  /** collecting the data of a meta header (PAX 'x', GNU 'K') */
  private meta: { type: string; buf: Buffer; fill: number; pad: number } | null = null;
  private nextSize: number | undefined;
  private nextLink: string | undefined;

  /** Feed the next bytes of the stream. Throws LayerwiseError('invalid') when they are not a tar. */
  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.ended) return; // whatever follows the end marker is padding to the record size
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - off);
        this.skip -= k;
        off += k;
        continue;
      }
      if (this.meta) {
        const m = this.meta;
        if (m.fill < m.buf.length) {
          const k = Math.min(m.buf.length - m.fill, n - off);
          chunk.copy(m.buf, m.fill, off, off + k);
          m.fill += k;
          off += k;
          if (m.fill < m.buf.length) continue;
        }
        this.meta = null;
        this.skip = m.pad;
        if (m.type === 'x') {
          const r = paxSizeAndLink(m.buf);
          if (r.size !== undefined && Number.isFinite(r.size) && r.size >= 0) this.nextSize = r.size;
          if (r.linkpath !== undefined) this.nextLink = r.linkpath;
        } else if (m.type === 'K') {
          const z = m.buf.indexOf(0);
          this.nextLink = m.buf.subarray(0, z < 0 ? m.buf.length : z).toString('utf8');
        }
        continue;
      }
      // a header block, possibly split over chunks
      let h: Buffer;
      if (this.headFill === 0 && n - off >= BLOCK) {
        h = chunk.subarray(off, off + BLOCK);
        off += BLOCK;
      } else {
        const k = Math.min(BLOCK - this.headFill, n - off);
        chunk.copy(this.head, this.headFill, off, off + k);
        this.headFill += k;
        off += k;
        if (this.headFill < BLOCK) continue;
        this.headFill = 0;
        h = this.head;
      }
      this.header(h);
    }
  }

  private header(h: Buffer): void {
    let zero = true;
    for (let i = 0; i < BLOCK; i += 4) {
      if (h.readUInt32LE(i) !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) {
      this.ended = true;
      return;
    }
    if (!headerChecksumOk(h)) {
      throw invalid(this.headers === 0 ? 'the input is not a tar archive' : `the input is not a valid tar archive: bad header checksum at byte ${this.bytes}`);
    }
    this.headers++;
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    let size = parseNumber(h, 124, 12);
    if (size < 0) throw invalid('the input is not a valid tar archive: bad size field');
    const metaType = type === 'x' || type === 'g' || type === 'L' || type === 'K';
    if (!metaType && this.nextSize !== undefined) size = this.nextSize;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x' || type === 'K') {
      if (size > 8 << 20) throw invalid('the input is not a valid tar archive: extended header too large');
      this.meta = { type, buf: Buffer.alloc(size), fill: 0, pad };
      return;
    }
    if (metaType) {
      this.skip = size + pad; // global PAX headers and GNU long names: nothing we need
      return;
    }
    this.entries++;
    if (type === '0' || type === '7') this.unpackedSize += size;
    else if (type === '2') {
      const link = this.nextLink ?? latinField(h, 157, 100);
      this.unpackedSize += Buffer.byteLength(link, 'utf8');
    }
    this.nextSize = undefined;
    this.nextLink = undefined;
    // links, directories, devices and fifos carry no data whatever their size field says
    this.skip = HEADER_ONLY.has(type) ? 0 : size + pad;
  }

  /** Call at the end of the stream: throws when it stopped inside an entry. */
  finish(): void {
    if (this.ended) return;
    if (this.skip > 0 || this.meta || this.headFill > 0) throw invalid('the input is not a valid tar archive: unexpected end of data');
  }
}

function latinField(b: Buffer, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return b.subarray(off, end).toString('utf8');
}
