/**
 * The engine's build history as rules see it (BuildHistoryView). The builder keeps, per Dockerfile, the inputs of
 * every step of its recent builds (engine/build/cache.ts `cache/history/<hex>.recent.json`, up to RECENT_BUILDS).
 * This log reads them when a document is first checked and again when the StoreWatcher reports a change, and
 * tells for each build after the first which steps missed the cache and why — with the builder's own comparison
 * (engine/build/explain.ts).
 */
import { BuildCache, RECENT_BUILDS, type BuildHistory } from '../../engine/build/cache';
import { explainMiss, findPrevious } from '../../engine/build/explain';
import type { BuildHistoryView, HistoryBuild, HistoryStep } from './types';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** records kept per Dockerfile */
export const HISTORY_LIMIT = RECENT_BUILDS;

/** One build compared with the build before it. */
export function compareBuilds(prev: BuildHistory, cur: BuildHistory): HistoryBuild {
  const steps: HistoryStep[] = cur.steps.map((s) => {
    const p = findPrevious(s, prev);
    const cached = !!p && p.key === s.key;
    const step: HistoryStep = { stage: s.stage, index: s.index, instruction: s.instruction, cached, durationMs: Math.round((s.duration ?? 0) * 1000) };
    if (!cached) {
      const why = explainMiss(s, prev);
      step.miss = {
        kind: why.kind,
        message: why.detail,
        ...(why.kind === 'files-changed' ? { files: [...why.changed, ...why.added, ...why.removed] } : {}),
        ...(why.kind === 'build-arg-changed' ? { args: why.args } : {}),
      };
    } else {
      step.durationMs = 0;
    }
    return step;
  });
  return { time: Date.parse(cur.time) || 0, steps };
}

/** The builds after the first of a list of records (oldest first), each compared with the one before. */
export function historyView(records: readonly BuildHistory[]): BuildHistoryView {
  const builds: HistoryBuild[] = [];
  for (let i = 1; i < records.length; i++) builds.push(compareBuilds(records[i - 1]!, records[i]!));
  return { builds };
}

interface Log {
  records: BuildHistory[];
  view: BuildHistoryView;
  /** the record on disk may be newer than the last one read */
  stale: boolean;
}

export class BuildHistoryLog {
  private readonly logs = new Map<string, Log>();

  private static key(root: string, dockerfile: string): string {
    return `${root}\u0000${dockerfile}`;
  }

  /** Take one record (the builder's, as read from disk); a record already seen (same time) is ignored. */
  add(root: string, record: BuildHistory): void {
    const key = BuildHistoryLog.key(root, record.dockerfile);
    let log = this.logs.get(key);
    if (!log) {
      log = { records: [], view: { builds: [] }, stale: false };
      this.logs.set(key, log);
    }
    const last = log.records[log.records.length - 1];
    if (last && record.time <= last.time) return; // seen already (records come oldest first)
    log.records.push(record);
    if (log.records.length > HISTORY_LIMIT) log.records.splice(0, log.records.length - HISTORY_LIMIT);
    log.view = historyView(log.records);
  }

  /** The history of the Dockerfile at `dockerfile` (absolute path) in the store at `root`; reads the record on
   *  disk when it may be new. Undefined when there is no store. */
  async viewFor(root: string, dockerfile: string): Promise<BuildHistoryView | undefined> {
    const key = BuildHistoryLog.key(root, dockerfile);
    const log = this.logs.get(key);
    if (!log || log.stale) {
      if (!existsSync(join(root, 'oci-layout'))) return undefined;
      if (log) log.stale = false;
      const recs = await new BuildCache(join(root, 'cache'), join(root, 'tmp')).recentHistory(dockerfile);
      for (const rec of recs) this.add(root, rec);
      if (!this.logs.has(key)) this.logs.set(key, { records: [], view: { builds: [] }, stale: false });
    }
    return this.logs.get(key)?.view;
  }

  /** The store's history changed: re-read the records of that store on next use. */
  changed(root: string): void {
    for (const [k, log] of this.logs) if (k.startsWith(`${root}\u0000`)) log.stale = true;
  }
}
