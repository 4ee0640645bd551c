/**
 * `layerwise pull [--platform P] [-q] NAME[:TAG|@DIGEST]` (also `image pull`): as `docker pull`, with its
 * output (a line per layer state, `Digest:`, `Status:`, the full name last; `-q` the name only).
 */
import { LayerwiseError } from '../../errors';
import { parsePlatform } from '../../dockerfile/platform';
import { shortId } from '../../image/digest';
import { familiarString, parseReference } from '../../image/refs';
import { pullImage } from '../../registry/pull';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Download an image from a registry';

/** Pulls `name` into the store at ctx.root, writing docker's lines (all but the last: the caller's) to `out`. */
export async function pullWithOutput(ctx: CliContext, name: string, opts: { platform?: string; quiet?: boolean; out?: NodeJS.WritableStream } = {}): Promise<string> {
  const out = opts.out ?? ctx.stdout;
  const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
  if (opts.platform !== undefined && !platform) throw usageError(`invalid platform "${opts.platform}" (os/arch[/variant])`, 'pull');
  const ref = parseReference(name);
  const say = (s: string) => {
    if (!opts.quiet) out.write(s + '\n');
  };
  if (parseReference(name, { defaultTag: false }).tag === undefined && !ref.digest) say('Using default tag: latest');
  say(`${ref.digest ?? ref.tag}: Pulling from ${ref.path}`);
  const store = await openStore(ctx.root);
  const r = await pullImage(store, name, {
    env: ctx.env,
    ...(platform ? { platform } : {}),
    onLayer: (digest, status) => {
      if (status !== 'Download complete') say(`${shortId(digest)}: ${status}`);
    },
  });
  say(`Digest: ${r.digest}`);
  say(`Status: ${r.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(r.name)}`);
  return r.name;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { platform: { type: 'string' }, quiet: { type: 'bool', short: 'q' }, 'all-tags': { type: 'bool', short: 'a' } }, 'pull');
  if (f.help) return showHelp(ctx, 'pull [OPTIONS] NAME[:TAG|@DIGEST]', summary, f);
  if (f.args.length !== 1) throw usageError('"pull" requires exactly 1 argument.', 'pull');
  if (f.bools.has('all-tags')) throw new LayerwiseError('usage', 'pull --all-tags is not supported: pull the tags one by one');
  const name = await pullWithOutput(ctx, f.args[0]!, { ...(f.strings.has('platform') ? { platform: f.strings.get('platform')! } : {}), quiet: f.bools.has('quiet') });
  ctx.stdout.write(name + '\n');
  return 0;
}
