/** `layerwise rm [-f] CONTAINER...` (also `container rm`): as `docker rm`; a running container only with -f
 *  (killed first). Its upper dir, log and record go; the image it used may then be removed. */
import { LayerwiseError } from '../../errors';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { containerStore, stateFile, waitGone } from './containers-cli';
import { parseFlags, showHelp, usageError } from './image-cli';
import { writeFile } from 'node:fs/promises';

export const summary = 'Remove one or more containers';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { force: { type: 'bool', short: 'f' }, volumes: { type: 'bool', short: 'v' } }, 'rm');
  if (f.help) return showHelp(ctx, 'rm [OPTIONS] CONTAINER [CONTAINER...]', summary, f);
  if (!f.args.length) throw usageError('"rm" requires at least 1 argument.', 'rm');
  const containers = containerStore(await openStore(ctx.root));
  let failed = 0;
  for (const ref of f.args) {
    try {
      const c = await containers.find(ref);
      if (c.state.status === 'running' && c.state.pid !== undefined) {
        if (!f.bools.has('force')) {
          throw new LayerwiseError('conflict', `cannot remove container "/${c.config.name}": container is running: stop the container before removing or force remove`);
        }
        await writeFile(stateFile(c, 'signal'), 'SIGKILL');
        try {
          process.kill(c.state.pid, 'SIGUSR1');
        } catch {
          /* gone */
        }
        await waitGone(c);
      }
      await containers.remove(c.config.id);
      ctx.stdout.write(ref + '\n');
    } catch (e) {
      failed++;
      ctx.stderr.write(`Error response from daemon: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}
