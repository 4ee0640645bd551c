/**
 * Host programs the sandbox relies on (util-linux `unshare`, `setpriv`, `mount`; coreutils), found on PATH plus
 * the usual sbin directories, which a non-root user's PATH often lacks.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter } from 'node:path';

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const found = new Map<string, string | undefined>();

/** PATH for the sandbox's set-up shell: the caller's PATH plus the system directories. */
export function hostPath(): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
  for (const d of EXTRA_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(delimiter);
}

/** Absolute path of an executable on the host, or undefined. Cached. */
export function findExecutable(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  let hit: string | undefined;
  for (const d of hostPath().split(delimiter)) {
    try {
      accessSync(`${d}/${name}`, constants.X_OK);
      hit = `${d}/${name}`;
      break;
    } catch {
      // next
    }
  }
  found.set(name, hit);
  return hit;
}

/** Programs without which no sandbox can start. */
export const REQUIRED_TOOLS = ['unshare', 'setpriv', 'mount', 'umount', 'pivot_root', 'env', 'sh', 'mkdir', 'chown', 'ln', 'readlink', 'rm', 'rmdir', 'touch'] as const;

/** Names of required programs that are missing on this host. */
export function missingTools(): string[] {
  return REQUIRED_TOOLS.filter((t) => !findExecutable(t));
}
