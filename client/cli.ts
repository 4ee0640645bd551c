/**
 * Runs the engine CLI (`node dist/cli.js …`) in a child process of its own process group, so that Cancel can
 * stop it and every process it started (RUN steps) at once. The CLI is resolved from the extension's folder;
 * `LAYERWISE_CLI` (tests) or the `layerwise.cliPath` setting may point at another script.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { launchEnv } from '../engine/cli/launch-env';

export interface CliEnvironment {
  /** absolute path of the CLI script */
  cliPath: string;
  /** store root (`--root`), when the user set one */
  root?: string;
}

export function resolveCliPath(extensionPath: string, configured?: string): string {
  const fromEnv = process.env.LAYERWISE_CLI;
  if (fromEnv) return fromEnv;
  if (configured) return path.isAbsolute(configured) ? configured : path.join(extensionPath, configured);
  return path.join(extensionPath, 'dist', 'cli.js');
}

export function cliArgs(env: CliEnvironment, args: string[]): string[] {
  return [env.cliPath, ...(env.root ? ['--root', env.root] : []), ...args];
}

/** Starts the CLI; stdout/stderr are pipes. The child leads its own process group. */
export function spawnCli(env: CliEnvironment, args: string[], cwd?: string): ChildProcess {
  return spawn(process.execPath, cliArgs(env, args), {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // in desktop VS Code process.execPath is Electron; this makes it behave as Node
    // and without node reading NODE_EXTRA_CA_CERTS at start-up (launchEnv)
    env: { ...launchEnv(process.env), ELECTRON_RUN_AS_NODE: '1' },
  });
}

/** Stops a CLI child and its process group: SIGTERM, then SIGKILL after `graceMs`. Resolves when it exited. */
export function stopCli(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const pid = child.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (pid !== undefined) process.kill(-pid, sig);
      } catch {
        try {
          child.kill(sig);
        } catch {
          /* already gone */
        }
      }
    };
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    signal('SIGTERM');
  });
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs a CLI command to completion; rejects with the CLI's own `Error: …` line when it fails. */
export function runCli(env: CliEnvironment, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(env, args, cwd);
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => reject(new CliError(`cannot start the Layerwise engine: ${e.message}`, -1, '')));
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      const line = err.split('\n').find((l) => l.startsWith('Error: ') || l.startsWith('layerwise: ')) ?? err.trim().split('\n')[0] ?? '';
      reject(new CliError(line.replace(/^(Error|layerwise): /, '') || `layerwise ${args[0] ?? ''} exited with code ${code}`, code ?? -1, err));
    });
  });
}

/** Parses a JSON array, a JSON object, or JSON lines (docker's `--format json`). */
export function parseJsonOutput(text: string): unknown[] {
  const t = text.trim();
  if (!t) return [];
  if (t.startsWith('[')) return JSON.parse(t) as unknown[];
  try {
    return [JSON.parse(t)];
  } catch {
    return t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  }
}
