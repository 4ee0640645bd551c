/**
 * fsck: verify every blob (its bytes hash to its name), every image entry (its blobs are present and parse),
 * every snapshot (its tree digest matches meta.json), and find temp files of dead processes. With `repair`,
 * corrupt blobs and snapshots, broken snapshot directories and stale temp files are removed.
 */
import { promises as fsp } from 'node:fs';
import { resolveManifest, readConfig } from './manifests';
import type { Store } from './store';

export interface FsckProblem {
  kind: 'corrupt-blob' | 'missing-blob' | 'bad-image' | 'corrupt-snapshot' | 'broken-snapshot' | 'stale-temp' | 'bad-index';
  /** digest, chain id or path */
  subject: string;
  detail: string;
  repaired?: boolean;
}

export interface FsckReport {
  blobs: number;
  bytes: number;
  images: number;
  snapshots: number;
  problems: FsckProblem[];
}

export async function fsck(store: Store, opts: { repair?: boolean; onBlob?: (digest: string) => void } = {}): Promise<FsckReport> {
  const report: FsckReport = { blobs: 0, bytes: 0, images: 0, snapshots: 0, problems: [] };
  const problem = (p: FsckProblem) => report.problems.push(p);
  // leftovers first, so that they are reported before any repair removes them
  for (const p of await store.staleTemp()) {
    let repaired = false;
    if (opts.repair) {
      await fsp.rm(p, { recursive: true, force: true });
      repaired = true;
    }
    problem({ kind: 'stale-temp', subject: p, detail: 'left by a process that is gone', repaired });
  }
  const corrupt = new Set<string>();
  for await (const b of store.content.walk()) {
    report.blobs++;
    report.bytes += b.size;
    opts.onBlob?.(b.digest);
    const v = await store.content.verify(b.digest);
    if (!v.ok) {
      corrupt.add(b.digest);
      let repaired = false;
      if (opts.repair) repaired = await store.content.delete(b.digest);
      problem({ kind: 'corrupt-blob', subject: b.digest, detail: `content hashes to ${v.actual}`, repaired });
    }
  }
  let records: Awaited<ReturnType<typeof store.images.list>> = [];
  try {
    records = await store.images.list();
  } catch (e) {
    problem({ kind: 'bad-index', subject: store.images.indexPath, detail: e instanceof Error ? e.message : String(e) });
  }
  for (const r of records) {
    report.images++;
    const label = r.name || r.target.digest;
    try {
      const { manifest } = await resolveManifest(store.content, r.target);
      await readConfig(store.content, manifest);
      for (const l of manifest.layers) {
        if (!(await store.content.info(l.digest))) problem({ kind: 'missing-blob', subject: l.digest, detail: `layer of ${label}` });
      }
    } catch (e) {
      problem({ kind: 'bad-image', subject: label, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  for (const dir of await store.snapshots.broken()) {
    let repaired = false;
    if (opts.repair) {
      await fsp.rm(dir, { recursive: true, force: true });
      repaired = true;
    }
    problem({ kind: 'broken-snapshot', subject: dir, detail: 'snapshot directory without valid meta.json or fs/', repaired });
  }
  for (const s of await store.snapshots.list()) {
    report.snapshots++;
    const v = await store.snapshots.verify(s.chainId);
    if (!v.ok) {
      let repaired = false;
      if (opts.repair) repaired = await store.snapshots.remove(s.chainId);
      problem({ kind: 'corrupt-snapshot', subject: s.chainId, detail: `tree digest ${v.actual}, expected ${v.expected}`, repaired });
    }
  }
  return report;
}
