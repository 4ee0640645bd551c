/**
 * `layerwise import [-c CHANGE]… [-m MSG] [--platform P] [--progress=json] file|dir|- [REPOSITORY[:TAG]]`
 * (also `image import`): a root filesystem tar (plain, gzip, zstd), or a directory, becomes a one-layer image,
 * as `docker import`. Prints the image id.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { readAheadStream } from '../../store/readahead';
import { resolve } from 'node:path';
import { LayerwiseError } from '../../errors';
import type { Platform } from '../../image/types';
import { importRootfs } from '../../store/import';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';
import { progressWriter } from './load';

export const summary = 'Import the contents from a tarball or directory to create a filesystem image';

function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) throw usageError(`invalid platform "${s}" (os/arch[/variant])`, 'import');
  return variant ? { os, architecture, variant } : { os, architecture };
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, {
    change: { type: 'strings', short: 'c' },
    message: { type: 'string', short: 'm' },
    platform: { type: 'string' },
    progress: { type: 'string' },
  }, 'import');
  if (f.help) return showHelp(ctx, 'import [OPTIONS] file|dir|- [REPOSITORY[:TAG]]', summary, f);
  if (f.args.length < 1 || f.args.length > 2) throw usageError('"import" requires at least 1 and at most 2 arguments.', 'import');
  const [src, ref] = f.args as [string, string | undefined];
  if (/^https?:\/\//.test(src)) throw new LayerwiseError('invalid', 'importing from a URL is not supported; download the file and import it');
  const onProgress = progressWriter(ctx, f.strings.get('progress'));
  const opts = {
    changes: f.lists.get('change') ?? [],
    source: src === '-' ? '-' : src,
    ...(ref ? { ref } : {}),
    ...(f.strings.get('message') ? { message: f.strings.get('message')! } : {}),
    ...(f.strings.get('platform') ? { platform: parsePlatform(f.strings.get('platform')!) } : {}),
    ...(onProgress ? { onProgress } : {}),
  };
  const store = await openStore(ctx.root);
  let input: { tar: NodeJS.ReadableStream } | { dir: string };
  if (src === '-') input = { tar: ctx.stdin };
  else {
    const path = resolve(ctx.cwd, src);
    let st;
    try {
      st = await fsp.stat(path);
    } catch {
      throw new LayerwiseError('not-found', `open ${src}: no such file or directory`);
    }
    input = st.isDirectory() ? { dir: path } : { tar: st.isFile() ? readAheadStream(path, { shared: true }) : createReadStream(path, { highWaterMark: 1 << 20 }) };
  }
  const r = await importRootfs(store, input, opts);
  ctx.stdout.write(r.id + '\n');
  return 0;
}
