/**
 * User-namespace id mapping for rootless sandboxes.
 * - As root no user namespace is used (like Docker as root): ids in the rootfs are real host ids.
 * - Rootless with a range for the user in /etc/subuid and /etc/subgid and `newuidmap`/`newgidmap` installed:
 *   container 0 = the user, container 1..count = the subordinate range (so `_apt`, `nobody`, ... exist).
 * - Rootless without ranges: only container root is mapped (to the user); switching to another uid or setting
 *   supplementary groups is then impossible and is reported as such.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { LayerwiseError } from '../errors';
import { findExecutable } from './host-tools';

export interface IdRange {
  /** first id inside the namespace */
  inside: number;
  /** first id on the host */
  outside: number;
  count: number;
}

export interface IdMapPlan {
  /** 'host': no user namespace; 'root-only': uid/gid 0 only; 'subid': root plus a subordinate range */
  mode: 'host' | 'root-only' | 'subid';
  uids: IdRange[];
  gids: IdRange[];
  /** why a range is not used, for messages */
  note?: string;
}

/** Parses /etc/subuid or /etc/subgid text: the first range for `name` or `id`. */
export function parseSubIdRange(text: string, name: string, id: number): { start: number; count: number } | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who !== name && who !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) return { start: s, count: c };
  }
  return undefined;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Decides the id mapping for a sandbox started by this process. */
export function planIdMap(): IdMapPlan {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  if (uid === 0) return { mode: 'host', uids: [], gids: [] };
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry for this uid: match by number only
  }
  const single: IdMapPlan = {
    mode: 'root-only',
    uids: [{ inside: 0, outside: uid, count: 1 }],
    gids: [{ inside: 0, outside: gid, count: 1 }],
  };
  const su = parseSubIdRange(readOr('/etc/subuid'), name, uid);
  const sg = parseSubIdRange(readOr('/etc/subgid'), name, uid);
  if (!su || !sg) return { ...single, note: `no range for ${name} in /etc/subuid and /etc/subgid: only root is mapped in the sandbox` };
  if (!findExecutable('newuidmap') || !findExecutable('newgidmap')) {
    return { ...single, note: 'newuidmap/newgidmap are not installed (Debian: uidmap): only root is mapped in the sandbox' };
  }
  return {
    mode: 'subid',
    uids: [{ inside: 0, outside: uid, count: 1 }, { inside: 1, outside: su.start, count: su.count }],
    gids: [{ inside: 0, outside: gid, count: 1 }, { inside: 1, outside: sg.start, count: sg.count }],
  };
}

/** True when `id` is mapped inside the namespace by `ranges` (always true without a user namespace). */
export function isMapped(plan: IdMapPlan, kind: 'uid' | 'gid', id: number): boolean {
  if (plan.mode === 'host') return true;
  const ranges = kind === 'uid' ? plan.uids : plan.gids;
  return ranges.some((r) => id >= r.inside && id < r.inside + r.count);
}

/** Throws a clear error when the resolved user cannot exist in this sandbox. */
export function checkUserMapped(plan: IdMapPlan, uid: number, gid: number, userSpec: string): void {
  for (const [kind, id] of [['uid', uid], ['gid', gid]] as const) {
    if (!isMapped(plan, kind, id)) {
      throw new LayerwiseError(
        'invalid',
        `user ${JSON.stringify(userSpec)} needs ${kind} ${id}, which is not mapped in this rootless sandbox` +
          (plan.note ? ` (${plan.note})` : ''),
      );
    }
  }
}
