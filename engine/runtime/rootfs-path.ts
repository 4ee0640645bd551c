/**
 * Resolving a container path inside a rootfs seen from the host, following symlinks the way the container would
 * (absolute link targets and `..` stay inside the rootfs), so that a hostile image can never make us create or
 * mount something outside its root. Like securejoin, but it also reports which trailing components are missing,
 * so the caller can create exactly those (mount stubs, WORKDIR) and nothing else.
 */
import { lstat, readlink } from 'node:fs/promises';
import { LayerwiseError } from '../errors';

export interface ResolvedRootfsPath {
  /** container-absolute path with every existing component's symlinks resolved (`/` for the root) */
  path: string;
  /** container-absolute paths of the trailing components that do not exist yet, outermost first */
  missing: string[];
  /** what exists at `path` when nothing is missing */
  kind?: 'dir' | 'file' | 'other';
}

const MAX_LINKS = 40;

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function errCode(e: unknown): string | undefined {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/**
 * Resolves `containerPath` (absolute or relative to `/`) inside `hostRoot`.
 * A final symlink is followed too (mount targets and working directories are always followed).
 */
export async function resolveInRootfs(hostRoot: string, containerPath: string): Promise<ResolvedRootfsPath> {
  const done: string[] = [];
  let todo = splitPath(containerPath);
  let links = 0;
  while (todo.length > 0) {
    const comp = todo.shift() as string;
    if (comp === '..') {
      done.pop();
      continue;
    }
    const rel = [...done, comp];
    const host = `${hostRoot}/${rel.join('/')}`;
    let st;
    try {
      st = await lstat(host);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT') {
        // the rest does not exist: it can contain no symlinks, only `..` needs care
        const rest: string[] = [];
        for (const c of [comp, ...todo]) {
          if (c === '..') {
            if (rest.length > 0) rest.pop();
            else done.pop();
          } else rest.push(c);
        }
        const missing: string[] = [];
        for (let i = 1; i <= rest.length; i++) missing.push('/' + [...done, ...rest.slice(0, i)].join('/'));
        return { path: '/' + [...done, ...rest].join('/'), missing };
      }
      throw new LayerwiseError('io', `cannot resolve ${containerPath} in the container: ${String((e as Error).message)}`, { cause: e });
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new LayerwiseError('invalid', `too many levels of symbolic links resolving ${containerPath} in the container`);
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      todo = [...splitPath(target), ...todo];
      continue;
    }
    if (!st.isDirectory() && todo.some((c) => c !== '..')) {
      throw new LayerwiseError('invalid', `cannot resolve ${containerPath} in the container: /${rel.join('/')} is not a directory`);
    }
    done.push(comp);
  }
  const path = '/' + done.join('/');
  const st = await lstat(done.length ? `${hostRoot}/${done.join('/')}` : hostRoot);
  return { path, missing: [], kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' };
}
