/** The image store as the extension sees it, through the CLI: `images --format json` and `layers`. */
import type { LayerInfo, LayersOutput } from '../engine/cli/commands/layers';
import { parseJsonOutput, runCli, type CliEnvironment } from './cli';

export interface ImageItem {
  /** `repo:tag`, or the short id for an untagged image: what the CLI commands accept */
  ref: string;
  repository: string;
  tag: string;
  id: string;
  size: string;
  created: string;
}

function str(o: Record<string, unknown>, ...keys: string[]): string {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
  }
  return '';
}

/** Accepts docker's `images --format json` objects (Repository, Tag, ID, Size, CreatedSince). */
export function toImageItems(rows: unknown[]): ImageItem[] {
  const out: ImageItem[] = [];
  for (const r of rows) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    const repository = str(o, 'Repository', 'repository') || '<none>';
    const tag = str(o, 'Tag', 'tag') || '<none>';
    const id = str(o, 'ID', 'Id', 'id');
    const ref = repository !== '<none>' && tag !== '<none>' ? `${repository}:${tag}` : id;
    if (!ref) continue;
    out.push({ ref, repository, tag, id, size: str(o, 'Size', 'size'), created: str(o, 'CreatedSince', 'CreatedAt', 'created') });
  }
  return out;
}

export async function listImages(cli: CliEnvironment): Promise<ImageItem[]> {
  return toImageItems(parseJsonOutput(await runCli(cli, ['images', '--format', 'json'])));
}

export async function imageLayers(cli: CliEnvironment, ref: string, files: boolean): Promise<LayersOutput> {
  const out = await runCli(cli, ['layers', ...(files ? ['--files'] : []), ref]);
  return JSON.parse(out) as LayersOutput;
}

export type { LayerInfo, LayersOutput };
