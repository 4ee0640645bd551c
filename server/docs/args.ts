/** BuildKit's predefined build arguments and the stop signals: data for completion and hover. */

export interface PredefinedArg {
  name: string;
  summary: string;
  example: string;
  /** `platform`: set automatically in the global scope; `proxy`: usable without an ARG line, left out of history; `buildkit`: frontend options */
  kind: 'platform' | 'proxy' | 'buildkit' | 'other';
}

const platform = (name: string, summary: string, example: string): PredefinedArg => ({ name, summary, example, kind: 'platform' });
const proxy = (name: string, what: string): PredefinedArg => ({
  name,
  summary: `${what} Usable without an ARG line; not kept in the image history.`,
  example: `docker build --build-arg ${name}=http://proxy:3128 .`,
  kind: 'proxy',
});

export const PREDEFINED_ARGS: PredefinedArg[] = [
  platform('TARGETPLATFORM', 'The platform being built for, `os/arch/variant`. Declare `ARG TARGETPLATFORM` in a stage to use it there.', 'linux/arm64'),
  platform('TARGETOS', 'The OS part of TARGETPLATFORM.', 'linux'),
  platform('TARGETARCH', 'The architecture part of TARGETPLATFORM.', 'arm64'),
  platform('TARGETVARIANT', 'The variant part of TARGETPLATFORM (empty when none).', 'v7'),
  platform('BUILDPLATFORM', 'The platform of the machine running the build.', 'linux/amd64'),
  platform('BUILDOS', 'The OS part of BUILDPLATFORM.', 'linux'),
  platform('BUILDARCH', 'The architecture part of BUILDPLATFORM.', 'amd64'),
  platform('BUILDVARIANT', 'The variant part of BUILDPLATFORM.', ''),
  proxy('HTTP_PROXY', 'Proxy for HTTP requests made by RUN commands.'),
  proxy('http_proxy', 'Proxy for HTTP requests made by RUN commands.'),
  proxy('HTTPS_PROXY', 'Proxy for HTTPS requests made by RUN commands.'),
  proxy('https_proxy', 'Proxy for HTTPS requests made by RUN commands.'),
  proxy('FTP_PROXY', 'Proxy for FTP requests made by RUN commands.'),
  proxy('ftp_proxy', 'Proxy for FTP requests made by RUN commands.'),
  proxy('NO_PROXY', 'Hosts that bypass the proxy.'),
  proxy('no_proxy', 'Hosts that bypass the proxy.'),
  proxy('ALL_PROXY', 'Proxy for every protocol.'),
  proxy('all_proxy', 'Proxy for every protocol.'),
  { name: 'BUILDKIT_SYNTAX', summary: 'Overrides the `# syntax=` frontend image.', example: 'docker/dockerfile:1', kind: 'buildkit' },
  { name: 'BUILDKIT_CONTEXT_KEEP_GIT_DIR', summary: 'Set to 1 to keep `.git` in a git build context.', example: '1', kind: 'buildkit' },
  { name: 'BUILDKIT_INLINE_CACHE', summary: 'Set to 1 to write cache metadata into the image config (inline cache).', example: '1', kind: 'buildkit' },
  { name: 'BUILDKIT_MULTI_PLATFORM', summary: 'Set to 1 to always produce a multi-platform index, even for one platform.', example: '1', kind: 'buildkit' },
  { name: 'BUILDKIT_SANDBOX_HOSTNAME', summary: 'The hostname RUN commands see (default `buildkitsandbox`).', example: 'builder', kind: 'buildkit' },
  { name: 'BUILDKIT_CACHE_MOUNT_NS', summary: 'A namespace for cache mount ids, to keep caches of projects apart.', example: 'myproject', kind: 'buildkit' },
  { name: 'SOURCE_DATE_EPOCH', summary: 'Unix time used for timestamps in the image, for reproducible builds.', example: '1700000000', kind: 'other' },
];

export const PREDEFINED_ARG_DOCS: ReadonlyMap<string, PredefinedArg> = new Map(PREDEFINED_ARGS.map((a) => [a.name, a]));

export interface SignalDoc {
  name: string;
  number: number;
  summary: string;
}

export const SIGNALS: SignalDoc[] = [
  { name: 'SIGTERM', number: 15, summary: 'Polite termination; the default stop signal.' },
  { name: 'SIGINT', number: 2, summary: 'Interrupt, as Ctrl-C.' },
  { name: 'SIGQUIT', number: 3, summary: 'Quit; nginx and others use it for a graceful shutdown.' },
  { name: 'SIGKILL', number: 9, summary: 'Kill at once; cannot be caught.' },
  { name: 'SIGHUP', number: 1, summary: 'Hang-up; many daemons reload their configuration.' },
  { name: 'SIGUSR1', number: 10, summary: 'User-defined signal 1.' },
  { name: 'SIGUSR2', number: 12, summary: 'User-defined signal 2.' },
  { name: 'SIGWINCH', number: 28, summary: 'Window size change; Apache httpd stops gracefully on it.' },
  { name: 'SIGPWR', number: 30, summary: 'Power failure; some init systems shut down on it.' },
  { name: 'SIGRTMIN+3', number: 37, summary: 'systemd shuts down cleanly on it.' },
  { name: 'SIGABRT', number: 6, summary: 'Abort.' },
  { name: 'SIGALRM', number: 14, summary: 'Alarm clock.' },
  { name: 'SIGSTOP', number: 19, summary: 'Stop (pause); cannot be caught.' },
  { name: 'SIGCONT', number: 18, summary: 'Continue if stopped.' },
];
