/** `layerwise __supervise ID`: a detached container's supervisor (engine/runtime/supervise.ts); not for people. */
import { superviseMain } from '../../runtime/supervise';
import type { CliContext } from '../context';

export const summary = '';

export function run(args: string[], ctx: CliContext): Promise<number> {
  return superviseMain(ctx.root, args[0] ?? '');
}
