/**
 * Phase two of a sandbox's set-up, computed by the engine once the overlay is mounted: it looks at the merged
 * rootfs through /proc/<pid>/root (the sandbox's own mount namespace), resolves the user and every mount target
 * safely inside the rootfs, and writes the shell steps (setup.sh) that process 1 then runs: /proc, a read-only
 * /sys, a minimal /dev, the generated /etc files, the caller's mounts, the working directory, and finally the
 * command line that drops privileges and enters the root.
 */
import { realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { LayerwiseError } from '../errors';
import { checkUserMapped, type IdMapPlan, isMapped } from './idmap';
import { findExecutable } from './host-tools';
import { resolveInRootfs } from './rootfs-path';
import { DEFAULT_CAPS, SetupScript, shq } from './setup-script';
import type { SandboxMount, SandboxSpec } from './types';
import { resolveUser, type ResolvedUser } from './users';

export interface SetupContext {
  spec: SandboxSpec;
  /** host view of the merged rootfs, e.g. /proc/123/root/tmp/layerwise-sbx-x/root */
  view: string;
  /** host path of the merged rootfs inside the sandbox's mount namespace */
  root: string;
  state: string;
  idmap: IdMapPlan;
  hostname: string;
  /** container paths this set-up creates (so two mounts under one missing parent create it once) */
  created?: Set<string>;
}

export interface SetupResult {
  script: string;
  user: ResolvedUser;
}

const MAX_USER_FILE = 10 << 20;

/** Reads a regular file of the rootfs (following its symlinks inside the rootfs); undefined when absent. */
export async function readRootfsFile(view: string, path: string): Promise<string | undefined> {
  const r = await resolveInRootfs(view, path).catch(() => undefined);
  if (!r || r.missing.length > 0 || r.kind !== 'file') return undefined;
  const st = await stat(view + r.path);
  if (st.size > MAX_USER_FILE) throw new LayerwiseError('invalid', `${path} in the container is larger than ${MAX_USER_FILE} bytes`);
  return readFile(view + r.path, 'utf8');
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** @sec.nsec for `touch -d` from a bigint stat */
function touchStamp(ns: bigint): string {
  const sec = ns / 1000000000n;
  const frac = (ns % 1000000000n).toString().padStart(9, '0');
  return `@${sec}.${frac}`;
}

/**
 * Makes sure `target` exists in the rootfs (creating missing components: dirs, and a file or dir for the last
 * one) and returns its resolved path. The created leaf is removed again after the command (a "mount stub", as
 * BuildKit does), and the mtime of its parent is put back.
 */
async function ensureMountpoint(ctx: SetupContext, s: SetupScript, target: string, leaf: 'file' | 'dir', what: string): Promise<string> {
  const r = await resolveInRootfs(ctx.view, target);
  if (r.missing.length === 0) {
    if (leaf === 'dir' && r.kind !== 'dir') throw new LayerwiseError('invalid', `cannot mount ${what} on ${target}: it is not a directory in the container`);
    if (leaf === 'file' && r.kind === 'dir') throw new LayerwiseError('invalid', `cannot mount ${what} on ${target}: it is a directory in the container`);
    return r.path;
  }
  const firstMissing = r.missing[0] as string;
  const existingParent = parentOf(firstMissing);
  const parentStat = await stat(ctx.view + (existingParent === '/' ? '' : existingParent), { bigint: true }).catch(() => undefined);
  r.missing.forEach((m, i) => {
    const last = i === r.missing.length - 1;
    if (!markCreated(ctx, m)) return;
    if (last && leaf === 'file') s.must(`: > ${SetupScript.inRoot(m)}`, `cannot create ${m} in the container`);
    else s.must(`mkdir -m 755 ${SetupScript.inRoot(m)}`, `cannot create ${m} in the container`);
  });
  const stub = SetupScript.inRoot(r.path);
  s.onCleanup(leaf === 'file' ? `[ -f ${stub} ] && [ ! -s ${stub} ] && rm -f ${stub}` : `rmdir ${stub}`);
  if (r.missing.length === 1 && parentStat) {
    s.onCleanup(`touch -h -d ${touchStamp(parentStat.mtimeNs)} ${SetupScript.inRoot(existingParent)}`);
  }
  return r.path;
}

async function systemMounts(ctx: SetupContext, s: SetupScript): Promise<void> {
  const { spec } = ctx;
  const proc = SetupScript.inRoot(await ensureDir(ctx, s, '/proc'));
  s.must(`mount -t proc -o nosuid,nodev,noexec proc ${proc}`, 'cannot mount /proc');
  const sys = SetupScript.inRoot(await ensureDir(ctx, s, '/sys'));
  s.must(
    `{ mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${sys} 2>/dev/null || { mount --rbind /sys ${sys} && mount -o remount,bind,ro ${sys}; }; }`,
    'cannot mount /sys',
  );
  const dev = SetupScript.inRoot(await ensureDir(ctx, s, '/dev'));
  s.must(`mount -t tmpfs -o nosuid,nodev,strictatime,mode=755,size=65536k tmpfs ${dev}`, 'cannot mount /dev');
  for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    s.must(`: > ${dev}/${n} && mount --bind /dev/${n} ${dev}/${n}`, `cannot create /dev/${n}`);
  }
  s.must(`mkdir -m 755 ${dev}/pts ${dev}/shm ${dev}/mqueue`, 'cannot create /dev/pts');
  const ptsGid = isMapped(ctx.idmap, 'gid', 5) ? ',gid=5' : '';
  s.must(`mount -t devpts -o newinstance,ptmxmode=0666,mode=0620${ptsGid},nosuid,noexec devpts ${dev}/pts`, 'cannot mount /dev/pts');
  s.must(`mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm ${dev}/shm`, 'cannot mount /dev/shm');
  s.may(`mount -t mqueue -o nosuid,nodev,noexec mqueue ${dev}/mqueue`);
  s.must(
    `ln -s pts/ptmx ${dev}/ptmx && ln -s /proc/self/fd ${dev}/fd && ln -s /proc/self/fd/0 ${dev}/stdin && ` +
      `ln -s /proc/self/fd/1 ${dev}/stdout && ln -s /proc/self/fd/2 ${dev}/stderr`,
    'cannot create /dev links',
  );
  if (spec.network === 'none' && findExecutable('ip')) s.may('ip link set lo up');
}

/** false when the path is already created by an earlier step of this set-up */
function markCreated(ctx: SetupContext, p: string): boolean {
  ctx.created ??= new Set();
  if (ctx.created.has(p)) return false;
  ctx.created.add(p);
  return true;
}

/** /proc, /sys, /dev: created if missing (and then kept, as runc does), never removed */
async function ensureDir(ctx: SetupContext, s: SetupScript, p: string): Promise<string> {
  const r = await resolveInRootfs(ctx.view, p);
  for (const m of r.missing) if (markCreated(ctx, m)) s.must(`mkdir -m 755 ${SetupScript.inRoot(m)}`, `cannot create ${m} in the container`);
  if (r.missing.length === 0 && r.kind !== 'dir') throw new LayerwiseError('invalid', `${p} in the container is not a directory`);
  return r.path;
}

async function etcFiles(ctx: SetupContext, s: SetupScript, unmounts: string[]): Promise<void> {
  const run = ctx.spec.profile === 'run';
  const files: [string, string][] = [['/etc/hosts', 'hosts'], ['/etc/resolv.conf', 'resolv.conf']];
  if (run) files.push(['/etc/hostname', 'hostname']);
  for (const [target, name] of files) {
    const p = SetupScript.inRoot(await ensureMountpoint(ctx, s, target, 'file', target));
    s.must(`mount --bind${run ? '' : ' -o ro'} ${shq(`${ctx.state}/${name}`)} ${p}`, `cannot mount ${target}`);
    unmounts.push(p);
  }
}

async function userMounts(ctx: SetupContext, s: SetupScript, mounts: SandboxMount[], unmounts: string[]): Promise<void> {
  const sorted = [...mounts].sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  for (const m of sorted) {
    let leaf: 'file' | 'dir' = 'dir';
    if (m.type !== 'tmpfs') {
      const st = await stat(m.source as string).catch(() => undefined);
      if (!st) throw new LayerwiseError('not-found', `mount source ${m.source} does not exist`);
      if (!st.isDirectory()) leaf = 'file';
    }
    const p = SetupScript.inRoot(await ensureMountpoint(ctx, s, m.target, leaf, m.type === 'tmpfs' ? 'a tmpfs' : (m.source as string)));
    if (m.type === 'tmpfs') {
      const size = m.size ? `,size=${Math.floor(m.size)}` : '';
      s.must(`mount -t tmpfs -o nosuid,nodev,mode=1777${size}${m.readonly ? ',ro' : ''} tmpfs ${p}`, `cannot mount a tmpfs on ${m.target}`);
    } else {
      s.must(`mount --rbind${m.readonly ? ' -o ro' : ''} ${shq(m.source as string)} ${p}`, `cannot mount ${m.source} on ${m.target}`);
    }
    unmounts.push(p);
  }
}

async function workingDir(ctx: SetupContext, s: SetupScript, cwd: string, user: ResolvedUser): Promise<void> {
  const r = await resolveInRootfs(ctx.view, cwd);
  if (r.missing.length === 0 && r.kind !== 'dir') throw new LayerwiseError('invalid', `working directory ${cwd} is not a directory in the container`);
  for (const m of r.missing) {
    const p = SetupScript.inRoot(m);
    s.must(`{ [ -d ${p} ] || { mkdir -m 755 ${p} && chown ${user.uid}:${user.gid} ${p}; }; }`, `cannot create the working directory ${m}`);
  }
}

/** where the container's root sits in the staging root */
const STAGE_ROOTFS = '/rootfs';
const STAGE_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * The last step before the command: process 1 pivots into a small staging root (a tmpfs with the host's
 * /usr, /bin, /lib… read-only, the container's /dev, and the container's root at /rootfs), and detaches the
 * host's root from the sandbox's mount namespace. The command is then entered with chroot (the container may
 * have no tools to pivot with), but the mount namespace holds nothing of the host a process could escape to
 * except read-only system directories.
 */
function stagingRoot(s: SetupScript, tools: string[]): void {
  const dirs = new Set(STAGE_DIRS);
  for (const t of tools) {
    const p = findExecutable(t);
    if (!p) continue;
    let real = p;
    try {
      real = realpathSync(p);
    } catch {
      // keep p
    }
    const top = real.split('/')[1];
    if (top && top !== 'proc' && top !== 'dev') dirs.add(top);
  }
  const S = '"$LW_STATE/stage"';
  s.must(`mkdir ${S} && mount -t tmpfs -o mode=755,size=1m,nosuid,nodev lwstage ${S}`, 'cannot mount the staging root');
  const D = `${S}/"$lw_d"`;
  s.must(
    `( for lw_d in ${[...dirs].map(shq).join(' ')}; do ` +
      `if [ -L "/$lw_d" ]; then ln -s "$(readlink "/$lw_d")" ${D} || exit 1; ` +
      `elif [ -d "/$lw_d" ]; then mkdir ${D} && mount --bind "/$lw_d" ${D} && ` +
      `{ mount -o remount,bind,ro,nosuid,nodev ${D} 2>/dev/null || mount -o remount,bind,ro ${D}; } || exit 1; fi; done )`,
    'cannot populate the staging root',
  );
  s.may(`mkdir ${S}/etc && : > ${S}/etc/ld.so.cache && mount --bind -o ro /etc/ld.so.cache ${S}/etc/ld.so.cache`);
  s.must(`ln -s ${shq(findExecutable('unshare') as string)} ${S}/layerwise`, 'cannot populate the staging root');
  s.must(
    `mkdir ${S}/dev ${S}/proc ${S}${STAGE_ROOTFS} ${S}/.old && mount --rbind "$R/dev" ${S}/dev && ` +
      `mount -t proc -o nosuid,nodev,noexec proc ${S}/proc && mount --rbind "$R" ${S}${STAGE_ROOTFS}`,
    'cannot populate the staging root',
  );
  s.must(`cd ${S} && pivot_root . .old && cd / && umount -l /.old && rmdir /.old`, 'cannot pivot into the staging root');
  s.raw(`R=${STAGE_ROOTFS}`);
}

/** Builds setup.sh for a sandbox whose overlay is mounted and visible at ctx.view. */
export async function planSetup(ctx: SetupContext): Promise<SetupResult> {
  const { spec } = ctx;
  const passwd = await readRootfsFile(ctx.view, '/etc/passwd');
  const group = await readRootfsFile(ctx.view, '/etc/group');
  const user = resolveUser(spec.user ?? '', passwd, group);
  checkUserMapped(ctx.idmap, user.uid, user.gid, spec.user ?? '');
  if (ctx.idmap.mode === 'root-only') user.groups = []; // setgroups is denied in a single-id user namespace
  const unmappedGroup = user.groups.find((g) => !isMapped(ctx.idmap, 'gid', g));
  if (unmappedGroup !== undefined) user.groups = user.groups.filter((g) => isMapped(ctx.idmap, 'gid', g));

  const s = new SetupScript();
  const h = shq(ctx.hostname);
  s.must(`{ hostname ${h} 2>/dev/null || printf %s ${h} > /proc/sys/kernel/hostname; }`, 'cannot set the hostname');
  await systemMounts(ctx, s);
  const unmounts: string[] = [];
  await etcFiles(ctx, s, unmounts);
  await userMounts(ctx, s, spec.mounts ?? [], unmounts);
  const cwd = spec.cwd ?? '/';
  await workingDir(ctx, s, cwd, user);
  // cleanup: detach the mounts first (stubs under them cannot be removed otherwise), then the stubs
  s.onCleanupFirst(`for lw_m in ${[...unmounts].reverse().join(' ') || '""'}; do [ -n "$lw_m" ] && umount -l "$lw_m"; done`);

  const env = findExecutable('env') as string;
  const setpriv = findExecutable('setpriv') as string;
  const chain: string[] = [env, '-i', '--', ...spec.env, setpriv];
  if (ctx.idmap.mode !== 'root-only') {
    chain.push(`--regid=${user.gid}`, user.groups.length ? `--groups=${user.groups.join(',')}` : '--clear-groups');
  }
  chain.push(`--bounding-set=-all,${DEFAULT_CAPS.map((c) => `+${c}`).join(',')}`, '--');
  chain.push('/layerwise', `--root=${STAGE_ROOTFS}`, `--wd=${cwd}`);
  if (user.uid !== 0) chain.push(`--setuid=${user.uid}`);
  chain.push('--', ...spec.args);

  let finalArgv = chain;
  const tools = ['env', 'setpriv', 'unshare', 'umount', 'rm', 'rmdir', 'touch'];
  if (spec.tty) {
    const script = findExecutable('script');
    if (!script) throw new LayerwiseError('io', 'a tty needs util-linux `script`, which is not installed');
    tools.push('script');
    // `script` runs in the staging root, whose /dev is the container's: the pty comes from the container's
    // own devpts instance, so the command sees its /dev/pts/0
    finalArgv = [script, '-q', '-e', '-c', chain.map(shq).join(' '), '/dev/null'];
  }
  stagingRoot(s, tools);
  return { script: s.build(finalArgv), user };
}
