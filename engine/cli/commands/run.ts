/**
 * `layerwise run [--rm] [-e K=V]… [--env-file F]… [-v HOST:CTR[:ro]]… [--mount …]… [--tmpfs P]… [-w DIR] [-u USER]
 * [--network none|host] [-i] [-t] IMAGE [COMMAND [ARG…]]`: runs a command in a new container from an image, on the
 * namespace sandbox (the image's snapshots under a fresh upper dir). The command is process 1 of the container, as
 * in Docker (`--init` puts an init before it; with `-t` the pty's `script` is process 1). No container state is kept
 * after the process ends: the upper dir is removed (`--rm` is implied); named containers, `ps` and `exec` are not part
 * of this engine yet. Containers share the host's network; `-p HOST:CONTAINER` forwards a host port to the
 * container's (runtime/ports.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LayerwiseError } from '../../errors';
import { DEFAULT_PATH } from '../../dockerfile/scope';
import { capabilitySet } from '../../runtime/setup-script';
import { chainIds, formatPlatform } from '../../image/chain';
import { familiarString, parseReference } from '../../image/refs';
import { parsePlatform } from '../../dockerfile/platform';
import { openStore } from '../../store';
import type { Store } from '../../store/store';
import type { ResolvedImage } from '../../store/types';
import { runSandboxed, type SandboxMount } from '../../runtime/sandbox';
import { parsePublish, publishPorts, type PortMapping, type Published } from '../../runtime/ports';
import { generatedName, type ContainerSpec } from '../../runtime/containers';
import type { CliContext } from '../context';
import { envSet } from '../../build/config';
import { parseAddHost } from './image-cli';

export const summary = 'Run a command in a new container';

const USAGE = `Usage:  layerwise run [OPTIONS] IMAGE [COMMAND] [ARG...]

Run a command in a new container (removed when it ends)

Options:
      --add-host list       Add a custom host-to-IP mapping (host:ip)
      --cap-add list        Add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)
      --cap-drop list       Drop Linux capabilities (ALL: every one)
      --entrypoint string   Overwrite the default ENTRYPOINT of the image
  -e, --env list            Set environment variables
      --env-file list       Read in a file of environment variables
  -h, --hostname string     Container host name (default: the container's short ID)
      --init                Run an init inside the container that forwards signals and reaps processes
  -i, --interactive         Keep STDIN open
      --mount mount         Attach a filesystem mount to the container (type=bind,source=…,target=…[,readonly] or
                            type=tmpfs,target=…[,tmpfs-size=…])
      --name string         Assign a name to the container (checked; containers are not kept, so nothing refers to it)
      --network string      Connect a container to a network: "host" (default: the host's network) or "none"
  -p, --publish list        Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/tcp|udp]; the
                            container shares the host's network: its port is the host's too, forwarded from hostPort)
  -P, --publish-all         Publish all exposed ports to free host ports (printed on stderr)
      --platform string     Set platform if server is multi-platform capable (the image pulled for it, when pulled)
      --privileged          Give extended privileges to this container: every capability, /proc and /sys unmasked
                            (run as root, that is root on the host, as docker's; rootless, only inside its namespaces)
      --pull string         Pull image before running ("always", "missing", "never") (default "missing")
  -q, --quiet               Suppress the pull output
      --read-only           Mount the container's root filesystem as read only (volumes and --tmpfs stay writable)
      --rm                  Automatically remove the container when it exits (always)
      --tmpfs list          Mount a tmpfs directory
  -t, --tty                 Allocate a pseudo-TTY
  -u, --user string         Username or UID (format: <name|uid>[:<group|gid>])
  -v, --volume list         Bind mount a host path: HOST-PATH:CONTAINER-PATH[:ro|rw]
  -w, --workdir string      Working directory inside the container
`;

/** A boolean flag as docker reads it: present is true, `--flag=false` turns it off. */
function boolFlag(arg: string): boolean {
  const eq = arg.indexOf('=');
  return eq === -1 || /^(1|t|true)$/i.test(arg.slice(eq + 1));
}

/** moby's ReplaceOrAppendEnvValues: each of `over` replaces the entry of its name in `base`, or is appended. A bare
 *  name (no `=`) removes it. */
export function replaceOrAppendEnv(base: readonly string[], over: readonly string[]): string[] {
  let out = [...base];
  for (const e of over) {
    const eq = e.indexOf('=');
    out = eq < 0 ? out.filter((b) => !b.startsWith(e + '=')) : envSet(out, e.slice(0, eq), e.slice(eq + 1));
  }
  return out;
}

/** -v HOST:CONTAINER[:ro|rw] (a host path: absolute, or relative starting with `.`; named volumes are not kept). */
export function parseVolume(spec: string, cwd: string): SandboxMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw new LayerwiseError('usage', `invalid volume specification: '${spec}'`);
  const [src, target, mode] = parts as [string, string, string | undefined];
  if (!src.startsWith('/') && !src.startsWith('.')) {
    throw new LayerwiseError('invalid', `invalid volume specification: '${spec}': named volumes are not supported here; give a host path (absolute, or relative starting with ".")`);
  }
  if (!target.startsWith('/')) throw new LayerwiseError('invalid', `invalid volume specification: '${spec}': the container path must be absolute`);
  const opts = (mode ?? '').split(',').filter(Boolean);
  for (const o of opts) if (o !== 'ro' && o !== 'rw' && o !== 'z' && o !== 'Z') throw new LayerwiseError('invalid', `invalid volume specification: '${spec}': unknown mode ${o}`);
  return { type: 'bind', source: resolve(cwd, src), target, readonly: opts.includes('ro') };
}

/** --mount type=bind|tmpfs,…, as docker run takes it. */
export function parseMountFlag(spec: string, cwd: string): SandboxMount {
  const kv = new Map<string, string>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    kv.set(eq < 0 ? field : field.slice(0, eq), eq < 0 ? 'true' : field.slice(eq + 1));
  }
  const type = kv.get('type') ?? 'volume';
  const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
  if (!target || !target.startsWith('/')) throw new LayerwiseError('invalid', `invalid argument "${spec}" for "--mount" flag: an absolute target is required`);
  const ro = ['readonly', 'ro'].some((k) => kv.has(k) && kv.get(k) !== 'false');
  if (type === 'bind') {
    const src = kv.get('source') ?? kv.get('src');
    if (!src) throw new LayerwiseError('invalid', `invalid argument "${spec}" for "--mount" flag: a bind mount needs a source`);
    return { type: 'bind', source: resolve(cwd, src), target, readonly: ro };
  }
  if (type === 'tmpfs') {
    const size = kv.get('tmpfs-size');
    return { type: 'tmpfs', target, ...(size && /^\d+$/.test(size) ? { size: Number(size) } : {}) };
  }
  throw new LayerwiseError('invalid', `invalid argument "${spec}" for "--mount" flag: mount type ${type} is not supported here (bind, tmpfs)`);
}

/** --env-file: KEY=VALUE lines (a bare KEY takes the value from this environment, and stays bare, which unsets it,
 *  when this environment has none); blank and # lines skipped. */
export function parseEnvFile(text: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === 0) throw new LayerwiseError('invalid', `invalid environment variable: ${line}`);
    out.push(eq < 0 ? fromEnv(line, env) : line);
  }
  return out;
}

/** `-e NAME` as docker's CLI takes it: NAME=value from this environment, or the bare name (unset) without one. */
function fromEnv(name: string, env: NodeJS.ProcessEnv): string {
  const v = env[name];
  return v === undefined ? name : `${name}=${v}`;
}

/**
 * The image to run, pulled as `docker run --pull` says: `missing` (the default) pulls an image the store does
 * not have (`Unable to find image 'x:latest' locally`, then the pull's lines, on stderr), `always` pulls first,
 * `never` does not. With --platform, the image must be for that platform.
 */
async function imageForRun(ctx: CliContext, store: Store, ref: string, o: { pull: 'always' | 'missing' | 'never'; quiet: boolean; platform?: string }): Promise<ResolvedImage> {
  const want = o.platform !== undefined ? parsePlatform(o.platform) : undefined;
  if (o.platform !== undefined && !want) throw new LayerwiseError('usage', `invalid platform "${o.platform}" (os/arch[/variant])`);
  const local = async (): Promise<ResolvedImage | undefined> => {
    try {
      return await store.images.resolve(ref, want ? { platform: want } : {});
    } catch (e) {
      if (e instanceof LayerwiseError && e.kind === 'not-found') return undefined;
      throw e;
    }
  };
  let img = o.pull === 'always' ? undefined : await local();
  if (!img) {
    if (o.pull === 'never') return store.images.resolve(ref, want ? { platform: want } : {});
    if (o.pull === 'missing' && !o.quiet) ctx.stderr.write(`Unable to find image '${familiarString(parseReference(ref))}' locally\n`);
    const { pullWithOutput } = require('./pull') as typeof import('./pull');
    await pullWithOutput(ctx, ref, { quiet: o.quiet, out: ctx.stderr, ...(o.platform !== undefined ? { platform: o.platform } : {}) });
    img = await store.images.resolve(ref, want ? { platform: want } : {});
  }
  if (want && (img.config.os !== want.os || img.config.architecture !== want.architecture)) {
    throw new LayerwiseError('invalid', `image with reference ${ref} was found but its platform (${img.config.os}/${img.config.architecture}) does not match the specified platform (${formatPlatform(want)})`);
  }
  return img;
}

/** Runs the container; anything that fails before the command runs exits 125, as `docker run` does (126 and 127
 *  are the command's own: it cannot be run, or is not there). */
export async function run(args: string[], ctx: CliContext): Promise<number> {
  try {
    return await runContainer(args, ctx);
  } catch (e) {
    if (e instanceof LayerwiseError && e.exitCode === 1) throw new LayerwiseError(e.kind, e.message, { exitCode: 125, cause: e, ...(e.range ? { range: e.range } : {}) });
    throw e;
  }
}

async function runContainer(argv0: string[], ctx: CliContext): Promise<number> {
  const args = [...argv0];
  const env: string[] = [];
  let workdir: string | undefined;
  let user: string | undefined;
  let network: 'none' | 'host' | 'default' = 'default';
  let tty = false;
  let readOnly = false;
  let privileged = false;
  let init = false;
  let pull: 'always' | 'missing' | 'never' = 'missing';
  const publish: PortMapping[] = [];
  let detach = false;
  let autoRemove = false;
  let containerName: string | undefined;
  let publishAll = false;
  let platform: string | undefined;
  let quiet = false;
  const capAdd: string[] = [];
  const capDrop: string[] = [];
  let interactive = false;
  let entrypoint: string | undefined;
  let hostname: string | undefined;
  const extraHosts: { host: string; ip: string }[] = [];
  const mounts: SandboxMount[] = [];
  /** -v sources, which are made when missing */
  const volumes = new Set<SandboxMount>();
  let i = 0;
  for (; i < args.length; i++) {
    // combined one-letter switches (`-dit`, `-itd`, `-dP`): one at a time
    if (/^-[ditPq]{2,}$/.test(args[i]!) && args[i] !== '-it' && args[i] !== '-ti') args.splice(i, 1, ...[...args[i]!.slice(1)].map((c) => `-${c}`));
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
      case '--help':
        ctx.stdout.write(USAGE);
        return 0;
      case '--add-host':
        extraHosts.push(parseAddHost(val()));
        break;
      case '-h': // as docker run: -h is the hostname, not help
      case '--hostname':
        hostname = val();
        break;
      case '--rm':
        autoRemove = boolFlag(a);
        break;
      case '-d':
      case '--detach':
        detach = boolFlag(a);
        break;
      case '--pull': {
        const v = val();
        if (v !== 'always' && v !== 'missing' && v !== 'never') throw new LayerwiseError('usage', `invalid pull option: '${v}': must be one of "always", "missing" or "never"`);
        pull = v;
        break;
      }
      case '--platform':
        platform = val();
        break;
      case '-q':
      case '--quiet':
        quiet = boolFlag(a);
        break;
      case '--name': {
        // no container outlives its command here, so the name names nothing; checked as docker checks it
        const n = val();
        if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(n)) throw new LayerwiseError('usage', `Invalid container name (${n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
        containerName = n.replace(/^\//, '');
        break;
      }
      case '--init':
        // an init process as process 1 that forwards signals and reaps (as docker-init); without it the command is
        // process 1, as in Docker
        init = true;
        break;
      case '--cap-add':
        capAdd.push(val());
        break;
      case '--cap-drop':
        capDrop.push(val());
        break;
      case '--privileged':
        privileged = boolFlag(a);
        break;
      case '--read-only':
        readOnly = boolFlag(a);
        break;
      case '-d':
      case '--detach':
        throw new LayerwiseError('usage', 'detached containers (-d) are not supported: the container runs in the foreground and is removed when it ends');
      case '-v':
      case '--volume':
        {
          const m = parseVolume(val(), ctx.cwd);
          mounts.push(m);
          volumes.add(m);
        }
        break;
      case '--mount':
        mounts.push(parseMountFlag(val(), ctx.cwd));
        break;
      case '--tmpfs': {
        const t = val().split(':')[0]!;
        if (!t.startsWith('/')) throw new LayerwiseError('invalid', `invalid tmpfs path: ${t} (must be absolute)`);
        mounts.push({ type: 'tmpfs', target: t });
        break;
      }
      case '--env-file': {
        const f = resolve(ctx.cwd, val());
        let text: string;
        try {
          text = await readFile(f, 'utf8');
        } catch (e) {
          throw new LayerwiseError('not-found', `open ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
        }
        env.push(...parseEnvFile(text, ctx.env));
        break;
      }
      case '-p':
      case '--publish':
        publish.push(...parsePublish(val()));
        break;
      case '-P':
      case '--publish-all':
        publishAll = boolFlag(a);
        break;
      case '-e':
      case '--env': {
        const kv = val();
        env.push(kv.includes('=') ? kv : fromEnv(kv, ctx.env));
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
        network = val() as 'none' | 'host' | 'default';
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
  // a bind source that does not exist is made, as docker run -v does (--mount refuses it, as docker does)
  for (const m of mounts) {
    if (m.type !== 'bind') continue;
    const st = await stat(m.source!).catch(() => undefined);
    if (!st) {
      if (!volumes.has(m)) throw new LayerwiseError('invalid', `invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
      await mkdir(m.source!, { recursive: true });
    }
  }
  const cmd = args.slice(i + 1);
  const store = await openStore(ctx.root);
  const img = await imageForRun(ctx, store, ref, { pull, quiet, ...(platform !== undefined ? { platform } : {}) });
  const c = img.config.config ?? {};
  const ep = entrypoint !== undefined ? (entrypoint ? [entrypoint] : []) : c.Entrypoint ?? [];
  const argv = [...ep, ...(cmd.length ? cmd : entrypoint !== undefined ? [] : c.Cmd ?? [])];
  if (argv.length === 0) throw new LayerwiseError('usage', 'no command specified');
  const diffIds = img.config.rootfs?.diff_ids ?? [];
  await store.snapshots.prepare(img.manifest.layers, diffIds);
  const lowerDirs = diffIds.length ? await store.snapshots.lowerDirs(chainIds(diffIds)[diffIds.length - 1]!) : [];
  // as docker: a container ID, whose first 12 hex digits are the default host name
  const id = randomBytes(32).toString('hex');
  const host = hostname ?? id.slice(0, 12);
  // --cap-add/--cap-drop: the sandbox enters the container's root with chroot and becomes its user with setuid, so
  // the command keeps those two even when they were dropped; the user is told so, not left to find out
  let caps: string[] | undefined;
  if (!privileged && (capAdd.length || capDrop.length)) {
    caps = capabilitySet(capAdd, capDrop);
    const kept = ['sys_chroot', 'setuid'].filter((c) => !caps!.includes(c));
    if (kept.length) {
      caps = [...caps, ...kept];
      ctx.stderr.write(`layerwise: warning: the container keeps ${kept.map((c) => `CAP_${c.toUpperCase()}`).join(' and ')}, which this sandbox needs to enter it\n`);
    }
  }
  // -p: forwarders from the host ports to the container's (which are the host's: see ports.ts); -P: every EXPOSEd
  // port on a free host port. With --network host they are dropped, as Docker drops them; with none, refused.
  if (publishAll) {
    for (const k of Object.keys(c.ExposedPorts ?? {})) {
      const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(k);
      if (m) publish.push({ hostIp: '', hostPort: 0, containerPort: Number(m[1]), proto: (m[2] as 'tcp' | 'udp' | undefined) ?? 'tcp' });
    }
  }
  if (publish.length && network === 'none') throw new LayerwiseError('usage', 'conflicting options: port publishing and the container type network mode');
  if (publish.length && network === 'host') {
    ctx.stderr.write('WARNING: Published ports are discarded when using host network mode\n');
    publish.length = 0;
  }
  // as moby's CreateDaemonEnvironment: PATH, HOSTNAME (and TERM with a tty), each replaced by the image's ENV and
  // then by -e/--env-file where they set it; HOME comes from the user's passwd entry when nothing set it
  const spec: ContainerSpec = {
    lowerDirs,
    args: argv,
    env: replaceOrAppendEnv(replaceOrAppendEnv([`PATH=${DEFAULT_PATH}`, `HOSTNAME=${host}`, ...(tty ? ['TERM=xterm'] : [])], c.Env ?? []), env),
    cwd: workdir ?? (c.WorkingDir || '/'),
    ...(user ?? c.User ? { user: user ?? c.User! } : {}),
    network,
    ...(readOnly ? { readonlyRootfs: true } : {}),
    ...(init ? { init: true } : {}),
    ...(privileged ? { privileged: true } : caps ? { capabilities: caps } : {}),
    hostname: host,
    ...(extraHosts.length ? { extraHosts } : {}),
    mounts,
    ...(detach && tty ? { tty: true } : {}),
    ...(detach && interactive ? { keepStdin: true } : {}),
  };
  if (detach) {
    const { startDetached } = require('./containers-cli') as typeof import('./containers-cli');
    await startDetached(ctx, store, {
      id,
      name: containerName ?? generatedName(),
      image: ref,
      imageId: img.id,
      imageDigests: [img.id, img.manifestDescriptor.digest, img.target.digest, ...chainIds(diffIds)],
      created: new Date().toISOString(),
      spec,
      ports: publish,
      autoRemove,
      stopSignal: c.StopSignal ?? 'SIGTERM',
    });
    ctx.stdout.write(id + '\n');
    return 0;
  }
  await mkdir(store.tmpDir, { recursive: true });
  const dir = await mkdtemp(join(store.tmpDir, `${process.pid}-run-`));
  let published: Published | undefined;
  try {
    await mkdir(join(dir, 'upper'));
    await mkdir(join(dir, 'work'));
    if (publish.length) {
      published = await publishPorts(publish);
      // a port the system picked is said, as `docker port` would show it
      for (const [k, b] of published.bound.entries()) {
        if (publish[k]!.hostPort === 0) ctx.stderr.write(`layerwise: ${b.containerPort}/${b.proto} published on ${b.hostIp || '0.0.0.0'}:${b.hostPort}\n`);
      }
    }
    const res = await runSandboxed({
      ...spec,
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
      profile: 'run',
      stdin: interactive ? 'inherit' : 'ignore',
      stdout: ctx.stdout === process.stdout ? 'inherit' : (ctx.stdout as NodeJS.WritableStream as import('node:stream').Writable),
      stderr: ctx.stderr === process.stderr ? 'inherit' : (ctx.stderr as NodeJS.WritableStream as import('node:stream').Writable),
      tty,
      stateParent: store.tmpDir,
    });
    await published?.close();
    return res.exitCode;
  } finally {
    await published?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
