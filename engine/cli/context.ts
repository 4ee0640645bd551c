import { homedir } from 'node:os';
import { join } from 'node:path';

/** What every command gets: the global options and the streams to write to. */
export interface CliContext {
  /** the store root: --root, LAYERWISE_ROOT, or $XDG_DATA_HOME/layerwise */
  root: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** the two-word form the command was called by (`image inspect`), when it was */
  invokedAs?: string;
}

export function defaultRoot(env: NodeJS.ProcessEnv): string {
  if (env.LAYERWISE_ROOT) return env.LAYERWISE_ROOT;
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(data, 'layerwise');
}
