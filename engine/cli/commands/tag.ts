/** `layerwise tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]` (also `image tag`): as `docker tag`. */
import { LayerwiseError } from '../../errors';
import { parseReference } from '../../image/refs';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, {}, 'tag');
  if (f.help) return showHelp(ctx, 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', summary, f);
  if (f.args.length !== 2) throw usageError('"tag" requires exactly 2 arguments.', 'tag');
  const [src, dst] = f.args as [string, string];
  try {
    const r = parseReference(dst);
    if (r.digest) throw new LayerwiseError('invalid', 'refusing to create a tag with a digest reference');
  } catch (e) {
    if (e instanceof LayerwiseError && e.message.startsWith('refusing')) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new LayerwiseError('invalid', `Error parsing reference: "${dst}" is not a valid repository/tag: ${msg}`);
  }
  const store = await openStore(ctx.root);
  const img = await store.images.resolve(src);
  await store.images.put(dst, img.target);
  return 0;
}
