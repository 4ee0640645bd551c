/**
 * COPY/ADD run in a short-lived worker process of our own CLI (`layerwise __copy SPEC.json`) started in a private
 * mount namespace (`unshare -m`; rootless: `unshare -Urm`, a user namespace where we are root). The worker mounts
 * the stage's overlay (its snapshots under a fresh upper dir) and, for `--from`, the source stage's layers
 * read-only, copies, and exits: the kernel drops the mounts with the namespace, so nothing is left mounted even
 * when the engine is killed. What the copy wrote is the upper dir: the step's layer.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LayerwiseError } from '../errors';
import { overlayOptions } from '../runtime/overlay';
import { tempName } from '../store/fs-atomic';
import { copyInto, type CopyRequest, type CopyResult } from './copy';
import { trace } from './trace';

const execFileP = promisify(execFile);

export interface CopyJob {
  request: Omit<CopyRequest, 'dstRoot' | 'srcRoot'> & { srcRoot?: string };
  /** the destination stage: its lower dirs (top first; may be empty), and a fresh upper and work dir */
  dst: { lowerDirs: string[]; upperDir: string; workDir: string };
  /** a stage or image source: its lower dirs, mounted read-only */
  srcLowerDirs?: string[];
  /** an empty directory to stand in as a lower dir */
  emptyDir: string;
}

/** How to start our own CLI: the bundle when we run from it, else the TypeScript entry through tsx. */
export function selfCli(): string[] {
  if (__filename.endsWith('.ts')) return [process.execPath, '--import', 'tsx', join(__dirname, '..', 'cli', 'main.ts')];
  return [process.execPath, __filename];
}

function inUserNamespace(): boolean {
  return (process.geteuid?.() ?? 0) !== 0;
}

/** Runs a copy job in a worker in its own mount namespace. */
export async function runCopyJob(job: CopyJob, tmpDir: string): Promise<CopyResult> {
  const dir = join(tmpDir, tempName('copyjob')); // a name Store.cleanTemp knows: swept once this pid is gone
  await mkdir(dir);
  try {
    const specPath = join(dir, 'job.json');
    await writeFile(specPath, JSON.stringify(job));
    trace('copy job spawn');
    const root = (process.geteuid?.() ?? 0) === 0;
    const unshare = root ? ['unshare', '-m', '--propagation', 'private'] : ['unshare', '-Urm', '--propagation', 'private'];
    const [node, ...rest] = selfCli();
    const child = spawn(unshare[0]!, [...unshare.slice(1), '--', node!, ...rest, '__copy', specPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (process.env.LAYERWISE_TRACE) process.stderr.write(d);
    });
    const code = await new Promise<number>((res, rej) => {
      child.on('error', rej);
      child.on('close', (c) => res(c ?? 1));
    });
    const last = out.trim().split('\n').pop() ?? '';
    let parsed: { ok: boolean; result?: CopyResult; error?: string; kind?: string } | undefined;
    try {
      parsed = JSON.parse(last) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (code !== 0 || !parsed?.ok) {
      const msg = parsed?.error ?? (err.trim() || `copy worker exited with ${code}`);
      throw new LayerwiseError(parsed?.kind === 'build' || parsed?.kind === 'invalid' ? 'build' : 'internal', msg);
    }
    return parsed.result!;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function mountOverlay(lowerDirs: string[], upper: { upperDir: string; workDir: string } | undefined, target: string, empty: string): Promise<void> {
  const lowers = lowerDirs.length ? [...lowerDirs] : [empty];
  const userns = inUserNamespace() || process.env.LAYERWISE_USERNS === '1';
  if (!upper && lowers.length === 1) lowers.push(empty);
  if (upper) {
    const o = overlayOptions(lowers, upper.upperDir, upper.workDir, userns, []);
    await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', o.options, target], { cwd: o.cwd });
  } else {
    const opts = `lowerdir=${lowers.join(':')}${userns ? ',userxattr' : ''}`;
    await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', opts, target]);
  }
}

/** The worker side (`layerwise __copy JOB.json`): mount, copy, report one JSON line. */
export async function copyWorkerMain(specPath: string): Promise<number> {
  trace('worker start');
  const { readFile } = await import('node:fs/promises');
  const job = JSON.parse(await readFile(specPath, 'utf8')) as CopyJob;
  const base = join(specPath, '..');
  const dstRoot = join(base, 'dst');
  await mkdir(dstRoot);
  try {
    await mountOverlay(job.dst.lowerDirs, job.dst, dstRoot, job.emptyDir);
    let srcRoot = job.request.srcRoot;
    if (job.srcLowerDirs) {
      srcRoot = join(base, 'src');
      await mkdir(srcRoot);
      await mountOverlay(job.srcLowerDirs, undefined, srcRoot, job.emptyDir);
    }
    if (!srcRoot || !existsSync(srcRoot)) throw new LayerwiseError('internal', 'copy source root missing');
    trace('worker mounted');
    const result = await copyInto({ ...job.request, srcRoot, dstRoot });
    trace('worker copied');
    process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
    return 0;
  } catch (e) {
    const kind = e instanceof LayerwiseError ? e.kind : 'internal';
    const message = e instanceof Error ? e.message : String(e);
    process.stdout.write(JSON.stringify({ ok: false, error: message, kind }) + '\n');
    return 1;
  }
}
