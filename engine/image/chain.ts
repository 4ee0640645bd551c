/**
 * Chain ids (OCI image spec, "Layer ChainID"): ChainID(L0) = DiffID(L0),
 * ChainID(L0|…|Ln) = sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln)). Snapshots are keyed by them.
 */
import { sha256 } from './digest';
import type { Platform } from './types';

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}

/** The platform of this machine, in OCI terms. */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const p: Platform = { architecture: archMap[process.arch] ?? process.arch, os: process.platform === 'win32' ? 'windows' : 'linux' };
  if (process.arch === 'arm64') p.variant = 'v8';
  return p;
}

/** Does `p` run on `want` (variant ignored when either side has none)? */
export function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (!p) return false;
  if (p.os !== want.os || p.architecture !== want.architecture) return false;
  if (p.variant && want.variant && p.variant !== want.variant) return false;
  return true;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}
