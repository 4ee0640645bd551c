/**
 * Resolving a Dockerfile `USER` value (`name`, `uid`, `name:group`, `uid:gid`, or empty) to numeric ids with the
 * container's /etc/passwd and /etc/group, with the semantics of BuildKit's `oci.GetUser` over moby's
 * `GetExecUser`:
 * - empty -> root; if the rootfs has a passwd entry for uid 0 its gid and supplementary groups are used, any
 *   lookup failure falls back to 0:0 with no supplementary groups;
 * - `uid:gid` with both numeric (or `root`) -> taken as is, no file lookups, no supplementary groups;
 * - a name must exist in /etc/passwd; a numeric uid need not (gid 0 then);
 * - with an explicit group, supplementary groups are not added; without one, every group in /etc/group that
 *   lists the user's name as a member is a supplementary group.
 * Pure functions over file texts: the caller reads the files from the rootfs.
 */
import { LayerwiseError } from '../errors';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** supplementary group ids, in /etc/group order, without duplicates */
  groups: number[];
  /** the passwd name when the user was found in /etc/passwd */
  name?: string;
  /** home directory from /etc/passwd, `/` when unknown (callers set HOME from it when the image has none) */
  home: string;
}

const MAX_ID = 0x7fffffff;

function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n <= MAX_ID ? n : undefined;
}

/** Parses /etc/passwd text; malformed lines are skipped like libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = parseId(f[2] ?? '');
    const gid = parseId(f[3] ?? '');
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0] ?? '', uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = parseId(f[2] ?? '');
    if (gid === undefined) continue;
    const members = (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    out.push({ name: f[0] ?? '', gid, members });
  }
  return out;
}

function numericOrRoot(s: string): number | undefined {
  return s === 'root' ? 0 : parseId(s);
}

/**
 * Resolves `spec` against the given file texts (undefined = the file does not exist in the rootfs).
 * Throws LayerwiseError('invalid') for a name that is not found, like Docker's
 * `unable to find user x: no matching entries in passwd file`.
 */
export function resolveUser(spec: string, passwdText: string | undefined, groupText: string | undefined): ResolvedUser {
  const isDefault = spec === '';
  const userSpec = isDefault ? '0' : spec;
  const colon = userSpec.indexOf(':');
  const userPart = colon < 0 ? userSpec : userSpec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : userSpec.slice(colon + 1);

  // fast path: both parts numeric
  if (groupPart !== undefined) {
    const u = numericOrRoot(userPart);
    const g = numericOrRoot(groupPart);
    if (u !== undefined && g !== undefined) return { uid: u, gid: g, groups: [], home: '/' };
  }

  try {
    return lookupUser(userPart, groupPart, passwdText, groupText);
  } catch (e) {
    if (isDefault) return { uid: 0, gid: 0, groups: [], home: '/' };
    throw e;
  }
}

function lookupUser(userPart: string, groupPart: string | undefined, passwdText: string | undefined, groupText: string | undefined): ResolvedUser {
  if (userPart === '') throw new LayerwiseError('invalid', 'invalid user: the user name is empty');
  const numericUser = parseId(userPart);
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  const entry = passwd.find((p) => p.name === userPart || (numericUser !== undefined && p.uid === numericUser));
  const result: ResolvedUser = { uid: 0, gid: 0, groups: [], home: '/' };
  if (entry) {
    result.uid = entry.uid;
    result.gid = entry.gid;
    result.name = entry.name;
    result.home = entry.home || '/';
  } else if (numericUser !== undefined) {
    result.uid = numericUser;
  } else {
    throw new LayerwiseError('invalid', `unable to find user ${userPart}: no matching entries in passwd file`);
  }

  const groups = groupText === undefined ? [] : parseGroup(groupText);
  if (groupPart !== undefined) {
    if (groupPart === '') throw new LayerwiseError('invalid', `invalid user ${userPart}: the group name is empty`);
    const numericGroup = parseId(groupPart);
    const g = groups.find((x) => x.name === groupPart || (numericGroup !== undefined && x.gid === numericGroup));
    if (g) result.gid = g.gid;
    else if (numericGroup !== undefined) result.gid = numericGroup;
    else throw new LayerwiseError('invalid', `unable to find group ${groupPart}: no matching entries in group file`);
  } else if (result.name !== undefined) {
    const name = result.name;
    for (const g of groups) {
      if (g.members.includes(name) && !result.groups.includes(g.gid)) result.groups.push(g.gid);
    }
  }
  return result;
}
