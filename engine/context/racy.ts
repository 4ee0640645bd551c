/**
 * When a file's stat can be trusted to change with its content: git's "racily clean" problem. Timestamps advance in
 * ticks, so a second change within the tick of the first (same size) leaves mtime and ctime as they were. A stat taken
 * less than a tick after a change is no proof that nothing changes later without showing in it; the stat cache and
 * the build memo do not vouch for such a file.
 *
 * How long a tick is depends on the filesystem, which a file's mtime tells:
 * - sub-second timestamps (ext4, XFS, Btrfs, tmpfs, overlayfs on them, APFS, NTFS) advance with the kernel's clock
 *   tick: at most 10 ms on Linux (HZ=100), about 16 ms on Windows. FINE_WINDOW_MS leaves a wide margin over that;
 * - whole-second timestamps (ext3, HFS+, FAT's two seconds, some network filesystems) advance once a second or two:
 *   COARSE_WINDOW_MS. A file on a fine-grained filesystem whose mtime falls on a whole second by chance gets the
 *   coarse window too, which only costs it the cache.
 */
export const FINE_WINDOW_MS = 100;
export const COARSE_WINDOW_MS = 2000;

/** The window for a file with this mtime (ms, as Node's Stats.mtimeMs: with the sub-millisecond part). */
export function racyWindowMs(mtimeMs: number): number {
  return mtimeMs % 1000 !== 0 ? FINE_WINDOW_MS : COARSE_WINDOW_MS;
}

/** Until when (ms) a file last changed at these times is racy: its stat is trusted from then on. */
export function racyUntil(mtimeMs: number, ctimeMs: number): number {
  return Math.max(mtimeMs, ctimeMs) + racyWindowMs(mtimeMs);
}
