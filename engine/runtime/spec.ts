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

export function hostsFile(spec: SandboxSpec, hostname: string): string {
  let s = `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
  for (const e of spec.extraHosts ?? []) s += `${e.ip}\t${e.host}\n`;
  return s;
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
