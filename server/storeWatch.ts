/**
 * The engine store as the language server follows it: where it is for a document (`layerwise.storeRoot`, else the
 * CLI's default), and one watcher per store root that says when its images (index.json: build, pull, load, tag,
 * rmi) or its build history (cache/history: every build) changed. Never creates a store.
 */
import { existsSync, mkdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { defaultRoot } from '../engine/cli/context';

/** Where the engine keeps its store for these settings: `layerwise.storeRoot`, else the CLI's default. */
export function storeRootFor(raw: Record<string, unknown>): string {
  const s = raw.storeRoot;
  return typeof s === 'string' && s.trim() ? s.trim() : defaultRoot(process.env);
}

export type StoreChange = 'images' | 'history';

export class StoreWatcher {
  private readonly watched = new Map<string, FSWatcher[]>();
  private readonly listeners: ((root: string, what: StoreChange) => void)[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** @param delayMs how long to wait for a burst of writes to settle before telling listeners */
  constructor(private readonly delayMs = 100) {}

  onChange(listener: (root: string, what: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  /** Start watching `root` (once); false when there is no store there yet (nothing is created). */
  watch(root: string): boolean {
    if (this.watched.has(root)) return true;
    if (!existsSync(join(root, 'oci-layout'))) return false;
    const ws: FSWatcher[] = [];
    this.watched.set(root, ws);
    const fire = (what: StoreChange): void => {
      const key = `${root}\u0000${what}`;
      const t = this.timers.get(key);
      if (t) clearTimeout(t);
      const timer = setTimeout(() => {
        this.timers.delete(key);
        for (const l of this.listeners) l(root, what);
      }, this.delayMs);
      timer.unref();
      this.timers.set(key, timer);
    };
    try {
      // index.json is replaced by rename (temp file + rename) on every image change
      const w = watch(root, (_ev, name) => {
        if (name === null || String(name) === 'index.json') fire('images');
      });
      w.on('error', () => undefined);
      w.unref();
      ws.push(w);
    } catch {
      /* cannot watch: views refresh on edits only */
    }
    try {
      const dir = join(root, 'cache', 'history');
      mkdirSync(dir, { recursive: true }); // inside an existing store: the builder makes it too
      const w = watch(dir, () => fire('history'));
      w.on('error', () => undefined);
      w.unref();
      ws.push(w);
    } catch {
      /* as above */
    }
    return true;
  }

  close(): void {
    for (const ws of this.watched.values()) for (const w of ws) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.watched.clear();
    this.timers.clear();
  }
}
