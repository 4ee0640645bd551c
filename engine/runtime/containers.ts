/**
 * Containers that outlive the command that started them (`run -d`): a record per container under the store's
 * `containers/<id>/` — `config.json` (what to run: the sandbox spec, the image, the name; every digest in it is a
 * GC root, so the image and its snapshots stay), `state.json` (running or exited, the supervisor's pid, the exit
 * code), the container's upper dir (its changes, kept until `rm`) and its log (`container.log`, Docker's json-file
 * format: one `{"log","stream","time"}` object per line).
 *
 * There is no daemon: each running container has a supervisor process of its own (`layerwise __supervise`,
 * supervise.ts), which started the sandbox, writes the log and the state, and ends with the container. A record
 * that says "running" whose supervisor is gone (killed) is read as exited.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { readJsonFile, writeFileAtomic } from '../store/fs-atomic';
import type { PortMapping } from './ports';
import type { SandboxMount, SandboxNetwork } from './types';

/** The part of a SandboxSpec a record keeps (no streams). */
export interface ContainerSpec {
  lowerDirs: string[];
  args: string[];
  env: string[];
  cwd: string;
  user?: string;
  hostname: string;
  network: SandboxNetwork;
  mounts: SandboxMount[];
  privileged?: boolean;
  readonlyRootfs?: boolean;
  init?: boolean;
  capabilities?: string[];
  extraHosts?: { host: string; ip: string }[];
  /** `-t`: a pty for the command (its output goes to the log) */
  tty?: boolean;
  /** `-i`: stdin kept open (nothing is written to it: a shell waits instead of ending) */
  keepStdin?: boolean;
}

export interface ContainerConfig {
  id: string;
  /** without the leading `/` */
  name: string;
  /** the image as the user named it */
  image: string;
  imageId: string;
  /** manifest digest and chain ids: GC roots */
  imageDigests: string[];
  created: string;
  spec: ContainerSpec;
  ports: PortMapping[];
  autoRemove: boolean;
  stopSignal: string;
  /** seconds `stop` waits before SIGKILL (default 10) */
  stopTimeout?: number;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  /** the supervisor: pid and its start time (so that a reused pid is not taken for it) */
  pid?: number;
  pidStart?: string;
  /** host pid of the container's process 1 (for exec) */
  initPid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** what went wrong when the container could not start */
  error?: string;
}

export interface Container {
  config: ContainerConfig;
  state: ContainerState;
  dir: string;
}

/** A process's start time (field 22 of /proc/PID/stat), or undefined when there is no such process. */
export function processStart(pid: number): string | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const ADJECTIVES = ['brave', 'calm', 'clever', 'eager', 'fervent', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'quirky', 'serene', 'sharp', 'stoic', 'tender', 'vibrant', 'wise', 'zealous'];
const SURNAMES = ['babbage', 'curie', 'darwin', 'euler', 'fermi', 'galois', 'hopper', 'hypatia', 'kepler', 'lamport', 'lovelace', 'meitner', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'turing', 'wozniak', 'yonath'];

export function generatedName(): string {
  const b = randomBytes(2);
  return `${ADJECTIVES[b[0]! % ADJECTIVES.length]}_${SURNAMES[b[1]! % SURNAMES.length]}`;
}

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class ContainerStore {
  constructor(readonly dir: string) {}

  path(id: string): string {
    return join(this.dir, id);
  }

  /** Every container record (newest first), with its state as it is now. */
  async list(): Promise<Container[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return [];
    }
    const out: Container[] = [];
    for (const n of names) {
      if (!/^[0-9a-f]{64}$/.test(n)) continue;
      const c = await this.read(n);
      if (c) out.push(c);
    }
    return out.sort((a, b) => (a.config.created < b.config.created ? 1 : a.config.created > b.config.created ? -1 : 0));
  }

  async read(id: string): Promise<Container | undefined> {
    const dir = this.path(id);
    const config = await readJsonFile<ContainerConfig>(join(dir, 'config.json')).catch(() => undefined);
    if (!config) return undefined;
    const state = (await readJsonFile<ContainerState>(join(dir, 'state.json')).catch(() => undefined)) ?? { status: 'created' };
    return { config, state: live(state), dir };
  }

  /** By full id, unique id prefix or name (`/name` too), as docker finds containers. */
  async find(ref: string): Promise<Container> {
    const all = await this.list();
    const name = ref.replace(/^\//, '');
    const byName = all.find((c) => c.config.name === name);
    if (byName) return byName;
    const byId = all.filter((c) => c.config.id.startsWith(ref.toLowerCase()));
    if (byId.length === 1 && ref.length > 0) return byId[0]!;
    if (byId.length > 1) throw new LayerwiseError('conflict', `multiple IDs found with provided prefix: ${ref}`);
    throw new LayerwiseError('not-found', `No such container: ${ref}`);
  }

  /** A new record (its name checked unique); returns its directory. */
  async create(config: ContainerConfig): Promise<string> {
    await fsp.mkdir(this.dir, { recursive: true });
    if ((await this.list()).some((c) => c.config.name === config.name)) {
      throw new LayerwiseError('conflict', `Conflict. The container name "/${config.name}" is already in use by another container. You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const dir = this.path(config.id);
    await fsp.mkdir(dir);
    await fsp.mkdir(join(dir, 'upper'));
    await fsp.mkdir(join(dir, 'work'));
    await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    await this.writeState(config.id, { status: 'created' });
    return dir;
  }

  async writeState(id: string, state: ContainerState): Promise<void> {
    await writeFileAtomic(join(this.path(id), 'state.json'), JSON.stringify(state) + '\n');
  }

  async remove(id: string): Promise<void> {
    const dir = this.path(id);
    // the upper dir may hold files of other ids (rootless): removed as the sandbox removes its own
    await fsp.rm(dir, { recursive: true, force: true }).catch(async () => {
      const { removeTree } = require('./userns-exec') as typeof import('./userns-exec');
      await removeTree(dir);
    });
  }
}

/** A "running" state whose supervisor is gone is an exited container (killed with it). */
function live(s: ContainerState): ContainerState {
  if (s.status !== 'running' || s.pid === undefined) return s;
  if (processStart(s.pid) === s.pidStart) return s;
  return { ...s, status: 'exited', exitCode: s.exitCode ?? 137, finishedAt: s.finishedAt ?? s.startedAt };
}
