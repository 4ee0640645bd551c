/**
 * What is known about a layer blob beyond its bytes: its diff id and its unpacked size (Docker's image SIZE is
 * the sum of these, see TarScanner). Kept in `layerinfo/<blob hex>.json`, written atomically when a layer
 * passes through the store (import, load) or, for layers that came another way, computed once on first use
 * by reading the blob. The records are a cache: a missing or unreadable one is computed again, and records of
 * blobs that are gone are dropped by GC.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { digestHex, isDigest, newHash } from '../image/digest';
import type { Descriptor } from '../image/types';
import { decompress } from '../layers';
import { TarScanner } from '../layers/tarscan';
import type { FileContentStore } from './content';
import { readJsonFile, tempName } from './fs-atomic';

export interface LayerInfo {
  /** sha256 of the plain tar */
  diffId: string;
  /** bytes the layer takes once unpacked, as Docker counts them */
  unpackedSize: number;
}

function valid(v: unknown): v is LayerInfo {
  const o = v as Partial<LayerInfo> | null;
  return !!o && typeof o.diffId === 'string' && isDigest(o.diffId) && typeof o.unpackedSize === 'number' && Number.isFinite(o.unpackedSize) && o.unpackedSize >= 0;
}

export class LayerInfoStore {
  constructor(
    readonly dir: string,
    private readonly content: FileContentStore,
    /** temp files go here (the store's tmp/, swept when their writer died) */
    private readonly tmpDir: string,
  ) {}

  private path(digest: string): string {
    return join(this.dir, `${digestHex(digest)}.json`);
  }

  async get(digest: string): Promise<LayerInfo | undefined> {
    try {
      const v = await readJsonFile<unknown>(this.path(digest));
      return valid(v) ? { diffId: v.diffId, unpackedSize: v.unpackedSize } : undefined;
    } catch {
      return undefined; // a damaged record is computed again
    }
  }

  /** Atomic (temp file + rename) but not fsynced: a record lost or torn by a crash reads as missing (see
   *  valid()) and is computed again. */
  async put(digest: string, info: LayerInfo): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, tempName('layerinfo'));
    await fsp.writeFile(tmp, JSON.stringify({ diffId: info.diffId, unpackedSize: info.unpackedSize }) + '\n', { flag: 'wx' });
    try {
      await fsp.rename(tmp, this.path(digest));
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  /** Read the blob (verified), decompress it and scan it. */
  async compute(digest: string): Promise<LayerInfo> {
    const src = await this.content.readBlob(digest, { verify: true });
    const { stream } = decompress(src);
    const scan = new TarScanner();
    const h = newHash();
    for await (const c of stream) {
      const b = c as Buffer;
      scan.update(b);
      h.update(b);
    }
    scan.finish();
    return { diffId: 'sha256:' + h.digest('hex'), unpackedSize: scan.unpackedSize };
  }

  /** The record of a layer, computing (and recording) it when missing. Undefined when the blob is missing or
   *  is not a readable layer. */
  async ensure(digest: string): Promise<LayerInfo | undefined> {
    const have = await this.get(digest);
    if (have) return have;
    let info: LayerInfo;
    try {
      info = await this.compute(digest);
    } catch {
      return undefined;
    }
    await this.put(digest, info).catch(() => undefined); // a read-only store still answers
    return info;
  }

  /** Docker's size of a layer: unpacked bytes; the blob size when that cannot be known. */
  async unpackedSize(layer: Descriptor): Promise<number> {
    return (await this.ensure(layer.digest))?.unpackedSize ?? layer.size;
  }

  /** Drop the records of blobs that are not in `keep` (digests). */
  async prune(keep: Set<string>): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      const m = /^([a-f0-9]{64})\.json$/.exec(name);
      if (!m || keep.has(`sha256:${m[1]}`)) continue;
      await fsp.rm(join(this.dir, name), { force: true });
      n++;
    }
    return n;
  }
}

/**
 * Scans a blob on its way into the store in case it is a plain layer tar: never throws; `result()` is the
 * layer info when the whole blob was a well-formed tar, else undefined.
 */
export class LayerSniffer {
  private scan: TarScanner | null = new TarScanner();
  private first = true;

  update(chunk: Buffer): void {
    if (!this.scan) return;
    if (this.first) {
      this.first = false;
      // compressed blobs and JSON are not plain tars: stop at once
      if (chunk.length > 0 && (chunk[0] === 0x1f || chunk[0] === 0x28 || chunk[0] === 0x7b)) {
        this.scan = null;
        return;
      }
    }
    try {
      this.scan.update(chunk);
    } catch {
      this.scan = null;
    }
  }

  /** the info of the blob with this digest, when it was a plain tar */
  result(digest: string): LayerInfo | undefined {
    const s = this.scan;
    if (!s || !s.ended || s.entries === 0) return undefined;
    return { diffId: digest, unpackedSize: s.unpackedSize };
  }
}
