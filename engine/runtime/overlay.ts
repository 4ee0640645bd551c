/**
 * overlayfs: probing what this kernel allows (once per process) and building the mount options.
 *
 * As root the overlay is mounted in the ordinary form; overlay metadata in the upper dir then lives in
 * `trusted.overlay.*` xattrs. In a user namespace (rootless) it needs the `userxattr` option (Linux >= 5.11) and
 * its metadata lives in `user.overlay.*` xattrs: whoever turns an upper dir into a layer, or unpacks a layer to be
 * used as a lower dir, must use the matching prefix (`overlayXattrPrefix()`). Whiteouts are character devices 0:0
 * in both modes. We ask for `redirect_dir=off,metacopy=off,index=off` where the kernel accepts them, so that a
 * renamed directory is copied up whole and the upper dir is always a self-contained diff.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { findExecutable, hostPath } from './host-tools';

export interface OverlaySupport {
  /** overlay can be mounted by this process in the mode it will use (root: plain, rootless: userns + userxattr) */
  overlay: boolean;
  /** the `userxattr` option works in a user namespace (always probed, also as root) */
  userxattr: boolean;
  /** extra options the kernel accepted, added to every mount */
  extraOptions: string[];
  /** why overlay is not usable */
  reason?: string;
}

let cached: Promise<OverlaySupport> | undefined;

function run(cmd: string, args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: hostPath(), LC_ALL: 'C' } });
    let err = '';
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => {
      if (err.length < 4096) err += d;
    });
    p.on('error', (e) => resolve({ code: 127, err: e.message }));
    p.on('close', (code) => resolve({ code: code ?? 1, err: err.trim() }));
  });
}

async function tryMount(dir: string, userns: boolean, extra: string[]): Promise<{ ok: boolean; err: string }> {
  const n = Math.random().toString(36).slice(2, 8);
  const l = join(dir, `l${n}`);
  const u = join(dir, `u${n}`);
  const w = join(dir, `w${n}`);
  const m = join(dir, `m${n}`);
  for (const d of [l, u, w, m]) await mkdir(d);
  const opts = [`lowerdir=${l}`, `upperdir=${u}`, `workdir=${w}`, ...(userns ? ['userxattr'] : []), ...extra].join(',');
  const unshare = findExecutable('unshare') ?? 'unshare';
  const args = userns ? ['--user', '--map-root-user', '--mount'] : ['--mount'];
  const r = await run(unshare, [...args, '--', 'mount', '-t', 'overlay', 'overlay', '-o', opts, m]);
  return { ok: r.code === 0, err: r.err };
}

async function probe(): Promise<OverlaySupport> {
  if (process.platform !== 'linux') return { overlay: false, userxattr: false, extraOptions: [], reason: 'not Linux' };
  if (!findExecutable('unshare') || !findExecutable('mount')) {
    return { overlay: false, userxattr: false, extraOptions: [], reason: 'util-linux unshare/mount are not installed' };
  }
  const dir = await mkdtemp(join(tmpdir(), 'layerwise-ovlprobe-'));
  try {
    const root = (process.geteuid?.() ?? 0) === 0;
    const wanted = ['redirect_dir=off', 'metacopy=off', 'index=off'];
    const userxattr = (await tryMount(dir, true, [])).ok;
    if (!root) {
      if (!userxattr) {
        const r = await tryMount(dir, true, []);
        return { overlay: false, userxattr: false, extraOptions: [], reason: `overlay cannot be mounted in a user namespace (Linux >= 5.11 needed): ${r.err}` };
      }
      return { overlay: true, userxattr, extraOptions: (await tryMount(dir, true, ['volatile'])).ok ? ['volatile'] : [] };
    }
    // volatile (Linux >= 5.10): no sync of the upper file system at unmount; a step's upper dir becomes durable
    // through the store's commit of its layer
    const fullVolatile = await tryMount(dir, false, [...wanted, 'volatile']);
    if (fullVolatile.ok) return { overlay: true, userxattr, extraOptions: [...wanted, 'volatile'] };
    const full = await tryMount(dir, false, wanted);
    if (full.ok) return { overlay: true, userxattr, extraOptions: wanted };
    const plain = await tryMount(dir, false, []);
    if (plain.ok) return { overlay: true, userxattr, extraOptions: [] };
    return { overlay: false, userxattr, extraOptions: [], reason: `overlay cannot be mounted: ${plain.err}` };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What overlayfs allows here; probed once per process by mounting a throw-away overlay in a private namespace. */
export function overlaySupport(): Promise<OverlaySupport> {
  cached ??= rememberedProbe();
  return cached;
}

const WANTED_EXTRA = new Set(['redirect_dir=off', 'metacopy=off', 'index=off', 'volatile']);

/** Where a successful probe is remembered across processes (each CLI run would otherwise mount twice more). */
function probeFile(): string {
  return join(tmpdir(), `layerwise-overlay-probe-v2-${process.geteuid?.() ?? 0}.json`);
}

/** A probe result from an earlier process of the same user on the same kernel, trusted only if it is ours. */
function readRemembered(): OverlaySupport | undefined {
  try {
    const f = probeFile();
    const st = lstatSync(f);
    if (!st.isFile() || st.uid !== (process.geteuid?.() ?? 0) || (st.mode & 0o022) !== 0) return undefined;
    const v = JSON.parse(readFileSync(f, 'utf8')) as { kernel?: string; result?: OverlaySupport };
    const r = v.result;
    if (v.kernel !== release() || !r || r.overlay !== true || typeof r.userxattr !== 'boolean' || !Array.isArray(r.extraOptions)) return undefined;
    if (!r.extraOptions.every((o) => typeof o === 'string' && WANTED_EXTRA.has(o))) return undefined;
    return { overlay: true, userxattr: r.userxattr, extraOptions: [...r.extraOptions] };
  } catch {
    return undefined;
  }
}

async function rememberedProbe(): Promise<OverlaySupport> {
  const known = readRemembered();
  if (known) return known;
  const r = await probe();
  if (r.overlay) {
    try {
      const tmp = `${probeFile()}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ kernel: release(), result: r }), { mode: 0o644, flag: 'wx' });
      renameSync(tmp, probeFile());
    } catch {
      /* not remembered: the next process probes again */
    }
  }
  return r;
}

/** The xattr prefix overlay metadata (opaque dirs, redirects) uses in upper dirs made by this process. */
export function overlayXattrPrefix(): 'trusted.overlay.' | 'user.overlay.' {
  return (process.geteuid?.() ?? 0) === 0 ? 'trusted.overlay.' : 'user.overlay.';
}

const UNSAFE = /[,:\\\n]/;

export interface OverlayOptions {
  /** the `-o` value */
  options: string;
  /** directory to `cd` into before mounting (relative paths keep a long layer list under the page-size limit) */
  cwd: string;
}

/**
 * Short names for many lower directories (as Docker's overlay2 keeps its `l/` links): `linkDir` gets one symlink per
 * directory, named by its index in base 36, and the mount runs there. The kernel follows them when it mounts.
 */
export function linkLowerDirs(lowerDirs: readonly string[], linkDir: string): string[] {
  mkdirSync(linkDir, { recursive: true });
  return lowerDirs.map((d, i) => {
    const name = i.toString(36);
    symlinkSync(d, join(linkDir, name));
    return name;
  });
}

/**
 * Builds overlay mount options. `lowerDirs` are top first. Paths with `,` `:` `\` or newlines are refused
 * (overlay cannot escape them reliably). When the option string would pass the kernel's one-page limit, the
 * directories are given relative to their common parent, and when that is still too long (about 50 layers in a
 * store), through short links made in `linkDir` (linkLowerDirs), which holds hundreds.
 */
export function overlayOptions(lowerDirs: string[], upperDir: string, workDir: string, userns: boolean, extra: string[], linkDir?: string): OverlayOptions {
  if (lowerDirs.length === 0) throw new LayerwiseError('internal', 'overlay needs at least one lower directory');
  for (const d of [...lowerDirs, upperDir, workDir]) {
    if (!d.startsWith('/')) throw new LayerwiseError('invalid', `overlay directory must be absolute: ${d}`);
    if (UNSAFE.test(d)) throw new LayerwiseError('invalid', `overlay directory path contains a character overlayfs cannot take (, : \\ or newline): ${d}`);
  }
  const tail = [...(userns ? ['userxattr'] : []), ...extra];
  const build = (f: (p: string) => string): string =>
    [`lowerdir=${lowerDirs.map(f).join(':')}`, `upperdir=${f(upperDir)}`, `workdir=${f(workDir)}`, ...tail].join(',');
  const abs = build((p) => p);
  if (abs.length < 3800) return { options: abs, cwd: '/' };
  const all = [...lowerDirs, upperDir, workDir].map((p) => p.split('/'));
  let common = 0;
  const first = all[0] as string[];
  while (common < first.length - 1 && all.every((parts) => parts[common] === first[common])) common++;
  const parent = first.slice(0, common).join('/') || '/';
  const rel = build((p) => p.split('/').slice(common).join('/'));
  if (rel.length < 4000) return { options: rel, cwd: parent };
  if (linkDir) {
    const linked = [`lowerdir=${linkLowerDirs(lowerDirs, linkDir).join(':')}`, `upperdir=${upperDir}`, `workdir=${workDir}`, ...tail].join(',');
    if (linked.length < 4000) return { options: linked, cwd: linkDir };
  }
  throw new LayerwiseError('invalid', `too many layers for one overlay mount (${lowerDirs.length} lower directories)`);
}
