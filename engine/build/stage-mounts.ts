/**
 * RUN --mount planning for a stage (StageRunner): for each mount, its part of the step's cache key and how to make
 * it when the step runs — secrets, SSH agent sockets, cache mounts, tmpfs and binds (from the context, or from a
 * stage or image through the copy worker), with BuildKit's defaults and errors.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { Expanded } from '../dockerfile/scope';
import type { Instruction } from '../dockerfile/types';
import { cleanSource, hashPaths } from '../context/hash';
import { LayerwiseError } from '../errors';
import type { SandboxMount } from '../runtime/sandbox';
import type { BuildContext } from './builder';
import { sha256Hex } from './cache';
import { runCopyJob } from './copy-worker';
import { clean } from './copy';

/** A RUN --mount: its cache-key part and how to make it (none: an optional ssh mount with nothing forwarded). */
export interface PlannedMount {
  key: unknown;
  /** ssh mounts: where the socket goes (the first one becomes SSH_AUTH_SOCK) */
  sshTarget?: string;
  prepare?: () => Promise<SandboxMount | { mount: SandboxMount; release: () => Promise<void> }>;
}

/** What mount planning needs of the stage it plans for. */
export interface MountHost {
  ctx: BuildContext;
  /** throws the build error for `ins` */
  fail(ins: Instruction, message: string): never;
  ctxDir(): string;
  /** a stage or image named by `from=`: its identity for cache keys and its lower dirs */
  fromSource(ref: string): Promise<{ key: string; lowerDirs: string[] }>;
  workDirs(): Promise<{ dir: string; upper: string; work: string; cleanup: () => Promise<void> }>;
  emptyDir(): Promise<string>;
}

/** RUN --mount: the cache-key part of each mount and how to make it. */
export async function planMounts(host: MountHost, ins: Instruction, ex: Expanded, cwd = '/'): Promise<PlannedMount[]> {
  const { ctx } = host;
  const expanded = ex.flags.get('mount') ?? [];
  const out: PlannedMount[] = [];
  let sshCount = 0;
  for (const value of expanded) {
    const opts = new Map<string, string>();
    for (const field of value.split(',')) {
      const eq = field.indexOf('=');
      opts.set((eq === -1 ? field : field.slice(0, eq)).toLowerCase(), eq === -1 ? 'true' : field.slice(eq + 1));
    }
    const num = (k: string, d: number, base = 10): number => {
      const v = opts.get(k);
      const n = v === undefined ? d : Number.parseInt(v, base);
      if (!Number.isInteger(n) || n < 0) host.fail(ins, `invalid value ${v} for ${k}`);
      return n;
    };
    const type = (opts.get('type') ?? 'bind').toLowerCase();
    const written = opts.get('target') ?? opts.get('dst') ?? opts.get('destination');
    // as BuildKit: a relative target, or none, is joined to the working directory (`RUN --mount=type=cache true` in
    // WORKDIR /w mounts the cache at /w), and the root cannot be mounted over
    const targetOr = (dflt = ''): string => {
      const w = written ?? dflt;
      const t = w.startsWith('/') ? w : '/' + clean(`${cwd}/${w}`);
      if (clean(t) === '') host.fail(ins, `invalid mount target "/"`);
      return t;
    };
    const ro = opts.get('readonly') ?? opts.get('ro');
    const readonly = ro !== undefined ? ro !== 'false' : opts.get('rw') === 'true' || opts.get('readwrite') === 'true' ? false : type === 'bind' || type === 'secret' || type === 'ssh';
    if (type === 'secret') {
      const sid = opts.get('id') ?? (written ? written.split('/').pop()! : '');
      const tgt = targetOr(`/run/secrets/${sid}`);
      const src = ctx.opts.secrets?.[sid];
      const required = opts.get('required') === 'true';
      if (!src && required) host.fail(ins, `secret ${sid}: not found`);
      out.push({ key: { type, id: sid, target: tgt }, prepare: async () => (src ? { type: 'bind', source: src, target: tgt, readonly: true } : { type: 'tmpfs', target: '/run/secrets/.none', size: 4096 }) });
    } else if (type === 'ssh') {
      // BuildKit: id "default", target /run/buildkit/ssh_agent.N, owner 0:0, mode 0600; optional unless required
      const sid = opts.get('id') || 'default';
      const tgt = targetOr(`/run/buildkit/ssh_agent.${sshCount}`);
      sshCount++;
      if (opts.get('source') ?? opts.get('src')) host.fail(ins, 'ssh does not support source');
      const required = opts.get('required') === 'true';
      const uid = num('uid', 0);
      const gid = num('gid', 0);
      const mode = num('mode', 0o600, 8);
      const forwarded = ctx.ssh.has(sid);
      if (!forwarded && required) host.fail(ins, `no SSH key ${JSON.stringify(sid)} forwarded from the client`);
      out.push({
        key: { type, id: sid, target: tgt, uid, gid, mode },
        sshTarget: tgt,
        ...(forwarded
          ? {
              prepare: async () => {
                const sock = await ctx.ssh.socketFor(sid, { uid, gid, mode }, sshHostIds);
                return { mount: { type: 'bind', source: sock.path, target: tgt, readonly: true }, release: sock.close };
              },
            }
          : {}),
      });
    } else if (type === 'cache') {
      const target = targetOr();
      const cid = opts.get('id') ?? target;
      const dir = join(ctx.store.root, 'cache-mounts', sha256Hex(cid));
      // a new cache directory starts owned by uid:gid with this mode (BuildKit's defaults: 0:0, 0755)
      const owner = { uid: num('uid', 0), gid: num('gid', 0), mode: num('mode', 0o755, 8) };
      const given = opts.has('uid') || opts.has('gid') || opts.has('mode');
      out.push({
        key: { type, id: cid, target, ...(given ? owner : {}) },
        prepare: async () => {
          const created = await mkdir(dir, { recursive: true });
          return { type: 'cache', source: dir, target, readonly: false, ...(created !== undefined && given ? { init: owner } : {}) };
        },
      });
    } else if (type === 'tmpfs') {
      const target = targetOr();
      const sizeText = opts.get('size');
      const size = sizeText === undefined ? undefined : ramInBytes(sizeText);
      if (size === null) host.fail(ins, `invalid size for tmpfs mount: ${sizeText}`);
      out.push({
        key: { type, target, ...(size ? { size } : {}) },
        prepare: async () => ({ type: 'tmpfs', target, ...(size ? { size } : {}) }),
      });
    } else if (type === 'bind') {
      const target = targetOr();
      const from = opts.get('from');
      const source = opts.get('source') ?? opts.get('src') ?? '/';
      // What is mounted is a copy of the source (`/m` in a scratch dir: a file or a directory, as the source is),
      // thrown away after the RUN, whenever the mount is writable (`rw`: BuildKit discards the writes), the source is
      // a stage or image, or the context has ignore patterns (the context BuildKit mounts is the one it was sent,
      // without the ignored files). A read-only mount of a context with no .dockerignore is the folder itself.
      const copied = async (request: { srcIsContext: boolean; srcRoot?: string; ignore?: string[] }, srcLowerDirs?: string[]) => {
        const w = await host.workDirs();
        await runCopyJob(
          {
            request: { kind: 'COPY', ...request, sources: [{ path: source }], dest: '/m', workdir: '/' },
            dst: { lowerDirs: [], upperDir: w.upper, workDir: w.work },
            ...(srcLowerDirs ? { srcLowerDirs } : {}),
            emptyDir: await host.emptyDir(),
          },
          ctx.store.tmpDir,
        );
        return { type: 'bind' as const, source: join(w.upper, 'm'), target, readonly };
      };
      if (!from) {
        // inside the context, as BuildKit cleans it (`../x` is the context's x); it must be there
        const src = cleanSource(source);
        const h = await hashPaths(host.ctxDir(), [src], { exclude: ctx.ignore, statCache: ctx.statCache, allowEmpty: src === '.' }).catch((e: unknown) => {
          if (e instanceof LayerwiseError && e.kind === 'not-found' && e.message.startsWith('"')) host.fail(ins, `failed to compute cache key: "/${src === '.' ? '' : src}": not found`);
          throw e;
        });
        let direct: string | undefined;
        if (readonly && ctx.ignore.length === 0) {
          // the folder itself, unless a symbolic link on the way leads out of the context
          const [root, real] = await Promise.all([realpath(host.ctxDir()), realpath(join(host.ctxDir(), src))]);
          const rel = relative(root, real);
          if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) host.fail(ins, `source path "${source}" leads outside the build context (through a symbolic link)`);
          direct = real;
        }
        out.push({
          key: { type, source: src, target, context: h.digest, readonly },
          prepare: async () =>
            direct !== undefined ? { type: 'bind', source: direct, target, readonly: true } : copied({ srcIsContext: true, srcRoot: host.ctxDir(), ignore: [...ctx.ignore] }),
        });
      } else {
        const src = await host.fromSource(from);
        out.push({ key: { type, source, target, from: src.key, ...(readonly ? {} : { readonly }) }, prepare: () => copied({ srcIsContext: false }, src.lowerDirs) });
      }
    } else {
      host.fail(ins, `mount type ${type} is not supported by layerwise build`);
    }
  }
  return out;
}

/** The host owner for a container uid/gid of an ssh socket: the same ids as root; rootless, container root is
 *  this user and other ids are not ours to give (the socket is then made connectable by all, in a private dir). */
function sshHostIds(uid: number, gid: number): { uid: number; gid: number } | undefined {
  const me = process.getuid?.() ?? 0;
  if (me === 0) return { uid, gid };
  if (uid === 0 && gid === 0) return { uid: me, gid: process.getgid?.() ?? 0 };
  return undefined;
}


/** docker's units.RAMInBytes: a number with an optional binary unit (`64m`, `1.5GiB`, `512kb`); null when it is not
 *  one. 0 is no limit, as tmpfs takes it. */
export function ramInBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text.trim());
  if (!m) return null;
  const unit = { k: 1, m: 2, g: 3, t: 4, p: 5 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 0;
  return Math.floor(Number.parseFloat(m[1]!) * 1024 ** unit);
}
