/** `layerwise __copy JOB.json`: the COPY/ADD worker, started by the builder in a private mount namespace. */
import { copyWorkerMain } from '../../build/copy-worker';
import type { CliContext } from '../context';

export const summary = '(internal) COPY/ADD worker';

export async function run(args: string[], _ctx: CliContext): Promise<number> {
  return copyWorkerMain(args[0] ?? '');
}
