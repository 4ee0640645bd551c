/** Extended attributes of whole trees, through the `getfattr`/`setfattr` programs (Debian package `attr`):
 *  Node has no xattr API, and one process per tree (not per file) keeps this fast. */
import { spawn } from 'node:child_process';
import type * as Readline from 'node:readline';

/** xattr names that belong to overlayfs itself: never copied into or out of a layer. */
export function isOverlayPrivate(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

function unescapeBytes(s: string): Buffer {
  const out: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      out.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else out.push(c);
  }
  return Buffer.from(out);
}

function escapeBytes(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3d) s += '\\' + c.toString(8).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) return unescapeBytes(v.slice(1, -1));
  return unescapeBytes(v);
}

let haveAttrTools: boolean | undefined;
/** Whether getfattr/setfattr can run here. */
export async function attrToolsAvailable(): Promise<boolean> {
  if (haveAttrTools !== undefined) return haveAttrTools;
  haveAttrTools = await new Promise<boolean>((res) => {
    const c = spawn('getfattr', ['--version'], { stdio: 'ignore' });
    c.on('error', () => res(false));
    c.on('close', (code) => res(code === 0));
  });
  return haveAttrTools;
}

/**
 * All xattrs (every namespace this process may read) of every file under `root` (symlinks not followed),
 * keyed by path relative to root ('' for root itself). Returns null when getfattr is not installed.
 */
export async function readTreeXattrs(root: string): Promise<Map<string, Array<[string, Buffer]>> | null> {
  if (haveAttrTools === false) return null;
  const result = new Map<string, Array<[string, Buffer]>>();
  // no `getfattr --version` first: a getfattr that cannot be started says so itself (one process, not two, a tree)
  const child = spawn('getfattr', ['-h', '-R', '-P', '-d', '-m', '-', '-e', 'base64', '--absolute-names', root], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const ended = new Promise<void>((res) => {
    child.on('error', () => res());
    child.on('close', () => res());
  });
  const prefix = root.endsWith('/') ? root : root + '/';
  let current: Array<[string, Buffer]> | null = null;
  // node:readline is loaded here, on first use: a cached build never reads a tree's xattrs
  const rl = (require('node:readline') as typeof Readline).createInterface({ input: child.stdout, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.startsWith('# file: ')) {
      const p = unescapeBytes(line.slice(8)).toString('utf8');
      const rel = p === root || p + '/' === prefix ? '' : p.startsWith(prefix) ? p.slice(prefix.length) : null;
      current = [];
      if (rel !== null) result.set(rel, current);
      continue;
    }
    if (!line || !current) continue;
    const eq = line.indexOf('=');
    const name = unescapeBytes(eq < 0 ? line : line.slice(0, eq)).toString('utf8');
    current.push([name, eq < 0 ? Buffer.alloc(0) : decodeValue(line.slice(eq + 1))]);
  }
  await ended;
  if (child.pid === undefined) {
    // not installed (or not runnable): said once, and not tried again
    haveAttrTools = false;
    return null;
  }
  for (const [k, v] of result) if (v.length === 0) result.delete(k);
  return result;
}

export interface XattrSet {
  /** absolute path; symlinks at the path itself are not followed */
  path: string;
  name: string;
  value: Buffer;
}

/**
 * Sets xattrs in one `setfattr --restore` run. Failures (a namespace this process may not write, a file
 * system without xattrs) are collected, not thrown. Returns the number of failures, or -1 when setfattr is
 * not installed and nothing was set.
 */
export async function setXattrs(items: XattrSet[]): Promise<number> {
  if (items.length === 0) return 0;
  if (!(await attrToolsAvailable())) return -1;
  const byPath = new Map<string, XattrSet[]>();
  for (const it of items) {
    const l = byPath.get(it.path);
    if (l) l.push(it);
    else byPath.set(it.path, [it]);
  }
  const child = spawn('setfattr', ['-h', '--restore=-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let errors = 0;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    errors += d.split('\n').filter((l) => l.trim()).length;
  });
  child.stdin.on('error', () => undefined);
  const spawned = await new Promise<boolean>((res) => {
    child.on('spawn', () => res(true));
    child.on('error', () => res(false));
  });
  if (!spawned) return -1;
  for (const [p, list] of byPath) {
    let chunk = `# file: ${escapeBytes(Buffer.from(p, 'utf8'))}\n`;
    for (const it of list) {
      // an empty value must be written as "" (setfattr rejects an empty 0s)
      const v = it.value.length ? `0s${it.value.toString('base64')}` : '""';
      chunk += `${escapeBytes(Buffer.from(it.name, 'utf8'))}=${v}\n`;
    }
    chunk += '\n';
    if (!child.stdin.write(chunk)) await new Promise<void>((r) => child.stdin.once('drain', () => r()));
  }
  child.stdin.end();
  await new Promise<void>((res) => (child.exitCode !== null ? res() : child.on('close', () => res())));
  return errors;
}
