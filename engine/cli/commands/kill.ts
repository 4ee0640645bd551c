/** `layerwise kill [-s SIGNAL] CONTAINER...`: as `docker kill` (SIGKILL by default). */
import { constants } from 'node:os';
import { LayerwiseError } from '../../errors';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { forEachContainer, signalContainer, waitGone } from './containers-cli';
import { parseFlags, showHelp, usageError } from './image-cli';

export const summary = 'Kill one or more running containers';

/** `TERM`, `SIGTERM`, `15` -> `SIGTERM`; undefined when it is no signal. */
export function signalOf(s: string): NodeJS.Signals | undefined {
  const sigs = constants.signals as Record<string, number>;
  if (/^\d+$/.test(s)) return (Object.keys(sigs).find((k) => sigs[k] === Number(s)) as NodeJS.Signals | undefined) ?? undefined;
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  return name in sigs ? (name as NodeJS.Signals) : undefined;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { signal: { type: 'string', short: 's' } }, 'kill');
  if (f.help) return showHelp(ctx, 'kill [OPTIONS] CONTAINER [CONTAINER...]', summary, f);
  if (!f.args.length) throw usageError('"kill" requires at least 1 argument.', 'kill');
  const given = f.strings.get('signal') ?? 'KILL';
  const sig = signalOf(given);
  if (!sig) throw new LayerwiseError('invalid', `Invalid signal: ${given}`);
  return forEachContainer(ctx, await openStore(ctx.root), f.args, async (c, ref) => {
    if (c.state.status !== 'running' || c.state.pid === undefined) throw new LayerwiseError('conflict', `cannot kill container: ${ref}: container ${c.config.id} is not running`);
    await signalContainer(c, sig);
    if (sig === 'SIGKILL') await waitGone(c);
  });
}
