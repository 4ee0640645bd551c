/**
 * `layerwise builder prune [-a] [-f]`: as `docker builder prune` — removes build cache records, then GC frees the
 * layers and snapshots only they kept. Without -a, the records no Dockerfile's last build used (what an edit or an
 * older build left behind: a rebuild of what was built last stays cached); with -a, every record and the RUN
 * cache mounts (`--mount=type=cache`). The build history is kept: the next build says a step missed because the
 * cache was pruned. Runs while no build writes (under the store's GC lock).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage } from '../../store/gc';
import { readJsonFile } from '../../store/fs-atomic';
import { openStore } from '../../store/store';
import type { BuildHistory } from '../../build/cache';
import type { CliContext } from '../context';
import { confirmed, du, humanSize, pruneFlags } from './image-cli';

export const summary = 'Remove build cache';

async function names(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** The cache keys the last build of every Dockerfile used. */
async function keysOfLastBuilds(historyDir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const n of await names(historyDir)) {
    if (!/^[a-f0-9]{64}\.json$/.test(n)) continue; // not the recent lists
    const h = await readJsonFile<BuildHistory>(join(historyDir, n)).catch(() => undefined);
    for (const s of h?.steps ?? []) if (typeof s.key === 'string') keys.add(s.key);
  }
  return keys;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = pruneFlags(args, ctx, 'builder prune', summary);
  if (!f) return 0;
  const all = f.all;
  if (!f.force && !(await confirmed(ctx, all ? 'This will remove all build cache.' : 'This will remove all dangling build cache.'))) return 0;
  const store = await openStore(ctx.root);
  const keysDir = join(store.cacheDir, 'keys');
  const mountsDir = join(store.root, 'cache-mounts');
  const deleted: string[] = [];
  let mountBytes = 0;
  // under the GC lock: no build is writing (a build holds it shared from start to end)
  await store.locks.withExclusive('gc', async () => {
    const keep = all ? new Set<string>() : await keysOfLastBuilds(join(store.cacheDir, 'history'));
    for (const n of await names(keysDir)) {
      const m = /^([a-f0-9]{64})\.json$/.exec(n);
      if (!m || keep.has(`sha256:${m[1]}`)) continue;
      await fsp.rm(join(keysDir, n), { force: true });
      deleted.push(m[1]!);
    }
    // the build memos name records: each one is checked before it is trusted, but those of removed records
    // could only ever miss (engine/build/memo.ts)
    if (deleted.length) await fsp.rm(join(store.cacheDir, 'memo'), { recursive: true, force: true });
    if (all) {
      for (const n of await names(mountsDir)) {
        const p = join(mountsDir, n);
        mountBytes += await du(p);
        await fsp.rm(p, { recursive: true, force: true });
        deleted.push(n);
      }
    }
  });
  const gc = await collectGarbage(store);
  if (deleted.length) ctx.stdout.write('Deleted build cache objects:\n' + deleted.map((d) => d.slice(0, 25)).join('\n') + '\n\n');
  ctx.stdout.write(`Total:\t${humanSize((gc?.reclaimed ?? 0) + mountBytes)}\n`);
  return 0;
}
