// A real Docker Engine (26.x with BuildKit) for differential tests and benchmarks; see scripts/setup-docker.sh.
//
//   const docker = await startDocker();
//   if (!docker) t.skip(dockerUnavailableReason());
//   const r = await docker.run(['build', '-t', 'x', dir]);
//
// One daemon is shared by every test process on the machine (node:test runs each file in its own process):
// /tmp/layerwise-docker/ holds `lock` (exclusive-create lock file naming its holder by pid + start time),
// `state.json` (the daemon's pid and folder) and `users/` (one file per process using the daemon). The first
// process starts dockerd (in its own session, data root and socket in /tmp/layerwise-docker/d-XXXXXX) and
// imports the busybox base image; later ones reuse it. When a process calls stop() or exits, it removes its
// user file, and the last user stops the daemon (SIGTERM to its process group, then SIGKILL) and removes its
// folder. Users that died without cleaning up are pruned by pid + start time. Tests sharing the daemon must
// use unique image tags and container names.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isStaticElf, writeBusyboxRootfsTar } from './busybox-rootfs';
import {
  delay,
  httpGet,
  identityAlive,
  killGroupSync,
  onProcessExit,
  pollUntil,
  processIdentity,
  processStart,
  runCommand,
  sleepSync,
  tail,
  type RunOptions,
  type RunResult,
} from './peer-process';

export type { RunOptions, RunResult } from './peer-process';
export { writeBusyboxRootfsTar } from './busybox-rootfs';

/** Where scripts/setup-docker.sh and scripts/setup-vscode.sh keep their downloads. */
export const PEERS_CACHE = process.env.LAYERWISE_PEERS_CACHE ?? '/var/cache/layerwise-peers';
const BIN = path.join(PEERS_CACHE, 'docker', 'bin');
const PLUGINS = path.join(PEERS_CACHE, 'docker', 'cli-plugins');
const SHARED = process.env.LAYERWISE_DOCKER_SHARED_DIR ?? '/tmp/layerwise-docker';
const LOCK = path.join(SHARED, 'lock');
const STATE = path.join(SHARED, 'state.json');
const USERS = path.join(SHARED, 'users');
const BUSYBOX = '/bin/busybox';

/** The base image every daemon has: busybox-static's /bin/busybox plus applet links, as `busybox:latest`. */
export const BASE_IMAGE = 'busybox:latest';

export interface DockerPeer {
  /** `unix:///tmp/layerwise-docker/d-…/docker.sock` */
  readonly host: string;
  /** Environment for running `docker` yourself: DOCKER_HOST, DOCKER_BUILDKIT=1, DOCKER_CONFIG (with the
   * buildx plugin in cli-plugins/) and PATH with the engine's binaries (docker CLI 26) first. */
  readonly env: NodeJS.ProcessEnv;
  /** The daemon's version, e.g. `26.1.5+dfsg1`. */
  readonly version: string;
  /** The daemon's --data-root. */
  readonly dataRoot: string;
  /** Runs the docker CLI against this daemon. */
  run(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Releases this process's use of the daemon; the last user stops it. Also happens at process exit. */
  stop(): Promise<void>;
}

interface DaemonState {
  /** pid + start time of dockerd, the leader of its process group */
  identity: string;
  dir: string;
  sock: string;
}

let current: Promise<DockerPeer | undefined> | undefined;
let lastReason: string | undefined;
let registered = false;
let hooked = false;

/** Why the Docker peer cannot run here (not root, not set up, …), or undefined when it can. */
export function dockerUnavailableReason(): string | undefined {
  return lastReason ?? staticReason();
}

/**
 * Starts (or joins) the shared Docker daemon. Resolves to undefined when it cannot run here — the reason is
 * then in dockerUnavailableReason(). Rejects when it should run but does not start (the error includes the
 * end of dockerd's log). Calls in one process share one peer.
 */
export function startDocker(): Promise<DockerPeer | undefined> {
  current ??= start().catch((e: unknown) => {
    current = undefined;
    throw e;
  });
  return current;
}

function staticReason(): string | undefined {
  if (process.platform !== 'linux') return `the Docker peer runs on Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the Docker peer needs root (dockerd, overlay mounts)';
  for (const f of ['dockerd', 'containerd', 'containerd-shim-runc-v2', 'runc', 'docker']) {
    if (!isExecutable(path.join(BIN, f))) {
      return `Docker peer not set up: ${path.join(BIN, f)} is missing (run scripts/setup-docker.sh as root)`;
    }
  }
  if (!isExecutable(path.join(PLUGINS, 'docker-buildx'))) {
    return `Docker peer not set up: ${PLUGINS}/docker-buildx is missing (run scripts/setup-docker.sh as root)`;
  }
  if (!isStaticElf(BUSYBOX)) return `${BUSYBOX} is missing or not statically linked (apt-get install busybox-static)`;
  return undefined;
}

async function start(): Promise<DockerPeer | undefined> {
  lastReason = staticReason();
  if (lastReason) return undefined;
  if (!hooked) {
    hooked = true;
    onProcessExit(release);
  }
  await acquireLock();
  let state: DaemonState;
  try {
    register();
    state = await ensureDaemon();
    await ensureBaseImage(state);
  } catch (e) {
    unlock();
    release(); // stops the daemon again if this process started it and nobody else uses it
    throw e;
  }
  unlock();
  const version = await serverVersion(state.sock);
  const env = dockerEnv(state);
  return {
    host: `unix://${state.sock}`,
    env,
    version,
    dataRoot: path.join(state.dir, 'data'),
    run: (args, opts = {}) => {
      if (!registered) return Promise.reject(new Error('docker peer was stopped'));
      return runCommand(path.join(BIN, 'docker'), args, { ...opts, env: { ...env, ...opts.env } });
    },
    stop: async () => {
      release();
      current = undefined;
    },
  };
}

function dockerEnv(state: DaemonState): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'BUILDKIT_HOST', 'BUILDX_BUILDER']) delete env[k];
  env.DOCKER_HOST = `unix://${state.sock}`;
  env.DOCKER_BUILDKIT = '1';
  env.DOCKER_CONFIG = path.join(state.dir, 'config');
  env.PATH = `${BIN}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  return env;
}

// ---- the daemon ----

async function ensureDaemon(): Promise<DaemonState> {
  const old = readState();
  if (old && identityAlive(old.identity)) {
    const ping = await httpGet({ socketPath: old.sock, path: '/_ping' });
    if (ping?.status === 200) return old;
  }
  if (old) stopDaemon(old);
  return startDaemon();
}

async function startDaemon(): Promise<DaemonState> {
  const dir = fs.mkdtempSync(path.join(SHARED, 'd-'));
  const sock = path.join(dir, 'docker.sock');
  const exec = path.join(dir, 'exec');
  fs.mkdirSync(path.join(dir, 'config'));
  fs.symlinkSync(PLUGINS, path.join(dir, 'config', 'cli-plugins'));
  fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n'); // not the machine's /etc/docker/daemon.json
  const log = path.join(dir, 'dockerd.log');
  const logFd = fs.openSync(log, 'a');
  const args = [
    '--data-root', path.join(dir, 'data'),
    '--exec-root', exec,
    '--pidfile', path.join(dir, 'dockerd.pid'),
    '--host', `unix://${sock}`,
    '--config-file', path.join(dir, 'daemon.json'),
    '--shutdown-timeout', '3',
  ];
  const env: NodeJS.ProcessEnv = { PATH: `${BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir };
  // detached: the daemon leads a new session (setsid), so its process group can be stopped as a whole and
  // it outlives this process while other test processes use it.
  const child = spawn(path.join(BIN, 'dockerd'), args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  fs.closeSync(logFd);
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `dockerd exited (${signal ?? `code ${code}`}):\n${tail(log)}`;
  });
  child.on('error', (e) => {
    exited = `dockerd did not start: ${e.message}`;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await delay(0);
    throw new Error(exited ?? 'dockerd did not start');
  }
  const state: DaemonState = { identity: `${pid} ${processStart(pid) ?? '?'}`, dir, sock };
  writeState(state); // before it is ready, so that a process dying now still stops it on exit
  await pollUntil(
    `dockerd (${log})`,
    async () => ((await httpGet({ socketPath: sock, path: '/_ping' }, 1000))?.status === 200 ? true : undefined),
    { timeoutMs: 60_000, abort: () => exited },
  );
  return state;
}

/** Stops dockerd and the containerd it started, then removes the daemon's folder. */
function stopDaemon(state: DaemonState): void {
  const pid = Number(state.identity.split(' ')[0]);
  if (identityAlive(state.identity)) killGroupSync(pid, 15_000);
  // dockerd stops its containerd on a clean shutdown; after a SIGKILL containerd (own session) is left.
  const containerdPid = readPid(path.join(state.dir, 'exec', 'containerd', 'containerd.pid'));
  if (containerdPid && processStart(containerdPid) !== undefined && cmdline(containerdPid).includes('containerd')) {
    killGroupSync(containerdPid, 5000);
  }
  unmountUnder(state.dir); // after a SIGKILL dockerd leaves its data root (and overlays) mounted
  try {
    fs.rmSync(state.dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`docker peer: could not remove ${state.dir}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  try {
    if (readState()?.identity === state.identity) fs.unlinkSync(STATE);
  } catch {
    /* already gone */
  }
}

function unmountUnder(dir: string): void {
  let info: string;
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
}

async function serverVersion(sock: string): Promise<string> {
  const r = await httpGet({ socketPath: sock, path: '/version' });
  if (r?.status !== 200) throw new Error(`docker peer: GET /version failed (${r ? r.status : 'no answer'})`);
  const v: unknown = JSON.parse(r.body);
  return typeof v === 'object' && v !== null && 'Version' in v && typeof v.Version === 'string' ? v.Version : '?';
}

// ---- the base image ----

async function ensureBaseImage(state: DaemonState): Promise<void> {
  const env = dockerEnv(state);
  const docker = path.join(BIN, 'docker');
  const have = await runCommand(docker, ['image', 'inspect', '--format', '{{.Id}}', BASE_IMAGE], { env });
  if (have.code !== 0) {
    const tarFile = path.join(state.dir, 'busybox-rootfs.tar');
    await writeBusyboxRootfsTar(tarFile);
    const imp = await runCommand(docker, ['import', '--change', 'CMD ["sh"]', tarFile, BASE_IMAGE], { env });
    if (imp.code !== 0) throw new Error(`docker import of the busybox rootfs failed: ${imp.stderr.trim()}`);
    fs.rmSync(tarFile, { force: true });
  }
  const tag = await runCommand(docker, ['tag', BASE_IMAGE, 'docker.io/library/busybox:latest'], { env });
  if (tag.code !== 0) throw new Error(`docker tag failed: ${tag.stderr.trim()}`);
}

// ---- lock, users, state ----

async function acquireLock(): Promise<void> {
  await pollUntil('docker peer lock ' + LOCK, async () => (tryLock() ? true : undefined), { timeoutMs: 180_000 });
}

function acquireLockSync(timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryLock()) return true;
    if (Date.now() >= deadline) return false;
    sleepSync(25);
  }
}

function tryLock(): boolean {
  fs.mkdirSync(USERS, { recursive: true });
  const me = processIdentity();
  try {
    fs.writeFileSync(LOCK, me, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let holder: string;
  let age: number;
  try {
    holder = fs.readFileSync(LOCK, 'utf8');
    age = Date.now() - fs.statSync(LOCK).mtimeMs;
  } catch {
    return false; // released in between; try again
  }
  if (holder === me) return true;
  // A holder that died keeps the lock; break it. (An empty file is a holder between create and write.)
  if ((holder === '' && age > 10_000) || (holder !== '' && !identityAlive(holder))) {
    try {
      if (fs.readFileSync(LOCK, 'utf8') === holder) fs.unlinkSync(LOCK);
    } catch {
      /* someone else broke it */
    }
  }
  return false;
}

function unlock(): void {
  try {
    if (fs.readFileSync(LOCK, 'utf8') === processIdentity()) fs.unlinkSync(LOCK);
  } catch {
    /* not held */
  }
}

function userFile(): string {
  return path.join(USERS, processIdentity().replace(' ', '-'));
}

function register(): void {
  fs.writeFileSync(userFile(), '');
  registered = true;
}

/** Removes users whose process is gone; returns how many are left. */
function liveUsers(): number {
  let n = 0;
  for (const f of fs.readdirSync(USERS)) {
    if (identityAlive(f.replace('-', ' '))) n++;
    else fs.rmSync(path.join(USERS, f), { force: true });
  }
  return n;
}

/** Drops this process's use of the daemon and stops the daemon if it was the last user. Synchronous. */
function release(): void {
  if (!registered) return;
  registered = false;
  const locked = acquireLockSync(30_000);
  try {
    fs.rmSync(userFile(), { force: true });
    if (!locked) return; // leave the daemon to the next user, who reuses or replaces it
    if (liveUsers() === 0) {
      const state = readState();
      if (state) stopDaemon(state);
    }
  } finally {
    if (locked) unlock();
  }
}

function readState(): DaemonState | undefined {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(STATE, 'utf8'));
    if (typeof v !== 'object' || v === null) return undefined;
    const s = v as Partial<DaemonState>;
    if (typeof s.identity === 'string' && typeof s.dir === 'string' && typeof s.sock === 'string') {
      return { identity: s.identity, dir: s.dir, sock: s.sock };
    }
  } catch {
    /* none */
  }
  return undefined;
}

function writeState(state: DaemonState): void {
  const tmp = `${STATE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state) + '\n');
  fs.renameSync(tmp, STATE);
}

// ---- small file checks ----

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
