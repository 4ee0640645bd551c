/**
 * Atomic file operations: write to a temp file in the same directory tree, fsync, rename into place, fsync the
 * directory. Temp names carry the writer's pid so that a later process can tell abandoned ones (dead pid) from
 * ones being written right now.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `<pid>-<random>`: the prefix every temp name in the store starts with. */
export function tempName(tag = 'tmp'): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}-${tag}`;
}

/** The pid a temp name was created by, or undefined when it is not one of ours. */
export function tempOwner(name: string): number | undefined {
  const m = /(?:^|\.)(\d+)-[0-9a-f]{12}-[a-z-]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function fsyncPath(path: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(path, fsc.O_RDONLY);
    await fh.sync();
  } catch (e) {
    // some filesystems refuse fsync on directories; nothing more can be done there
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}

/** Write `data` to `path` atomically: readers see the old or the new file, never a half-written one. */
export async function writeFileAtomic(path: string, data: Buffer | string, opts: { tmpDir?: string; mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(opts.tmpDir ?? dir, `.${basename(path)}.${tempName()}`);
  const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncPath(dir);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A small JSON file (index.json, a cache record, a history), or undefined when it does not exist. Read
 *  synchronously: for a file of a few kB one read is far cheaper than fs.promises' four thread-pool round trips. */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}
