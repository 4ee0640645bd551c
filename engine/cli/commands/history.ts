/** `layerwise history [--no-trunc] [-q] [-H] [--format T] IMAGE` (also `image history`): as `docker history`. */
import { shortId } from '../../image/digest';
import type { HistoryEntry } from '../../image/types';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { compileTemplate } from './go-template';
import { ellipsis, goRfc3339Local, humanSize, parseFlags, table, timeAgo, usageError, showHelp } from './image-cli';

export const summary = 'Show the history of an image';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, {
    'no-trunc': { type: 'bool' },
    quiet: { type: 'bool', short: 'q' },
    human: { type: 'bool', short: 'H' },
    format: { type: 'string' },
  }, 'history');
  if (f.help) return showHelp(ctx, 'history [OPTIONS] IMAGE', summary, f);
  if (f.args.length !== 1) throw usageError('"history" requires exactly 1 argument.', 'history');
  const human = !f.negated.has('human');
  const noTrunc = f.bools.has('no-trunc');
  const store = await openStore(ctx.root);
  const img = await store.images.resolve(f.args[0]!);
  const hist: HistoryEntry[] = img.config.history?.length
    ? img.config.history
    : img.config.rootfs.diff_ids.map(() => ({ created_by: '', created: img.config.created }));
  // pair history entries with layers: non-empty entries consume layers in order
  let li = 0;
  const now = Date.now();
  // docker's SIZE of a step: its layer unpacked (see store/layerinfo.ts)
  const sizes: number[] = [];
  for (const h of hist) {
    const layer = h.empty_layer === true ? undefined : img.manifest.layers[li++];
    sizes.push(layer ? await store.layerInfo.unpackedSize(layer) : 0);
  }
  const rows = hist.map((h, i) => {
    const top = i === hist.length - 1;
    const id = top ? (noTrunc ? img.id : shortId(img.id)) : '<missing>';
    const size = sizes[i]!;
    return {
      ID: id,
      // as docker/cli's history formatter: CreatedAt in RFC 3339 (whole seconds, local zone), CreatedSince the
      // same unless human
      CreatedSince: human ? timeAgo(h.created, now) : goRfc3339Local(h.created),
      CreatedAt: goRfc3339Local(h.created),
      // docker replaces tabs only (a heredoc's newlines stay), then cuts at 45 characters unless --no-trunc
      CreatedBy: noTrunc ? (h.created_by ?? '').replace(/\t/g, ' ') : ellipsis((h.created_by ?? '').replace(/\t/g, ' '), 45),
      Size: human ? humanSize(size) : String(size),
      Comment: h.comment ?? '',
    };
  }).reverse();
  if (f.bools.has('quiet')) {
    for (const r of rows) ctx.stdout.write(r.ID + '\n');
    return 0;
  }
  const format = f.strings.get('format');
  if (format === 'json') {
    for (const r of rows) ctx.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  if (format && format !== 'table') {
    const t = compileTemplate(format);
    for (const r of rows) ctx.stdout.write(t.render(r) + '\n');
    return 0;
  }
  // docker's table for -H=false shows CreatedAt under its own header
  ctx.stdout.write(table([['IMAGE', human ? 'CREATED' : 'CREATED AT', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment])]));
  return 0;
}
