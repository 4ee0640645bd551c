/** `layerwise stop [-t SECONDS] [-s SIGNAL] CONTAINER...`: as `docker stop`: the stop signal (the image's
 *  STOPSIGNAL, else SIGTERM), then SIGKILL after the timeout (10 s); returns once each container has ended. */
import { writeFile } from 'node:fs/promises';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { forEachContainer, signalContainer, stateFile, waitGone } from './containers-cli';
import { parseFlags, showHelp, usageError } from './image-cli';

export const summary = 'Stop one or more running containers';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { time: { type: 'string', short: 't' }, timeout: { type: 'string' }, signal: { type: 'string', short: 's' } }, 'stop');
  if (f.help) return showHelp(ctx, 'stop [OPTIONS] CONTAINER [CONTAINER...]', summary, f);
  if (!f.args.length) throw usageError('"stop" requires at least 1 argument.', 'stop');
  const t = f.strings.get('time') ?? f.strings.get('timeout');
  const timeout = t === undefined ? undefined : Number(t);
  if (timeout !== undefined && !Number.isInteger(timeout)) throw usageError(`invalid argument "${t}" for "-t, --time" flag: strconv.ParseInt: parsing "${t}": invalid syntax`, 'stop');
  return forEachContainer(ctx, await openStore(ctx.root), f.args, async (c) => {
    if (c.state.status === 'running' && c.state.pid !== undefined) {
      await writeFile(stateFile(c, 'stop.json'), JSON.stringify({ ...(timeout !== undefined ? { timeout } : {}) }));
      if (f.strings.has('signal')) await writeFile(stateFile(c, 'signal'), f.strings.get('signal')!.toUpperCase().replace(/^(?!SIG)/, 'SIG'));
      try {
        process.kill(c.state.pid, f.strings.has('signal') ? 'SIGUSR1' : 'SIGTERM');
      } catch {
        /* it ended meanwhile */
      }
      if (f.strings.has('signal') && timeout !== undefined && timeout >= 0) {
        // a signal of the user's choice, then SIGKILL after the timeout, as docker stop -s
        const timer = setTimeout(() => void signalContainer(c, 'SIGKILL'), timeout * 1000);
        await waitGone(c);
        clearTimeout(timer);
      } else await waitGone(c);
    }
  });
}
