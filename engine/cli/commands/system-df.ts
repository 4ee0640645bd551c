/** `layerwise system df [-v] [--format json]`: disk usage of the store, as `docker system df`. */
import { promises as fsp } from 'node:fs';
import type { Index } from '../../image/types';
import { digestsInRecords, digestsInUse } from '../../store/gc';
import { reachableFrom } from '../../store/manifests';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { du, humanSize, parseFlags, table, usageError, showHelp } from './image-cli';
import { summaries } from './image-view';

export const summary = 'Show the store\'s disk usage';

function reclaim(n: number, of: number): string {
  if (of === 0) return humanSize(n);
  return `${humanSize(n)} (${Math.floor((100 * n) / of)}%)`;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { verbose: { type: 'bool', short: 'v' }, format: { type: 'string' } }, 'system df');
  if (f.help) return showHelp(ctx, 'system df [OPTIONS]', summary, f);
  if (f.args.length) throw usageError('"system df" accepts no arguments.', 'system df');
  const store = await openStore(ctx.root);
  const used = await digestsInUse(store);
  const list = await summaries(store, false);
  const idx: Index = await store.images.readIndex();
  const imageBlobs = new Set<string>();
  const activeBlobs = new Set<string>();
  for (const d of idx.manifests) await reachableFrom(store.content, d, imageBlobs);
  const ids = new Set(list.map((s) => s.id));
  const activeIds = new Set<string>();
  for (const s of list) {
    if (used.has(s.id) || used.has(s.target.digest)) {
      activeIds.add(s.id);
      await reachableFrom(store.content, s.target, activeBlobs);
    }
  }
  const sizeOf = async (set: Iterable<string>) => {
    let n = 0;
    for (const d of set) n += (await store.content.info(d))?.size ?? 0;
    return n;
  };
  const imgSize = (await sizeOf(imageBlobs)) + (await store.snapshots.usage());
  const activeSize = await sizeOf(activeBlobs);
  let containerNames: string[] = [];
  try {
    containerNames = await fsp.readdir(store.containersDir);
  } catch {
    /* none */
  }
  const containersSize = await du(store.containersDir);
  const cacheDigests = [...(await digestsInRecords(store.cacheDir))].filter((d) => !imageBlobs.has(d));
  let cacheRecords: string[] = [];
  try {
    cacheRecords = await fsp.readdir(store.cacheDir);
  } catch {
    /* none */
  }
  const cacheSize = (await sizeOf(cacheDigests)) + (await du(store.cacheDir));
  const rows = [
    { Type: 'Images', TotalCount: String(ids.size), Active: String(activeIds.size), Size: humanSize(imgSize), Reclaimable: reclaim(imgSize - activeSize, imgSize) },
    { Type: 'Containers', TotalCount: String(containerNames.length), Active: '0', Size: humanSize(containersSize), Reclaimable: reclaim(containersSize, containersSize) },
    { Type: 'Local Volumes', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
    { Type: 'Build Cache', TotalCount: String(cacheRecords.length), Active: '0', Size: humanSize(cacheSize), Reclaimable: humanSize(cacheSize) },
  ];
  if (f.strings.get('format') === 'json') {
    for (const r of rows) ctx.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  ctx.stdout.write(table([['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])]));
  return 0;
}
