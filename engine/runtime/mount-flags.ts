/**
 * Per-mount flags of the mount a path lives on. A bind mount that is remounted (read-only, nosuid…) must repeat
 * the source mount's nosuid/nodev/noexec/atime flags: in a user namespace those are locked and a remount that
 * would clear them is refused (util-linux 2.38 remounts with exactly the flags it is given). /tmp and
 * /run/user/UID are commonly nosuid,nodev, so rootless sandboxes depend on this.
 */
import { readFileSync } from 'node:fs';

const KEPT = ['nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime'];

/** mountinfo escapes space, tab, newline and backslash as \ooo */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  point: string;
  options: string[];
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 6) continue;
    out.push({ point: unescape(f[4] as string), options: (f[5] as string).split(',') });
  }
  return out;
}

/** The flags to repeat when remounting a bind of `path` (the last matching mount wins, as it is on top). */
export function lockedFlagsFor(path: string, mounts: MountEntry[]): string[] {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const inside = m.point === '/' || path === m.point || path.startsWith(m.point.endsWith('/') ? m.point : `${m.point}/`);
    if (inside && (!best || m.point.length >= best.point.length)) best = m;
  }
  return best ? best.options.filter((o) => KEPT.includes(o)) : [];
}

let cache: { at: number; mounts: MountEntry[] } | undefined;

/** lockedFlagsFor over this process's mount table (read at most once a second) */
export function sourceFlags(path: string): string[] {
  const now = Date.now();
  if (!cache || now - cache.at > 1000) {
    let text = '';
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      // no /proc: nothing to repeat
    }
    cache = { at: now, mounts: parseMountinfo(text) };
  }
  return lockedFlagsFor(path, cache.mounts);
}

/** `extra` plus the source's locked flags, without duplicates */
export function withSourceFlags(source: string, extra: string[]): string[] {
  const out = [...extra];
  for (const f of sourceFlags(source)) if (!out.includes(f)) out.push(f);
  return out;
}
