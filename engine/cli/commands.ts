/**
 * The command table of the `layerwise` CLI. Each command lives in engine/cli/commands/<name>.ts and is
 * loaded only when it runs, so that `layerwise --help` stays fast. Add one line per command here.
 */
import type { CliContext } from './context';

export interface CommandModule {
  /** one line for `layerwise --help` */
  summary: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}

export const commands: Record<string, () => Promise<CommandModule>> = {
  debug: () => import('./commands/debug'),
};

/** docker-style aliases: `layerwise image ls` = `layerwise images`. */
export const aliases: Record<string, string> = {};
