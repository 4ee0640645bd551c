// Process plumbing shared by the peer helpers (docker.ts, registry.ts): run a command and collect its output,
// identify processes across pid reuse, wait for a condition with bounded retries, stop a process group.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';

export interface RunResult {
  code: number;
  stdout: string;
  /** stdout's bytes, undecoded (a tar on standard output) */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin (which is closed afterwards). */
  input?: string | Buffer;
  /** Killed with SIGKILL after this long; the result then has code 124 (as `timeout` uses). Default 120 s. */
  timeoutMs?: number;
}

/** Runs a command to completion and returns its exit code (128+signal if killed) and decoded output. */
export function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined); // the command may exit without reading its input
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code: timedOut ? 124 : code ?? 128 + (signal ? signalNumber(signal) : 0),
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: timedOut ? `${stderr}\n(killed after ${opts.timeoutMs ?? 120_000} ms)` : stderr,
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const n: number | undefined = os.constants.signals[signal];
  return n ?? 0;
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or undefined when it does not exist. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); a zombie has exited already.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** "pid start" identifies one process even after its pid is reused. */
export function processIdentity(pid: number = process.pid): string {
  return `${pid} ${processStart(pid) ?? '?'}`;
}

export function identityAlive(identity: string): boolean {
  const [pid, start] = identity.trim().split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && processStart(n) === start;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread; only for teardown in `process.on('exit')`, where nothing asynchronous can run. */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` with growing intervals (10 ms doubling up to 200 ms) until it returns a value, `abort`
 * returns a reason (e.g. the server process exited) or `timeoutMs` passes; throws in the last two cases.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs: number; abort?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let wait = 10;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs} ms`);
    await delay(wait);
    wait = Math.min(wait * 2, 200);
  }
}

/** GET over HTTP (TCP or a unix socket); resolves with the status and body, or undefined on any error. */
export function httpGet(
  target: { socketPath: string; path: string } | { url: string },
  timeoutMs = 2000,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const done = (v: { status: number; body: string } | undefined): void => resolve(v);
    const req =
      'url' in target
        ? http.get(target.url, { timeout: timeoutMs })
        : http.get({ socketPath: target.socketPath, path: target.path, host: 'localhost', timeout: timeoutMs });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => done(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the caller retries if it is taken in between). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * Stops a process group led by `pid` (started with `detached: true`, i.e. setsid): SIGTERM, then SIGKILL
 * after `graceMs`. Synchronous so that it also works in `process.on('exit')`. Returns true when it is gone.
 */
export function killGroupSync(pid: number, graceMs: number): boolean {
  const start = processStart(pid);
  if (start === undefined) return true;
  const alive = (): boolean => processStart(pid) === start;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) sleepSync(20);
  if (!alive()) return true;
  signal('SIGKILL');
  const hard = Date.now() + 2000;
  while (alive() && Date.now() < hard) sleepSync(20);
  return !alive();
}

/** Runs `fn` once when the process exits, also on SIGINT/SIGTERM/SIGHUP (re-raised afterwards). */
export function onProcessExit(fn: () => void): void {
  let ran = false;
  const once = (): void => {
    if (ran) return;
    ran = true;
    try {
      fn();
    } catch (e) {
      process.stderr.write(`peer cleanup failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      once();
      process.kill(process.pid, sig);
    });
  }
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts a server for a test in a session of its own (stopped as a process group), logging to `logFile`, and
 * waits until `healthUrl` answers 200 (or the server exits: the error then shows the end of its log). `stop()`
 * ends it and removes `dir`; it also runs when the test process exits.
 */
export async function startServerProcess(opts: {
  name: string;
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  dir: string;
  logFile: string;
  healthUrl: string;
  /** the status the health URL answers once the server is up (default 200) */
  healthStatus?: number;
  timeoutMs: number;
}): Promise<{ stop: () => void }> {
  const logFd = fs.openSync(opts.logFile, 'a');
  const child = spawn(opts.file, opts.args, { detached: true, stdio: ['ignore', logFd, logFd], env: opts.env });
  fs.closeSync(logFd);
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `${opts.name} exited (${signal ?? `code ${code}`}):\n${tail(opts.logFile)}`;
  });
  child.on('error', (e) => {
    exited = `${opts.name} did not start: ${e.message}`;
  });
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (child.pid !== undefined) killGroupSync(child.pid, 5000);
    fs.rmSync(opts.dir, { recursive: true, force: true });
  };
  onProcessExit(stop);
  try {
    await pollUntil(
      `${opts.name} at ${opts.healthUrl} (${opts.logFile})`,
      async () => ((await httpGet({ url: opts.healthUrl }, 1000))?.status === (opts.healthStatus ?? 200) ? true : undefined),
      { timeoutMs: opts.timeoutMs, abort: () => exited },
    );
  } catch (e) {
    stop();
    throw e;
  }
  return { stop };
}
