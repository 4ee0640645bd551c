/**
 * After a RUN, an overlay upper dir can hold directories that were only copied up (the sandbox put a mount
 * point stub in them and took it away again, or a program opened them for writing without changing anything).
 * BuildKit's differ leaves such directories out of the layer; so do we: an empty directory in the upper dir
 * whose mode and owner are the same as in the layers below, and that is not opaque, is removed before the layer
 * is written.
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

const MOUNT_STUBS = new Set(['dev', 'proc', 'sys', 'run', 'run/secrets', 'dev/pts', 'dev/shm']);

/** Whether the overlay marked `path` opaque, in either namespace (trusted. as root, user. rootless): one getfattr,
 *  which does not hold up the event loop while it runs (a layer may be being written beside it). */
function isOpaque(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('getfattr', ['--absolute-names', '-d', '-m', '^(trusted|user)\\.overlay\\.opaque$', '-e', 'text', '--', path], { encoding: 'utf8' }, (err, stdout) => {
      resolve(!err && /^(trusted|user)\.overlay\.opaque="y"$/m.test(stdout));
    });
  });
}

async function lowerStat(lowerDirs: string[], rel: string): Promise<{ mode: number; uid: number; gid: number; isDir: boolean } | undefined> {
  for (const l of lowerDirs) {
    try {
      const st = await lstat(join(l, rel));
      return { mode: st.mode, uid: st.uid, gid: st.gid, isDir: st.isDirectory() };
    } catch {
      /* not in this layer */
    }
  }
  return undefined;
}

/** Removes unchanged, empty, copied-up directories from `upper`; returns how many. */
export async function pruneCopiedUpDirs(upper: string, lowerDirs: string[]): Promise<number> {
  let removed = 0;
  const visit = async (rel: string): Promise<boolean> => {
    const abs = rel ? join(upper, rel) : upper;
    let raw: Buffer[];
    try {
      raw = await readdir(abs, { encoding: 'buffer' });
    } catch {
      return false;
    }
    let left = raw.length;
    for (const b of raw) {
      const n = b.toString();
      // a name that is not UTF-8 cannot be named by a string path: what holds it is kept as it is (the layer
      // writer then says why it cannot write it)
      if (!Buffer.from(n).equals(b)) continue;
      const childRel = rel ? `${rel}/${n}` : n;
      const st = await lstat(join(upper, childRel));
      if (st.isDirectory() && (await visit(childRel))) left--;
    }
    if (!rel || left > 0) return false;
    const here = await lstat(abs);
    const below = await lowerStat(lowerDirs, rel);
    if (!below && MOUNT_STUBS.has(rel)) {
      // a mount point the sandbox had to create (/dev, /proc, /sys on an image without them): BuildKit's
      // mount-stub cleaner removes these too
      await rmdir(abs);
      removed++;
      return true;
    }
    if (!below || !below.isDir || below.mode !== here.mode || below.uid !== here.uid || below.gid !== here.gid) return false;
    if (await isOpaque(abs)) return false;
    await rmdir(abs);
    removed++;
    return true;
  };
  await visit('');
  return removed;
}
