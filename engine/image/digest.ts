/**
 * Content digests (`sha256:<64 hex>`): parsing, validation and hashing helpers. Only sha256 is produced; other
 * algorithms are rejected, as Docker does for local content.
 */
import { createHash, type Hash } from 'node:crypto';
import { LayerwiseError } from '../errors';

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Throws `invalid` unless `s` is a well-formed sha256 digest. Returns the hex part. */
export function digestHex(s: string): string {
  if (!DIGEST_RE.test(s)) throw new LayerwiseError('invalid', `invalid digest: ${JSON.stringify(s)}`);
  return s.slice('sha256:'.length);
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function newHash(): Hash {
  return createHash('sha256');
}

/** The 12-hex short form docker prints for image ids. */
export function shortId(digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : digest;
  return hex.slice(0, 12);
}
