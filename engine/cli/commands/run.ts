/**
 * `layerwise run [--rm] [-e K=V]… [-w DIR] [-u USER] [--network none|host] [-i] [-t] IMAGE [COMMAND [ARG…]]`:
 * runs a command in a new container from an image, on the namespace sandbox (the image's snapshots under a fresh
 * upper dir). This first version keeps no container state after the process ends: the upper dir is removed
 * (`--rm` is implied); named containers, `ps`, `exec`, ports and volumes come with the runtime issue.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LayerwiseError } from '../../errors';
import { chainIds } from '../../image/chain';
import { openStore } from '../../store';
import { runSandboxed } from '../../runtime/sandbox';
import type { CliContext } from '../context';

export const summary = 'Run a command in a new container';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const env: string[] = [];
  let workdir: string | undefined;
  let user: string | undefined;
  let network: 'none' | 'host' | 'default' = 'default';
  let tty = false;
  let interactive = false;
  let entrypoint: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) break;
    const val = (): string => {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq !== -1) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new LayerwiseError('usage', `flag needs an argument: ${a}`);
      return v;
    };
    const name = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--rm':
      case '-d':
        break;
      case '-e':
      case '--env': {
        const kv = val();
        env.push(kv.includes('=') ? kv : `${kv}=${ctx.env[kv] ?? ''}`);
        break;
      }
      case '-w':
      case '--workdir':
        workdir = val();
        break;
      case '-u':
      case '--user':
        user = val();
        break;
      case '--network':
      case '--net':
        network = val() as typeof network;
        break;
      case '--entrypoint':
        entrypoint = val();
        break;
      case '-i':
      case '--interactive':
        interactive = true;
        break;
      case '-t':
      case '--tty':
        tty = true;
        break;
      case '-it':
      case '-ti':
        interactive = tty = true;
        break;
      default:
        throw new LayerwiseError('usage', `unknown flag: ${a}\nSee 'layerwise run --help'.`);
    }
  }
  const ref = args[i];
  if (!ref) throw new LayerwiseError('usage', '"run" requires at least 1 argument.\nSee \'layerwise run --help\'.');
  const cmd = args.slice(i + 1);
  const store = await openStore(ctx.root);
  const img = await store.images.resolve(ref);
  const c = img.config.config ?? {};
  const ep = entrypoint !== undefined ? (entrypoint ? [entrypoint] : []) : c.Entrypoint ?? [];
  const argv = [...ep, ...(cmd.length ? cmd : entrypoint !== undefined ? [] : c.Cmd ?? [])];
  if (argv.length === 0) throw new LayerwiseError('usage', 'no command specified');
  const diffIds = img.config.rootfs?.diff_ids ?? [];
  await store.snapshots.prepare(img.manifest.layers, diffIds);
  const lowerDirs = diffIds.length ? await store.snapshots.lowerDirs(chainIds(diffIds)[diffIds.length - 1]!) : [];
  await mkdir(store.tmpDir, { recursive: true });
  const dir = await mkdtemp(join(store.tmpDir, `${process.pid}-run-`));
  try {
    await mkdir(join(dir, 'upper'));
    await mkdir(join(dir, 'work'));
    const baseEnv = c.Env ?? [];
    const keys = new Set(env.map((e) => e.slice(0, e.indexOf('='))));
    const res = await runSandboxed({
      lowerDirs,
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
      args: argv,
      env: [...baseEnv.filter((e) => !keys.has(e.slice(0, e.indexOf('=')))), ...env],
      cwd: workdir ?? (c.WorkingDir || '/'),
      ...(user ?? c.User ? { user: user ?? c.User! } : {}),
      network,
      profile: 'run',
      hostname: img.id.slice(7, 19),
      stdin: interactive ? 'inherit' : 'ignore',
      stdout: ctx.stdout === process.stdout ? 'inherit' : (ctx.stdout as NodeJS.WritableStream as import('node:stream').Writable),
      stderr: ctx.stderr === process.stderr ? 'inherit' : (ctx.stderr as NodeJS.WritableStream as import('node:stream').Writable),
      tty,
      stateParent: store.tmpDir,
    });
    return res.exitCode;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
