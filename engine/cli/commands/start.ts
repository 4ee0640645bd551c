/** `layerwise start CONTAINER...` (also `container start`): runs a stopped container again over its own upper dir,
 *  detached, as `docker start` without -a. */
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { forEachContainer, startSupervisor } from './containers-cli';
import { parseFlags, showHelp, usageError } from './image-cli';

export const summary = 'Start one or more stopped containers';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, {}, 'start');
  if (f.help) return showHelp(ctx, 'start CONTAINER [CONTAINER...]', summary, f);
  if (!f.args.length) throw usageError('"start" requires at least 1 argument.', 'start');
  const code = await forEachContainer(ctx, await openStore(ctx.root), f.args, async (c) => {
    if (c.state.status !== 'running') await startSupervisor(ctx, c.config.id);
  });
  if (code) ctx.stderr.write('Error: failed to start containers: ' + f.args.join(', ') + '\n');
  return code;
}
