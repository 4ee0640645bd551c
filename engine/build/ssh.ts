/**
 * SSH agent forwarding for `RUN --mount=type=ssh`, as `docker build --ssh` does it.
 *
 * `--ssh default` forwards $SSH_AUTH_SOCK; `--ssh id=/path/agent.sock` forwards that agent; `--ssh id=key[,key]`
 * loads the private keys into an agent of our own (the host's `ssh-agent`, started for the build and stopped after
 * it). A RUN step never sees the host socket: it gets a proxy socket of its own, owned by the uid/gid and with
 * the mode the mount asks for (BuildKit's defaults: 0:0, 0600), that relays each connection to the agent. Nothing
 * of the agent ends up in a layer, the history or a cache key (the key holds the id and the target only).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LayerwiseError } from '../errors';

export interface SshSpec {
  id: string;
  /** empty: $SSH_AUTH_SOCK; one socket; or private key files */
  paths: string[];
}

/** Parses one `--ssh` value: `default|<id>[=<socket>|<key>[,<key>]]`. */
export function parseSshSpec(value: string): SshSpec {
  const eq = value.indexOf('=');
  const id = (eq === -1 ? value : value.slice(0, eq)).trim();
  if (!id) throw new LayerwiseError('usage', `invalid ssh spec ${JSON.stringify(value)}: the id is empty`);
  const paths = eq === -1 ? [] : value.slice(eq + 1).split(',').map((p) => p.trim()).filter(Boolean);
  if (eq !== -1 && paths.length === 0) throw new LayerwiseError('usage', `invalid ssh spec ${JSON.stringify(value)}: no socket or key after "="`);
  return { id, paths };
}

export interface SshSocketOptions {
  uid: number;
  gid: number;
  /** permission bits of the socket in the container */
  mode: number;
}

interface Agent {
  /** the agent socket on the host */
  socket: string;
  /** our own ssh-agent, when we loaded keys into one */
  pid?: number;
}

function isSocket(p: string): boolean {
  try {
    return statSync(p).isSocket();
  } catch {
    return false;
  }
}

/** The agents of one build: resolved when first used, proxied per RUN step, all stopped by close(). */
export class SshForwarder {
  private readonly specs = new Map<string, SshSpec>();
  private readonly agents = new Map<string, Agent>();
  private readonly servers = new Set<Server>();
  private readonly sockets = new Set<Socket>();
  private dir: string | undefined;

  constructor(specs: SshSpec[], private readonly env: NodeJS.ProcessEnv = process.env) {
    for (const s of specs) {
      if (this.specs.has(s.id)) throw new LayerwiseError('usage', `duplicate ssh id ${JSON.stringify(s.id)}`);
      this.specs.set(s.id, s);
    }
  }

  has(id: string): boolean {
    return this.specs.has(id);
  }

  /** The agent socket on the host for `id` (for tools of ours such as git), or undefined when none is forwarded
   *  or it cannot be set up. */
  agentSocket(id: string): string | undefined {
    if (!this.specs.has(id)) return undefined;
    try {
      return this.agent(id).socket;
    } catch {
      return undefined;
    }
  }

  private tmp(): string {
    // unix socket paths are limited to 107 bytes: keep them short, in a private directory
    this.dir ??= mkdtempSync(join(tmpdir(), 'lw-ssh-'));
    return this.dir;
  }

  private agent(id: string): Agent {
    const known = this.agents.get(id);
    if (known) return known;
    const spec = this.specs.get(id);
    if (!spec) throw new LayerwiseError('build', `no SSH key ${JSON.stringify(id)} forwarded from the client`);
    let agent: Agent;
    if (spec.paths.length === 0) {
      const sock = this.env.SSH_AUTH_SOCK;
      if (!sock) throw new LayerwiseError('usage', 'invalid empty SSH agent socket: make sure SSH_AUTH_SOCK is set');
      if (!isSocket(sock)) throw new LayerwiseError('usage', `SSH_AUTH_SOCK ${sock} is not a socket`);
      agent = { socket: sock };
    } else if (spec.paths.length === 1 && isSocket(resolve(spec.paths[0]!))) {
      agent = { socket: resolve(spec.paths[0]!) };
    } else {
      agent = this.startAgent(id, spec.paths.map((p) => resolve(p)));
    }
    this.agents.set(id, agent);
    return agent;
  }

  /** Starts the host's ssh-agent on a private socket and loads `keys` into it (no passphrase prompts). */
  private startAgent(id: string, keys: string[]): Agent {
    for (const k of keys) {
      if (!existsSync(k)) throw new LayerwiseError('usage', `ssh ${id}: ${k}: no such socket or key file`);
    }
    const socket = join(this.tmp(), `agent-${this.agents.size}.sock`);
    const { status, error, output } = startAgentProcess(socket);
    if (error || status !== 0) {
      const why = error ? ((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'ssh-agent is not installed' : error.message) : output.trim();
      throw new LayerwiseError('io', `ssh ${id}: cannot start an ssh agent for the keys: ${why}`);
    }
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(output)?.[1]);
    const agent: Agent = { socket, ...(pid ? { pid } : {}) };
    this.agents.set(id, agent); // so that close() stops it if a key fails below
    for (const k of keys) {
      const add = spawnSync('ssh-add', ['-q', k], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...this.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS: '/bin/false', SSH_ASKPASS_REQUIRE: 'force', DISPLAY: '' },
      });
      if (add.error || add.status !== 0) {
        const why = add.error ? add.error.message : add.stderr.trim() || `ssh-add exited with ${add.status}`;
        throw new LayerwiseError('invalid', `ssh ${id}: cannot load the key ${k} (passphrase-protected keys are not supported): ${why}`);
      }
    }
    return agent;
  }

  /**
   * A proxy socket for agent `id`, for one RUN step, with the owner and mode the mount asks for. `hostIds` maps
   * the container's uid/gid to the host's (the rootless id map); when this process may not give the socket to
   * that owner (rootless, someone else's id), the socket is made connectable by all instead (mode 0666), in a
   * directory only this user can enter. `close` stops it.
   */
  async socketFor(id: string, opts: SshSocketOptions, hostIds?: (uid: number, gid: number) => { uid: number; gid: number } | undefined): Promise<{ path: string; close: () => Promise<void> }> {
    const agent = this.agent(id);
    const path = join(this.tmp(), `${this.servers.size}-${process.pid}.sock`);
    const server = createServer((conn) => {
      this.sockets.add(conn);
      const up = createConnection(agent.socket);
      this.sockets.add(up);
      const done = (): void => {
        conn.destroy();
        up.destroy();
        this.sockets.delete(conn);
        this.sockets.delete(up);
      };
      conn.on('error', done).on('close', done);
      up.on('error', done).on('close', done);
      conn.pipe(up);
      up.pipe(conn);
    });
    this.servers.add(server);
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(path, () => {
        server.off('error', fail);
        ok();
      });
    });
    let mode = opts.mode & 0o777;
    const host = hostIds ? hostIds(opts.uid, opts.gid) : { uid: opts.uid, gid: opts.gid };
    const myUid = process.getuid?.() ?? 0;
    try {
      if (!host) throw new Error('not mapped');
      if (myUid === 0 || (host.uid === myUid && host.gid === (process.getgid?.() ?? 0))) chownSync(path, host.uid, host.gid);
      else throw new Error('not ours to give');
    } catch {
      mode = 0o666;
    }
    chmodSync(path, mode);
    const close = async (): Promise<void> => {
      this.servers.delete(server);
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(path, { force: true });
    };
    return { path, close };
  }

  /** Stops every proxy and our own agents, and removes their sockets. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([...this.servers].map((s) => new Promise<void>((ok) => s.close(() => ok()))));
    this.servers.clear();
    for (const a of this.agents.values()) {
      if (a.pid) {
        try {
          process.kill(a.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    this.agents.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * Runs `ssh-agent -a socket -s`. It binds the socket, forks the agent and exits; its output goes to a file, not
 * a pipe, since the forked agent keeps the inherited descriptors open and a pipe would never reach its end.
 */
export function startAgentProcess(socket: string): { status: number | null; error?: Error; output: string } {
  const log = socket + '.out';
  const fd = openSync(log, 'w', 0o600);
  try {
    const r = spawnSync('ssh-agent', ['-a', socket, '-s'], { stdio: ['ignore', fd, fd] });
    return { status: r.status, ...(r.error ? { error: r.error } : {}), output: readFileSync(log, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(log, { force: true });
  }
}

/** Whether the host has the tools for loading key files (`ssh-agent`, `ssh-add`). */
export function sshToolsAvailable(): boolean {
  return ['ssh-agent', 'ssh-add'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0);
}
