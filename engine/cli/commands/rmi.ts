/**
 * `layerwise rmi [-f] [--no-prune] IMAGE...` (also `image rm`): as `docker rmi`. A name of an image with other
 * names is only untagged; the last name (or an id) removes the image unless a container uses it, then GC frees
 * what nothing else reaches.
 */
import { describeError, isLayerwiseError, LayerwiseError } from '../../errors';
import { shortId } from '../../image/digest';
import { familiarString, parseReference } from '../../image/refs';
import { collectGarbage, containersUsing } from '../../store/gc';
import { openStore, type Store } from '../../store/store';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Remove one or more images';

/** docker's order: a string is a name if a name matches it, else an id (prefix) */
async function isName(store: Store, input: string): Promise<boolean> {
  try {
    parseReference(input);
  } catch {
    return false;
  }
  if (!/^(sha256:)?[a-f0-9]{1,64}$/.test(input)) return true;
  return (await store.images.get(input)) !== undefined;
}

async function removeOne(store: Store, input: string, force: boolean, out: string[]): Promise<void> {
  const img = await store.images.resolve(input);
  const byName = (await isName(store, input)) && img.names.length > 0;
  const users = await containersUsing(store, [img.id, img.target.digest]);
  if (byName) {
    const name = (await store.images.get(input))?.name ?? img.names[0]!;
    if (img.names.length > 1) {
      await store.images.delete(name);
      out.push(`Untagged: ${familiarString(name)}`);
      return;
    }
    if (users.length && !force) {
      throw new LayerwiseError('conflict', `conflict: unable to remove repository reference "${input}" (must force) - container ${shortId(users[0]!)} is using its referenced image ${shortId(img.id)}`);
    }
    if (users.length) {
      // forced: the name goes, the image stays (dangling) for the container
      await store.images.untag(name, { keepDangling: true });
      out.push(`Untagged: ${familiarString(name)}`);
      return;
    }
  } else {
    if (users.length) {
      throw new LayerwiseError('conflict', `conflict: unable to delete ${shortId(img.id)} (${force ? 'cannot be forced' : 'must be forced'}) - image is being used by container ${shortId(users[0]!)}`);
    }
    if (img.names.length > 1 && !force) {
      throw new LayerwiseError('conflict', `conflict: unable to delete ${shortId(img.id)} (must be forced) - image is referenced in multiple repositories`);
    }
  }
  for (const n of img.names) out.push(`Untagged: ${familiarString(n)}`);
  await store.images.deleteTarget(img.target.digest);
  out.push(`Deleted: ${img.id}`);
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { force: { type: 'bool', short: 'f' }, 'no-prune': { type: 'bool' } }, 'rmi');
  if (f.help) return showHelp(ctx, 'rmi [OPTIONS] IMAGE [IMAGE...]', summary, f);
  if (f.args.length === 0) throw usageError('"rmi" requires at least 1 argument.', 'rmi');
  const store = await openStore(ctx.root);
  let failed = false;
  for (const a of f.args) {
    const out: string[] = [];
    try {
      await removeOne(store, a, f.bools.has('force'), out);
    } catch (e) {
      if (!isLayerwiseError(e)) throw e;
      failed = true;
      ctx.stderr.write(`Error: ${describeError(e)}\n`);
    }
    for (const l of out) ctx.stdout.write(l + '\n');
  }
  // free the blobs and snapshots nothing reaches any more; skipped while another process is writing
  if (!f.bools.has('no-prune')) await collectGarbage(store, { wait: false });
  return failed ? 1 : 0;
}
