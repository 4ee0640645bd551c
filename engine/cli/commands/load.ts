/**
 * `layerwise load [-i FILE|DIR] [-q] [--progress=json]` (also `image load`): as `docker load`, from `docker save`
 * output (Docker 20–26), OCI archives and OCI layout directories. `--progress=json` writes
 * `{"event":"progress","bytes":N}` lines to stderr as the archive is read (stdout stays as docker's).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { LayerwiseError } from '../../errors';
import { loadArchive, loadedLines, loadLayoutDir } from '../../store/load';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Load an image from a tar archive or STDIN';

export function progressWriter(ctx: CliContext, mode: string | undefined): ((n: number) => void) | undefined {
  if (mode === undefined || mode === 'auto' || mode === 'plain' || mode === 'none') return undefined;
  if (mode !== 'json') throw usageError(`invalid --progress value "${mode}" (json, plain, auto or none)`, 'load');
  return (n) => ctx.stderr.write(JSON.stringify({ event: 'progress', bytes: n }) + '\n');
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { input: { type: 'string', short: 'i' }, quiet: { type: 'bool', short: 'q' }, progress: { type: 'string' }, platform: { type: 'string' } }, 'load');
  if (f.help) return showHelp(ctx, 'load [OPTIONS]', summary, f);
  if (f.args.length) throw usageError('"load" accepts no arguments.', 'load');
  const onProgress = progressWriter(ctx, f.strings.get('progress'));
  const input = f.strings.get('input');
  const store = await openStore(ctx.root);
  let images;
  if (input !== undefined) {
    const path = resolve(ctx.cwd, input);
    let st;
    try {
      st = await fsp.stat(path);
    } catch {
      throw new LayerwiseError('not-found', `open ${input}: no such file or directory`);
    }
    images = st.isDirectory()
      ? await loadLayoutDir(store, path, onProgress ? { onProgress } : {})
      : await loadArchive(store, createReadStream(path, { highWaterMark: 1 << 20 }), onProgress ? { onProgress } : {});
  } else {
    if ((ctx.stdin as { isTTY?: boolean }).isTTY) throw new LayerwiseError('usage', 'requested load from stdin, but stdin is empty', { exitCode: 1 });
    images = await loadArchive(store, ctx.stdin, onProgress ? { onProgress } : {});
  }
  for (const l of loadedLines(images)) ctx.stdout.write(l + '\n');
  return 0;
}
