/**
 * Builder test kit: a temp store with busybox:latest imported, contexts written from inline file maps, builds
 * with their events collected, and commands run in a built image (real namespaces and overlayfs).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { build, type BuildOptions, type BuildResult } from '../../engine/build/builder';
import type { BuildEvent, StepEvent } from '../../engine/build/events';
import { chainIds } from '../../engine/image/chain';
import { runSandboxed, canSandbox } from '../../engine/runtime/sandbox';
import { openStore, type Store } from '../../engine/store';
import { loadArchive } from '../../engine/store/load';
import { createReadStream } from 'node:fs';
import { busyboxAvailable, busyboxImageTar } from './rootfs';

/** Why builds cannot run here, or undefined when they can. */
export async function buildUnavailableReason(): Promise<string | undefined> {
  if (!busyboxAvailable()) return '/bin/busybox is missing (Debian busybox-static; scripts/setup.sh installs it)';
  const cap = await canSandbox();
  if (!cap.ok) return `the namespace sandbox cannot run here: ${cap.reason ?? 'unknown reason'}`;
  if ((process.geteuid?.() ?? 0) !== 0) return 'builds in these tests run as root (COPY mounts overlays in a private mount namespace)';
  return undefined;
}

export interface Kit {
  store: Store;
  root: string;
  dir: string;
  cleanup(): Promise<void>;
}

export async function newKit(): Promise<Kit> {
  const dir = await mkdtemp(join(tmpdir(), 'lw-build-'));
  const root = join(dir, 'store');
  const store = await openStore(root);
  // a deterministic docker-save archive (fixed times), so that fresh stores hold the very same base image
  const tar = await busyboxImageTar();
  await loadArchive(store, createReadStream(tar!.path));
  return { store, root, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export type Files = Record<string, string | { content: string; mode?: number } | { symlink: string }>;

export async function writeContext(dir: string, files: Files): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [rel, f] of Object.entries(files)) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await rm(p, { force: true, recursive: true });
    if (typeof f === 'string') await writeFile(p, f);
    else if ('symlink' in f) await symlink(f.symlink, p);
    else {
      await writeFile(p, f.content);
      if (f.mode !== undefined) await chmod(p, f.mode);
    }
  }
}

export interface Built {
  result?: BuildResult;
  error?: Error & { range?: { start: { line: number } } };
  events: BuildEvent[];
  steps: StepEvent[];
  /** `INSTRUCTION -> cached|built (reason)` for every filesystem step, in order of the last event per step */
  summary: string[];
}

export async function runBuild(kit: Kit, context: string, opts: Partial<BuildOptions> = {}): Promise<Built> {
  const events: BuildEvent[] = [];
  const b: Built = { events, steps: [], summary: [] };
  try {
    b.result = await build({ store: kit.store, contextDir: context, onEvent: (e) => events.push(e), ...opts });
  } catch (e) {
    b.error = e as Built['error'];
  }
  const last = new Map<number, StepEvent>();
  for (const e of events) if (e.type === 'step') last.set(e.id, e);
  b.steps = [...last.values()].sort((x, y) => x.stage - y.stage || x.index - y.index || x.id - y.id);
  b.summary = b.steps
    .filter((s) => s.cacheKey && !s.instruction.startsWith('FROM'))
    .map((s) => `${s.instruction} -> ${s.status === 'cached' ? 'cached' : s.status === 'done' ? `built (${s.miss?.kind})` : s.status}`);
  return b;
}

/** Runs `sh -c script` in image `ref` and returns its stdout. */
export async function sh(kit: Kit, ref: string, script: string): Promise<{ code: number; out: string }> {
  const img = await kit.store.images.resolve(ref);
  const diffIds = img.config.rootfs.diff_ids;
  await kit.store.snapshots.prepare(img.manifest.layers, diffIds);
  const lowerDirs = diffIds.length ? await kit.store.snapshots.lowerDirs(chainIds(diffIds)[diffIds.length - 1]!) : [];
  const dir = await mkdtemp(join(kit.dir, 'run-'));
  await mkdir(join(dir, 'u'));
  await mkdir(join(dir, 'w'));
  let out = '';
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out += c.toString();
      cb();
    },
  });
  const r = await runSandboxed({
    lowerDirs,
    upperDir: join(dir, 'u'),
    workDir: join(dir, 'w'),
    args: ['/bin/sh', '-c', script],
    env: img.config.config?.Env ?? [],
    cwd: img.config.config?.WorkingDir || '/',
    stdout: sink,
    stderr: sink,
    profile: 'run',
  });
  await rm(dir, { recursive: true, force: true });
  return { code: r.exitCode, out };
}
