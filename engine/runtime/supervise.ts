/**
 * A detached container's supervisor (`layerwise __supervise ID`, started by `run -d` and `start` in a session of its
 * own): starts the container's sandbox over its record's upper dir, publishes its ports, writes its output to the
 * log (Docker's json-file lines) and its state, and ends with it. `stop` and `kill` reach the container through it:
 * SIGTERM asks for a stop (the image's stop signal, then SIGKILL after the timeout in `stop.json`), SIGUSR1 for the
 * signal named in `signal`. The process that started it reads one line on fd 3: `ok`, or `error: …`.
 */
import { closeSync, createWriteStream, existsSync, readFileSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openStore } from '../store/store';
import { ContainerStore, processStart } from './containers';
import { publishPorts, type Published } from './ports';
import { childPids } from './procfs';
import { startSandbox } from './sandbox';
import type { SandboxHandle } from './types';

/** How to start a supervisor: the CLI bundle we run from (its `__supervise` command), or from the TypeScript
 *  sources, main.ts through tsx. */
export function superviseCommand(): string[] {
  if (__filename.endsWith('.ts')) return [process.execPath, '--import', require.resolve('tsx'), join(__dirname, '..', 'cli', 'main.ts')];
  return [process.execPath, __filename];
}

function notify(line: string): void {
  try {
    writeSync(3, line + '\n');
    closeSync(3);
  } catch {
    /* nobody waits */
  }
}

/** Docker's json-file driver: a line per record, each line of output with its stream and time. */
function logLines(src: Readable, stream: 'stdout' | 'stderr', out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    let rest = '';
    const put = (text: string) => out.write(JSON.stringify({ log: text, stream, time: new Date().toISOString() }) + '\n');
    src.setEncoding('utf8');
    src.on('data', (d: string) => {
      const s = rest + d;
      const lines = s.split('\n');
      rest = lines.pop()!;
      for (const l of lines) put(l + '\n');
    });
    const end = () => {
      if (rest) put(rest);
      rest = '';
      resolve();
    };
    src.on('end', end);
    src.on('error', end);
  });
}

export async function superviseMain(root: string, id: string): Promise<number> {
  const store = await openStore(root);
  const containers = new ContainerStore(store.containersDir);
  const c = await containers.read(id);
  if (!c) {
    notify(`error: No such container: ${id}`);
    return 1;
  }
  const { config, dir } = c;
  const log = createWriteStream(join(dir, 'container.log'), { flags: 'a' });
  let published: Published | undefined;
  let handle: SandboxHandle;
  try {
    published = config.ports.length ? await publishPorts(config.ports) : undefined;
    const { keepStdin, ...spec } = config.spec;
    handle = await startSandbox({
      ...spec,
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
      profile: 'run',
      // -i: a pipe nobody writes to, open while the container runs (a shell waits on it)
      stdin: keepStdin ? 'pipe' : 'ignore',
      stateParent: store.tmpDir,
    });
    await handle.started;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await published?.close();
    await containers.writeState(id, { status: 'exited', exitCode: 128, finishedAt: new Date().toISOString(), error: msg });
    notify(`error: ${msg}`);
    log.end();
    return 1;
  }
  const outputs = Promise.all([handle.stdout ? logLines(handle.stdout, 'stdout', log) : undefined, handle.stderr ? logLines(handle.stderr, 'stderr', log) : undefined]);
  const startedAt = new Date().toISOString();
  await containers.writeState(id, { status: 'running', pid: process.pid, pidStart: processStart(process.pid)!, initPid: childPids(handle.pid)[0]!, startedAt });
  notify('ok');

  let killTimer: NodeJS.Timeout | undefined;
  process.on('SIGTERM', () => {
    let timeout = config.stopTimeout ?? 10;
    try {
      const asked = JSON.parse(readFileSync(join(dir, 'stop.json'), 'utf8')) as { timeout?: number };
      if (typeof asked.timeout === 'number') timeout = asked.timeout;
    } catch {
      /* the default */
    }
    if (timeout < 0) return; // wait for ever, as docker stop -t -1
    handle.kill((config.stopSignal || 'SIGTERM') as NodeJS.Signals);
    killTimer ??= setTimeout(() => void handle.cancel(), timeout * 1000);
  });
  process.on('SIGUSR1', () => {
    let sig = 'SIGKILL';
    try {
      sig = readFileSync(join(dir, 'signal'), 'utf8').trim() || sig;
    } catch {
      /* SIGKILL */
    }
    if (sig === 'SIGKILL') void handle.cancel();
    else handle.kill(sig as NodeJS.Signals);
  });
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);

  const res = await handle.done;
  if (killTimer) clearTimeout(killTimer);
  await outputs;
  await new Promise<void>((r) => log.end(() => r()));
  await published?.close();
  const exitCode = res.signal ? 128 + (constants.signals[res.signal] ?? 9) : res.exitCode;
  await containers.writeState(id, { status: 'exited', startedAt, finishedAt: new Date().toISOString(), exitCode });
  if (config.autoRemove && existsSync(dir)) await containers.remove(id);
  return 0;
}
