/**
 * `layerwise fsck [--repair] [--format json]`: verify every blob against its digest, every image's blobs, every
 * snapshot's tree digest, and look for temp files of dead processes. Exit 0 when all is well (or repaired),
 * 1 when problems remain.
 */
import { fsck } from '../../store/fsck';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { humanSize, parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Verify (and with --repair, fix) the image store';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { repair: { type: 'bool' }, format: { type: 'string' } }, 'fsck');
  if (f.help) return showHelp(ctx, 'fsck [--repair] [--format json]', summary, f);
  if (f.args.length) throw usageError('"fsck" accepts no arguments.', 'fsck');
  // do not clean temp files on open: fsck reports them
  const store = await openStore(ctx.root, { clean: false });
  const report = await fsck(store, { repair: f.bools.has('repair') });
  const remaining = report.problems.filter((p) => !p.repaired);
  if (f.strings.get('format') === 'json') {
    ctx.stdout.write(JSON.stringify({ ...report, ok: remaining.length === 0 }) + '\n');
    return remaining.length ? 1 : 0;
  }
  ctx.stdout.write(`checked ${report.blobs} blobs (${humanSize(report.bytes)}), ${report.images} images, ${report.snapshots} snapshots\n`);
  for (const p of report.problems) ctx.stdout.write(`${p.kind} ${p.subject}: ${p.detail}${p.repaired ? ' (repaired)' : ''}\n`);
  if (report.problems.length === 0) ctx.stdout.write('no problems found\n');
  else if (remaining.length === 0) ctx.stdout.write(`${report.problems.length} problems repaired\n`);
  else ctx.stdout.write(`${remaining.length} problems${f.bools.has('repair') ? '' : ' (run with --repair to fix)'}\n`);
  return remaining.length ? 1 : 0;
}
