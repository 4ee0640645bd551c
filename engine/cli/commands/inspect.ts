/** `layerwise inspect [--format T] IMAGE...` (also `image inspect`): the JSON of `docker image inspect`. */
import { describeError, isLayerwiseError } from '../../errors';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { compileTemplate } from './go-template';
import { parseFlags, usageError, showHelp } from './image-cli';
import { imageSize, inspectObject } from './image-view';

export const summary = 'Display detailed information on one or more images';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { format: { type: 'string', short: 'f' }, type: { type: 'string' }, size: { type: 'bool', short: 's' } }, 'inspect');
  if (f.help) return showHelp(ctx, 'inspect [OPTIONS] IMAGE [IMAGE...]', summary, f);
  if (f.args.length === 0) throw usageError('"inspect" requires at least 1 argument.', 'inspect');
  const type = f.strings.get('type');
  if (type && type !== 'image') throw usageError(`"${type}" is not a valid value for --type`, 'inspect');
  const store = await openStore(ctx.root);
  const found: Record<string, unknown>[] = [];
  const errors: string[] = [];
  for (const a of f.args) {
    try {
      const img = await store.images.resolve(a);
      found.push(inspectObject(img, store.root, await imageSize(store, img.manifest)));
    } catch (e) {
      if (!isLayerwiseError(e) || (e.kind !== 'not-found' && e.kind !== 'invalid' && e.kind !== 'conflict')) throw e;
      // `docker inspect` looks for any kind of object; `docker image inspect` and `--type=image` for images
      const anyObject = !type && ctx.invokedAs !== 'image inspect' && e.kind === 'not-found';
      errors.push(anyObject ? `No such object: ${a}` : describeError(e));
    }
  }
  const format = f.strings.get('format');
  if (format) {
    const t = compileTemplate(format === 'json' ? '{{json .}}' : format);
    for (const o of found) ctx.stdout.write(t.render(o) + '\n');
  } else {
    ctx.stdout.write(JSON.stringify(found, null, 4) + '\n');
  }
  for (const e of errors) ctx.stderr.write(`Error: ${e}\n`);
  return errors.length ? 1 : 0;
}
