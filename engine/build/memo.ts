/**
 * The build memo: a rebuild in which nothing changed, answered without planning a single step.
 *
 * A successful build leaves a memo (`cache/memo/<hex>.json`, one per Dockerfile, context and options) that names
 * everything its result depended on: the engine, the Dockerfile's text, the ignore patterns, a fingerprint of the
 * context (every entry the build could see, by path, type, mode, owner and stat identity: device, inode, size,
 * mtime and ctime), the base images each FROM and `--from` resolved to, and the text of every cache record its
 * steps used. The next build with the same options checks all of that (a walk of the context: one lstat per
 * entry, nothing read) and, when every part is the same, reports every step as cached, in the order and with the
 * cache keys and layers that a full run would report, and names the image, as a full run would: the same tags,
 * `--iidfile`, events and exit. Anything different — or anything it cannot check — and the build runs in full.
 *
 * What keeps it exact:
 * - The fingerprint is taken before the build reads the context, and the memo is written only when no entry had
 *   changed within a timestamp tick before it (a file changed twice within one tick would keep its stat: the stat
 *   cache has the same rule; engine/context/racy.ts says how long a tick is on the entry's filesystem). So any
 *   change made after the fingerprint, even one the build itself saw, changes a stat the memo recorded, and the
 *   next build runs in full.
 * - Builds that read anything else are never memoized: secrets, SSH, `ADD` of URLs and git repositories,
 *   `--no-cache`, `--no-cache-filter`, a Dockerfile from stdin.
 * - Cache records are compared by their bytes, and every blob the image needs must still be in the store: a
 *   `builder prune`, an `rmi`, a GC or a `--no-cache` rebuild that rewrote a record sends the build down the full
 *   path. The check runs under the store's write session, so a GC cannot remove what it vouched for.
 * - The build history (the editor's hints) is not written: a full all-cached rebuild leaves it unchanged too.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { racyUntil } from '../context/racy';
import { listContext } from '../context/walk';
import type { Descriptor } from '../image/types';
import { writeFileAtomic } from '../store/fs-atomic';
import type { Store } from '../store/store';
import { BuildCache } from './cache';
import type { BuildEvent, StepEvent } from './events';
import { trace } from './trace';

/**
 * Tunables and counters. `racyWindowMs`, when set, replaces the per-filesystem window of engine/context/racy.ts for
 * every entry (in-process tests set it: their contexts are always just written).
 */
export const memoSettings: { racyWindowMs: number | undefined; hits: number; written: number } = { racyWindowMs: undefined, hits: 0, written: 0 };

/** What a build's memo key is made of: every option that can change its result (tags, iidfile and progress
 *  cannot: they are applied afresh). */
export interface MemoOptions {
  dockerfilePath: string;
  contextDir: string;
  target?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  network?: string;
  sourceDateEpoch?: number;
  extraHosts?: { host: string; ip: string }[];
}

export interface ContextPrint {
  digest: string;
  /** the newest mtime or ctime among the entries (ms) */
  newest: number;
  /** until when (ms) some entry is racy (engine/context/racy.ts) */
  racyUntil: number;
  /** Date.now() when the walk started */
  takenAt: number;
}

interface MemoRecord {
  key: string;
  /** the record file's bytes */
  text: string;
  /** its layer blob, which must still be in the store */
  blob?: string;
}

export interface Memo {
  v: 1;
  engine: string;
  options: string;
  dockerfile: string;
  ignore: string;
  context: string;
  /** FROM / --from references and the manifest each resolved to */
  images: { ref: string; manifest: string }[];
  records: MemoRecord[];
  imageId: string;
  configDigest: string;
  manifest: Descriptor;
  /** the step events of the all-cached run, in order */
  events: StepEvent[];
  steps: { cached: number; built: number; total: number };
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

let engineIdentity: string | undefined;
/** The engine that wrote a memo: this module's file (the bundle, in a release), by size and mtime. */
function engine(): string {
  if (engineIdentity === undefined) {
    try {
      const st = statSync(__filename);
      engineIdentity = `${st.size}:${st.mtimeMs}`;
    } catch {
      engineIdentity = 'unknown';
    }
  }
  return engineIdentity;
}

function sorted(r: Record<string, string> | undefined): [string, string][] {
  return Object.entries(r ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The options part of the key, as one string. */
export function memoOptions(o: MemoOptions): string {
  return JSON.stringify([
    o.dockerfilePath,
    o.contextDir,
    o.target ?? null,
    sorted(o.buildArgs),
    sorted(o.labels),
    o.network ?? null,
    o.sourceDateEpoch ?? null,
    // (only when given: the keys of memos written before stay the same)
    ...(o.extraHosts?.length ? [o.extraHosts.map((h) => `${h.host}=${h.ip}`)] : []),
    typeof process.getuid === 'function' ? process.getuid() : null,
    process.env.LAYERWISE_USERNS ?? null,
  ]);
}

export function memoPath(store: Store, options: string): string {
  return join(store.cacheDir, 'memo', sha(options) + '.json');
}

/** The context as the build sees it (ignore patterns applied), as one digest; undefined when it cannot be walked
 *  (the full build then reports why). */
export async function contextPrint(contextDir: string, ignore: readonly string[]): Promise<ContextPrint | undefined> {
  const takenAt = Date.now();
  let entries;
  try {
    entries = await listContext(contextDir, { exclude: ignore });
  } catch {
    return undefined;
  }
  // every field of every entry (path, type, mode, owner, size, link target, and the stat key: device, inode, size,
  // mtime, ctime), serialized in one native call
  const h = createHash('sha256').update(JSON.stringify(entries));
  let newest = 0;
  let until = 0;
  for (const e of entries) {
    const k = e.statKey;
    const ctime = +k.slice(k.lastIndexOf(':') + 1);
    if (ctime > newest) newest = ctime;
    if (e.mtimeMs > newest) newest = e.mtimeMs;
    const u = racyUntil(e.mtimeMs, ctime);
    if (u > until) until = u;
  }
  return { digest: h.digest('hex'), newest, racyUntil: until, takenAt };
}

export function ignoreKey(ignore: readonly string[]): string {
  return sha(JSON.stringify(ignore));
}

export interface MemoCheck {
  store: Store;
  options: string;
  dockerfileText: string;
  ignore: readonly string[];
  contextDir: string;
}

/** The memo, when everything it depended on is as it was; `print` is the context fingerprint taken on the way
 *  (the full build reuses it). The caller holds the store's write session. */
export async function checkMemo(c: MemoCheck): Promise<{ memo?: Memo; print?: ContextPrint }> {
  let memo: Memo | undefined;
  try {
    memo = JSON.parse(readFileSync(memoPath(c.store, c.options), 'utf8')) as Memo;
  } catch {
    return {}; // none yet, or unreadable: the full build writes a new one
  }
  if (!memo || memo.v !== 1 || memo.engine !== engine() || memo.options !== c.options) return {};
  if (memo.dockerfile !== sha(c.dockerfileText) || memo.ignore !== ignoreKey(c.ignore)) return {};
  const print = await contextPrint(c.contextDir, c.ignore);
  trace('memo: context walked');
  if (!print || print.digest !== memo.context) return { ...(print ? { print } : {}) };
  // the base images through the store's own resolution; meanwhile the records and blobs, read synchronously
  // (a few small files: far cheaper than a thread-pool round trip each)
  const images = Promise.all(memo.images.map(async (i) => (await c.store.images.resolve(i.ref).catch(() => undefined))?.manifestDescriptor.digest === i.manifest));
  let ok = hasBlob(c.store, memo.manifest.digest) && hasBlob(c.store, memo.configDigest);
  for (const r of memo.records) {
    if (!ok) break;
    let text: string | undefined;
    try {
      text = readFileSync(recordPath(c.store, r.key), 'utf8');
    } catch {
      text = undefined;
    }
    ok = text === r.text && (r.blob === undefined || hasBlob(c.store, r.blob));
  }
  ok = (await images).every(Boolean) && ok;
  if (!ok) return { print };
  memoSettings.hits++;
  return { memo, print };
}

/** As ContentStore.info (a stat of the blob's file), synchronously. */
function hasBlob(store: Store, digest: string): boolean {
  try {
    return statSync(store.content.blobPath(digest)).isFile();
  } catch {
    return false;
  }
}

function recordPath(store: Store, key: string): string {
  return new BuildCache(store.cacheDir, store.tmpDir).recordPath(key);
}

/** The step events an all-cached rebuild reports, from the events of a build that succeeded: undefined when the
 *  build had a step that a rebuild would not take from the cache. */
export function cachedReplay(events: readonly BuildEvent[]): StepEvent[] | undefined {
  const out: StepEvent[] = [];
  for (const e of events) {
    if (e.type !== 'step') continue;
    if (e.status === 'running') out.push(e);
    else if (e.status === 'cached' || (e.status === 'done' && e.cacheKey !== undefined)) {
      const { miss: _miss, ...rest } = e;
      out.push({ ...rest, status: 'cached', duration: 0 });
    } else if (e.status === 'done') out.push(e);
    else return undefined;
  }
  return out;
}

export interface MemoWrite {
  store: Store;
  options: string;
  dockerfileText: string;
  ignore: readonly string[];
  contextDir: string;
  /** the fingerprint taken before the build read the context */
  print: ContextPrint;
  images: Map<string, string>;
  events: readonly BuildEvent[];
  /** the image ID: its config's digest */
  imageId: string;
  manifest: Descriptor;
  total: number;
}

/** Writes the memo of a build that succeeded, when it can be trusted (see the module comment). */
export async function writeMemo(w: MemoWrite): Promise<boolean> {
  const racy = memoSettings.racyWindowMs === undefined ? w.print.racyUntil : w.print.newest + memoSettings.racyWindowMs;
  if (racy > w.print.takenAt) return false;
  const events = cachedReplay(w.events);
  if (!events) return false;
  const records: MemoRecord[] = [];
  for (const e of events) {
    // FROM's key names the base image (checked through `images`); every other cached step has a record
    if (e.status !== 'cached' || e.index === 1) continue;
    const text = await fsp.readFile(recordPath(w.store, e.cacheKey!), 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    records.push({ key: e.cacheKey!, text, ...(e.layer ? { blob: e.layer.digest } : {}) });
  }
  const memo: Memo = {
    v: 1,
    engine: engine(),
    options: w.options,
    dockerfile: sha(w.dockerfileText),
    ignore: ignoreKey(w.ignore),
    context: w.print.digest,
    images: [...w.images].map(([ref, manifest]) => ({ ref, manifest })),
    records,
    imageId: w.imageId,
    configDigest: w.imageId,
    manifest: w.manifest,
    events,
    steps: { cached: w.total, built: 0, total: w.total },
  };
  const path = memoPath(w.store, w.options);
  await fsp.mkdir(join(w.store.cacheDir, 'memo'), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(memo), { tmpDir: w.store.tmpDir });
  memoSettings.written++;
  return true;
}
