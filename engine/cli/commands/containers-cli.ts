/**
 * Shared by the container commands (`run -d`, ps, logs, stop, kill, rm, exec, start): starting a container's
 * supervisor and waiting until the container runs, finding containers, and waiting for one to end.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LayerwiseError } from '../../errors';
import { ContainerStore, type Container, type ContainerConfig } from '../../runtime/containers';
import { superviseCommand } from '../../runtime/supervise';
import type { Store } from '../../store/store';
import type { CliContext } from '../context';
import { launchEnv } from '../launch-env';

export function containerStore(store: Store): ContainerStore {
  return new ContainerStore(store.containersDir);
}

/** Start the supervisor of a recorded container (in a session of its own: it outlives this process) and wait for
 *  its word: the container runs, or why it could not start. */
export async function startSupervisor(ctx: CliContext, id: string): Promise<void> {
  const [cmd, ...pre] = superviseCommand();
  const child = spawn(cmd!, [...pre, '--root', ctx.root, '__supervise', id], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: launchEnv(ctx.env),
    cwd: '/',
  });
  const word = await new Promise<string>((resolve) => {
    let got = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => (got += d));
    pipe.on('end', () => resolve(got.trim()));
    pipe.on('error', () => resolve(got.trim()));
    child.on('error', (e) => resolve(`error: cannot start the container's supervisor: ${e.message}`));
  });
  child.unref();
  if (word !== 'ok') throw new LayerwiseError('io', word.replace(/^error: /, '') || "the container's supervisor ended before the container started");
}

/** `run -d`: record the container, start it, wait until it runs. */
export async function startDetached(ctx: CliContext, store: Store, config: ContainerConfig): Promise<void> {
  const containers = containerStore(store);
  await containers.create(config);
  try {
    await startSupervisor(ctx, config.id);
  } catch (e) {
    // as docker: the container stays (Created, with the error), unless --rm
    if (config.autoRemove) await containers.remove(config.id);
    throw e;
  }
}

/** Resolves when the container's supervisor is gone (it ends with the container), by its pid. */
export async function waitGone(c: Container): Promise<void> {
  const pid = c.state.pid;
  if (pid === undefined || c.state.status !== 'running') return;
  const { processStart } = require('../../runtime/containers') as typeof import('../../runtime/containers');
  // the supervisor is not our child: its end is seen through pidfd where node has none, so by its /proc entry,
  // watched with inotify on the record's state file, which the supervisor writes last
  const { watch } = require('node:fs') as typeof import('node:fs');
  await new Promise<void>((resolve) => {
    const check = () => {
      if (processStart(pid) !== c.state.pidStart) {
        w.close();
        clearInterval(t);
        resolve();
      }
    };
    const w = watch(c.dir, () => check());
    // (a supervisor killed with -9 writes nothing: its /proc entry is checked now and then too)
    const t = setInterval(check, 100);
    check();
  });
}

export function stateFile(c: Container, name: string): string {
  return join(c.dir, name);
}

/** Ask a running container's supervisor for `signal` (SIGKILL: the sandbox is torn down); false when it is gone. */
export async function signalContainer(c: Container, signal: string): Promise<boolean> {
  const { writeFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  await writeFile(stateFile(c, 'signal'), signal);
  try {
    process.kill(c.state.pid!, 'SIGUSR1');
    return true;
  } catch {
    return false; // it ended meanwhile
  }
}

/** Runs `act` for each named container, as the docker commands that take several do: each name printed once done,
 *  each failure said (`Error response from daemon: …`) and the others still done; exit 1 when any failed. */
export async function forEachContainer(ctx: CliContext, store: Store, refs: string[], act: (c: Container, ref: string) => Promise<void>): Promise<number> {
  const containers = containerStore(store);
  let failed = 0;
  for (const ref of refs) {
    try {
      await act(await containers.find(ref), ref);
      ctx.stdout.write(ref + '\n');
    } catch (e) {
      failed++;
      ctx.stderr.write(`Error response from daemon: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}
