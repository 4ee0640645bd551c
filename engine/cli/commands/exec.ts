/**
 * `layerwise exec [-i] [-t] [-d] [-e K=V]… [--env-file F]… [-u USER] [-w DIR] [--privileged] CONTAINER COMMAND
 * [ARG…]` (also `container exec`): a command in a running container, as `docker exec`: in all its namespaces
 * (nsenter), with its environment plus -e, as its user (or -u), in its working directory (or -w), with its
 * capabilities, entered from its staging root as the container's own command was (runtime/setup-plan.ts).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LayerwiseError } from '../../errors';
import { findExecutable } from '../../runtime/host-tools';
import { planIdMap } from '../../runtime/idmap';
import { commandChain, containerUser } from '../../runtime/setup-plan';
import { shq } from '../../runtime/setup-script';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { containerStore } from './containers-cli';
import { parseEnvFile, replaceOrAppendEnv } from './run';

export const summary = 'Execute a command in a running container';

const USAGE = `Usage:  layerwise exec [OPTIONS] CONTAINER COMMAND [ARG...]

Execute a command in a running container

Options:
  -d, --detach               Detached mode: run command in the background
  -e, --env list             Set environment variables
      --env-file list        Read in a file of environment variables
  -i, --interactive          Keep STDIN open even if not attached
      --privileged           Give extended privileges to the command
  -t, --tty                  Allocate a pseudo-TTY
  -u, --user string          Username or UID (format: "<name|uid>[:<group|gid>]")
  -w, --workdir string       Working directory inside the container
`;

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const env: string[] = [];
  let user: string | undefined;
  let workdir: string | undefined;
  let tty = false;
  let interactive = false;
  let detach = false;
  let privileged = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const val = (): string => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new LayerwiseError('usage', `flag needs an argument: ${a}`);
      return v;
    };
    switch (name) {
      case '--help':
      case '-h':
        ctx.stdout.write(USAGE);
        return 0;
      case '-e':
      case '--env': {
        const kv = val();
        env.push(kv.includes('=') ? kv : ctx.env[kv] === undefined ? kv : `${kv}=${ctx.env[kv]}`);
        break;
      }
      case '--env-file':
        env.push(...parseEnvFile(await readFile(resolve(ctx.cwd, val()), 'utf8').catch(() => {
          throw new LayerwiseError('not-found', `open ${a}: no such file or directory`);
        }), ctx.env));
        break;
      case '-u':
      case '--user':
        user = val();
        break;
      case '-w':
      case '--workdir':
        workdir = val();
        break;
      case '--privileged':
        privileged = true;
        break;
      default: {
        // combined short flags: -it, -itd
        if (/^-[itd]+$/.test(a)) {
          for (const ch of a.slice(1)) {
            if (ch === 'i') interactive = true;
            if (ch === 't') tty = true;
            if (ch === 'd') detach = true;
          }
          break;
        }
        throw new LayerwiseError('usage', `unknown flag: ${a}\nSee 'layerwise exec --help'.`);
      }
    }
  }
  const ref = args[i];
  const cmd = args.slice(i + 1);
  if (!ref || !cmd.length) throw new LayerwiseError('usage', `"exec" requires at least 2 arguments.\nSee 'layerwise exec --help'.`);
  if (workdir !== undefined && !workdir.startsWith('/')) throw new LayerwiseError('invalid', `the working directory '${workdir}' is invalid, it needs to be an absolute path`);
  const containers = containerStore(await openStore(ctx.root));
  const c = await containers.find(ref);
  if (c.state.status !== 'running' || !c.state.initPid) throw new LayerwiseError('conflict', `container ${c.config.id} is not running`, { exitCode: 1 });
  const spec = c.config.spec;
  const idmap = planIdMap();
  const view = `/proc/${c.state.initPid}/root`;
  const u = await containerUser(view, user ?? spec.user ?? '', idmap);
  const chain = commandChain(
    { env: replaceOrAppendEnv(spec.env, env), args: cmd, profile: 'run', ...(privileged || spec.privileged ? { privileged: true } : spec.capabilities ? { capabilities: spec.capabilities } : {}) },
    u,
    idmap,
    workdir ?? spec.cwd,
  );
  const nsenter = findExecutable('nsenter');
  if (!nsenter) throw new LayerwiseError('io', 'exec needs util-linux `nsenter`, which is not installed');
  let inner = chain;
  if (tty) {
    const script = findExecutable('script');
    if (!script) throw new LayerwiseError('io', 'a tty needs util-linux `script`, which is not installed');
    inner = [script, '-q', '-e', '-c', chain.map(shq).join(' '), '/dev/null'];
  }
  const argv = ['--target', String(c.state.initPid), '--all', '--', ...inner];
  const toStd = (s: NodeJS.WritableStream, std: NodeJS.WriteStream) => (s === std ? 'inherit' : 'pipe');
  const child = spawn(nsenter, argv, {
    stdio: detach ? 'ignore' : [interactive || tty ? (ctx.stdin === process.stdin ? 'inherit' : 'pipe') : 'ignore', toStd(ctx.stdout, process.stdout), toStd(ctx.stderr, process.stderr)],
    detached: detach,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });
  if (detach) {
    child.unref();
    return 0;
  }
  if (child.stdin && ctx.stdin !== process.stdin) ctx.stdin.pipe(child.stdin);
  child.stdout?.pipe(ctx.stdout, { end: false });
  child.stderr?.pipe(ctx.stderr, { end: false });
  const code = await new Promise<number>((res, rej) => {
    child.on('error', (e) => rej(new LayerwiseError('io', `cannot start nsenter: ${e.message}`)));
    child.on('close', (status, signal) => res(status ?? (signal ? 128 + (constants.signals[signal] ?? 9) : 1)));
  });
  return code;
}
