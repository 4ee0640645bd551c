/**
 * `layerwise push [-q] NAME[:TAG]` (also `image push`): as `docker push`, with its output (`The push refers to
 * repository […]`, a line per layer, `TAG: digest: sha256:… size: N`).
 */
import { shortId } from '../../image/digest';
import { familiarRepository, parseReference } from '../../image/refs';
import { pushImage } from '../../registry/push';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Upload an image to a registry';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { quiet: { type: 'bool', short: 'q' } }, 'push');
  if (f.help) return showHelp(ctx, 'push [OPTIONS] NAME[:TAG]', summary, f);
  if (f.args.length !== 1) throw usageError('"push" requires exactly 1 argument.', 'push');
  const name = f.args[0]!;
  const quiet = f.bools.has('quiet');
  const say = (s: string) => {
    if (!quiet) ctx.stdout.write(s + '\n');
  };
  const ref = parseReference(name);
  if (parseReference(name, { defaultTag: false }).tag === undefined && !ref.digest) say('Using default tag: latest');
  say(`The push refers to repository [${ref.domain}/${ref.path}]`);
  const store = await openStore(ctx.root);
  const r = await pushImage(store, name, { env: ctx.env, onLayer: (diffId, status) => say(`${shortId(diffId)}: ${status}`) });
  if (quiet) ctx.stdout.write(`${familiarRepository(ref)}:${r.tag}\n`);
  else say(`${r.tag}: digest: ${r.digest} size: ${r.size}`);
  return 0;
}
