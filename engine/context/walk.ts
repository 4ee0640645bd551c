/**
 * Walking a build context the way BuildKit's context transfer (fsutil) selects files: `.dockerignore` patterns
 * exclude paths (MatchesUsingParentResults, parent results carried down), optional include patterns (COPY
 * sources) narrow the selection, an excluded directory is skipped whole unless an exclusion pattern (`!…`) could
 * re-include something below it, and an excluded directory that does hold re-included entries is still listed
 * (before them) so the tree stays complete. Symlinks are never followed: they are entries with their target.
 *
 * Entries come out one by one (an async iterator) in byte order of their forward-slash relative paths. Memory
 * is bounded by the directory listings along the current path; file contents are never read.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LayerwiseError } from '../errors';
import { compareUtf8 } from './gostrings';
import { NO_MATCH_INFO, PatternMatcher, type MatchInfo } from './patternmatcher';

export type ContextEntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export interface ContextEntry {
  /** relative to the context root, forward slashes, no leading `./` */
  path: string;
  type: ContextEntryType;
  /** st_mode: file type bits and permission bits (incl. setuid/setgid/sticky) */
  mode: number;
  uid: number;
  gid: number;
  /** bytes (for a symlink: the length of its target) */
  size: number;
  mtimeMs: number;
  /** the symlink's target, as stored (never resolved) */
  linkTarget?: string;
  nlink: number;
  /** identity and change key for stat caches: `dev:ino:size:mtimeMs:ctimeMs` (sub-microsecond times) */
  statKey: string;
}

export interface WalkOptions {
  /** exclude patterns: a matcher built from the .dockerignore, or the pattern strings */
  exclude?: PatternMatcher | readonly string[];
  /** include patterns (like fsutil IncludePatterns): only paths matching one (or under a match) are kept */
  include?: PatternMatcher | readonly string[];
  signal?: AbortSignal;
  /** called with the relative path ('' for the root) of every directory that is listed (tracing, tests) */
  onDir?: (relDir: string) => void;
}

export function entryTypeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean }): ContextEntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char-device';
  return 'block-device';
}

/** The stat-cache key of a file: identity, size and both timestamps. */
export function statKeyOf(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function toEntry(path: string, st: Stats, linkTarget: string | undefined): ContextEntry {
  const entry: ContextEntry = {
    path,
    type: entryTypeOf(st),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    nlink: st.nlink,
    statKey: statKeyOf(st),
  };
  if (linkTarget !== undefined) entry.linkTarget = linkTarget;
  return entry;
}

function asMatcher(m: PatternMatcher | readonly string[] | undefined): PatternMatcher | undefined {
  if (m === undefined) return undefined;
  if (m instanceof PatternMatcher) return m;
  return m.length === 0 ? undefined : new PatternMatcher(m);
}

function ioError(what: string, path: string, e: unknown): LayerwiseError {
  const err = e as NodeJS.ErrnoException;
  const kind = err.code === 'ENOENT' ? 'not-found' : 'io';
  return new LayerwiseError(kind, `${what} ${path}: ${err.code ?? err.message}`, { cause: e });
}

/** A directory entry's name; a name that does not survive decoding would be mis-named or silently lost: it is
 *  refused instead. */
function decodeName(b: Buffer, dirAbs: string): string {
  const name = b.toString('utf8');
  // only names with bytes above 0x7f can fail to round-trip
  let ascii = true;
  for (let i = 0; i < b.length; i++) if (b[i]! > 0x7f) ascii = false;
  if (!ascii && (Buffer.byteLength(name) !== b.length || !Buffer.from(name).equals(b))) {
    throw new LayerwiseError('invalid', `file name is not valid UTF-8 in ${dirAbs}: ${JSON.stringify(b.toString('latin1'))}`);
  }
  return name;
}

/** A directory's entry names. Read as strings (no Buffer a name); invalid UTF-8 decodes to U+FFFD, so only when a
 *  name holds one is the directory read again as bytes to tell a real U+FFFD from a name that cannot be decoded. */
function readNamesSync(dirAbs: string): string[] {
  const names = readdirSync(dirAbs);
  for (const n of names) if (n.includes('\ufffd')) return readdirSync(dirAbs, { encoding: 'buffer' }).map((b) => decodeName(b, dirAbs));
  return names;
}

/** `parent/name` for a normalized absolute parent (path.join would normalize again, for every entry). */
function childPath(parent: string, name: string): string {
  return parent.length === 1 ? parent + name : parent + '/' + name;
}

const SURROGATE = /[\ud800-\udfff]/;

/** Sorts names in place by the bytes of their UTF-8 encoding: JavaScript's own string order is the same unless a
 *  name holds an astral character (a surrogate pair), which only compareUtf8 places right. */
function sortNames<T>(items: T[], key: (t: T) => string): T[] {
  if (items.some((t) => SURROGATE.test(key(t)))) return items.sort((a, b) => compareUtf8(key(a), key(b)));
  return items.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Per-directory state carried to children: the parent's match results. */
interface DirState {
  abs: string;
  rel: string;
  excludeInfo: MatchInfo;
  includeInfo: MatchInfo;
}

/** A listed child: the entry (if it is kept) and, for a directory to descend into, its state. */
interface Child {
  name: string;
  entry: ContextEntry;
  /** kept in the output (not excluded / not outside the include patterns) */
  visible: boolean;
  descend?: DirState;
}

class ContextWalker {
  private readonly exclude: PatternMatcher | undefined;
  private readonly include: PatternMatcher | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onDir: ((relDir: string) => void) | undefined;

  constructor(opts: WalkOptions) {
    this.onDir = opts.onDir;
    this.exclude = asMatcher(opts.exclude);
    this.include = asMatcher(opts.include);
    this.signal = opts.signal;
  }

  /** Entries below `dir` (not `dir` itself), in byte order of their paths. */
  async *walkDir(dir: DirState): AsyncGenerator<ContextEntry> {
    if (this.signal?.aborted) throw new LayerwiseError('internal', 'context walk cancelled');
    const children = await this.listChildren(dir);
    // a directory's own entry sorts at its name, its contents at name + "/"
    const items: { key: string; child: Child; subtree: boolean }[] = [];
    for (const child of children) {
      items.push({ key: child.name, child, subtree: false });
      if (child.descend) items.push({ key: child.name + '/', child, subtree: true });
    }
    items.sort((a, b) => compareUtf8(a.key, b.key));
    // directories that are hidden themselves and turned out to hold nothing visible
    const emptyHidden = new Set<Child>();
    for (const item of items) {
      const { child } = item;
      if (item.subtree) {
        if (!emptyHidden.has(child)) yield* this.walkDir(child.descend!);
        continue;
      }
      if (child.visible) {
        yield child.entry;
      } else if (child.descend) {
        // an excluded directory is listed only when something below it is re-included (fsutil does the same)
        if (await this.hasVisible(child.descend)) yield child.entry;
        else emptyHidden.add(child);
      }
    }
  }

  /** walkDir without a thread-pool hop or a promise per directory: the entries below `dir` appended to `out`. */
  walkDirSync(dir: DirState, out: ContextEntry[]): void {
    const children = this.listChildrenSync(dir);
    if (!children.some((c) => c.descend)) {
      // no subdirectory: the entries in name order, no bookkeeping
      for (const child of sortNames(children, (c) => c.name)) if (child.visible) out.push(child.entry);
      return;
    }
    const items: { key: string; child: Child; subtree: boolean }[] = [];
    for (const child of children) {
      items.push({ key: child.name, child, subtree: false });
      if (child.descend) items.push({ key: child.name + '/', child, subtree: true });
    }
    sortNames(items, (i) => i.key);
    // what hidden directories turned out to hold (nothing: they are left out whole)
    const hidden = new Map<Child, ContextEntry[]>();
    for (const item of items) {
      const { child } = item;
      if (item.subtree) {
        const below = hidden.get(child);
        if (below) out.push(...below);
        else if (child.visible) this.walkDirSync(child.descend!, out);
        continue;
      }
      if (child.visible) {
        out.push(child.entry);
      } else if (child.descend) {
        const below: ContextEntry[] = [];
        this.walkDirSync(child.descend, below);
        hidden.set(child, below);
        if (below.length) out.push(child.entry);
      }
    }
  }

  private listChildrenSync(dir: DirState): Child[] {
    let names: string[];
    this.onDir?.(dir.rel);
    try {
      names = readNamesSync(dir.abs);
    } catch (e) {
      if (e instanceof LayerwiseError) throw e;
      throw ioError('cannot read directory', dir.abs, e);
    }
    const out: Child[] = [];
    for (const name of names) {
      const r = this.examine(dir, name);
      if (r) out.push(r);
    }
    return out;
  }

  private async hasVisible(dir: DirState): Promise<boolean> {
    for await (const _ of this.walkDir(dir)) return true;
    return false;
  }

  private async listChildren(dir: DirState): Promise<Child[]> {
    let raw: Buffer[];
    this.onDir?.(dir.rel);
    try {
      raw = await readdir(dir.abs, { encoding: 'buffer' });
    } catch (e) {
      throw ioError('cannot read directory', dir.abs, e);
    }
    const names = raw.map((b) => decodeName(b, dir.abs));
    // lstat is synchronous on purpose: one directory's worth of cheap syscalls is far faster than a promise and
    // a thread-pool hop per entry, and the walk still yields to the event loop at every directory
    const out: Child[] = [];
    for (const name of names) {
      const r = this.examine(dir, name);
      if (r) out.push(r);
    }
    return out;
  }

  private examine(dir: DirState, name: string): Child | undefined {
    const abs = childPath(dir.abs, name);
    const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
    let st: Stats | undefined;
    try {
      st = lstatSync(abs, { throwIfNoEntry: false });
    } catch (e) {
      throw ioError('cannot stat', abs, e);
    }
    if (st === undefined) return undefined; // removed while we walked
    const isDir = st.isDirectory();
    let visible = true;
    let includeInfo = NO_MATCH_INFO;
    let excludeInfo = NO_MATCH_INFO;

    if (this.include) {
      const r = this.include.matchesUsingParentResults(rel, dir.includeInfo);
      includeInfo = r.info;
      // for include patterns "matches" means "selected"
      if (!r.excluded) {
        if (isDir && !this.include.couldIncludeBelow(rel)) return undefined;
        visible = false;
      }
    }
    if (this.exclude) {
      const r = this.exclude.matchesUsingParentResults(rel, dir.excludeInfo);
      excludeInfo = r.info;
      if (r.excluded) {
        if (isDir && !this.exclude.couldReincludeBelow(rel)) return undefined;
        visible = false;
      }
    }
    if (!visible && !isDir) return undefined;

    let linkTarget: string | undefined;
    if (st.isSymbolicLink()) {
      try {
        linkTarget = readlinkSync(abs);
      } catch (e) {
        throw ioError('cannot read link', abs, e);
      }
    }
    const child: Child = { name, entry: toEntry(rel, st, linkTarget), visible };
    if (isDir) child.descend = { abs, rel, excludeInfo, includeInfo };
    return child;
  }
}

/** Resolves and checks the context root (a symlink to a directory is fine, like `docker build link/`): the
 *  directory as an absolute, normalized path. */
async function contextRoot(contextDir: string): Promise<string> {
  const root = resolve(contextDir);
  try {
    const st = await stat(root);
    if (!st.isDirectory()) throw new LayerwiseError('invalid', `build context ${contextDir} is not a directory`);
  } catch (e) {
    if (e instanceof LayerwiseError) throw e;
    throw ioError('cannot open build context', contextDir, e);
  }
  return root;
}

/**
 * Walks the build context: every kept entry below `contextDir`, in byte order of path, streamed.
 * Throws LayerwiseError('invalid') for a bad pattern, ('not-found'/'io') when the context cannot be read.
 */
export async function* walkContext(contextDir: string, opts: WalkOptions = {}): AsyncGenerator<ContextEntry> {
  const root = await contextRoot(contextDir);
  const walker = new ContextWalker(opts);
  yield* walker.walkDir({ abs: root, rel: '', excludeInfo: NO_MATCH_INFO, includeInfo: NO_MATCH_INFO });
}

/** walkContext collected into an array: the same entries, listed synchronously (no promise per entry). */
export async function listContext(contextDir: string, opts: WalkOptions = {}): Promise<ContextEntry[]> {
  const root = await contextRoot(contextDir);
  const out: ContextEntry[] = [];
  new ContextWalker(opts).walkDirSync({ abs: root, rel: '', excludeInfo: NO_MATCH_INFO, includeInfo: NO_MATCH_INFO }, out);
  return out;
}
