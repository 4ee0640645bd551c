/** Checking a sandbox spec before anything starts, and the /etc files a sandbox gets. */
import { readFileSync } from 'node:fs';
import { LayerwiseError } from '../errors';
import type { SandboxSpec } from './types';

/** BuildKit's hostname for RUN steps */
export const DEFAULT_HOSTNAME = 'buildkitsandbox';

export function validate(spec: SandboxSpec): void {
  const bad = (m: string): never => {
    throw new LayerwiseError('invalid', m);
  };
  if (spec.args.length === 0) bad('no command to run');
  for (const e of spec.env) {
    if (!e.includes('=') || e.startsWith('=')) bad(`environment entry is not K=V: ${JSON.stringify(e)}`);
    if (e.includes('\0')) bad('environment entries cannot contain NUL');
  }
  if (spec.args.some((a) => a.includes('\0'))) bad('arguments cannot contain NUL');
  if (spec.cwd !== undefined && !spec.cwd.startsWith('/')) bad(`working directory must be absolute: ${spec.cwd}`);
  for (const m of spec.mounts ?? []) {
    if (!m.target.startsWith('/')) bad(`mount target must be absolute: ${m.target}`);
    if (m.type !== 'tmpfs' && !m.source?.startsWith('/')) bad(`mount source must be an absolute host path: ${String(m.source)}`);
  }
  const h = spec.hostname ?? DEFAULT_HOSTNAME;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(h)) bad(`invalid hostname: ${h}`);
}

/**
 * The container's /etc/hosts. A build's RUN gets BuildKit's (localhost and the host name on one line). A `run`
 * container gets Docker's: the host's own file on the host network; else its six default lines, the --add-host
 * entries, then the container's name record (Docker maps it to the container's bridge address; containers here
 * have none, so to the loopback address), left out with --network none as Docker leaves it.
 */
export function hostsFile(spec: SandboxSpec, hostname: string): string {
  const extra = (spec.extraHosts ?? []).map((e) => `${e.ip}\t${e.host}\n`).join('');
  if (spec.profile !== 'run') return `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n${extra}`;
  if (spec.network === 'host') {
    let own = '';
    try {
      own = readFileSync('/etc/hosts', 'utf8');
    } catch {
      own = '127.0.0.1\tlocalhost\n';
    }
    return (own.endsWith('\n') || own === '' ? own : own + '\n') + extra;
  }
  const defaults = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';
  return defaults + extra + (spec.network === 'none' ? '' : `127.0.0.1\t${hostname}\n`);
}

export function resolvConf(): string {
  try {
    const t = readFileSync('/etc/resolv.conf', 'utf8');
    if (/^\s*nameserver\s/m.test(t)) return t;
  } catch {
    // fall through to public resolvers, like BuildKit
  }
  return 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n';
}
