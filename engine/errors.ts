/**
 * Errors the engine reports to people. Every error carries a kind (for programs) and, where it comes from a
 * Dockerfile, a range; the CLI prints `message` (never a stack) and exits with `exitCode`.
 */
import type { Range } from './dockerfile/types';

export type ErrorKind =
  | 'usage' // bad command line
  | 'not-found' // no such image / container / file
  | 'syntax' // Dockerfile parse error
  | 'invalid' // well-formed input with a bad value
  | 'corrupt' // a blob or snapshot does not match its digest
  | 'unsafe' // an archive entry that would escape its target
  | 'conflict' // a lock or a name already taken
  | 'io' // the operating system said no
  | 'network' // a registry or daemon did not answer
  | 'build' // a build step failed
  | 'internal';

export class LayerwiseError extends Error {
  readonly kind: ErrorKind;
  readonly range?: Range;
  /** the file the range points into, when known */
  readonly file?: string;
  readonly exitCode: number;
  constructor(kind: ErrorKind, message: string, opts: { range?: Range; file?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LayerwiseError';
    this.kind = kind;
    if (opts.range) this.range = opts.range;
    if (opts.file) this.file = opts.file;
    this.exitCode = opts.exitCode ?? (kind === 'usage' ? 125 : 1);
  }
}

export function isLayerwiseError(e: unknown): e is LayerwiseError {
  return e instanceof LayerwiseError;
}

/** A one-line message for any thrown value, for people: never a stack trace. */
export function describeError(e: unknown): string {
  if (e instanceof LayerwiseError) {
    if (e.file && e.range) return `${e.file}:${e.range.start.line + 1}:${e.range.start.character + 1}: ${e.message}`;
    return e.message;
  }
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return String((e as { message: unknown }).message);
  }
  return e instanceof Error ? e.message : String(e);
}
