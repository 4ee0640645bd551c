/**
 * A persistent cache of file content digests keyed by what `stat` says about the file, so that hashing an
 * unchanged build context does not read it again. An entry is valid only while the file's
 * `dev:ino:size:mtimeMs:ctimeMs` is unchanged. Files changed within the last second are not cached (their
 * timestamps could still be equal after another change in the same clock tick: git's "racily clean" problem).
 *
 * On disk: one JSON file, written atomically (temp file + rename). A missing, unreadable or malformed cache is an
 * empty cache; concurrent writers are harmless (last one wins, every entry is self-validating).
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { racyUntil } from './racy';

const FILE_NAME = 'context-stat-cache.json';
const VERSION = 1;
/** keep the cache file bounded: the oldest entries go first */
const MAX_ENTRIES = 200_000;

type Entry = [string, string, string?];

interface CacheFile {
  version: number;
  /** absolute path -> [statKey, content digest, entry digest (optional)] */
  entries: Record<string, Entry>;
}

export class StatCache {
  private readonly entries = new Map<string, Entry>();
  private dirty = false;

  private constructor(readonly file: string | undefined) {}

  /** An in-memory cache that is never saved. */
  static memory(): StatCache {
    return new StatCache(undefined);
  }

  /** Loads the cache kept in `dir` (created on save). */
  static async load(dir: string): Promise<StatCache> {
    const cache = new StatCache(join(dir, FILE_NAME));
    try {
      const parsed = JSON.parse(await readFile(cache.file!, 'utf8')) as Partial<CacheFile>;
      if (parsed.version === VERSION && parsed.entries && typeof parsed.entries === 'object') {
        for (const [path, value] of Object.entries(parsed.entries)) {
          if (Array.isArray(value) && (value.length === 2 || value.length === 3) && value.every((v) => typeof v === 'string')) {
            cache.entries.set(path, value.length === 3 ? [value[0], value[1], value[2]] : [value[0], value[1]]);
          }
        }
      }
    } catch {
      // no cache yet, or a broken one: start empty
    }
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached content digest of `absPath` if its stat key is unchanged. */
  get(absPath: string, statKey: string): string | undefined {
    const e = this.entries.get(absPath);
    return e && e[0] === statKey ? e[1] : undefined;
  }

  /** The cached content digest and, when known, the digest of the whole hashed entry (content, mode, owner:
   *  all covered by the stat key), if the stat key is unchanged. */
  getEntry(absPath: string, statKey: string): [string, string | undefined] | undefined {
    const e = this.entries.get(absPath);
    return e && e[0] === statKey ? [e[1], e[2]] : undefined;
  }

  /** Remembers the entry digest next to a cached content digest with the same stat key. */
  setEntryDigest(absPath: string, statKey: string, entryDigest: string): void {
    const e = this.entries.get(absPath);
    if (!e || e[0] !== statKey || e[2] === entryDigest) return;
    e[2] = entryDigest;
    this.dirty = true;
  }

  /**
   * Remembers a digest unless the file is too recently changed to trust its timestamps.
   * `nowMs` is the wall clock in milliseconds (injectable for tests).
   */
  set(absPath: string, statKey: string, digest: string, nowMs: number): boolean {
    const parts = statKey.split(':');
    if (!(racyUntil(Number(parts[3]), Number(parts[4])) <= nowMs)) {
      if (this.entries.delete(absPath)) this.dirty = true;
      return false;
    }
    const old = this.entries.get(absPath);
    if (old && old[0] === statKey && old[1] === digest) return true;
    this.entries.delete(absPath); // re-insert at the end: most recently used
    this.entries.set(absPath, [statKey, digest]);
    this.dirty = true;
    return true;
  }

  /** Writes the cache if it changed. Errors are swallowed: a cache that cannot be saved is just slower. */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    const data: CacheFile = { version: VERSION, entries: Object.fromEntries(this.entries) };
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await mkdir(join(this.file, '..'), { recursive: true });
      await writeFile(tmp, JSON.stringify(data));
      await rename(tmp, this.file);
      this.dirty = false;
    } catch {
      await unlink(tmp).catch(() => undefined);
    }
  }
}
