/** `layerwise inspect [--format T] [--type image|container] NAME...` (also `image inspect`, `container inspect`): the
 *  JSON of `docker inspect` for images and containers. */
import { LayerwiseError, describeError, isLayerwiseError } from '../../errors';
import { ContainerStore, type Container } from '../../runtime/containers';
import { openStore } from '../../store/store';
import type { CliContext } from '../context';
import { compileTemplate } from './go-template';
import { parseFlags, usageError, showHelp } from './image-cli';
import { imageSize, inspectObject } from './image-view';

export const summary = 'Display detailed information on one or more images';

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { format: { type: 'string', short: 'f' }, type: { type: 'string' }, size: { type: 'bool', short: 's' } }, 'inspect');
  if (f.help) return showHelp(ctx, 'inspect [OPTIONS] IMAGE [IMAGE...]', summary, f);
  if (f.args.length === 0) throw usageError('"inspect" requires at least 1 argument.', 'inspect');
  const type = f.strings.get('type');
  if (type && type !== 'image' && type !== 'container') throw usageError(`"${type}" is not a valid value for --type`, 'inspect');
  const store = await openStore(ctx.root);
  const found: Record<string, unknown>[] = [];
  const errors: string[] = [];
  // `docker inspect` (no --type) looks for a container first, then an image; `container inspect` for containers only
  const containersToo = type === 'container' || (!type && ctx.invokedAs !== 'image inspect');
  const containers = containersToo ? new ContainerStore(store.containersDir) : undefined;
  for (const a of f.args) {
    try {
      if (containers) {
        const c = await containers.find(a).catch((e: unknown) => {
          if (type === 'container' || !(e instanceof LayerwiseError && e.kind === 'not-found')) throw e;
          return undefined;
        });
        if (c) {
          found.push(containerObject(c));
          continue;
        }
      }
      const img = await store.images.resolve(a);
      found.push(inspectObject(img, store.root, await imageSize(store, img.manifest)));
    } catch (e) {
      if (!isLayerwiseError(e) || (e.kind !== 'not-found' && e.kind !== 'invalid' && e.kind !== 'conflict')) throw e;
      // `docker inspect` looks for any kind of object; `docker image inspect` and `--type=image` for images
      const anyObject = !type && ctx.invokedAs !== 'image inspect' && e.kind === 'not-found';
      errors.push(anyObject ? `No such object: ${a}` : describeError(e));
    }
  }
  const format = f.strings.get('format');
  if (format) {
    const t = compileTemplate(format === 'json' ? '{{json .}}' : format);
    for (const o of found) ctx.stdout.write(t.render(o) + '\n');
  } else {
    ctx.stdout.write(JSON.stringify(found, null, 4) + '\n');
  }
  for (const e of errors) ctx.stderr.write(`Error: ${e}\n`);
  return errors.length ? 1 : 0;
}

/** The object `docker container inspect` prints, for what a container here has. */
export function containerObject(c: Container): Record<string, unknown> {
  const { config: k, state: st } = c;
  const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of k.ports) (ports[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  const env = k.spec.env;
  return {
    Id: k.id,
    Created: k.created,
    Path: k.spec.args[0] ?? '',
    Args: k.spec.args.slice(1),
    State: {
      Status: st.status,
      Running: st.status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: st.status === 'running' ? st.initPid ?? 0 : 0,
      ExitCode: st.exitCode ?? 0,
      Error: st.error ?? '',
      StartedAt: st.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: st.finishedAt ?? '0001-01-01T00:00:00Z',
    },
    Image: k.imageId,
    LogPath: `${c.dir}/container.log`,
    Name: `/${k.name}`,
    RestartCount: 0,
    Driver: 'layerwise',
    Platform: 'linux',
    HostConfig: {
      AutoRemove: k.autoRemove,
      NetworkMode: k.spec.network === 'default' ? 'host' : k.spec.network,
      PortBindings: ports,
      Privileged: k.spec.privileged === true,
      ReadonlyRootfs: k.spec.readonlyRootfs === true,
      Init: k.spec.init === true,
      ExtraHosts: (k.spec.extraHosts ?? []).map((h) => `${h.host}:${h.ip}`),
    },
    Mounts: k.spec.mounts.map((m) => ({
      Type: m.type,
      Source: m.source ?? '',
      Destination: m.target,
      Mode: '',
      RW: !m.readonly,
      Propagation: m.type === 'bind' ? 'rprivate' : '',
    })),
    Config: {
      Hostname: k.spec.hostname,
      User: k.spec.user ?? '',
      Tty: k.spec.tty === true,
      OpenStdin: k.spec.keepStdin === true,
      Env: env,
      Cmd: k.spec.args,
      Image: k.image,
      WorkingDir: k.spec.cwd,
      StopSignal: k.stopSignal,
    },
    NetworkSettings: { Ports: ports },
  };
}
