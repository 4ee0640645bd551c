/**
 * `layerwise save [-o FILE] [--format docker|oci] IMAGE...` (also `image save`): as `docker save` — a tar that
 * `docker load` reads (Docker 25+ layout: manifest.json + OCI layout), or with `--format oci` an OCI archive.
 * With -o the file is written to a temp name and renamed when complete.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { LayerwiseError } from '../../errors';
import { tempName } from '../../store/fs-atomic';
import { saveImages } from '../../store/save';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Save one or more images to a tar archive (streamed to STDOUT by default)';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { output: { type: 'string', short: 'o' }, format: { type: 'string' }, platform: { type: 'string' } }, 'save');
  if (f.help) return showHelp(ctx, 'save [OPTIONS] IMAGE [IMAGE...]', summary, f);
  if (f.args.length === 0) throw usageError('"save" requires at least 1 argument.', 'save');
  const format = f.strings.get('format') ?? 'docker';
  if (format !== 'docker' && format !== 'oci') throw usageError(`invalid --format "${format}" (docker or oci)`, 'save');
  const store = await openStore(ctx.root);
  const output = f.strings.get('output');
  if (output === undefined) {
    if ((ctx.stdout as { isTTY?: boolean }).isTTY) {
      throw new LayerwiseError('usage', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1 });
    }
    await saveImages(store, f.args, ctx.stdout, { format });
    return 0;
  }
  const path = resolve(ctx.cwd, output);
  // resolve the images first: a bad name must not leave a file behind
  const tmp = join(dirname(path), `.${basename(path)}.${tempName('save')}`);
  try {
    await saveImages(store, f.args, createWriteStream(tmp, { flags: 'wx' }), { format });
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !(e instanceof LayerwiseError)) {
      throw new LayerwiseError('io', `failed to save image: invalid output path: directory "${dirname(output)}" does not exist`);
    }
    throw e;
  }
  return 0;
}
