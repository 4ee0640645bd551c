/**
 * COPY/ADD run in a worker process of our own CLI (`layerwise __copy --serve`) started in a private mount
 * namespace (`unshare -m`; rootless: `unshare -Urm`, a user namespace where we are root). For each job the worker
 * mounts the stage's overlay (its snapshots under a fresh upper dir) and, for `--from`, the source stage's layers
 * read-only, copies, and unmounts; the kernel drops any mount left with the namespace when the worker exits, so
 * nothing stays mounted even when the engine is killed. What the copy wrote is the upper dir: the step's layer.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LayerwiseError } from '../errors';
import { linkLowerDirs, overlayOptions } from '../runtime/overlay';
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
  /** no copy: the content digest of these source paths in the mounted source (COPY --from's cache key) */
  hashOnly?: { paths: string[] };
}

/** How to start a copy worker: its own small bundle (dist/copy-worker.js, beside the bundle we run from), else the
 *  CLI's `__copy` command; from the TypeScript sources, the worker's entry through tsx. */
export function copyWorkerCommand(): string[] {
  if (__filename.endsWith('.ts')) return [process.execPath, '--import', 'tsx', join(__dirname, 'copy-worker-entry.ts')];
  const own = join(__dirname, 'copy-worker.js');
  if (existsSync(own)) return [process.execPath, own];
  return [process.execPath, __filename, '__copy'];
}

/** The worker's environment: ours, less NODE_EXTRA_CA_CERTS — the worker makes no TLS connection, and node reads
 *  that file at start-up (60 ms for the Debian bundle here) whether or not anything uses it. */
function workerEnv(): NodeJS.ProcessEnv {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) return process.env;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

function inUserNamespace(): boolean {
  return (process.geteuid?.() ?? 0) !== 0;
}

type Reply = { ok: boolean; result?: CopyResult; digest?: string; error?: string; kind?: string };

/**
 * A worker process serving copy jobs one at a time over stdin/stdout (one JSON line each way). A build starts
 * one when its first COPY misses the cache and reuses it for the next (one node start per build instead of one
 * per step); a second one only while the first is busy (parallel stages). Each job's mounts are unmounted before
 * its reply; the worker exits when its stdin closes, so a killed build leaves none behind.
 */
class CopyWorker {
  private readonly child: ChildProcess;
  private buf = '';
  private err = '';
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  exited = false;

  constructor() {
    const root = (process.geteuid?.() ?? 0) === 0;
    const unshare = root ? ['unshare', '-m', '--propagation', 'private'] : ['unshare', '-Urm', '--propagation', 'private'];
    const [node, ...rest] = copyWorkerCommand();
    trace('copy worker spawn');
    this.child = spawn(unshare[0]!, [...unshare.slice(1), '--', node!, ...rest, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'], env: workerEnv() });
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting;
        if (!w) continue;
        let parsed: Reply | undefined;
        try {
          parsed = JSON.parse(line) as Reply;
        } catch {
          continue; // not a reply (a stray line)
        }
        this.waiting = undefined;
        this.err = '';
        w.resolve(parsed);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.err = (this.err + d.toString()).slice(-4000);
      if (process.env.LAYERWISE_TRACE) process.stderr.write(d);
    });
    const gone = (e: Error) => {
      this.exited = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(e);
    };
    this.child.on('error', (e) => gone(e));
    this.child.on('close', (code) => gone(new LayerwiseError('internal', this.err.trim() || `copy worker exited with ${code}`)));
  }

  /** it was given a job (else it holds no mount and no file: it may simply be killed) */
  private used = false;

  run(specPath: string): Promise<Reply> {
    if (this.exited) return Promise.reject(new LayerwiseError('internal', 'copy worker is gone'));
    this.used = true;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.stdin!.write(specPath + '\n');
    });
  }

  close(): void {
    if (this.used || this.exited) {
      this.child.stdin!.end();
      return;
    }
    // started ahead of a job that never came (an all-cached build): it may still be starting up, and the build
    // need not wait for that — it is killed, and this process does not wait for it to go
    this.child.kill('SIGKILL');
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
}

const idle: CopyWorker[] = [];
const all = new Set<CopyWorker>();

let holders = 0;

/** Ends every copy worker (they exit once their stdin closes, after the job at hand). */
function closeCopyWorkers(): void {
  for (const w of all) w.close();
  all.clear();
  idle.length = 0;
}

/** Keeps the workers for reuse until every holder (a build) has released them; then they end. */
export function holdCopyWorkers(): () => void {
  holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) closeCopyWorkers();
  };
}

/** Starts a worker ahead of its first job (a first build, whose steps will run), so that its start overlaps the
 *  base image's unpacking. Only while a build holds the workers. */
export function warmCopyWorker(): void {
  if (holders === 0 || all.size > 0) return;
  const w = new CopyWorker();
  all.add(w);
  idle.push(w);
}

/** The content digest of `paths` in a stage's or image's file system (its snapshots, top first), as the context's
 *  COPY sources are hashed: mode, owner, content and link targets, not mtimes. A copy worker mounts them. */
export async function hashSourcePaths(lowerDirs: string[], paths: string[], emptyDir: string, tmpDir: string): Promise<string> {
  const r = await runJob({ request: { kind: 'COPY', srcIsContext: false, sources: [], dest: '/', workdir: '/' } as CopyJob['request'], dst: { lowerDirs: [], upperDir: '', workDir: '' }, srcLowerDirs: lowerDirs, emptyDir, hashOnly: { paths } }, tmpDir);
  return r.digest!;
}

/** Runs a copy job in a worker in its own mount namespace. */
export async function runCopyJob(job: CopyJob, tmpDir: string): Promise<CopyResult> {
  return (await runJob(job, tmpDir)).result!;
}

async function runJob(job: CopyJob, tmpDir: string): Promise<Reply> {
  const dir = join(tmpDir, tempName('copyjob')); // a name Store.cleanTemp knows: swept once this pid is gone
  await mkdir(dir);
  try {
    const specPath = join(dir, 'job.json');
    await writeFile(specPath, JSON.stringify(job));
    let w = idle.pop();
    while (w?.exited) w = idle.pop();
    if (!w) {
      w = new CopyWorker();
      all.add(w);
    }
    let parsed: Reply;
    try {
      parsed = await w.run(specPath);
    } catch (e) {
      all.delete(w);
      throw e;
    }
    if (holders === 0) {
      all.delete(w);
      w.close();
    } else if (all.has(w)) idle.push(w);
    if (!parsed.ok) {
      throw new LayerwiseError(parsed.kind === 'build' || parsed.kind === 'invalid' || parsed.kind === 'not-found' ? 'build' : 'internal', parsed.error ?? 'copy failed');
    }
    return parsed;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let volatileOk: boolean | undefined;

async function mountOverlay(lowerDirs: string[], upper: { upperDir: string; workDir: string } | undefined, target: string, empty: string): Promise<void> {
  const lowers = lowerDirs.length ? [...lowerDirs] : [empty];
  // short links for a long layer list (overlayOptions), beside the mount point and gone with the job's directory
  const linkDir = `${target}.lowers`;
  const userns = inUserNamespace() || process.env.LAYERWISE_USERNS === '1';
  if (!upper && lowers.length === 1) lowers.push(empty);
  if (upper) {
    // volatile: no sync of the upper file system when the overlay goes (60-300 ms a step on a busy disk); what
    // is durable is decided by the store's commit of the layer, not by the upper dir
    if (volatileOk !== false) {
      const o = overlayOptions(lowers, upper.upperDir, upper.workDir, userns, ['volatile'], linkDir);
      try {
        await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', o.options, target], { cwd: o.cwd });
        volatileOk = true;
        return;
      } catch (e) {
        if (volatileOk) throw e;
        volatileOk = false; // a kernel before 5.10
      }
    }
    await rm(linkDir, { recursive: true, force: true }); // links made by the volatile attempt
    const o = overlayOptions(lowers, upper.upperDir, upper.workDir, userns, [], linkDir);
    await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', o.options, target], { cwd: o.cwd });
  } else {
    // read-only (a stage or image to copy from): no upper dir
    let opts = `lowerdir=${lowers.join(':')}${userns ? ',userxattr' : ''}`;
    let cwd = '/';
    if (opts.length >= 3800) {
      opts = `lowerdir=${linkLowerDirs(lowers, linkDir).join(':')}${userns ? ',userxattr' : ''}`;
      cwd = linkDir;
    }
    await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', opts, target], { cwd });
  }
}

/** One job in the worker: mount, copy, unmount; the reply. */
async function serveJob(specPath: string): Promise<Reply> {
  const { readFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  const mounted: string[] = [];
  let workDir: string | undefined;
  try {
    const job = JSON.parse(await readFile(specPath, 'utf8')) as CopyJob;
    const base = join(specPath, '..');
    if (job.hashOnly) {
      const srcRoot = join(base, 'src');
      await mkdir(srcRoot);
      await mountOverlay(job.srcLowerDirs ?? [], undefined, srcRoot, job.emptyDir);
      mounted.push(srcRoot);
      const { hashPaths } = require('../context/hash') as typeof import('../context/hash');
      const h = await hashPaths(srcRoot, job.hashOnly.paths);
      return { ok: true, digest: h.digest };
    }
    workDir = job.dst.workDir;
    const dstRoot = join(base, 'dst');
    await mkdir(dstRoot);
    await mountOverlay(job.dst.lowerDirs, job.dst, dstRoot, job.emptyDir);
    mounted.push(dstRoot);
    let srcRoot = job.request.srcRoot;
    if (job.srcLowerDirs) {
      srcRoot = join(base, 'src');
      await mkdir(srcRoot);
      await mountOverlay(job.srcLowerDirs, undefined, srcRoot, job.emptyDir);
      mounted.push(srcRoot);
    }
    trace('worker mounted');
    if (!srcRoot || !existsSync(srcRoot)) throw new LayerwiseError('internal', 'copy source root missing');
    const result = await copyInto({ ...job.request, srcRoot, dstRoot });
    trace(`worker copied ${result.files} files, ${result.reused ?? 0} linked from the last build`);
    return { ok: true, result };
  } catch (e) {
    const kind = e instanceof LayerwiseError ? e.kind : 'internal';
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, error: message, kind };
  } finally {
    // the upper dir is the step's layer: it must not stay mounted once the builder reads it
    for (const m of mounted.reverse()) await execFileP('umount', [m]).catch(() => execFileP('umount', ['-l', m]).catch(() => undefined));
    // overlay's own dirs in the work dir are mode 000 (and `volatile` adds some): the builder, not root in a
    // user namespace, could not remove them
    if (workDir) await rm(join(workDir, 'work'), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The worker side: `layerwise __copy JOB.json` runs one job; `layerwise __copy --serve` reads job paths from
 *  stdin, one a line, and answers each with one JSON line, until stdin ends. */
export async function copyWorkerMain(arg: string): Promise<number> {
  trace('worker start');
  // modes are set as the layer needs them, not as a umask would leave them (and a new file needs no fchmod)
  process.umask(0);
  if (arg !== '--serve') {
    const r = await serveJob(arg);
    process.stdout.write(JSON.stringify(r) + '\n');
    return r.ok ? 0 : 1;
  }
  const { createInterface } = require('node:readline') as typeof import('node:readline');
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const r = await serveJob(line.trim());
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  return 0;
}
