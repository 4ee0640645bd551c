/**
 * Directories the engine prepares in the sandbox's state dir (plain files, no processes), which set-up then
 * bind-mounts:
 * - `dev/`: the container's /dev (mount points for null, zero, full, random, urandom, tty; pts, shm, mqueue;
 *   the ptmx, fd, stdin, stdout, stderr links). Mounted nosuid,nodev: device nodes work only where we bind them.
 * - `stage/`: the staging root process 1 pivots into before the command starts: the host's /usr, /bin, /lib…
 *   read-only (the host tools that enter the container live there), the container's /dev and /proc, the
 *   container's root at /rootfs, and nothing else of the host.
 * Plus the /proc and /sys paths Docker masks or makes read-only.
 */
import { lstat, mkdir, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from './host-tools';

export const DEV_FILES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
const DEV_DIRS = ['pts', 'shm', 'mqueue'];
const DEV_LINKS: [string, string][] = [['ptmx', 'pts/ptmx'], ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']];

/** Docker's read-only /proc paths (moby oci defaults), where they exist on this kernel */
export function procReadonlyPaths(): string[] {
  return ['asound', 'bus', 'fs', 'irq', 'sys', 'sysrq-trigger'].filter((p) => existsSync(`/proc/${p}`));
}

/** Docker's masked paths: files get /dev/null, directories an empty read-only tmpfs */
export function maskedPaths(): { path: string; dir: boolean }[] {
  const paths = ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
  const out: { path: string; dir: boolean }[] = [];
  for (const p of paths) {
    try {
      out.push({ path: p, dir: statSync(p).isDirectory() });
    } catch {
      // not on this kernel
    }
  }
  return out;
}

export async function prepareDevDir(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  for (const f of DEV_FILES) await writeFile(join(dir, f), '', { mode: 0o644 });
  for (const d of DEV_DIRS) await mkdir(join(dir, d), { mode: 0o755 });
  for (const [name, target] of DEV_LINKS) await symlink(target, join(dir, name));
}

const STAGE_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * Prepares the staging root and returns the host directories to bind read-only into it: the usual system
 * dirs plus the top-level dir of every tool used after the pivot (e.g. /nix on NixOS).
 */
export async function prepareStageDir(dir: string, tools: string[]): Promise<string[]> {
  const tops = new Set(STAGE_DIRS);
  for (const t of tools) {
    const p = findExecutable(t);
    if (!p) continue;
    const real = await realpath(p).catch(() => p);
    const top = real.split('/')[1];
    if (top && !['proc', 'dev', 'sys', 'etc', 'tmp', 'rootfs', 'layerwise'].includes(top)) tops.add(top);
  }
  await mkdir(dir, { mode: 0o755 });
  const binds: string[] = [];
  for (const top of tops) {
    const st = await lstat(`/${top}`).catch(() => undefined);
    if (!st) continue;
    if (st.isSymbolicLink()) await symlink(await readlink(`/${top}`), join(dir, top));
    else if (st.isDirectory()) {
      await mkdir(join(dir, top));
      binds.push(`/${top}`);
    }
  }
  await mkdir(join(dir, 'etc'));
  if (existsSync('/etc/ld.so.cache')) {
    await writeFile(join(dir, 'etc/ld.so.cache'), '');
    binds.push('/etc/ld.so.cache');
  }
  for (const d of ['dev', 'proc', 'rootfs', '.old']) await mkdir(join(dir, d));
  // named `layerwise` so that exec failures read "layerwise: failed to execute x: No such file or directory"
  await symlink(findExecutable('unshare') as string, join(dir, 'layerwise'));
  return binds;
}
