/**
 * Documentation for every instruction flag and every RUN --mount key, with the values completion offers.
 * Data only; our own words.
 */

export interface ValueDoc {
  value: string;
  doc: string;
}

export interface FlagDoc {
  name: string;
  /** instructions that accept the flag */
  instructions: string[];
  summary: string;
  example: string;
  /** `true` for a flag that takes no value (`--link`); it may still be written `--link=false` */
  boolean?: boolean;
  /** what kind of value it takes, for completion */
  valueKind?: 'platform' | 'stage' | 'duration' | 'number' | 'chown' | 'chmod' | 'mount' | 'path' | 'digest' | 'enum';
  values?: ValueDoc[];
  /** the snippet inserted after `--name=` */
  snippet?: string;
}

const v = (value: string, doc: string): ValueDoc => ({ value, doc });

export const PLATFORMS: ValueDoc[] = [
  v('$BUILDPLATFORM', 'The platform of the machine running the build.'),
  v('$TARGETPLATFORM', 'The platform being built for.'),
  v('linux/amd64', '64-bit x86.'),
  v('linux/arm64', '64-bit ARM.'),
  v('linux/arm/v7', '32-bit ARMv7.'),
  v('linux/arm/v6', '32-bit ARMv6.'),
  v('linux/386', '32-bit x86.'),
  v('linux/ppc64le', 'POWER little-endian.'),
  v('linux/s390x', 'IBM Z.'),
  v('linux/riscv64', '64-bit RISC-V.'),
  v('windows/amd64', 'Windows on 64-bit x86.'),
];

export const FLAGS: FlagDoc[] = [
  {
    name: 'platform',
    instructions: ['FROM'],
    summary: 'The platform of the base image to use, when the image has several.',
    example: 'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
    valueKind: 'platform',
    values: PLATFORMS,
  },
  {
    name: 'mount',
    instructions: ['RUN'],
    summary: 'Mounts something for this RUN only; nothing mounted ends up in the layer. `type=` is one of bind (default), cache, tmpfs, secret, ssh.',
    example: 'RUN --mount=type=cache,target=/root/.cache/go-build go build ./...',
    valueKind: 'mount',
    snippet: 'type=${1|cache,bind,tmpfs,secret,ssh|},target=${2:/path}',
  },
  {
    name: 'network',
    instructions: ['RUN'],
    summary: 'The network the command runs in.',
    example: 'RUN --network=none make test',
    valueKind: 'enum',
    values: [v('default', 'The normal build network.'), v('none', 'No network at all: only loopback.'), v('host', "The host's network (needs the network.host entitlement).")],
  },
  {
    name: 'security',
    instructions: ['RUN'],
    summary: 'The security mode of the command.',
    example: 'RUN --security=insecure mount -t tmpfs none /mnt',
    valueKind: 'enum',
    values: [v('sandbox', 'The default: the normal confined sandbox.'), v('insecure', 'Full privileges (needs the security.insecure entitlement).')],
  },
  {
    name: 'device',
    instructions: ['RUN'],
    summary: 'Gives the command access to a CDI device (labs syntax).',
    example: 'RUN --device=vendor.com/gpu=all nvidia-smi',
    valueKind: 'path',
  },
  {
    name: 'from',
    instructions: ['COPY'],
    summary: 'Copies from a build stage, an image or a named build context instead of the local context.',
    example: 'COPY --from=build /out/app /usr/local/bin/app',
    valueKind: 'stage',
  },
  {
    name: 'chown',
    instructions: ['COPY', 'ADD'],
    summary: 'Sets the owner (user and optional group, names or ids) of the copied files.',
    example: 'COPY --chown=1000:1000 . /app',
    valueKind: 'chown',
    values: [v('root:root', 'Owned by root.'), v('1000:1000', 'Owned by uid/gid 1000.')],
  },
  {
    name: 'chmod',
    instructions: ['COPY', 'ADD'],
    summary: 'Sets the mode of the copied files: octal (`755`) or symbolic (`u+x`).',
    example: 'COPY --chmod=755 entrypoint.sh /usr/local/bin/',
    valueKind: 'chmod',
    values: [v('755', 'rwxr-xr-x'), v('644', 'rw-r--r--'), v('700', 'rwx------'), v('600', 'rw-------')],
  },
  {
    name: 'link',
    instructions: ['COPY', 'ADD'],
    summary: 'Copies into a layer of its own, independent of the layers below, so the step stays cached when the base changes.',
    example: 'COPY --link --from=build /out /app',
    boolean: true,
  },
  {
    name: 'parents',
    instructions: ['COPY', 'ADD'],
    summary: 'Keeps the parent directories of each source below the destination (`./a/b/f` lands in `dest/a/b/f`).',
    example: 'COPY --parents ./services/*/package.json /app/',
    boolean: true,
  },
  {
    name: 'exclude',
    instructions: ['COPY', 'ADD'],
    summary: 'Leaves out paths matching a pattern (may be repeated).',
    example: 'COPY --exclude=*.md --exclude=test/ . /app',
    valueKind: 'path',
  },
  {
    name: 'checksum',
    instructions: ['ADD'],
    summary: 'Verifies a remote source (URL or git commit) against a digest.',
    example: 'ADD --checksum=sha256:24454f830cdd… https://example.com/tool.tar.gz /opt/',
    valueKind: 'digest',
    snippet: 'sha256:${1:digest}',
  },
  {
    name: 'keep-git-dir',
    instructions: ['ADD'],
    summary: 'Keeps the `.git` directory when adding a git repository.',
    example: 'ADD --keep-git-dir=true https://github.com/me/app.git /src',
    boolean: true,
  },
  {
    name: 'unpack',
    instructions: ['ADD'],
    summary: 'Whether to unpack a tar archive source (local archives unpack by default, URLs do not).',
    example: 'ADD --unpack=true https://example.com/rootfs.tar.gz /',
    boolean: true,
  },
  {
    name: 'interval',
    instructions: ['HEALTHCHECK'],
    summary: 'Time between two checks (default 30s).',
    example: 'HEALTHCHECK --interval=10s CMD pg_isready',
    valueKind: 'duration',
    values: [v('30s', 'The default.'), v('10s', ''), v('1m', '')],
  },
  {
    name: 'timeout',
    instructions: ['HEALTHCHECK'],
    summary: 'A check that takes longer counts as failed (default 30s).',
    example: 'HEALTHCHECK --timeout=3s CMD curl -f http://localhost/',
    valueKind: 'duration',
    values: [v('30s', 'The default.'), v('3s', ''), v('10s', '')],
  },
  {
    name: 'start-period',
    instructions: ['HEALTHCHECK'],
    summary: 'Start-up time during which failed checks do not count (default 0s).',
    example: 'HEALTHCHECK --start-period=1m CMD ./ready',
    valueKind: 'duration',
    values: [v('0s', 'The default.'), v('30s', ''), v('1m', '')],
  },
  {
    name: 'start-interval',
    instructions: ['HEALTHCHECK'],
    summary: 'Time between checks during the start period (default 5s).',
    example: 'HEALTHCHECK --start-period=1m --start-interval=2s CMD ./ready',
    valueKind: 'duration',
    values: [v('5s', 'The default.'), v('1s', ''), v('2s', '')],
  },
  {
    name: 'retries',
    instructions: ['HEALTHCHECK'],
    summary: 'Consecutive failures needed to report the container unhealthy (default 3).',
    example: 'HEALTHCHECK --retries=5 CMD ./check',
    valueKind: 'number',
    values: [v('3', 'The default.')],
  },
];

/** Flags by instruction keyword. */
export function flagsFor(keyword: string): FlagDoc[] {
  return FLAGS.filter((f) => f.instructions.includes(keyword));
}

export function flagDoc(keyword: string, name: string): FlagDoc | undefined {
  return FLAGS.find((f) => f.name === name && f.instructions.includes(keyword));
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

export const MOUNT_TYPES: ValueDoc[] = [
  v('bind', 'Bind a directory of the context, a stage or an image (read-only unless `rw`). The default type.'),
  v('cache', 'A persistent cache directory kept between builds (package manager and compiler caches).'),
  v('tmpfs', 'An empty in-memory file system.'),
  v('secret', 'A secret file (or env variable) passed with `--secret`; never stored in the image.'),
  v('ssh', 'A socket to the SSH agent passed with `--ssh`.'),
];

export interface MountKeyDoc {
  name: string;
  aliases: string[];
  types: MountType[];
  summary: string;
  example: string;
  boolean?: boolean;
  values?: ValueDoc[];
  stage?: boolean;
}

export const MOUNT_KEYS: MountKeyDoc[] = [
  { name: 'type', aliases: [], types: ['bind', 'cache', 'tmpfs', 'secret', 'ssh'], summary: 'The kind of mount (default bind).', example: '--mount=type=cache,target=/root/.npm', values: MOUNT_TYPES },
  {
    name: 'target',
    aliases: ['dst', 'destination'],
    types: ['bind', 'cache', 'tmpfs', 'secret', 'ssh'],
    summary: 'Where the mount appears inside the container. Secrets default to `/run/secrets/<id>`, ssh to a socket under `/run/buildkit/`.',
    example: '--mount=type=cache,target=/var/cache/apt',
  },
  { name: 'source', aliases: ['src'], types: ['bind', 'cache'], summary: 'The path inside `from` to mount (default its root).', example: '--mount=type=bind,from=build,source=/out,target=/in' },
  { name: 'from', aliases: [], types: ['bind', 'cache'], summary: 'A stage, image or named context to mount from (default the build context; for cache, the seed).', example: '--mount=from=build,source=/out,target=/in', stage: true },
  { name: 'readonly', aliases: ['ro'], types: ['bind', 'cache'], summary: 'Mount read-only.', example: '--mount=type=cache,target=/c,ro', boolean: true },
  { name: 'rw', aliases: ['readwrite'], types: ['bind'], summary: 'Allow writes to a bind mount; they are thrown away after the step.', example: '--mount=type=bind,target=/src,rw', boolean: true },
  { name: 'id', aliases: [], types: ['cache', 'secret', 'ssh'], summary: 'Identifies the cache (default its target) or the secret / ssh agent passed to the build.', example: '--mount=type=secret,id=npmrc,target=/root/.npmrc' },
  {
    name: 'sharing',
    aliases: [],
    types: ['cache'],
    summary: 'How concurrent builds share the cache.',
    example: '--mount=type=cache,target=/var/lib/apt,sharing=locked',
    values: [v('shared', 'The default: used by all builders at once.'), v('private', 'A new cache when another builder holds it.'), v('locked', 'Wait until the other builder releases it.')],
  },
  { name: 'mode', aliases: [], types: ['cache', 'secret', 'ssh'], summary: 'File mode of the cache directory (default 0755), secret (0400) or socket (0600), octal.', example: '--mount=type=secret,id=key,mode=0440' },
  { name: 'uid', aliases: [], types: ['cache', 'secret', 'ssh'], summary: 'Owner user id (default 0).', example: '--mount=type=cache,target=/home/app/.cache,uid=1000' },
  { name: 'gid', aliases: [], types: ['cache', 'secret', 'ssh'], summary: 'Owner group id (default 0).', example: '--mount=type=cache,target=/home/app/.cache,gid=1000' },
  { name: 'required', aliases: [], types: ['secret', 'ssh'], summary: 'Fail the build when the secret or ssh agent was not provided (default false).', example: '--mount=type=secret,id=token,required', boolean: true },
  { name: 'env', aliases: [], types: ['secret'], summary: 'Expose the secret as this environment variable instead of (or as well as) a file.', example: '--mount=type=secret,id=token,env=GITHUB_TOKEN' },
  { name: 'size', aliases: [], types: ['tmpfs'], summary: 'Size limit of the tmpfs in bytes (suffixes like `64m` accepted).', example: '--mount=type=tmpfs,target=/tmp,size=64m' },
];

/** A mount key by name or alias. */
export function mountKeyDoc(key: string): MountKeyDoc | undefined {
  const k = key.toLowerCase();
  return MOUNT_KEYS.find((m) => m.name === k || m.aliases.includes(k));
}

/** Protocols for EXPOSE. */
export const PROTOCOLS: ValueDoc[] = [v('tcp', 'The default.'), v('udp', 'Datagrams.'), v('sctp', 'Stream Control Transmission Protocol.')];
