/**
 * The syntax check Go's `filepath.Match` performs (Unix flavour), which moby's pattern matcher runs on every
 * pattern before accepting it: `filepath.Match(pattern, ".")` returns ErrBadPattern for a malformed pattern,
 * and since Go 1.16 it checks the whole pattern even when the name does not match. So this is a pure syntax
 * check of every star-separated chunk.
 *
 * Grammar (Go docs): pattern = { term }; term = '*' | '?' | '[' [ '^' ] { range } ']' | '\\' c | c;
 * range = c | c '-' c, where a class char c may be escaped with '\\' and may not be '-' or ']' unescaped.
 */

/** Go's filepath.ErrBadPattern text. */
export const BAD_PATTERN = 'syntax error in pattern';

/** Splits off the next chunk: leading stars, then everything up to the next '*' outside a bracket class. */
function scanChunk(pattern: string): { chunk: string; rest: string } {
  let p = pattern;
  while (p.length > 0 && p[0] === '*') p = p.slice(1);
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (i + 1 < p.length) i++;
    } else if (c === '[') {
      inRange = true;
    } else if (c === ']') {
      inRange = false;
    } else if (c === '*' && !inRange) {
      break;
    }
  }
  return { chunk: p.slice(0, i), rest: p.slice(i) };
}

/** One possibly escaped character of a bracket class; returns the remaining chunk or null when malformed. */
function classChar(chunk: string): string | null {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') return null;
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) return null;
  }
  const cp = c.codePointAt(0)!;
  const rest = c.slice(cp > 0xffff ? 2 : 1);
  // a class char must be followed by something (at least the closing bracket)
  if (rest.length === 0) return null;
  return rest;
}

/** Checks one chunk the way matchChunk does when the name is exhausted (only syntax is examined). */
function checkChunk(chunk: string): boolean {
  let c = chunk;
  while (c.length > 0) {
    const ch = c[0];
    if (ch === '[') {
      c = c.slice(1);
      if (c.length > 0 && c[0] === '^') c = c.slice(1);
      let nrange = 0;
      for (;;) {
        if (c.length > 0 && c[0] === ']' && nrange > 0) {
          c = c.slice(1);
          break;
        }
        const afterLo = classChar(c);
        if (afterLo === null) return false;
        c = afterLo;
        if (c[0] === '-') {
          const afterHi = classChar(c.slice(1));
          if (afterHi === null) return false;
          c = afterHi;
        }
        nrange++;
      }
    } else if (ch === '\\') {
      c = c.slice(1);
      if (c.length === 0) return false;
      c = c.slice(1);
    } else {
      c = c.slice(1);
    }
  }
  return true;
}

/** True when Go's filepath.Match would accept `pattern` (no ErrBadPattern). */
export function isValidGoGlob(pattern: string): boolean {
  let rest = pattern;
  while (rest.length > 0) {
    const next = scanChunk(rest);
    if (!checkChunk(next.chunk)) return false;
    rest = next.rest;
  }
  return true;
}
