/**
 * `layerwise layers [--files] IMAGE`: an image's layers as JSON, like dive shows them: for each layer the
 * instruction that made it (from the config history), its digests and size, and what it did to the file tree:
 * files added, changed and removed relative to the layers below, and the bytes it wasted (earlier versions of
 * files it overwrote or removed, which still ship in the lower layers). With `--files`, every changed path.
 *
 * Output (one JSON object):
 *   {"id":"sha256:…","names":["…"],"size":N,"wasted":N,"layers":[{"index":0,"digest":"sha256:…",
 *    "diffId":"sha256:…","size":N,"createdBy":"…","added":N,"changed":N,"removed":N,"wasted":N,
 *    "files":[{"path":"etc/x","change":"added"|"changed"|"removed","type":"file","size":N}]}]}
 */
import { listLayer } from '../../layers';
import type { LayerEntry } from '../../layers';
import { openStore } from '../../store';
import { LayerwiseError } from '../../errors';
import type { CliContext } from '../context';

export const summary = 'Show the layers of an image and the files each one added, changed or removed (JSON)';

export type FileChange = 'added' | 'changed' | 'removed';

export interface LayerFile {
  path: string;
  change: FileChange;
  type: LayerEntry['type'];
  size: number;
}

export interface LayerInfo {
  index: number;
  digest: string;
  diffId: string;
  size: number;
  createdBy: string;
  added: number;
  changed: number;
  removed: number;
  wasted: number;
  files?: LayerFile[];
}

export interface LayersOutput {
  id: string;
  names: string[];
  size: number;
  wasted: number;
  layers: LayerInfo[];
}

interface Lower {
  type: LayerEntry['type'];
  size: number;
}

/** Classifies one layer's entries against the tree built by the layers below it, and updates that tree. */
export function applyEntries(lower: Map<string, Lower>, entries: LayerEntry[]): { files: LayerFile[]; wasted: number } {
  const files: LayerFile[] = [];
  let wasted = 0;
  const remove = (p: string) => {
    const prev = lower.get(p);
    if (!prev) return;
    lower.delete(p);
    if (prev.type !== 'dir') wasted += prev.size;
    files.push({ path: p, change: 'removed', type: prev.type, size: prev.size });
  };
  const own = new Set(entries.filter((e) => !e.whiteout).map((e) => e.path));
  for (const e of entries) {
    if (e.whiteout === 'file') {
      for (const p of [...lower.keys()]) if (p === e.path || p.startsWith(e.path + '/')) remove(p);
    } else if (e.whiteout === 'opaque') {
      for (const p of [...lower.keys()]) if (p.startsWith(e.path + '/') && !own.has(p)) remove(p);
    }
  }
  for (const e of entries) {
    if (e.whiteout) continue;
    const prev = lower.get(e.path);
    lower.set(e.path, { type: e.type, size: e.size });
    if (e.type === 'dir' && prev) continue; // a directory's metadata touched: not interesting
    if (prev) {
      if (prev.type !== 'dir') wasted += prev.size;
      files.push({ path: e.path, change: 'changed', type: e.type, size: e.size });
    } else {
      files.push({ path: e.path, change: 'added', type: e.type, size: e.size });
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, wasted };
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  let withFiles = false;
  let ref: string | undefined;
  for (const a of args) {
    if (a === '--files') withFiles = true;
    else if (a === '--format=json' || a === '--format') continue; // JSON is the only format
    else if (a === 'json') continue;
    else if (a === '-h' || a === '--help') {
      ctx.stdout.write('Usage:  layerwise layers [--files] IMAGE\n\n' + summary + '\n');
      return 0;
    } else if (a.startsWith('-')) throw new LayerwiseError('usage', `unknown flag: ${a}`);
    else if (ref === undefined) ref = a;
    else throw new LayerwiseError('usage', `"layers" requires exactly 1 argument`);
  }
  if (!ref) throw new LayerwiseError('usage', '"layers" requires exactly 1 argument');
  const store = await openStore(ctx.root);
  const img = await store.images.resolve(ref);
  const history = (img.config.history ?? []).filter((h) => !h.empty_layer);
  const lower = new Map<string, Lower>();
  const out: LayersOutput = { id: img.id, names: img.names, size: 0, wasted: 0, layers: [] };
  for (let i = 0; i < img.manifest.layers.length; i++) {
    const desc = img.manifest.layers[i]!;
    const entries: LayerEntry[] = [];
    for await (const e of listLayer(await store.content.readBlob(desc.digest, { verify: true }))) entries.push(e);
    const { files, wasted } = applyEntries(lower, entries);
    const info: LayerInfo = {
      index: i,
      digest: desc.digest,
      diffId: img.config.rootfs.diff_ids[i] ?? '',
      size: desc.size,
      createdBy: history[i]?.created_by ?? '',
      added: files.filter((f) => f.change === 'added').length,
      changed: files.filter((f) => f.change === 'changed').length,
      removed: files.filter((f) => f.change === 'removed').length,
      wasted,
    };
    if (withFiles) info.files = files;
    out.layers.push(info);
    out.size += desc.size;
    out.wasted += wasted;
  }
  ctx.stdout.write(JSON.stringify(out) + '\n');
  return 0;
}
