/** Types of the Linux sandbox (see README.md in this folder). */
import type { Readable, Writable } from 'node:stream';
import type { ResolvedUser } from './users';

export type SandboxNetwork = 'none' | 'host' | 'default';

export interface SandboxMount {
  /** bind: a host path; cache: a host directory (created if missing) the caller keeps between runs; tmpfs: fresh */
  type: 'bind' | 'tmpfs' | 'cache';
  /** host path (bind, cache) */
  source?: string;
  /** absolute path in the container; created as an empty stub if missing and removed again afterwards */
  target: string;
  readonly?: boolean;
  /** tmpfs size in bytes */
  size?: number;
  /** cache: the owner and mode the directory is given inside the container before the command runs (a new cache
   *  directory gets BuildKit's `uid`, `gid` and `mode` options; the caller passes it only then) */
  init?: { uid: number; gid: number; mode: number };
}

export type StdioTarget = Writable | 'inherit' | 'ignore';

export interface SandboxSpec {
  /** read-only lower dirs, top first; empty for a rootfs that starts empty (scratch) */
  lowerDirs: string[];
  /** overlay upper dir: everything the command changes lands here (the layer of a RUN step) */
  upperDir: string;
  /** overlay work dir, on the same file system as upperDir, empty */
  workDir: string;
  /** argv; the shell form is the caller's job: ['/bin/sh', '-c', cmd] */
  args: string[];
  /** the command's environment, exactly (K=V) */
  env: string[];
  /** working directory in the container; created (owned by the user) if missing, like Docker. Default `/` */
  cwd?: string;
  /** `uid[:gid]` or `name[:group]` resolved with the rootfs's /etc/passwd and /etc/group; default root */
  user?: string;
  /** default `buildkitsandbox`, BuildKit's RUN hostname */
  hostname?: string;
  /** 'default' shares the host's network namespace (BuildKit's default without CNI); 'none' = only lo */
  network?: SandboxNetwork;
  mounts?: SandboxMount[];
  /**
   * Every capability the sandbox's user namespace has (not only Docker's default set), /proc without its masked
   * and read-only paths, /sys writable where the kernel lets it: BuildKit's `RUN --security=insecure`, which the
   * build must allow. The namespaces stay: it is privileged inside them, never on the host.
   */
  privileged?: boolean;
  /** the container's root file system read-only (`docker run --read-only`): mounts on it (volumes, tmpfs, /dev,
   *  /etc/hosts) stay as they are */
  readonlyRootfs?: boolean;
  /** a `run` container's command runs under the sandbox's init process (`docker run --init`); without it, it is
   *  process 1 itself, as in Docker (a build's RUN always runs under the init, which cleans its mount stubs up) */
  init?: boolean;
  /** the capabilities the command gets (setpriv names), instead of Docker's default set (`--cap-add/--cap-drop`) */
  capabilities?: string[];
  /**
   * 'build' (default) is what BuildKit gives a RUN step: read-only /etc/hosts and /etc/resolv.conf, no
   * /etc/hostname. 'run' is what `docker run` gives a container: writable /etc/hosts, /etc/hostname,
   * /etc/resolv.conf. Either way those files never land in the upper dir.
   */
  profile?: 'build' | 'run';
  /** extra /etc/hosts lines (`--add-host`) */
  extraHosts?: { host: string; ip: string }[];
  /** default 'ignore' (/dev/null); 'pipe' gives handle.stdin */
  stdin?: Readable | 'inherit' | 'ignore' | 'pipe';
  /** omitted: handle.stdout is a stream to read (runSandboxed: ignored) */
  stdout?: StdioTarget;
  stderr?: StdioTarget;
  /** run the command on a pseudo-terminal of the container's own devpts (stderr then goes to stdout) */
  tty?: boolean;
  /** aborting cancels the sandbox (everything is killed and unmounted) */
  signal?: AbortSignal;
  /** where the per-sandbox state dir is made (default os.tmpdir()) */
  stateParent?: string;
}

export interface SandboxResult {
  /** the command's exit status; 128+n when it was killed by signal n (Docker's convention) */
  exitCode: number;
  /** the signal that ended the command, when exitCode > 128 maps to one (or SIGKILL for a cancel) */
  signal?: NodeJS.Signals;
  cancelled: boolean;
  /** whom the command ran as */
  user: ResolvedUser;
}

export interface SandboxHandle {
  /** host pid of the `unshare` process holding the namespaces */
  readonly pid: number;
  /** resolves once the command has been started (set-up done); rejects when set-up fails */
  readonly started: Promise<void>;
  /** resolves when the sandbox is gone: no process and no mount of it is left */
  readonly done: Promise<SandboxResult>;
  /** kills everything in the sandbox; resolves when it is all gone */
  cancel(): Promise<SandboxResult>;
  /** sends a signal to the command (process 1 of a `run` container without --init, else its child), e.g. SIGTERM for a graceful stop */
  kill(signal: NodeJS.Signals): boolean;
  /** host pids of every process in the sandbox right now (the command and its descendants) */
  processes(): number[];
  /** the streams when the matching spec field was omitted */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

export interface SandboxCapability {
  ok: boolean;
  rootless: boolean;
  /** how ids are mapped: 'host' (root, no user namespace), 'root-only' or 'subid' (rootless) */
  idmap: 'host' | 'root-only' | 'subid';
  reason?: string;
  /** e.g. why only root is mapped */
  note?: string;
}
