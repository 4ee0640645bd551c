/** `layerwise logs [-f] [-t] [--tail N] CONTAINER`: a container's output from its log, as `docker logs` (stdout to
 *  stdout, stderr to stderr; -f follows it until the container ends). */
import { createReadStream, promises as fsp, watch } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { containerStore } from './containers-cli';
import { parseFlags, showHelp, usageError } from './image-cli';

export const summary = "Fetch the logs of a container";

interface Record {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { follow: { type: 'bool', short: 'f' }, timestamps: { type: 'bool', short: 't' }, tail: { type: 'string', short: 'n' } }, 'logs');
  if (f.help) return showHelp(ctx, 'logs [OPTIONS] CONTAINER', summary, f);
  if (f.args.length !== 1) throw usageError('"logs" requires exactly 1 argument.', 'logs');
  const tailText = f.strings.get('tail') ?? 'all';
  const tail = tailText === 'all' ? Infinity : Number(tailText);
  if (!(tail >= 0)) throw usageError(`invalid value for --tail: ${tailText}`, 'logs');
  const store = await openStore(ctx.root);
  const containers = containerStore(store);
  const c = await containers.find(f.args[0]!);
  const file = join(c.dir, 'container.log');
  const write = (line: string) => {
    if (!line) return;
    let r: Record;
    try {
      r = JSON.parse(line) as Record;
    } catch {
      return; // a line cut by a crash
    }
    const text = f.bools.has('timestamps') ? `${r.time} ${r.log}` : r.log;
    (r.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(text);
  };
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  // (a last line still being written is left for -f)
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  let offset = Buffer.byteLength(complete);
  const lines = complete.split('\n').filter(Boolean);
  for (const l of tail === Infinity ? lines : lines.slice(Math.max(0, lines.length - tail))) write(l);
  if (!f.bools.has('follow')) return 0;
  // -f: what is appended, until the container has ended and its log is read to the end
  let pending = '';
  const readMore = async () => {
    await new Promise<void>((resolve) => {
      const s = createReadStream(file, { start: offset, encoding: 'utf8' });
      s.on('data', (d) => {
        const str = d as string;
        offset += Buffer.byteLength(str);
        pending += str;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        for (const p of parts) write(p);
      });
      s.on('end', () => resolve());
      s.on('error', () => resolve());
    });
  };
  await new Promise<void>((resolve) => {
    let busy = false;
    let again = false;
    const step = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      do {
        again = false;
        await readMore();
        const now = await containers.read(c.config.id);
        if (!now || now.state.status !== 'running') {
          await readMore();
          w.close();
          clearInterval(t);
          resolve();
          return;
        }
      } while (again);
      busy = false;
    };
    const w = watch(c.dir, () => void step());
    // (a supervisor killed with -9 says nothing: its state is looked at now and then too)
    const t = setInterval(() => void step(), 250);
    void step();
  });
  return 0;
}
