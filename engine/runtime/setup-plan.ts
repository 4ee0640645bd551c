/**
 * Phase two of a sandbox's set-up, computed by the engine once the overlay is mounted: it looks at the merged
 * rootfs through /proc/<pid>/root (the sandbox's own mount namespace), resolves the user and every mount target
 * safely inside the rootfs, and writes what process 1 then runs (setup.sh, fstab, fstab.stage):
 *  1. missing mount points are created (mount stubs: removed again after the command, as BuildKit does;
 *     /proc, /sys and /dev are kept, as runc does);
 *  2. one `mount -a`: /proc (with Docker's masked and read-only paths), a read-only /sys, /dev, the generated
 *     /etc files, the caller's mounts;
 *  3. the working directory is created, owned by the user;
 *  4. the staging root: one `mount -a`, pivot_root into it, the host's root is detached;
 *  5. the command line: env -i … setpriv (gid, groups, capabilities) … unshare --root --wd --setuid … argv.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LayerwiseError } from '../errors';
import { Fstab } from './fstab';
import { findExecutable } from './host-tools';
import { withSourceFlags } from './mount-flags';
import { checkUserMapped, type IdMapPlan, isMapped } from './idmap';
import { resolveInRootfs } from './rootfs-path';
import { DEFAULT_CAPS, SetupScript, shq } from './setup-script';
import { DEV_FILES, maskedPaths, prepareDevDir, prepareStageDir, procReadonlyPaths } from './system-dirs';
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
}

export interface SetupResult {
  script: string;
  user: ResolvedUser;
}

/** what the plan collects before it is written out */
interface Plan {
  ctx: SetupContext;
  /** container paths of directories to create, parents first */
  mkdirs: string[];
  /** container paths of empty files to create */
  files: string[];
  fstab: Fstab;
  /** container paths unmounted after the command (before the stubs are removed) */
  unmounts: string[];
  /** mounted directories to give an owner and mode once everything is mounted (container path: resolved) */
  inits: { path: string; uid: number; gid: number; mode: number }[];
  /** cleanup lines for the stubs */
  cleanup: string[];
  /** parents of stubs whose mtime is put back after the cleanup (container path -> touch stamp), one `touch` a
   *  stamp for all of them (an exec each would cost a few milliseconds a RUN) */
  restoreMtimes: Map<string, string>;
  /** the host path the container's /dev is mounted on (set by systemMounts) */
  devHost?: string;
}

const MAX_USER_FILE = 10 << 20;
/** where the container's root sits in the staging root */
const STAGE_ROOTFS = '/rootfs';

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
  return `@${ns / 1000000000n}.${(ns % 1000000000n).toString().padStart(9, '0')}`;
}

/** host path (inside the sandbox's mount namespace, before the pivot) of a container path */
function hostPathOf(plan: Plan, containerPath: string): string {
  return containerPath === '/' ? plan.ctx.root : plan.ctx.root + containerPath;
}

/**
 * Makes sure `target` exists in the rootfs and returns its resolved container path. With `stub`, a created leaf
 * is removed after the command and the mtime of its parent is put back.
 */
async function mountpoint(plan: Plan, target: string, leaf: 'file' | 'dir', what: string, stub: boolean): Promise<string> {
  const r = await resolveInRootfs(plan.ctx.view, target);
  if (r.missing.length === 0) {
    if (leaf === 'dir' && r.kind !== 'dir') throw new LayerwiseError('invalid', `cannot mount ${what} on ${target}: it is not a directory in the container`);
    if (leaf === 'file' && r.kind === 'dir') throw new LayerwiseError('invalid', `cannot mount ${what} on ${target}: it is a directory in the container`);
    return r.path;
  }
  const existingParent = parentOf(r.missing[0] as string);
  const parentStat = await stat(plan.ctx.view + (existingParent === '/' ? '' : existingParent), { bigint: true }).catch(() => undefined);
  r.missing.forEach((m, i) => {
    const isLeafFile = i === r.missing.length - 1 && leaf === 'file';
    const list = isLeafFile ? plan.files : plan.mkdirs;
    if (!plan.mkdirs.includes(m) && !plan.files.includes(m)) list.push(m);
  });
  if (stub) {
    // as BuildKit's recursive stub cleaner: the leaf, then every directory made for it, deepest first, each only
    // while empty; the first existing parent gets its mtime back
    const p = SetupScript.inRoot(r.path);
    let line = leaf === 'file' ? `{ [ -f ${p} ] && [ ! -s ${p} ] && rm -f ${p}; }` : `rmdir ${p}`;
    for (const m of r.missing.slice(0, -1).reverse()) line += `; rmdir ${SetupScript.inRoot(m as string)}`;
    // stamped as it is before anything is created (every stub is planned before the set-up runs)
    if (parentStat && !plan.restoreMtimes.has(existingParent)) plan.restoreMtimes.set(existingParent, touchStamp(parentStat.mtimeNs));
    plan.cleanup.push(line);
  }
  return r.path;
}

async function systemMounts(plan: Plan): Promise<void> {
  const { ctx, fstab } = plan;
  const proc = hostPathOf(plan, await mountpoint(plan, '/proc', 'dir', '/proc', false));
  fstab.add('proc', proc, 'proc', ['nosuid', 'nodev', 'noexec']);
  // privileged (RUN --security=insecure): nothing masked or read-only but what the kernel itself refuses
  const privileged = ctx.spec.privileged === true;
  if (!privileged) for (const p of procReadonlyPaths()) fstab.bind(`${proc}/${p}`, `${proc}/${p}`, ['ro', 'nosuid', 'nodev', 'noexec']);
  const sys = hostPathOf(plan, await mountpoint(plan, '/sys', 'dir', '/sys', false));
  const sysRo = privileged ? [] : ['ro'];
  // a fresh sysfs needs a network namespace of our own in a user namespace; otherwise the host's, read-only
  if (ctx.idmap.mode === 'host' || ctx.spec.network === 'none') fstab.add('sysfs', sys, 'sysfs', [...sysRo, 'nosuid', 'nodev', 'noexec']);
  else fstab.rbind('/sys', sys, ['ro']);
  for (const m of privileged ? [] : maskedPaths()) {
    const target = m.path.startsWith('/proc/') ? proc + m.path.slice(5) : sys + m.path.slice(4);
    if (m.dir) fstab.add('lwmask', target, 'tmpfs', ['ro', 'nosuid', 'nodev', 'noexec', 'size=4k']);
    else fstab.bind('/dev/null', target);
  }
  const dev = hostPathOf(plan, await mountpoint(plan, '/dev', 'dir', '/dev', false));
  plan.devHost = dev;
  await prepareDevDir(join(ctx.state, 'dev'));
  fstab.bind(join(ctx.state, 'dev'), dev, ['nosuid', 'nodev']);
  for (const n of DEV_FILES) fstab.bind(`/dev/${n}`, `${dev}/${n}`);
  const ptsGid = isMapped(ctx.idmap, 'gid', 5) ? ['gid=5'] : [];
  fstab.add('devpts', `${dev}/pts`, 'devpts', ['newinstance', 'ptmxmode=0666', 'mode=0620', ...ptsGid, 'nosuid', 'noexec']);
  fstab.add('shm', `${dev}/shm`, 'tmpfs', ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=65536k']);
  fstab.add('mqueue', `${dev}/mqueue`, 'mqueue', ['nosuid', 'nodev', 'noexec']);
}

async function etcFiles(plan: Plan): Promise<void> {
  const run = plan.ctx.spec.profile === 'run';
  const files: [string, string][] = [['/etc/hosts', 'hosts'], ['/etc/resolv.conf', 'resolv.conf']];
  if (run) files.push(['/etc/hostname', 'hostname']);
  for (const [target, name] of files) {
    const p = await mountpoint(plan, target, 'file', target, true);
    // writable in a `run` container, unless its root is read-only (as Docker mounts them then)
    plan.fstab.bind(join(plan.ctx.state, name), hostPathOf(plan, p), run && !plan.ctx.spec.readonlyRootfs ? [] : ['ro']);
    plan.unmounts.push(p);
  }
}

async function userMounts(plan: Plan, mounts: SandboxMount[]): Promise<void> {
  const sorted = [...mounts].sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  for (const m of sorted) {
    let leaf: 'file' | 'dir' = 'dir';
    if (m.type !== 'tmpfs') {
      const st = await stat(m.source as string).catch(() => undefined);
      if (!st) throw new LayerwiseError('not-found', `mount source ${m.source} does not exist`);
      if (!st.isDirectory()) leaf = 'file';
    }
    const ro = m.readonly ? ['ro'] : [];
    const underDev = /^\/dev\/./.test(m.target) ? m.target.slice('/dev/'.length).replace(/\/+$/, '') : undefined;
    if (underDev !== undefined && plan.devHost && !underDev.split('/').some((x) => x === '..' || x === '.' || x === '')) {
      // /dev is the sandbox's own directory (state/dev), mounted before these: the mount point is made there, and
      // goes away with it (BuildKit mounts a RUN heredoc script at /dev/pipes, say)
      const inState = join(plan.ctx.state, 'dev', underDev);
      await mkdir(leaf === 'dir' ? inState : dirname(inState), { recursive: true, mode: 0o755 });
      if (leaf === 'file') await writeFile(inState, '', { flag: 'a', mode: 0o644 });
      const target = `${plan.devHost}/${underDev}`;
      if (m.type === 'tmpfs') plan.fstab.add('tmpfs', target, 'tmpfs', ['nosuid', 'nodev', 'mode=1777', ...(m.size ? [`size=${Math.floor(m.size)}`] : []), ...ro]);
      else plan.fstab.rbind(m.source as string, target, ro);
      continue;
    }
    const p = await mountpoint(plan, m.target, leaf, m.type === 'tmpfs' ? 'a tmpfs' : (m.source as string), true);
    if (m.init && leaf === 'dir') plan.inits.push({ path: p, ...m.init });
    if (m.type === 'tmpfs') {
      plan.fstab.add('tmpfs', hostPathOf(plan, p), 'tmpfs', ['nosuid', 'nodev', 'mode=1777', ...(m.size ? [`size=${Math.floor(m.size)}`] : []), ...ro]);
    } else {
      plan.fstab.rbind(m.source as string, hostPathOf(plan, p), ro);
    }
    plan.unmounts.push(p);
  }
}

async function workingDir(plan: Plan, s: SetupScript, cwd: string, user: ResolvedUser): Promise<void> {
  const r = await resolveInRootfs(plan.ctx.view, cwd);
  if (r.missing.length === 0 && r.kind !== 'dir') throw new LayerwiseError('invalid', `working directory ${cwd} is not a directory in the container`);
  if (r.missing.length === 0) return;
  const paths = r.missing.map((m) => SetupScript.inRoot(m)).join(' ');
  s.must(`mkdir -p -m 755 ${paths} && chown ${user.uid}:${user.gid} ${paths}`, `cannot create the working directory ${cwd}`);
}

/**
 * The staging root (see system-dirs.ts): bound onto itself, filled with one `mount -a`, made read-only, then
 * process 1 pivots into it and detaches the host's root. The command is entered with chroot from there, so a
 * process that breaks out of its chroot finds only read-only system directories.
 */
async function stagingRoot(plan: Plan, s: SetupScript, tools: string[]): Promise<void> {
  const stage = join(plan.ctx.state, 'stage');
  const binds = await prepareStageDir(stage, tools);
  const f = new Fstab();
  for (const b of binds) f.bind(b, stage + b, ['ro', 'nosuid', 'nodev']);
  f.rbind(`${plan.ctx.root}/dev`, `${stage}/dev`);
  f.rbind(`${plan.ctx.root}/proc`, `${stage}/proc`);
  f.rbind(plan.ctx.root, stage + STAGE_ROOTFS);
  await writeFile(join(plan.ctx.state, 'fstab.stage'), f.text());
  const S = shq(stage);
  s.must(
    `mount --bind ${S} ${S} && mount -a -T "$LW_STATE/fstab.stage" && mount -o remount,bind,${withSourceFlags(stage, ['ro', 'nosuid', 'nodev']).join(',')} ${S}`,
    'cannot set up the staging root',
  );
  s.must(`cd ${S} && pivot_root . .old && cd / && umount -l /.old`, 'cannot pivot into the staging root');
  s.raw(`R=${STAGE_ROOTFS}`);
}

/** The user a container's command runs as: `spec` (`uid[:gid]`, `name[:group]`) resolved with the rootfs's
 *  /etc/passwd and /etc/group (seen at `view`), checked against the id map. */
export async function containerUser(view: string, spec: string, idmap: IdMapPlan): Promise<ResolvedUser> {
  const passwd = await readRootfsFile(view, '/etc/passwd');
  const group = await readRootfsFile(view, '/etc/group');
  const user = resolveUser(spec, passwd, group);
  checkUserMapped(idmap, user.uid, user.gid, spec);
  // the primary group is a supplementary one too, first: `docker run` (moby's getUser) and a build's RUN (Docker 26's
  // BuildKit: `id` says groups=2000(grp),2500(extra) for a member of extra, groups=7 for USER 1500:7)
  user.groups = [user.gid, ...user.groups.filter((g) => g !== user.gid)];
  if (idmap.mode === 'root-only') user.groups = []; // setgroups is denied in a single-id user namespace
  user.groups = user.groups.filter((g) => isMapped(idmap, 'gid', g));
  return user;
}

/**
 * The command line that enters a container from its staging root (see stagingRoot): a clean environment, the
 * user's groups, Docker's capabilities (or the spec's), then chroot into the rootfs, the working directory and the
 * user id (`/layerwise` is unshare: --root, --wd, --setuid). `exec` enters a running container the same way.
 */
export function commandChain(
  spec: Pick<SandboxSpec, 'env' | 'args' | 'profile' | 'privileged' | 'capabilities'>,
  user: ResolvedUser,
  idmap: IdMapPlan,
  cwd: string,
): string[] {
  const env = findExecutable('env') as string;
  const setpriv = findExecutable('setpriv') as string;
  // `docker run`: HOME from the user's passwd entry unless the environment sets it (a build's RUN gets it from the
  // builder, which knows the image's config)
  const cmdEnv = spec.profile === 'run' && !spec.env.some((e) => e.startsWith('HOME=')) ? [...spec.env, `HOME=${user.home}`] : spec.env;
  const chain: string[] = [env, '-i', '--', ...cmdEnv, setpriv];
  if (idmap.mode !== 'root-only') {
    chain.push(`--regid=${user.gid}`, user.groups.length ? `--groups=${user.groups.join(',')}` : '--clear-groups');
  }
  // Docker's default capabilities; privileged keeps all of them (the user namespace's, as BuildKit's insecure mode)
  if (spec.privileged !== true) chain.push(`--bounding-set=-all${(spec.capabilities ?? DEFAULT_CAPS).map((c) => `,+${c}`).join('')}`);
  chain.push('--');
  chain.push('/layerwise', `--root=${STAGE_ROOTFS}`, `--wd=${cwd}`);
  if (user.uid !== 0) chain.push(`--setuid=${user.uid}`);
  chain.push('--', ...spec.args);
  return chain;
}

/** Builds setup.sh (and the fstab files) for a sandbox whose overlay is mounted and visible at ctx.view. */
export async function planSetup(ctx: SetupContext): Promise<SetupResult> {
  const { spec } = ctx;
  const user = await containerUser(ctx.view, spec.user ?? '', ctx.idmap);

  const plan: Plan = { ctx, mkdirs: [], files: [], fstab: new Fstab(), unmounts: [], inits: [], cleanup: [], restoreMtimes: new Map() };
  await systemMounts(plan);
  await etcFiles(plan);
  await userMounts(plan, spec.mounts ?? []);

  const s = new SetupScript();
  const h = shq(ctx.hostname);
  // the shell's own write first (no exec); `hostname` where /proc/sys is read-only
  s.must(`{ printf %s ${h} 2>/dev/null > /proc/sys/kernel/hostname || hostname ${h} 2>/dev/null; }`, 'cannot set the hostname');
  if (plan.mkdirs.length) s.must(`mkdir -m 755 ${plan.mkdirs.map((m) => SetupScript.inRoot(m)).join(' ')}`, 'cannot create mount points in the container');
  for (const f of plan.files) s.must(`: > ${SetupScript.inRoot(f)}`, `cannot create ${f} in the container`);
  await writeFile(join(ctx.state, 'fstab'), plan.fstab.text());
  s.must('mount -a -T "$LW_STATE/fstab"', 'mounting the container file systems failed');
  for (const i of plan.inits) {
    const p = SetupScript.inRoot(i.path);
    s.must(`chown ${i.uid}:${i.gid} ${p} && chmod ${i.mode.toString(8)} ${p}`, `cannot give the cache mount ${i.path} its owner and mode`);
  }
  const cwd = spec.cwd ?? '/';
  await workingDir(plan, s, cwd, user);
  if (spec.network === 'none' && findExecutable('ip')) s.may('ip link set lo up');

  const chain = commandChain(spec, user, ctx.idmap, cwd);

  let finalArgv = chain;
  const tools = ['sh', 'env', 'setpriv', 'unshare', 'umount', 'rm', 'rmdir', 'touch'];
  if (spec.tty) {
    const script = findExecutable('script');
    if (!script) throw new LayerwiseError('io', 'a tty needs util-linux `script`, which is not installed');
    tools.push('script');
    // `script` runs in the staging root, whose /dev is the container's: the pty comes from the container's
    // own devpts instance, so the command sees its /dev/pts/0
    finalArgv = [script, '-q', '-e', '-c', chain.map(shq).join(' '), '/dev/null'];
  }
  await stagingRoot(plan, s, tools);
  // a `run` container's command is process 1 (the init execs it), as Docker's: `echo $$` says 1, and a signal
  // without a handler does not end it. Its upper dir is thrown away after, so there are no stubs to clean up.
  if (spec.profile === 'run' && !spec.init) s.raw('lw_exec=1');
  // --read-only: the root's own mount only (a bind remount leaves the mounts on it writable); nodev is the overlay's
  // own flag, which a user namespace must keep
  if (spec.readonlyRootfs) s.must('mount -o remount,bind,ro,nodev "$R"', 'cannot make the root file system read-only');

  // after the command: detach the mounts (stubs under them cannot be removed otherwise), then the stubs
  if (plan.unmounts.length) s.onCleanup(`umount -l ${[...plan.unmounts].reverse().map((p) => SetupScript.inRoot(p)).join(' ')}`);
  for (const line of plan.cleanup.reverse()) s.onCleanup(line);
  // then the parents' mtimes, once every stub below them is gone
  const byStamp = new Map<string, string[]>();
  for (const [dir, stamp] of plan.restoreMtimes) byStamp.set(stamp, [...(byStamp.get(stamp) ?? []), dir]);
  for (const [stamp, dirs] of byStamp) s.onCleanup(`touch -h -d ${stamp} ${dirs.map((d) => SetupScript.inRoot(d)).join(' ')}`);
  return { script: s.build(finalArgv), user };
}
