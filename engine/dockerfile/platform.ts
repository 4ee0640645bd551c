/**
 * Platform names as containerd reads them: `os/arch[/variant]`, architecture aliases (`x86_64`, `aarch64`, …) and
 * default variants normalised away. Shared by the builder (FROM --platform) and the language server's
 * InvalidBaseImagePlatform, so that both agree on what a platform is.
 */
import { hostPlatform, type Platform } from './scope';

const OSES = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'plan9', 'js', 'wasip1']);
const ARCH_ALIASES: Record<string, Platform> = {
  x86_64: { os: '', architecture: 'amd64' },
  'x86-64': { os: '', architecture: 'amd64' },
  aarch64: { os: '', architecture: 'arm64' },
  armhf: { os: '', architecture: 'arm', variant: 'v7' },
  armel: { os: '', architecture: 'arm', variant: 'v6' },
  i386: { os: '', architecture: '386' },
};

/** containerd's normalisation: arch aliases, arm64's v8 and amd64's v1 are the default, arm defaults to v7. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant = variant ?? alias.variant;
  }
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'amd64' && (variant === 'v1' || variant === '1')) variant = undefined;
  if (architecture === 'arm' && !variant) variant = 'v7';
  if (variant && /^\d+$/.test(variant)) variant = `v${variant}`;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `linux/arm64/v8`, `linux/amd64`, `arm64` (an architecture on linux) or `windows`; undefined when unparsable. */
export function parsePlatform(s: string): Platform | undefined {
  const parts = s.trim().split('/');
  if (parts.some((p) => !p) || parts.length > 3) return undefined;
  if (parts.length === 1) {
    const one = parts[0]!.toLowerCase();
    if (OSES.has(one)) return normalizePlatform({ os: one, architecture: hostPlatform().architecture });
    return normalizePlatform({ os: 'linux', architecture: one });
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) });
}
