/**
 * `layerwise build [-f FILE] [-t NAME]… [--build-arg K=V]… [--target S] [--no-cache] [--no-cache-filter S]…
 *  [--progress auto|plain|json|quiet] [--secret id=…,src=…] [--iidfile F] [-q] CONTEXT`, as `docker build`.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LayerwiseError } from '../../errors';
import { openStore } from '../../store';
import { build, type BuildOptions } from '../../build/builder';
import { parseSshSpec, type SshSpec } from '../../build/ssh';
import { ProgressPrinter, type ProgressMode } from '../../build/progress';
import type { CliContext } from '../context';
import { formatPlatform, hostPlatform, platformMatches } from '../../image/chain';
import { stdinContext, type StdinContext } from '../stdin-context';
import { parseAddHost } from './image-cli';
import { exportRootfs, parseOutput, type BuildOutput } from '../../build/export';
import { randomBytes } from 'node:crypto';
import { normalizeReference } from '../../image/refs';
import { writeFileAtomic } from '../../store/fs-atomic';

export const summary = 'Build an image from a Dockerfile';

const USAGE = `Usage:  layerwise build [OPTIONS] PATH | -

Build an image from a Dockerfile. PATH "-" reads the build context as a tar archive (plain, gzip or zstd) from
standard input, or, when standard input is not an archive, the Dockerfile, with an empty context.

Options:
      --add-host list           Add a custom host-to-IP mapping ("host:ip") to the RUNs' /etc/hosts
      --allow stringArray       Allow extra privileged entitlement ("security.insecure": RUN --security=insecure
                                runs with every capability of its namespaces; "network.host")
      --build-arg stringArray   Set build-time variables
  -f, --file string             Name of the Dockerfile (default: "PATH/Dockerfile"; "-" reads stdin)
      --iidfile string          Write the image ID to the file
      --label list              Set metadata for an image
      --metadata-file string    Write build result metadata to a file (as buildx writes it)
      --network string          Set the networking mode for the RUN instructions during build ("default", "host",
                                "none")
      --no-cache                Do not use cache when building the image
      --no-cache-filter strings Do not cache specified stages
  -o, --output stringArray      Output destination: the image's files (format: "type=local,dest=path" or just a
                                path; "type=tar,dest=file" or "-" for a tar on standard output)
      --platform string         Set the target platform for the build (the host's: this engine builds for it only)
      --progress string         Set type of progress output ("auto", "plain", "json", "quiet") (default "auto")
      --pull                    Always attempt to pull all referenced images (without it, those not in the store)
  -q, --quiet                   Suppress the build output and print image ID on success
      --secret stringArray      Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")
      --ssh stringArray         SSH agent socket or keys to expose to the build
                                (format: "default|<id>[=<socket>|<key>[,<key>]]")
  -t, --tag stringArray         Name and optionally a tag in the "name:tag" format
      --target string           Set the target build stage to build
`;

interface Parsed {
  file?: string;
  labels: Record<string, string>;
  addHosts: { host: string; ip: string }[];
  allow: string[];
  output?: BuildOutput;
  metadataFile?: string;
  network?: 'default' | 'none' | 'host';
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  noCacheFilter: string[];
  pull: boolean;
  progress: string;
  secrets: Record<string, string>;
  ssh: SshSpec[];
  iidfile?: string;
  quiet: boolean;
  context?: string;
}

/**
 * `--metadata-file`: what buildx writes there, for scripts that read it: the config digest (the image ID), the
 * manifest's descriptor and digest (as buildx's containerd-backed drivers write them; Docker's classic image store,
 * which has no manifest, puts the config digest there), the names given, and a reference for the build. Keys in
 * Go's order, two-space indented.
 */
export function buildMetadata(r: { imageId: string; manifest: { mediaType: string; digest: string; size: number }; tags: string[] }): string {
  const meta: Record<string, unknown> = {
    'buildx.build.ref': `layerwise/default/${randomBytes(13).toString('hex').slice(0, 25)}`,
    'containerimage.config.digest': r.imageId,
    'containerimage.descriptor': { mediaType: r.manifest.mediaType, digest: r.manifest.digest, size: r.manifest.size },
    'containerimage.digest': r.manifest.digest,
  };
  if (r.tags.length) meta['image.name'] = r.tags.map((t) => normalizeReference(t)).join(',');
  return JSON.stringify(meta, null, 2) + '\n';
}

export function parseBuildArgs(args: string[], env: NodeJS.ProcessEnv): Parsed {
  const p: Parsed = { labels: {}, addHosts: [], allow: [], tags: [], buildArgs: {}, noCache: false, noCacheFilter: [], pull: false, progress: 'auto', secrets: {}, ssh: [], quiet: false };
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    let inline: string | undefined;
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1);
      a = a.slice(0, a.indexOf('='));
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new LayerwiseError('usage', `flag needs an argument: ${a}`);
      return v;
    };
    switch (a) {
      case '-f':
      case '--file':
        p.file = value();
        break;
      case '-t':
      case '--tag':
        p.tags.push(value());
        break;
      case '--build-arg': {
        const kv = value();
        const eq = kv.indexOf('=');
        if (eq === -1) {
          if (env[kv] !== undefined) p.buildArgs[kv] = env[kv]!;
        } else p.buildArgs[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case '--target':
        p.target = value();
        break;
      case '--no-cache':
        p.noCache = inline === undefined || inline === 'true';
        break;
      case '--pull':
        p.pull = inline === undefined || inline === 'true';
        break;
      case '--no-cache-filter':
        p.noCacheFilter.push(...value().split(','));
        break;
      case '--progress':
        p.progress = value();
        break;
      case '--secret': {
        const spec = value();
        const fields = new Map(spec.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as [string, string]));
        const id = fields.get('id');
        const src = fields.get('src') ?? fields.get('source');
        const fromEnv = fields.get('env');
        if (!id) throw new LayerwiseError('usage', `invalid secret ${spec}: id is required`);
        if (src) p.secrets[id] = src;
        else if (fromEnv !== undefined || env[id] !== undefined) p.secrets[id] = `env:${fromEnv ?? id}`;
        else throw new LayerwiseError('usage', `invalid secret ${spec}: src is required`);
        break;
      }
      case '--ssh': {
        // as the docker CLI: an id without a path forwards $SSH_AUTH_SOCK
        const spec = parseSshSpec(value());
        if (spec.paths.length === 0) {
          const sock = env.SSH_AUTH_SOCK;
          if (!sock) throw new LayerwiseError('usage', `invalid ssh ${spec.id}: SSH_AUTH_SOCK is not set; give a socket or key files (--ssh ${spec.id}=PATH)`);
          spec.paths = [sock];
        }
        if (p.ssh.some((x) => x.id === spec.id)) throw new LayerwiseError('usage', `duplicate ssh id ${JSON.stringify(spec.id)}`);
        p.ssh.push(spec);
        break;
      }
      case '--iidfile':
        p.iidfile = value();
        break;
      case '--label': {
        const kv = value();
        const eq = kv.indexOf('=');
        p.labels[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
        break;
      }
      case '--add-host':
        p.addHosts.push(parseAddHost(value()));
        break;
      case '-o':
      case '--output':
        p.output = parseOutput(value());
        break;
      case '--metadata-file':
        p.metadataFile = value();
        break;
      case '--rm':
      case '--force-rm':
        // docker build's container clean-up flags: BuildKit (and this engine) leave no intermediate containers
        if (inline !== undefined && inline !== 'true' && inline !== 'false') throw new LayerwiseError('usage', `invalid argument "${inline}" for "${a}" flag: strconv.ParseBool: parsing "${inline}": invalid syntax`);
        break;
      case '--allow':
        // as buildx: entitlements, comma-separated or repeated
        for (const e of value().split(',').map((x) => x.trim()).filter(Boolean)) {
          if (e !== 'security.insecure' && e !== 'network.host') throw new LayerwiseError('usage', `invalid entitlement: ${e} (security.insecure, network.host)`);
          if (!p.allow.includes(e)) p.allow.push(e);
        }
        break;
      case '--network': {
        const n = value();
        if (n !== 'default' && n !== 'none' && n !== 'host') throw new LayerwiseError('usage', `network mode "${n}" not supported by buildkit (default, host, none)`);
        p.network = n;
        break;
      }
      case '--platform': {
        // one engine, one platform: the host's (images for others need an emulator, which this engine does not run)
        const host = hostPlatform();
        for (const want of value().split(',').map((x) => x.trim()).filter(Boolean)) {
          // `linux` alone means the host's architecture
          const [os = '', architecture = host.architecture, variant] = want.split('/');
          if (!platformMatches({ os, architecture, ...(variant ? { variant } : {}) }, host)) {
            throw new LayerwiseError('invalid', `cannot build for ${want}: this engine builds for the host platform, ${formatPlatform(host)}`);
          }
        }
        break;
      }
      case '-q':
      case '--quiet':
        p.quiet = true;
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new LayerwiseError('usage', `unknown flag: ${a}\nSee 'layerwise build --help'.`);
        if (p.context !== undefined) throw new LayerwiseError('usage', '"build" requires exactly 1 argument.');
        p.context = a;
    }
  }
  return p;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout.write(USAGE);
    return 0;
  }
  const p = parseBuildArgs(args, ctx.env);
  if (p.context === undefined) throw new LayerwiseError('usage', `"build" requires exactly 1 argument.\nSee 'layerwise build --help'.\n\n${USAGE.split('\n')[0]}`);
  // `-`: the context (a tar) or the Dockerfile (anything else) comes from standard input, as with docker build
  const fromStdin = p.context === '-' ? await stdinContext(ctx.stdin, p.file) : undefined;
  try {
    return await runBuild(p, ctx, fromStdin);
  } finally {
    await fromStdin?.cleanup();
  }
}

async function runBuild(p: Parsed, ctx: CliContext, fromStdin: StdinContext | undefined): Promise<number> {
  const contextDir = fromStdin ? fromStdin.dir : resolve(ctx.cwd, p.context!);
  if (!fromStdin && (!existsSync(contextDir) || !statSync(contextDir).isDirectory())) throw new LayerwiseError('not-found', `unable to prepare context: path "${p.context}" not found`);
  let dockerfileText: string | undefined;
  let dockerfile: string | undefined;
  if (fromStdin?.dockerfileText !== undefined) {
    dockerfileText = fromStdin.dockerfileText;
    dockerfile = resolve(contextDir, 'Dockerfile');
  } else if (fromStdin) {
    // a context archive: -f names a file inside it (without -f, the builder's default: Dockerfile, else dockerfile)
    if (p.file) {
      dockerfile = resolve(contextDir, p.file);
      if (!dockerfile.startsWith(contextDir + '/')) throw new LayerwiseError('invalid', `the Dockerfile (${p.file}) must be within the build context`);
    }
  } else if (p.file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    dockerfileText = Buffer.concat(chunks).toString('utf8');
    dockerfile = resolve(contextDir, 'Dockerfile');
  } else if (p.file) dockerfile = resolve(ctx.cwd, p.file);
  // secrets given as env:NAME are written to a private temp file by the builder's caller
  const secrets: Record<string, string> = {};
  for (const [id, src] of Object.entries(p.secrets)) {
    if (src.startsWith('env:')) {
      // (require, not import(): dynamic import() fails in code loaded from the launcher's code cache)
      const { mkdtempSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
      const { tmpdir } = require('node:os') as typeof import('node:os');
      const dir = mkdtempSync(resolve(tmpdir(), 'layerwise-secret-'));
      const file = resolve(dir, id);
      writeFileSync(file, ctx.env[src.slice(4)] ?? '', { mode: 0o600 });
      secrets[id] = file;
    } else {
      const f = resolve(ctx.cwd, src);
      if (!existsSync(f)) throw new LayerwiseError('not-found', `failed to stat ${src}: no such file or directory`);
      secrets[id] = f;
    }
  }
  const isTTY = (ctx.stderr as NodeJS.WriteStream).isTTY === true;
  let mode: ProgressMode;
  if (p.quiet || p.progress === 'quiet') mode = 'quiet';
  else if (p.progress === 'json' || p.progress === 'rawjson') mode = 'json';
  else if (p.progress === 'plain') mode = 'plain';
  else if (p.progress === 'auto' || p.progress === 'tty') mode = isTTY ? 'tty' : 'plain';
  else throw new LayerwiseError('usage', `invalid progress mode "${p.progress}" (auto, plain, json, quiet)`);
  const printer = new ProgressPrinter(mode === 'json' ? ctx.stdout : ctx.stderr, mode);
  const store = await openStore(ctx.root);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const epochRaw = p.buildArgs.SOURCE_DATE_EPOCH ?? ctx.env.SOURCE_DATE_EPOCH;
  const opts: BuildOptions = {
    store,
    contextDir,
    tags: p.tags,
    buildArgs: p.buildArgs,
    noCache: p.noCache,
    noCacheFilter: p.noCacheFilter,
    ...(p.pull ? { pull: true } : {}),
    secrets,
    ssh: p.ssh.map((x) => ({ id: x.id, paths: x.paths.map((q) => resolve(ctx.cwd, q)) })),
    onEvent: (e) => printer.handle(e),
    signal: abort.signal,
    ...(dockerfile ? { dockerfile } : {}),
    ...(dockerfileText !== undefined ? { dockerfileText } : {}),
    ...(p.target ? { target: p.target } : {}),
    ...(p.iidfile ? { iidfile: resolve(ctx.cwd, p.iidfile) } : {}),
    ...(Object.keys(p.labels).length ? { labels: p.labels } : {}),
    ...(p.network ? { network: p.network } : {}),
    ...(p.addHosts.length ? { extraHosts: p.addHosts } : {}),
    ...(p.allow.length ? { allow: p.allow } : {}),
    ...(epochRaw && /^\d+$/.test(epochRaw) ? { sourceDateEpoch: Number(epochRaw) } : {}),
    // a rebuild in which nothing changed is answered from the build memo (engine/build/memo.ts);
    // LAYERWISE_BUILD_MEMO=off always plans every step; a context from stdin is new every time
    memo: !fromStdin && ctx.env.LAYERWISE_BUILD_MEMO !== 'off',
  };
  try {
    const r = await build(opts);
    if (p.output) {
      const out = p.output.dest === '-' ? p.output : { ...p.output, dest: resolve(ctx.cwd, p.output.dest) };
      await exportRootfs(store, r.manifest.digest, out, ctx.stdout);
    }
    if (p.metadataFile) await writeFileAtomic(resolve(ctx.cwd, p.metadataFile), buildMetadata(r));
    if (mode === 'quiet' && p.output?.dest !== '-') ctx.stdout.write(r.imageId + '\n');
    return 0;
  } catch (e) {
    if (mode === 'json' || mode === 'quiet') {
      // the error is in the build-end event (json) or goes to stderr once (quiet)
      if (mode === 'quiet') throw e;
      return e instanceof LayerwiseError ? e.exitCode : 1;
    }
    // plain/tty: the printer already wrote `ERROR: …`
    return e instanceof LayerwiseError ? e.exitCode : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

