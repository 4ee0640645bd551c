/** `layerwise image prune [-a] [-f]`: as `docker image prune` — dangling images, or with -a every image no
 *  container uses; then GC frees their blobs and snapshots. */
import { familiarString } from '../../image/refs';
import { collectGarbage, digestsInUse } from '../../store/gc';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { confirmed, humanSize, pruneFlags } from './image-cli';
import { summaries } from './image-view';

export const summary = 'Remove unused images';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = pruneFlags(args, ctx, 'image prune', summary);
  if (!f) return 0;
  const all = f.all;
  const warning = all ? 'This will remove all images without at least one container associated to them.' : 'This will remove all dangling images.';
  if (!f.force && !(await confirmed(ctx, warning))) return 0;
  const store = await openStore(ctx.root);
  const used = await digestsInUse(store);
  const list = await summaries(store, false);
  const byTarget = new Map<string, typeof list>();
  for (const s of list) byTarget.set(s.target.digest, [...(byTarget.get(s.target.digest) ?? []), s]);
  const lines: string[] = [];
  const deletedIds = new Set<string>();
  for (const [digest, entries] of byTarget) {
    const first = entries[0]!;
    if (used.has(first.id) || used.has(digest)) continue;
    const named = entries.filter((e) => e.name);
    if (!all && named.length) continue;
    for (const e of named) lines.push(`untagged: ${familiarString(e.name)}`);
    await store.images.deleteTarget(digest);
    if (!deletedIds.has(first.id)) {
      deletedIds.add(first.id);
      lines.push(`deleted: ${first.id}`);
    }
  }
  // an id still named by another manifest is not gone; report only ids no entry has any more
  const remaining = new Set((await summaries(store, false)).map((s) => s.id));
  const shown = lines.filter((l) => !l.startsWith('deleted: ') || !remaining.has(l.slice(9)));
  const gc = await collectGarbage(store);
  if (shown.length) ctx.stdout.write('Deleted Images:\n' + shown.join('\n') + '\n\n');
  ctx.stdout.write(`Total reclaimed space: ${humanSize(gc?.reclaimed ?? 0)}\n`);
  return 0;
}
