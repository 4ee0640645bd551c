/**
 * Cross-process locks under `<root>/locks/`.
 *
 * - exclusive `name`: the file `locks/<name>.lock`, created atomically (written to a temp file, then
 *   `link()`ed into place, which fails with EEXIST when taken — so a lock file is never seen half-written)
 *   holding `{pid, host}`. A lock whose pid is dead on this host is stale: it is renamed away (atomic, so only
 *   one breaker wins) and the waiter tries again.
 * - shared `name`: one file per holder in `locks/<name>.shared/`; an exclusive holder of `name` first takes
 *   `<name>.lock` (which stops new sharers) and then waits until every live sharer has left.
 * Waiting uses fs.watch on the lock directory, with a short re-check interval for holders that die.
 */
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { pidAlive, tempName } from './fs-atomic';
import type { LockHandle, Locks } from './types';

interface LockOwner {
  pid: number;
  host: string;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
const RECHECK_MS = 100;

function ownerText(): string {
  return JSON.stringify({ pid: process.pid, host: hostname() } satisfies LockOwner);
}

async function readOwner(path: string): Promise<LockOwner | undefined | 'missing'> {
  try {
    const o = JSON.parse(await fsp.readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { pid: o.pid, host: o.host };
    return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    return undefined; // unreadable: treated as stale
  }
}

function ownerDead(o: LockOwner | undefined): boolean {
  if (!o) return true;
  if (o.host !== hostname()) return false; // cannot tell for another host: never break it
  return !pidAlive(o.pid);
}

export class FileLocks implements Locks {
  constructor(readonly dir: string) {}

  private lockPath(name: string): string {
    if (!NAME_RE.test(name)) throw new LayerwiseError('internal', `bad lock name ${name}`);
    return join(this.dir, `${name}.lock`);
  }

  /** wait for a change in `dir` or the re-check interval, whichever comes first */
  private async waitChange(dir: string, deadline: number, what: string): Promise<void> {
    if (Date.now() > deadline) throw new LayerwiseError('conflict', `timed out waiting for the store lock "${what}" (held by another layerwise process)`);
    await new Promise<void>((resolve) => {
      let w: FSWatcher | undefined;
      const done = () => {
        clearTimeout(t);
        w?.close();
        resolve();
      };
      const t = setTimeout(done, RECHECK_MS);
      try {
        w = watch(dir, { persistent: false }, done);
        w.on('error', done);
      } catch {
        /* no watch: the timer does it */
      }
    });
  }

  private async tryLink(path: string): Promise<boolean> {
    const tmp = join(this.dir, `.${tempName('lock')}`);
    await fsp.writeFile(tmp, ownerText());
    try {
      await fsp.link(tmp, path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** break `path` if its owner is dead; true when it is gone (or was broken) */
  private async breakIfStale(path: string): Promise<boolean> {
    const o = await readOwner(path);
    if (o === 'missing') return true;
    if (!ownerDead(o)) return false;
    const aside = join(this.dir, `.${tempName('stale')}`);
    try {
      await fsp.rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw e;
    }
    // if the file we moved is not the stale one we read (a live process took the lock in between), put it back
    const moved = await readOwner(aside);
    if (moved !== 'missing' && !ownerDead(moved)) {
      await fsp.link(aside, path).catch(() => undefined);
    }
    await fsp.rm(aside, { force: true });
    return true;
  }

  private async liveSharers(name: string): Promise<number> {
    const sdir = join(this.dir, `${name}.shared`);
    let names: string[];
    try {
      names = await fsp.readdir(sdir);
    } catch {
      return 0;
    }
    let live = 0;
    for (const n of names) {
      const pid = Number(n.split('-')[0]);
      if (pidAlive(pid)) live++;
      else await fsp.rm(join(sdir, n), { force: true });
    }
    return live;
  }

  async tryExclusive(name: string): Promise<LockHandle | undefined> {
    const path = this.lockPath(name);
    await fsp.mkdir(this.dir, { recursive: true });
    if (!(await this.tryLink(path))) {
      if (!(await this.breakIfStale(path)) || !(await this.tryLink(path))) return undefined;
    }
    const handle = this.handleFor(path);
    if ((await this.liveSharers(name)) > 0) {
      await handle.release();
      return undefined;
    }
    return handle;
  }

  async exclusive(name: string, opts: { timeoutMs?: number } = {}): Promise<LockHandle> {
    const path = this.lockPath(name);
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    await fsp.mkdir(this.dir, { recursive: true });
    for (;;) {
      if (await this.tryLink(path)) break;
      if (await this.breakIfStale(path)) continue;
      await this.waitChange(this.dir, deadline, name);
    }
    const handle = this.handleFor(path);
    try {
      const sdir = join(this.dir, `${name}.shared`);
      while ((await this.liveSharers(name)) > 0) await this.waitChange(sdir, deadline, name);
    } catch (e) {
      await handle.release();
      throw e;
    }
    return handle;
  }

  async shared(name: string, opts: { timeoutMs?: number } = {}): Promise<LockHandle> {
    const path = this.lockPath(name);
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    const sdir = join(this.dir, `${name}.shared`);
    await fsp.mkdir(sdir, { recursive: true });
    const mine = join(sdir, tempName('shared'));
    for (;;) {
      const o = await readOwner(path);
      if (o === 'missing' || ownerDead(o)) {
        if (o !== 'missing') await this.breakIfStale(path);
        await fsp.writeFile(mine, ownerText());
        const again = await readOwner(path);
        if (again === 'missing' || ownerDead(again)) {
          let released = false;
          return {
            release: async () => {
              if (released) return;
              released = true;
              await fsp.rm(mine, { force: true });
            },
          };
        }
        await fsp.rm(mine, { force: true });
      }
      await this.waitChange(this.dir, deadline, name);
    }
  }

  async withExclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const h = await this.exclusive(name);
    try {
      return await fn();
    } finally {
      await h.release();
    }
  }

  private handleFor(path: string): LockHandle {
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        const o = await readOwner(path);
        if (o !== 'missing' && o && o.pid === process.pid && o.host === hostname()) await fsp.rm(path, { force: true });
      },
    };
  }
}
