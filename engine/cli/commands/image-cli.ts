/**
 * Shared by the image commands (images, inspect, history, tag, rmi, image prune, system df, save, load, import,
 * fsck): a small docker-style flag parser, docker's human sizes and durations, tabwriter-like tables.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { LayerwiseError } from '../../errors';

export type FlagType = 'bool' | 'string' | 'strings';
export interface FlagSpec {
  [long: string]: { type: FlagType; short?: string };
}
export interface ParsedFlags {
  /** -h/--help was given: the command prints showHelp() and exits 0 */
  help: boolean;
  spec: FlagSpec;
  bools: Set<string>;
  /** bool flags given as false (`-H=false`, `--human=0`): for those that default to true */
  negated: Set<string>;
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  args: string[];
}

/** `--name=v`, `--name v`, `-q`, `-aq`, `-o FILE`, `--` ends flags. Unknown flags are usage errors (exit 125). */
export function parseFlags(argv: string[], spec: FlagSpec, command: string): ParsedFlags {
  const out: ParsedFlags = { help: false, spec, bools: new Set(), negated: new Set(), strings: new Map(), lists: new Map(), args: [] };
  const byShort = new Map<string, string>();
  for (const [k, v] of Object.entries(spec)) if (v.short) byShort.set(v.short, k);
  const set = (name: string, value: string | undefined, next: () => string | undefined, shown: string) => {
    const s = spec[name]!;
    if (s.type === 'bool') {
      // Go's strconv.ParseBool
      if (value === undefined || ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) {
        out.bools.add(name);
        out.negated.delete(name);
      } else if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) {
        out.bools.delete(name);
        out.negated.add(name);
      } else throw usage(`invalid argument "${value}" for "${shown}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`, command);
      return;
    }
    const v = value ?? next();
    if (v === undefined) throw usage(`flag needs an argument: ${shown}`, command);
    if (s.type === 'string') out.strings.set(name, v);
    else out.lists.set(name, [...(out.lists.get(name) ?? []), v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => (i + 1 < argv.length ? argv[++i] : undefined);
    if (a === '--') {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (name === 'help') {
        out.help = true;
        return out;
      }
      if (!spec[name]) throw usage(`unknown flag: --${name}`, command);
      set(name, eq < 0 ? undefined : a.slice(eq + 1), next, `--${name}`);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (c === 'h' && !byShort.has('h')) {
          out.help = true;
          return out;
        }
        const name = byShort.get(c);
        if (!name) throw usage(`unknown shorthand flag: '${c}' in ${a}`, command);
        if (spec[name]!.type === 'bool') {
          // `-H=false`, as pflag takes a value for a shorthand bool
          if (a[j + 1] === '=') {
            set(name, a.slice(j + 2), next, `-${c}`);
            break;
          }
          set(name, undefined, next, `-${c}`);
        } else {
          const rest = a.slice(j + 1);
          set(name, rest ? rest.replace(/^=/, '') : undefined, next, `-${c}`);
          break;
        }
      }
    } else out.args.push(a);
  }
  return out;
}

/** Print `Usage:  layerwise …`, the summary and the flags, as `docker <cmd> --help` does. */
export function showHelp(ctx: { stdout: NodeJS.WritableStream }, usageLine: string, summary: string, f: ParsedFlags): number {
  const lines = [`Usage:  layerwise ${usageLine}`, '', summary];
  const names = Object.keys(f.spec).sort();
  if (names.length) {
    lines.push('', 'Options:');
    for (const n of names) {
      const s = f.spec[n]!;
      const short = s.short ? `-${s.short}, ` : '    ';
      lines.push(`  ${short}--${n}${s.type === 'bool' ? '' : s.type === 'strings' ? ' list' : ' string'}`);
    }
  }
  ctx.stdout.write(lines.join('\n') + '\n');
  return 0;
}

function usage(msg: string, command: string, exitCode = 125): LayerwiseError {
  return new LayerwiseError('usage', msg ? `${msg}\nSee 'layerwise ${command} --help'.` : `See 'layerwise ${command} --help'.`, { exitCode });
}

export function usageError(msg: string, command: string): LayerwiseError {
  return usage(msg, command);
}

/** docker's units.HumanSizeWithPrecision(n, 3): decimal units, `%.3g`. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${goG(v, 3)}${units[i]}`;
}

/** Go's %.{p}g */
function goG(v: number, p: number): string {
  if (v === 0) return '0';
  let s = v.toPrecision(p);
  if (s.includes('e')) {
    const [m, e] = s.split('e');
    const exp = Number(e);
    s = `${m!.includes('.') ? m!.replace(/\.?0+$/, '') : m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return s;
  }
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** docker's units.HumanDuration */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3600000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3600000 / 24 / 365)} years`;
}

/** `2 hours ago`, or `N/A` for a missing time */
export function timeAgo(created: string | undefined, now = Date.now()): string {
  const t = created ? Date.parse(created) : NaN;
  if (!Number.isFinite(t) || t <= -62135596800000) return 'N/A';
  return `${humanDuration(Math.max(0, now - t))} ago`;
}

/** Go's time.Time String() for UTC: `2024-01-01 00:00:00 +0000 UTC` */
export function goTimeString(created: string | undefined): string {
  const t = created ? new Date(created) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '0001-01-01 00:00:00 +0000 UTC';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000 UTC`;
}

/** A config's `created` as Go prints a time with RFC3339Nano (docker inspect's Created): the fraction without its
 *  trailing zeros, none when it is zero (`2024-01-01T00:00:00.000Z` -> `2024-01-01T00:00:00Z`); the zone kept. */
export function goRfc3339Nano(created: string | undefined): string {
  if (!created) return '0001-01-01T00:00:00Z';
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(created);
  if (!m) return created;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return `${m[1]}${frac ? '.' + frac : ''}${m[3]!.toUpperCase()}`;
}

/** Go's time.Unix(created, 0).Format(time.RFC3339): whole seconds, in the local zone (docker history's CreatedAt). */
export function goRfc3339Local(created: string | undefined): string {
  const t = created ? new Date(created) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '0001-01-01T00:00:00Z';
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -t.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}${zone}`;
}

/** Go's text/tabwriter as docker configures it (minwidth 10, padding 3, spaces); the last column unpadded. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols - 1; c++) {
    const w = Math.max(...rows.map((r) => [...(r[c] ?? '')].length)) + 3;
    widths.push(Math.max(w, 10));
  }
  return rows
    // as Go's tabwriter pads: every cell but the last of its line, so a line whose last cell is empty (history's
    // COMMENT) ends in the padding of the one before, as docker prints it
    .map((r) => r.map((cell, c) => (c < cols - 1 ? cell + ' '.repeat(widths[c]! - [...cell].length) : cell)).join(''))
    .join('\n') + '\n';
}

/** docker's stringutils.Ellipsis */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return chars.slice(0, max - 1).join('') + '…';
}

/** Read one line from stdin (for confirmation prompts). */
export async function readLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let buf = '';
  for await (const c of stdin as AsyncIterable<Buffer | string>) {
    buf += typeof c === 'string' ? c : c.toString('utf8');
    const nl = buf.indexOf('\n');
    if (nl >= 0) return buf.slice(0, nl);
  }
  return buf;
}

/** The flags of the prune commands (`-a`, `-f`; filters are refused), checked; undefined when it printed help. */
export function pruneFlags(args: string[], ctx: { stdout: NodeJS.WritableStream }, command: string, summary: string): { all: boolean; force: boolean } | undefined {
  const f = parseFlags(args, { all: { type: 'bool', short: 'a' }, force: { type: 'bool', short: 'f' }, filter: { type: 'strings' } }, command);
  if (f.help) {
    showHelp(ctx, `${command} [OPTIONS]`, summary, f);
    return undefined;
  }
  if (f.args.length) throw usageError(`"${command}" accepts no arguments.`, command);
  if (f.lists.get('filter')?.length) throw usageError(`${command} filters are not supported`, command);
  return { all: f.bools.has('all'), force: f.bools.has('force') };
}

/** Docker's `WARNING! … Are you sure you want to continue? [y/N]`: whether the answer on stdin was yes. */
export async function confirmed(ctx: { stdout: NodeJS.WritableStream; stdin: NodeJS.ReadableStream }, warning: string): Promise<boolean> {
  ctx.stdout.write(`WARNING! ${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = (await readLine(ctx.stdin)).trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}

/** Bytes of the files under `p` (or of `p` itself), symlinks not followed; 0 when it is missing. */
export async function du(p: string): Promise<number> {
  let st;
  try {
    st = await fsp.lstat(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const n of await fsp.readdir(p)) total += await du(join(p, n));
  return total;
}

/** docker's `--add-host`: `host:ip` (an IPv6 address keeps its colons, brackets are dropped) or `host=ip`. */
export function parseAddHost(v: string): { host: string; ip: string } {
  const sep = v.includes('=') ? v.indexOf('=') : v.indexOf(':');
  const host = sep < 0 ? '' : v.slice(0, sep);
  const ip = sep < 0 ? '' : v.slice(sep + 1).replace(/^\[(.*)\]$/, '$1');
  if (!host || !ip || !/^[0-9a-fA-F.:]+$/.test(ip)) throw new LayerwiseError('usage', `invalid argument "${v}" for "--add-host" flag: invalid IP address in add-host: "${ip}"`);
  return { host, ip };
}
