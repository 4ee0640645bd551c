/**
 * Content hashing of selected build-context paths, for COPY/ADD cache keys.
 *
 * The digest of a selection covers, for every selected entry in path order: its path, type, mode (type and
 * permission bits), uid, gid, the sha256 of a regular file's content and a symlink's target. It does not cover
 * timestamps, so touching a file keeps the cache; chmod, chown, edits and re-pointed links change it. Symlinks
 * are hashed as links (never followed); a source path that leaves the context (`../x`, or through a symlinked
 * directory pointing outside) is an error. A stat cache (see ./statcache) avoids re-reading unchanged files.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, open, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LayerwiseError } from '../errors';
import { compareUtf8, goCleanPath } from './gostrings';
import { PatternMatcher } from './patternmatcher';
import { StatCache } from './statcache';
import { listContext, statKeyOf, type ContextEntry, type ContextEntryType } from './walk';

export interface HashOptions {
  /** the .dockerignore: a matcher or pattern strings */
  exclude?: PatternMatcher | readonly string[];
  /** where the persistent stat cache lives; without it nothing is cached across calls */
  cacheDir?: string;
  /** an already loaded cache to use (wins over cacheDir) */
  statCache?: StatCache;
  /** a source that selects nothing is an error unless this is set */
  allowEmpty?: boolean;
  /** files hashed in parallel (default 8) */
  concurrency?: number;
  /** wall clock in ms, for the stat cache's recency check (tests) */
  now?: () => number;
  /** called with the absolute path of every file whose content is read (tests, tracing) */
  onRead?: (absPath: string) => void;
}

export interface HashedFile {
  path: string;
  type: ContextEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of the content, for regular files */
  contentDigest?: string;
  linkTarget?: string;
  /** digest of everything above except the path */
  digest: string;
}

export interface HashStats {
  files: number;
  filesRead: number;
  bytesRead: number;
  cacheHits: number;
}

export interface HashResult {
  /** `sha256:…` over every selected entry's path and digest */
  digest: string;
  files: HashedFile[];
  stats: HashStats;
}

const GLOB_CHARS = /[*?[\]\\]/;

/**
 * Cleans a COPY/ADD source against the context: leading `/` and `./` dropped, `..` resolved lexically and, as
 * BuildKit resolves a source inside the context's root, never above it (`../a.txt` is the context's `a.txt`).
 * "." means the whole context.
 */
export function cleanSource(source: string): string {
  return goCleanPath('/' + source).slice(1) || '.';
}

function within(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves symlinks in the directory part of a literal source (the last element is kept as is: a symlink source
 * is hashed as a link). Throws when a link leads outside the context. Returns the resolved relative path.
 */
async function resolveSourceDirs(root: string, source: string): Promise<string> {
  if (source === '.') return source;
  const parts = source.split('/');
  let current = root;
  let hops = 0;
  for (let i = 0; i < parts.length - 1; i++) {
    let next = join(current, parts[i]!);
    for (;;) {
      let st;
      try {
        st = await lstat(next);
      } catch {
        return relative(root, join(next, ...parts.slice(i + 1))).split(sep).join('/'); // missing: reported later
      }
      if (!st.isSymbolicLink()) break;
      if (++hops > 40) throw new LayerwiseError('invalid', `source path "${source}": too many levels of symbolic links`);
      const target = await readlink(next);
      next = resolve(current, target);
      if (!within(root, next)) {
        throw new LayerwiseError('invalid', `source path "${source}" leads outside the build context (through a symbolic link)`);
      }
    }
    current = next;
  }
  const resolved = relative(root, join(current, parts[parts.length - 1]!));
  if (!within(root, join(root, resolved))) throw new LayerwiseError('invalid', `source path "${source}" is outside the build context`);
  return resolved.split(sep).join('/') || '.';
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const READ_CHUNK = 256 * 1024;
/** files up to this size are read synchronously: a few fast syscalls beat four thread-pool round trips */
const SYNC_READ_MAX = 256 * 1024;

function openError(abs: string, e: unknown): LayerwiseError {
  const err = e as NodeJS.ErrnoException;
  return new LayerwiseError(err.code === 'ENOENT' ? 'not-found' : 'io', `cannot read ${abs}: ${err.code ?? err.message}`, { cause: e });
}

/** Small files: read in one go, synchronously. O_NOFOLLOW: a symlink swapped in after the walk is not followed. */
function hashSmall(abs: string, stats: HashStats): { digest: string; statKey: string } {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    throw openError(abs, e);
  }
  try {
    const st = fstatSync(fd);
    const hash = createHash('sha256');
    // +1 so that a file that grew since the stat is still read to its end
    const chunk = Math.max(1, Math.min(READ_CHUNK, st.size + 1));
    const buf = Buffer.allocUnsafe(chunk);
    for (;;) {
      const n = readSync(fd, buf, 0, chunk, null);
      if (n === 0) break;
      hash.update(n === chunk ? buf : buf.subarray(0, n));
      stats.bytesRead += n;
    }
    stats.filesRead++;
    return { digest: 'sha256:' + hash.digest('hex'), statKey: statKeyOf(st) };
  } finally {
    closeSync(fd);
  }
}

/** Large files: streamed in chunks without blocking the event loop. */
async function hashLarge(abs: string, stats: HashStats): Promise<{ digest: string; statKey: string }> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: unknown) => {
    throw openError(abs, e);
  });
  try {
    const st = await fh.stat();
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead));
      stats.bytesRead += bytesRead;
    }
    stats.filesRead++;
    return { digest: 'sha256:' + hash.digest('hex'), statKey: statKeyOf(st) };
  } finally {
    await fh.close();
  }
}

async function hashContent(abs: string, size: number, stats: HashStats, onRead?: (p: string) => void): Promise<{ digest: string; statKey: string }> {
  onRead?.(abs);
  return size <= SYNC_READ_MAX ? hashSmall(abs, stats) : hashLarge(abs, stats);
}

function entryDigest(f: Omit<HashedFile, 'digest' | 'path'>): string {
  const fields = [
    'v1',
    f.type,
    f.mode.toString(8),
    String(f.uid),
    String(f.gid),
    f.contentDigest ?? '',
    f.linkTarget === undefined ? '' : JSON.stringify(f.linkTarget),
  ];
  return 'sha256:' + sha256Hex(fields.join('\0'));
}

/** Runs fn over items, `limit` at a time, letting other events through every so often (small reads are sync). */
async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      if (i % 256 === 255) await new Promise<void>((r) => setImmediate(r));
      await fn(items[i]!);
    }
  });
  await Promise.all(workers);
}

/**
 * Hashes the context entries selected by `sources` (COPY/ADD source paths or patterns, relative to the context;
 * a directory selects everything below it; `.dockerignore` exclusions apply).
 */
export async function hashPaths(contextDir: string, sources: readonly string[], opts: HashOptions = {}): Promise<HashResult> {
  let root: string;
  try {
    root = await realpath(resolve(contextDir));
  } catch (e) {
    throw new LayerwiseError('not-found', `build context ${contextDir} not found`, { cause: e });
  }
  const cleaned = await Promise.all(
    sources.map(async (s) => {
      const c = cleanSource(s);
      return GLOB_CHARS.test(c) ? c : resolveSourceDirs(root, c);
    }),
  );
  const whole = cleaned.includes('.');
  const perSource = cleaned.map((c) => (c === '.' ? undefined : new PatternMatcher([c])));
  const walkOpts: Parameters<typeof listContext>[1] = {};
  if (opts.exclude) walkOpts.exclude = opts.exclude;
  if (!whole && cleaned.length > 0) walkOpts.include = cleaned;
  const walked = cleaned.length === 0 ? [] : await listContext(root, walkOpts);
  // parent directories of selected paths come out of the walk too; they are not part of the selection
  // a literal source (no pattern characters) selects itself and what is below it: a string test is enough
  const literal = cleaned.every((c) => !GLOB_CHARS.test(c));
  const under = (path: string, c: string): boolean => path === c || (path.length > c.length && path.startsWith(c) && path.charCodeAt(c.length) === 0x2f);
  const selects = (path: string, i: number): boolean => (literal ? under(path, cleaned[i]!) : perSource[i]!.matchesOrParentMatches(path));
  const selected: ContextEntry[] = whole ? walked : walked.filter((e) => cleaned.some((_, i) => selects(e.path, i)));

  if (!opts.allowEmpty) {
    cleaned.forEach((c, i) => {
      const m = perSource[i];
      const found = m === undefined ? true : selected.some((e) => selects(e.path, i));
      if (!found) throw new LayerwiseError('not-found', `"${sources[i]}": not found in the build context (or excluded by .dockerignore)`);
    });
  }

  const cache = opts.statCache ?? (opts.cacheDir ? await StatCache.load(opts.cacheDir) : StatCache.memory());
  const nowMs = (opts.now ?? Date.now)();
  const stats: HashStats = { files: selected.length, filesRead: 0, bytesRead: 0, cacheHits: 0 };
  const files: HashedFile[] = new Array<HashedFile>(selected.length);
  const prefix = root.endsWith('/') ? root : root + '/';
  // files the stat cache knows are done at once, synchronously (an unchanged context costs one lstat a file);
  // the rest are read, `concurrency` at a time
  const toRead: { e: ContextEntry; i: number }[] = [];
  for (let i = 0; i < selected.length; i++) {
    const e = selected[i]!;
    if (e.type === 'file') {
      const hit = cache.getEntry(prefix + e.path, e.statKey);
      if (hit === undefined) {
        toRead.push({ e, i });
        continue;
      }
      stats.cacheHits++;
      const f: HashedFile = { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, contentDigest: hit[0], digest: '' };
      // the stat key covers mode and owner too (a chmod or chown changes ctime): the entry digest is the same
      if (hit[1] !== undefined) f.digest = hit[1];
      else {
        f.digest = entryDigest(f);
        cache.setEntryDigest(prefix + e.path, e.statKey, f.digest);
      }
      files[i] = f;
    } else {
      const base: Omit<HashedFile, 'digest'> = { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid };
      if (e.type === 'symlink' && e.linkTarget !== undefined) base.linkTarget = e.linkTarget;
      files[i] = { ...base, digest: entryDigest(base) };
    }
  }
  await runPool(toRead, Math.max(1, opts.concurrency ?? 8), async ({ e, i }) => {
    const abs = prefix + e.path;
    const read = await hashContent(abs, e.size, stats, opts.onRead);
    const base: Omit<HashedFile, 'digest'> = { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, contentDigest: read.digest };
    const digest = entryDigest(base);
    // cached under the key of what was read (a file changed since the walk is cached as it is now)
    if (cache.set(abs, read.statKey, read.digest, nowMs) && read.statKey === e.statKey) cache.setEntryDigest(abs, e.statKey, digest);
    files[i] = { ...base, digest };
  });
  if (!opts.statCache) await cache.save();

  files.sort((a, b) => compareUtf8(a.path, b.path));
  // one update of the whole listing (the same digest as one update a file, without a call into OpenSSL each)
  const listing = new Array<string>(files.length);
  for (let i = 0; i < files.length; i++) listing[i] = `${files[i]!.path}\0${files[i]!.digest}\n`;
  const top = createHash('sha256').update('layerwise-context-v1\n').update(listing.join(''));
  return { digest: 'sha256:' + top.digest('hex'), files, stats };
}

export interface FileSetDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** What changed between two selections (each sorted by path in the result). */
export function diffFileSets(
  prev: readonly { path: string; digest: string }[],
  next: readonly { path: string; digest: string }[],
): FileSetDiff {
  const before = new Map(prev.map((f) => [f.path, f.digest]));
  const after = new Map(next.map((f) => [f.path, f.digest]));
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [path, digest] of after) {
    const old = before.get(path);
    if (old === undefined) added.push(path);
    else if (old !== digest) changed.push(path);
  }
  for (const path of before.keys()) if (!after.has(path)) removed.push(path);
  return { added: added.sort(compareUtf8), changed: changed.sort(compareUtf8), removed: removed.sort(compareUtf8) };
}

/** A one-line explanation of a diff for people, e.g. `2 changed (a.go, b.go), 1 added (c.go)`. */
export function describeFileSetDiff(diff: FileSetDiff, maxNames = 3): string {
  const part = (label: string, paths: string[]): string | undefined => {
    if (paths.length === 0) return undefined;
    const shown = paths.slice(0, maxNames).join(', ');
    return `${paths.length} ${label} (${shown}${paths.length > maxNames ? ', …' : ''})`;
  };
  const parts = [part('changed', diff.changed), part('added', diff.added), part('removed', diff.removed)].filter((p) => p !== undefined);
  return parts.length === 0 ? 'no file changed' : parts.join(', ');
}
