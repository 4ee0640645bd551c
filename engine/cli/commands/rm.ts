/** `layerwise rm [-f] CONTAINER...` (also `container rm`): as `docker rm`; a running container only with -f
 *  (killed first). Its upper dir, log and record go; the image it used may then be removed. */
import { LayerwiseError } from '../../errors';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { containerStore, forEachContainer, signalContainer, waitGone } from './containers-cli';
import { parseFlags, showHelp, usageError } from './image-cli';

export const summary = 'Remove one or more containers';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { force: { type: 'bool', short: 'f' }, volumes: { type: 'bool', short: 'v' } }, 'rm');
  if (f.help) return showHelp(ctx, 'rm [OPTIONS] CONTAINER [CONTAINER...]', summary, f);
  if (!f.args.length) throw usageError('"rm" requires at least 1 argument.', 'rm');
  const store = await openStore(ctx.root);
  return forEachContainer(ctx, store, f.args, async (c) => {
    if (c.state.status === 'running' && c.state.pid !== undefined) {
      if (!f.bools.has('force')) {
        throw new LayerwiseError('conflict', `cannot remove container "/${c.config.name}": container is running: stop the container before removing or force remove`);
      }
      await signalContainer(c, 'SIGKILL');
      await waitGone(c);
    }
    await containerStore(store).remove(c.config.id);
  });
}
