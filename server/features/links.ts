/** Document links: each FROM image reference (and the `# syntax=` frontend) to its registry page. */
import type { DocumentLink } from 'vscode-languageserver';
import type { Dockerfile, Range } from '../../engine/dockerfile/types';

/** The web page of an image reference, or undefined when it cannot be known (variables, digests only). */
export function registryPage(ref: string): string | undefined {
  if (!ref || ref.includes('$') || /\s/.test(ref)) return undefined;
  const at = ref.indexOf('@');
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const name = (colon > lastSlash ? noDigest.slice(0, colon) : noDigest).toLowerCase();
  if (!/^[a-z0-9]/.test(name)) return undefined;
  const parts = name.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry || first === 'docker.io' || first === 'index.docker.io' || first === 'registry-1.docker.io') {
    const path = hasRegistry ? parts.slice(1) : parts;
    if (path.length === 1) return `https://hub.docker.com/_/${path[0]}`;
    if (path[0] === 'library' && path.length === 2) return `https://hub.docker.com/_/${path[1]}`;
    return `https://hub.docker.com/r/${path.join('/')}`;
  }
  const rest = parts.slice(1).join('/');
  if (first === 'localhost' || first.startsWith('localhost:') || /^[0-9.]+(:[0-9]+)?$/.test(first)) return undefined;
  if (first === 'quay.io') return `https://quay.io/repository/${rest}`;
  if (first === 'mcr.microsoft.com') return `https://mcr.microsoft.com/artifact/mar/${rest}`;
  return `https://${first}/${rest}`;
}

export function documentLinks(df: Dockerfile): DocumentLink[] {
  const out: DocumentLink[] = [];
  const push = (range: Range, ref: string) => {
    const target = registryPage(ref);
    if (target) out.push({ range, target, tooltip: `Open ${ref} on its registry` });
  };
  for (const d of df.directives) if (d.name === 'syntax') push(d.valueRange, d.value);
  for (const st of df.stages) {
    const img = st.from.from?.image;
    if (img && st.base.kind === 'image') push(img.range, img.value);
  }
  return out;
}
