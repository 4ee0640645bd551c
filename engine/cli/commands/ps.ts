/** `layerwise ps [-a] [-q] [--no-trunc] [--format json]` (also `container ls`): the containers, as `docker ps`. */
import { openStore } from '../../store/store';
import { familiarString, parseReference } from '../../image/refs';
import type { Container, ContainerState } from '../../runtime/containers';
import type { PortMapping } from '../../runtime/ports';
import type { CliContext } from '../context';
import { containerStore } from './containers-cli';
import { ellipsis, humanDuration, parseFlags, showHelp, table, timeAgo, usageError } from './image-cli';

export const summary = 'List containers';

/** docker ps's STATUS: `Up 5 minutes`, `Exited (0) 2 hours ago`, `Created`. */
export function statusText(s: ContainerState, now = Date.now()): string {
  const since = (t: string | undefined) => humanDuration(Math.max(0, now - (t ? Date.parse(t) : now)));
  if (s.status === 'running') return `Up ${since(s.startedAt)}`;
  if (s.status === 'exited') return `Exited (${s.exitCode ?? 0}) ${since(s.finishedAt)} ago`;
  return 'Created';
}

/** docker ps's PORTS: `0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp`. */
export function portsText(ports: PortMapping[]): string {
  return ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ');
}

function commandText(c: Container, trunc: boolean): string {
  const cmd = c.config.spec.args.join(' ');
  return `"${trunc ? ellipsis(cmd, 20) : cmd}"`;
}

function imageText(c: Container): string {
  try {
    return c.config.image.startsWith('sha256:') ? c.config.image.slice(7, 19) : familiarString(parseReference(c.config.image));
  } catch {
    return c.config.image;
  }
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { all: { type: 'bool', short: 'a' }, quiet: { type: 'bool', short: 'q' }, 'no-trunc': { type: 'bool' }, format: { type: 'string' }, latest: { type: 'bool', short: 'l' } }, 'ps');
  if (f.help) return showHelp(ctx, 'ps [OPTIONS]', summary, f);
  if (f.args.length) throw usageError('"ps" accepts no arguments.', 'ps');
  const store = await openStore(ctx.root);
  let list = await containerStore(store).list();
  if (!f.bools.has('all') && !f.bools.has('latest')) list = list.filter((c) => c.state.status === 'running');
  if (f.bools.has('latest')) list = list.slice(0, 1);
  const trunc = !f.bools.has('no-trunc');
  if (f.bools.has('quiet')) {
    for (const c of list) ctx.stdout.write(`${trunc ? c.config.id.slice(0, 12) : c.config.id}\n`);
    return 0;
  }
  const format = f.strings.get('format');
  if (format !== undefined && format !== 'json' && format !== 'table') throw usageError(`unsupported --format "${format}" (table or json)`, 'ps');
  if (format === 'json') {
    for (const c of list) {
      ctx.stdout.write(
        JSON.stringify({
          Command: commandText(c, trunc),
          CreatedAt: c.config.created,
          ID: trunc ? c.config.id.slice(0, 12) : c.config.id,
          Image: imageText(c),
          Names: c.config.name,
          Ports: portsText(c.config.ports),
          RunningFor: timeAgo(c.config.created),
          State: c.state.status,
          Status: statusText(c.state),
        }) + '\n',
      );
    }
    return 0;
  }
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const c of list) {
    rows.push([trunc ? c.config.id.slice(0, 12) : c.config.id, imageText(c), commandText(c, trunc), timeAgo(c.config.created), statusText(c.state), portsText(c.config.ports), c.config.name]);
  }
  ctx.stdout.write(table(rows));
  return 0;
}
