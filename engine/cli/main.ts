/**
 * `layerwise`: a docker-like CLI over the bundled engine.
 * Global options come before the command: `layerwise [--root DIR] <command> [args…]`.
 * Errors are printed as one line (`Error: …`), never as a stack trace.
 */
import { resolve } from 'node:path';
import { aliases, commands } from './commands';
import { defaultRoot, type CliContext } from './context';
import { describeError, isLayerwiseError } from '../errors';
import { trace } from '../build/trace';

const USAGE = `Usage:  layerwise [OPTIONS] COMMAND

A rootless Dockerfile engine: build, store and run OCI images without Docker.

Global options:
      --root string   Store root (default $LAYERWISE_ROOT or $XDG_DATA_HOME/layerwise)
  -h, --help          Print usage
`;

export async function main(argv: string[], ctx0: Partial<CliContext> = {}): Promise<number> {
  trace('main');
  const env = ctx0.env ?? process.env;
  let stdin = ctx0.stdin;
  const ctx: CliContext = {
    root: ctx0.root ?? defaultRoot(env),
    stdout: ctx0.stdout ?? process.stdout,
    stderr: ctx0.stderr ?? process.stderr,
    // process.stdin is made on first use only: setting it up costs a few milliseconds most commands never use
    get stdin() {
      return (stdin ??= process.stdin);
    },
    set stdin(v) {
      stdin = v;
    },
    env,
    cwd: ctx0.cwd ?? process.cwd(),
  };
  const args = [...argv];
  while (args.length && args[0]!.startsWith('-')) {
    const a = args.shift()!;
    if (a === '--root') {
      const v = args.shift();
      if (!v) return usageError(ctx, 'flag needs an argument: --root');
      ctx.root = resolve(ctx.cwd, v);
    } else if (a.startsWith('--root=')) {
      ctx.root = resolve(ctx.cwd, a.slice('--root='.length));
    } else if (a === '-h' || a === '--help') {
      return printHelp(ctx);
    } else if (a === '-v' || a === '--version') {
      ctx.stdout.write('layerwise version 0.1.0\n');
      return 0;
    } else {
      return usageError(ctx, `unknown flag: ${a}`);
    }
  }
  let name = args.shift();
  if (!name) return printHelp(ctx);
  // `layerwise image ls`, `layerwise container ls`: two-word forms map onto aliases
  if (args.length && aliases[`${name} ${args[0]}`]) {
    ctx.invokedAs = `${name} ${args[0]}`;
    name = aliases[`${name} ${args.shift()}`]!;
  } else if (aliases[name]) name = aliases[name]!;
  const load = commands[name];
  if (!load) return usageError(ctx, `unknown command: "${name}"\nSee 'layerwise --help'.`);
  try {
    const mod = await load();
    trace(`command ${name} loaded`);
    return await mod.run(args, ctx);
  } catch (e) {
    ctx.stderr.write(`Error: ${describeError(e)}\n`);
    if (env.LAYERWISE_DEBUG && e instanceof Error && e.stack) ctx.stderr.write(e.stack + '\n');
    return isLayerwiseError(e) ? e.exitCode : 1;
  }
}

async function printHelp(ctx: CliContext): Promise<number> {
  const lines = [USAGE, 'Commands:'];
  // a command with a docker-style two-word form (`image prune`, `system df`) is listed by that name
  const spoken = new Map(Object.entries(aliases).filter(([two, cmd]) => two.replace(' ', '-') === cmd).map(([two, cmd]) => [cmd, two]));
  const names = Object.keys(commands)
    .filter((n) => !n.startsWith('__'))
    .map((n) => [spoken.get(n) ?? n, n] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const width = Math.max(...names.map(([shown]) => shown.length)) + 2;
  for (const [shown, n] of names) {
    const mod = await commands[n]!();
    lines.push(`  ${shown.padEnd(width)} ${mod.summary}`);
  }
  ctx.stdout.write(lines.join('\n') + '\n');
  return 0;
}

function usageError(ctx: CliContext, msg: string): number {
  ctx.stderr.write(`layerwise: ${msg}\n`);
  return 125;
}

/** A reader that went away (`layerwise history x | head -1`): the process ends as a Go program does on SIGPIPE,
 *  quietly, with the status a shell shows for it (128 + 13), instead of node's unhandled EPIPE stack trace. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

/** Runs the command line of this process and sets its exit code (dist/cli.js, engine/cli/launcher.ts). */
export function cliEntry(): void {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  main(process.argv.slice(2)).then(
    (code) => {
      trace('command done');
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`Error: ${describeError(e)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) cliEntry();
