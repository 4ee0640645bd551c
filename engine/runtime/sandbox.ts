/**
 * Running one process in a Linux-namespace sandbox over an overlay of image layers: what RUN steps use, and
 * later `layerwise run`. See README.md in this folder for the design; in short:
 *
 *   node ── setpriv --pdeathsig=KILL ── unshare [--user] --mount --pid --uts --ipc [--net] --fork --kill-child
 *                                          └─ /bin/sh INIT_SCRIPT (pid 1: mounts, then waits for the command)
 *                                               └─ env -i … setpriv (gid, groups, capabilities)
 *                                                    └─ unshare --root --wd --setuid (chroot, cd, uid) ── argv
 *
 * Everything lives in the sandbox's own mount and pid namespaces: when pid 1 ends, the kernel kills every
 * process left and drops every mount, so nothing can be left behind, also when the engine itself is killed
 * (the parent-death signal chain takes the sandbox down with it).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { LayerwiseError } from '../errors';
import { findExecutable, hostPath, missingTools } from './host-tools';
import { planIdMap, type IdMapPlan } from './idmap';
import { writeIdMaps } from './idmap-write';
import { overlayOptions, overlaySupport } from './overlay';
import { childPids, signalName } from './procfs';
import { DEFAULT_HOSTNAME, hostsFile, resolvConf, validate } from './spec';
import { INIT_SCRIPT } from './setup-script';
import { planSetup } from './setup-plan';
import type { SandboxCapability, SandboxHandle, SandboxResult, SandboxSpec, StdioTarget } from './types';
import type { ResolvedUser } from './users';

export type { SandboxCapability, SandboxHandle, SandboxMount, SandboxResult, SandboxSpec } from './types';
export { overlaySupport, overlayXattrPrefix } from './overlay';
export { removeTree, runInUserNamespace } from './userns-exec';

let capability: Promise<SandboxCapability> | undefined;

/** Whether this process can run sandboxes here, and how (probed once). */
export function canSandbox(): Promise<SandboxCapability> {
  capability ??= (async (): Promise<SandboxCapability> => {
    const rootless = (process.geteuid?.() ?? 0) !== 0;
    const plan = planIdMap();
    const base = { rootless, idmap: plan.mode, ...(plan.note ? { note: plan.note } : {}) };
    if (process.platform !== 'linux') return { ...base, ok: false, reason: 'sandboxes need Linux' };
    const missing = missingTools();
    if (missing.length) return { ...base, ok: false, reason: `missing host tools: ${missing.join(', ')} (Debian: util-linux, coreutils)` };
    const ovl = await overlaySupport();
    if (!ovl.overlay) return { ...base, ok: false, reason: ovl.reason ?? 'overlayfs is not usable' };
    return { ...base, ok: true };
  })();
  return capability;
}

function stdioFor(t: StdioTarget | Readable | 'pipe' | undefined, fd: number): 'pipe' | 'ignore' | number {
  if (t === 'inherit') return fd;
  if (t === 'ignore') return 'ignore';
  return 'pipe';
}

/**
 * overlayfs leaves `work/` (mode 000) in the work dir; a non-root owner could not even remove it. Open it up so
 * that the caller can reuse or delete the work dir.
 */
async function releaseWorkDir(workDir: string): Promise<void> {
  for (const name of await readdir(workDir).catch(() => [] as string[])) {
    await chmod(join(workDir, name), 0o700).catch(() => undefined);
  }
  // a `volatile` mount leaves work/incompat/volatile (mode 000 too), which makes the next mount over this work
  // dir fail
  const incompat = join(workDir, 'work', 'incompat');
  await chmod(incompat, 0o700).catch(() => undefined);
  for (const name of await readdir(incompat).catch(() => [] as string[])) await chmod(join(incompat, name), 0o700).catch(() => undefined);
  await rm(incompat, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Starts a sandbox. Resolves once the process is spawned; `handle.started` tells when the command runs and
 * `handle.done` when everything is gone. Set-up failures reject both with a LayerwiseError.
 */
export async function startSandbox(spec: SandboxSpec): Promise<SandboxHandle> {
  validate(spec);
  const cap = await canSandbox();
  if (!cap.ok) throw new LayerwiseError('io', `cannot run a sandbox here: ${cap.reason ?? 'unknown reason'}`);
  const idmap = planIdMap();
  const userns = idmap.mode !== 'host';
  const ovl = await overlaySupport();
  const hostname = spec.hostname ?? DEFAULT_HOSTNAME;

  const state = await mkdtemp(join(spec.stateParent ?? tmpdir(), 'layerwise-sbx-'));
  try {
    const root = join(state, 'root');
    await mkdir(root);
    let lowers = spec.lowerDirs;
    if (lowers.length === 0) {
      lowers = [join(state, 'empty')];
      await mkdir(lowers[0] as string);
    }
    const ovlOpts = overlayOptions(lowers, spec.upperDir, spec.workDir, userns, ovl.extraOptions, join(state, 'lowers'));
    await writeFile(join(state, 'hosts'), hostsFile(spec, hostname), { mode: 0o644 });
    await writeFile(join(state, 'resolv.conf'), resolvConf(), { mode: 0o644 });
    await writeFile(join(state, 'hostname'), `${hostname}\n`, { mode: 0o644 });
    for (const m of spec.mounts ?? []) if (m.type === 'cache') await mkdir(m.source as string, { recursive: true });
    return launch(spec, { state, root, idmap, userns, ovlOpts, hostname });
  } catch (e) {
    await rm(state, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

interface LaunchContext {
  state: string;
  root: string;
  idmap: IdMapPlan;
  userns: boolean;
  ovlOpts: { options: string; cwd: string };
  hostname: string;
}

function launch(spec: SandboxSpec, lc: LaunchContext): SandboxHandle {
  const unshareArgs = [
    ...(lc.userns ? ['--user'] : []),
    '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child=SIGKILL', '--uts', '--ipc',
    ...(spec.network === 'none' ? ['--net'] : []),
    '--', findExecutable('sh') as string, '-c', INIT_SCRIPT, 'layerwise-init',
  ];
  const stdio: StdioOptions = [
    stdioFor(spec.stdin ?? 'ignore', 0),
    stdioFor(spec.stdout, 1),
    'pipe', // diagnostics of the set-up
    'pipe', // control socket
    // fd 4 must exist (process 1 moves it to the command's fd 2); Node opens /dev/null only for fds 0-2
    spec.stderr === 'ignore' ? 'pipe' : stdioFor(spec.stderr, 2),
  ];
  const child: ChildProcess = spawn(findExecutable('setpriv') as string, ['--pdeathsig=KILL', '--', findExecutable('unshare') as string, ...unshareArgs], {
    stdio,
    env: {
      PATH: hostPath(),
      LC_ALL: 'C',
      SHELL: findExecutable('sh') as string,
      LW_SH: findExecutable('sh') as string,
      LW_STATE: lc.state,
      LW_ROOT: lc.root,
      LW_OVL_OPTS: lc.ovlOpts.options,
      LW_OVL_CWD: lc.ovlOpts.cwd,
    },
  });
  const pid = child.pid;
  const stdinStream = (child.stdio[0] ?? null) as Writable | null;
  const stdoutStream = (child.stdio[1] ?? null) as Readable | null;
  const diagStream = child.stdio[2] as Readable | null;
  const ctl = child.stdio[3] as (Readable & Writable) | null;
  const stderrStream = (child.stdio[4] ?? null) as Readable | null;

  if (spec.stdin && typeof spec.stdin !== 'string' && stdinStream) spec.stdin.pipe(stdinStream);
  stdinStream?.on('error', () => undefined); // the command may exit without reading its input
  if (spec.stdout && typeof spec.stdout !== 'string' && stdoutStream) stdoutStream.pipe(spec.stdout, { end: false });
  if (spec.stderr && typeof spec.stderr !== 'string' && stderrStream) stderrStream.pipe(spec.stderr, { end: false });
  if (spec.stderr === 'ignore') stderrStream?.resume();

  let diag = '';
  diagStream?.setEncoding('utf8');
  diagStream?.on('data', (d: string) => {
    if (diag.length < 65536) diag += d;
  });

  let initPid: number | undefined;
  let exitStatus: number | undefined;
  let startedSeen = false;
  let setupError: string | undefined;
  let failure: unknown;
  let cancelled = false;
  let user: ResolvedUser = { uid: 0, gid: 0, groups: [], home: '/' };
  let startedResolve!: () => void;
  let startedReject!: (e: unknown) => void;
  const started = new Promise<void>((res, rej) => {
    startedResolve = res;
    startedReject = rej;
  });
  started.catch(() => undefined);

  const fail = (e: unknown): void => {
    failure ??= e;
    killAll();
  };
  const reply = (s: string): void => {
    ctl?.write(`${s}\n`);
  };

  const t0 = Date.now();
  const onLine = async (line: string): Promise<void> => {
    if (process.env.LW_SANDBOX_TRACE) process.stderr.write(`[sandbox +${Date.now() - t0}ms] ${line}\n`);
    const sp = line.indexOf(' ');
    const word = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    if (cancelled && word !== 'exit') return;
    switch (word) {
      case 'ready':
        initPid = Number(rest);
        await writeIdMaps(pid as number, lc.idmap);
        reply('go');
        return;
      case 'mounted': {
        const plan = await planSetup({
          spec,
          view: `/proc/${initPid ?? pid}/root${lc.root}`,
          root: lc.root,
          state: lc.state,
          idmap: lc.idmap,
          hostname: lc.hostname,
        });
        user = plan.user;
        await writeFile(join(lc.state, "setup.sh"), plan.script);
        if (process.env.LW_SANDBOX_TRACE) process.stderr.write(plan.script);
        reply('go');
        return;
      }
      case 'started':
        startedSeen = true;
        startedResolve();
        return;
      case 'exit':
        exitStatus = Number(rest);
        return;
      case 'error':
        setupError = rest;
        return;
      default:
        return;
    }
  };

  let buf = '';
  let chain = Promise.resolve();
  ctl?.setEncoding('utf8');
  ctl?.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      chain = chain.then(() => onLine(line)).catch(fail);
    }
  });
  ctl?.on('error', () => undefined);

  function killAll(): void {
    // killing pid 1 of the sandbox takes the whole pid and mount namespace down; before it exists, unshare
    // (whose child has a parent-death signal and has mounted nothing yet)
    const target = initPid ?? childPids(pid as number)[0];
    try {
      if (target !== undefined) process.kill(target, 'SIGKILL');
      else if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  const done = new Promise<SandboxResult>((resolve, reject) => {
    child.on('error', (e) => {
      failure ??= new LayerwiseError('io', `cannot start the sandbox: ${e.message}`, { cause: e });
    });
    child.on('close', (code, sig) => {
      void (async () => {
        await chain;
        await rm(lc.state, { recursive: true, force: true }).catch(() => undefined);
        await releaseWorkDir(spec.workDir);
        const detail = diag.trim().split('\n').slice(-5).join('; ');
        // a command that is process 1 itself says nothing when it ends: its status is unshare's (which dies of the
        // same signal when it was killed by one)
        if (exitStatus === undefined && startedSeen && failure === undefined && setupError === undefined) {
          exitStatus = code ?? 128 + (sig ? (osConstants.signals[sig] ?? 0) : 0);
        }
        if (cancelled) {
          startedReject(new LayerwiseError('io', 'the sandbox was cancelled'));
          resolve({ exitCode: 137, signal: 'SIGKILL', cancelled: true, user });
          return;
        }
        if (failure !== undefined || setupError !== undefined || exitStatus === undefined) {
          const err =
            failure instanceof LayerwiseError
              ? failure
              : new LayerwiseError(
                  'io',
                  `sandbox set-up failed: ${setupError ?? (failure instanceof Error ? failure.message : `exited with ${code ?? sig}`)}` +
                    (detail ? ` (${detail})` : ''),
                  failure !== undefined ? { cause: failure } : {},
                );
          startedReject(err);
          reject(err);
          return;
        }
        const status = exitStatus;
        const signal = status > 128 ? signalName(status - 128) : undefined;
        resolve({ exitCode: status, ...(signal ? { signal } : {}), cancelled: false, user });
      })();
    });
  });
  done.catch(() => undefined);

  const handle: SandboxHandle = {
    pid: pid ?? -1,
    started,
    done,
    cancel(): Promise<SandboxResult> {
      if (exitStatus === undefined) {
        cancelled = true;
        killAll();
      }
      return done;
    },
    kill(signal: NodeJS.Signals): boolean {
      if (initPid === undefined) return false;
      // a `run` container's command is process 1 itself (the init execs it); otherwise it is the init's child
      const cmd = spec.profile === 'run' && !spec.init ? initPid : childPids(initPid)[0];
      if (cmd === undefined) return false;
      try {
        process.kill(cmd, signal);
        return true;
      } catch {
        return false;
      }
    },
    processes(): number[] {
      if (initPid === undefined) return [];
      const out: number[] = [];
      const todo = childPids(initPid);
      while (todo.length) {
        const p = todo.shift() as number;
        out.push(p);
        todo.push(...childPids(p));
      }
      return out;
    },
    stdin: spec.stdin === 'pipe' ? stdinStream : null,
    stdout: spec.stdout === undefined ? stdoutStream : null,
    stderr: spec.stderr === undefined ? stderrStream : null,
  };
  if (spec.signal) {
    const signal = spec.signal;
    if (signal.aborted) void handle.cancel();
    else {
      // one build's signal serves every RUN of it: the listener goes when this sandbox is done
      const onAbort = () => void handle.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      void done.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
    }
  }
  return handle;
}

/**
 * Runs a command in a sandbox to completion, streaming its output into spec.stdout/spec.stderr.
 * Resolves with the exit status (127 for a missing command, 126 for one that cannot be executed, like Docker);
 * rejects with a LayerwiseError when the sandbox cannot be set up.
 */
export async function runSandboxed(spec: SandboxSpec): Promise<SandboxResult> {
  const h = await startSandbox({ ...spec, stdout: spec.stdout ?? 'ignore', stderr: spec.stderr ?? 'ignore' });
  return h.done;
}
