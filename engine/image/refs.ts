/**
 * Image references, normalized the way Docker does (github.com/distribution/reference semantics):
 *   busybox                -> docker.io/library/busybox:latest
 *   user/app:1             -> docker.io/user/app:1
 *   localhost:5000/x       -> localhost:5000/x:latest
 *   name@sha256:…          -> docker.io/library/name@sha256:…  (no default tag when a digest is given)
 * The store keeps the FULL normalized form (see engine/store/images.ts); people see the familiar form.
 */
import { LayerwiseError } from '../errors';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_ANY_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const NAME_MAX = 255;

export interface Reference {
  /** registry host (with port), e.g. `docker.io`, `localhost:5000` */
  domain: string;
  /** repository path inside the registry, e.g. `library/busybox` */
  path: string;
  tag?: string;
  digest?: string;
}

function invalid(msg = 'invalid reference format'): LayerwiseError {
  return new LayerwiseError('invalid', msg);
}

/** Parse and normalize like `docker pull`. `latest` is added when neither tag nor digest is given. */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): Reference {
  const s = input.trim();
  if (!s) throw invalid();
  if (/^[a-f0-9]{64}$/.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_ANY_RE.test(digest)) throw invalid();
    if (digest.startsWith('sha256:') && !SHA256_RE.test(digest)) throw invalid();
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw invalid();
  }
  if (!rest) throw invalid();
  // split the domain as docker does
  let domain: string;
  let remainder: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = rest;
  } else {
    domain = first;
    remainder = rest.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  if (remainder.toLowerCase() !== remainder) {
    throw invalid(`invalid reference format: repository name (${remainder}) must be lowercase`);
  }
  if (!DOMAIN_RE.test(domain) || !PATH_RE.test(remainder)) throw invalid();
  if (domain.length + 1 + remainder.length > NAME_MAX) throw invalid('invalid reference format: repository name must not be more than 255 characters');
  const ref: Reference = { domain, path: remainder };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (ref.tag === undefined && ref.digest === undefined && opts.defaultTag !== false) ref.tag = DEFAULT_TAG;
  return ref;
}

/** `docker.io/library/busybox` */
export function repositoryName(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The full normalized string: `docker.io/library/busybox:latest`, `…@sha256:…`, `…:tag@sha256:…`. */
export function formatReference(r: Reference): string {
  let s = repositoryName(r);
  if (r.tag !== undefined) s += ':' + r.tag;
  if (r.digest !== undefined) s += '@' + r.digest;
  return s;
}

/** Normalize a user's reference string to the full form the store keys on. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The short form people see: `busybox`, `user/app`, `localhost:5000/x` (repository only). */
export function familiarRepository(r: Reference | string): string {
  const ref = typeof r === 'string' ? parseReference(r) : r;
  if (ref.domain === DEFAULT_DOMAIN) {
    return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
  }
  return repositoryName(ref);
}

/** The familiar string with tag/digest: `busybox:latest`. */
export function familiarString(r: Reference | string): string {
  const ref = typeof r === 'string' ? parseReference(r, { defaultTag: false }) : r;
  let s = familiarRepository(ref);
  if (ref.tag !== undefined) s += ':' + ref.tag;
  if (ref.digest !== undefined) s += '@' + ref.digest;
  return s;
}

/** True when `s` parses as a reference (no throw). */
export function isValidReference(s: string): boolean {
  try {
    parseReference(s);
    return true;
  } catch {
    return false;
  }
}
