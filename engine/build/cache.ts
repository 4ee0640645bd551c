/**
 * The build cache: cache key -> the layer a step produced (store `cache/keys/<hex>.json`, written atomically;
 * every digest in a record is a GC root), and the build history per Dockerfile (`cache/history/<hex>.json`): what
 * each step's inputs were last time, so that a miss can be explained (which file, which build arg, which line).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Range } from '../dockerfile/types';
import { readJsonFile, writeFileAtomic } from '../store/fs-atomic';

export interface CachedLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

export interface CacheRecord {
  v: 1;
  key: string;
  /** undefined: the step changed nothing (an empty layer) */
  layer?: CachedLayer;
  created: string;
  /** seconds the step took when it was built */
  duration: number;
  instruction: string;
}

/** What a step's own inputs were, for explaining the next miss. */
export interface StepInputs {
  stage: number;
  index: number;
  instruction: string;
  key: string;
  parentKey: string;
  /** build args (ARG values) in effect */
  args: Record<string, string>;
  /** digest of the environment, user, workdir, mounts */
  envDigest: string;
  /** COPY/ADD from the context: every selected file and its digest */
  files?: { path: string; digest: string }[];
  /** ADD from outside the context (git repositories, URLs): each source as written and what it resolved to
   *  (the commit, the content digest) */
  remote?: { source: string; version: string }[];
  /** seconds it took when last built */
  duration?: number;
  range: Range;
}

/** builds kept per Dockerfile in the recent list */
export const RECENT_BUILDS = 11;

export interface BuildHistory {
  v: 1;
  dockerfile: string;
  time: string;
  imageId?: string;
  steps: StepInputs[];
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function cacheKey(parts: unknown): string {
  return 'sha256:' + sha256Hex(JSON.stringify(parts));
}

export class BuildCache {
  private readonly keysDir: string;
  private readonly historyDir: string;
  constructor(readonly dir: string, readonly tmpDir: string) {
    this.keysDir = join(dir, 'keys');
    this.historyDir = join(dir, 'history');
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const r = await readJsonFile<CacheRecord>(this.recordPath(key)).catch(() => undefined);
    return r && r.key === key ? r : undefined;
  }

  async put(rec: CacheRecord): Promise<void> {
    await fsp.mkdir(this.keysDir, { recursive: true });
    await writeFileAtomic(this.recordPath(rec.key), JSON.stringify(rec), { tmpDir: this.tmpDir });
  }

  /** The file of the record of `key`. */
  recordPath(key: string): string {
    return join(this.keysDir, key.replace(/^sha256:/, '') + '.json');
  }

  historyPath(dockerfile: string): string {
    return join(this.historyDir, sha256Hex(dockerfile) + '.json');
  }

  async history(dockerfile: string): Promise<BuildHistory | undefined> {
    return readJsonFile<BuildHistory>(this.historyPath(dockerfile)).catch(() => undefined);
  }

  /** The recent builds of `dockerfile`: a log of one JSON record per line, appended at the end of each build (a
   *  build rewrites nothing it does not add), compacted to the last RECENT_BUILDS once it holds about twice that. */
  recentPath(dockerfile: string): string {
    return join(this.historyDir, sha256Hex(dockerfile) + '.recent.jsonl');
  }

  /** The recent builds of `dockerfile`, oldest first (up to RECENT_BUILDS; builds that changed nothing are not
   *  recorded). For the editor's history hints. A line that does not parse (a build killed while appending it) is
   *  skipped. */
  async recentHistory(dockerfile: string): Promise<BuildHistory[]> {
    const text = await fsp.readFile(this.recentPath(dockerfile), 'utf8').catch(() => undefined);
    if (text === undefined) {
      const last = await this.history(dockerfile);
      return last ? [last] : [];
    }
    return recentOf(text, dockerfile);
  }

  /** Records a build: the last one (what the next build compares with) and a line in the recent log. Two builds of
   *  one Dockerfile finishing at the same moment may keep only one of the two in the recent log. */
  async saveHistory(h: BuildHistory): Promise<void> {
    await fsp.mkdir(this.historyDir, { recursive: true });
    const json = JSON.stringify(h);
    const log = this.recentPath(h.dockerfile);
    // one write with O_APPEND; the newline before it ends a line torn by a build killed while appending
    const fh = await fsp.open(log, 'a', 0o644);
    let size: number;
    try {
      await fh.write(`\n${json}\n`);
      size = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
    if (size > 2 * RECENT_BUILDS * (json.length + 2)) {
      const text = await fsp.readFile(log, 'utf8').catch(() => '');
      const kept = recentOf(text, h.dockerfile);
      await writeFileAtomic(log, kept.map((r) => `${JSON.stringify(r)}\n`).join(''), { tmpDir: this.tmpDir });
    }
    await writeFileAtomic(this.historyPath(h.dockerfile), json, { tmpDir: this.tmpDir });
  }
}

/** The last RECENT_BUILDS records of `dockerfile` in a recent log's text, oldest first (by time: two builds may
 *  append out of order), one per build time. */
function recentOf(text: string, dockerfile: string): BuildHistory[] {
  const byTime = new Map<string, BuildHistory>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let h: BuildHistory;
    try {
      h = JSON.parse(line) as BuildHistory;
    } catch {
      continue;
    }
    if (h && h.v === 1 && Array.isArray(h.steps) && h.dockerfile === dockerfile && typeof h.time === 'string') byTime.set(h.time, h);
  }
  return [...byTime.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).slice(-RECENT_BUILDS);
}
