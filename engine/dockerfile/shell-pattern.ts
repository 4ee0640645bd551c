/**
 * Shell patterns of `${v#p}` `${v##p}` `${v%p}` `${v%%p}` `${v/p/r}` `${v//p/r}`, with the results BuildKit
 * gets (it turns the pattern into a Go regexp):
 * - `*` is any run of characters, `?` one character; neither matches a newline (Go's `.`);
 * - `\` escapes `*`, `?` and `\`; before `}` or `/` it is dropped; before anything else the pattern is invalid;
 * - every other character is literal, `[` included: BuildKit has no bracket expressions;
 * - characters are code points; a U+FEFF at the very start of the pattern is ignored (Go's text/scanner).
 *
 * Matching is a Pike VM with leftmost-first priorities (what RE2 gives), linear in value length times
 * pattern length: no backtracking, whatever the pattern.
 */

const EOF = -1;
/** token values below 0 are operators, the rest are literal code points */
const ANY = -2;
const STAR = -3;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;

export interface ShellPattern {
  readonly toks: readonly number[];
  /** `*` prefers the longest run (`##`, `%%`, `/`) or the shortest (`#`, `%`) */
  readonly greedy: boolean;
}

export type PatternResult = { ok: true; pattern: ShellPattern } | { ok: false; error: string };

/** Code points of `s` (lone surrogates stay single units). */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.codePointAt(i)!;
    out.push(c);
    i += c > 0xffff ? 2 : 1;
  }
  return out;
}

function fromCodePoints(cps: readonly number[], start = 0, end = cps.length): string {
  let out = '';
  for (let i = start; i < end; i += 4096) {
    out += String.fromCodePoint(...cps.slice(i, Math.min(end, i + 4096)));
  }
  return out;
}

/** `%c` of a Go rune; EOF (-1) prints as U+FFFD, as Go does. */
export function runeText(c: number): string {
  return c < 0 ? '\uFFFD' : String.fromCodePoint(c);
}

export function compileShellPattern(pattern: string, greedy: boolean): PatternResult {
  const cps = codePoints(pattern);
  const toks: number[] = [];
  let i = cps.length > 0 && cps[0] === 0xfeff ? 1 : 0;
  while (i < cps.length) {
    const c = cps[i++];
    if (c === 0x2a /* * */) {
      // consecutive stars behave like one; keeping one keeps the VM small
      if (toks.length === 0 || toks[toks.length - 1] !== STAR) toks.push(STAR);
    } else if (c === 0x3f /* ? */) {
      toks.push(ANY);
    } else if (c === BACKSLASH) {
      const next = i < cps.length ? cps[i] : EOF;
      if (next === 0x7d /* } */ || next === 0x2f /* / */) continue;
      i++;
      if (next !== 0x2a && next !== 0x3f && next !== BACKSLASH) {
        return { ok: false, error: `invalid escape '\\${runeText(next)}'` };
      }
      toks.push(next);
    } else {
      toks.push(c);
    }
  }
  return { ok: true, pattern: { toks, greedy } };
}

/**
 * A Pike VM over the pattern's tokens. Threads are kept in priority order (leftmost-first, as RE2), so the
 * first thread to reach the end of the pattern wins over every thread behind it. Buffers are reused from
 * one search to the next.
 */
class Matcher {
  private readonly toks: readonly number[];
  private readonly greedy: boolean;
  private readonly m: number;
  private readonly mark: Int32Array;
  private gen = 0;
  // thread lists: parallel arrays of state and match start. State k < m is "consume toks[k]" (for a star:
  // consume one character and stay at k); state m is a match.
  private cur: number[] = [];
  private curStart: number[] = [];
  private nxt: number[] = [];
  private nxtStart: number[] = [];
  private readonly lazy: number[] = [];

  constructor(p: ShellPattern) {
    this.toks = p.toks;
    this.greedy = p.greedy;
    this.m = p.toks.length;
    this.mark = new Int32Array(this.m + 1).fill(-1);
  }

  /** Append the epsilon closure of state k to the next list, in priority order. */
  private add(k: number, start: number): void {
    const { toks, m, mark, gen, nxt, nxtStart, lazy } = this;
    lazy.length = 0;
    for (;;) {
      if (mark[k] === gen) break;
      mark[k] = gen;
      if (k === m || toks[k] !== STAR) {
        nxt.push(k);
        nxtStart.push(start);
        break;
      }
      if (this.greedy) {
        nxt.push(k);
        nxtStart.push(start);
      } else {
        lazy.push(k);
      }
      k++;
    }
    // lazy stars: their "consume" branch comes after everything reachable by skipping them
    for (let j = lazy.length - 1; j >= 0; j--) {
      nxt.push(lazy[j]);
      nxtStart.push(start);
    }
  }

  private swap(): void {
    [this.cur, this.nxt] = [this.nxt, this.cur];
    [this.curStart, this.nxtStart] = [this.nxtStart, this.curStart];
    this.nxt.length = 0;
    this.nxtStart.length = 0;
    this.gen++;
  }

  /** Leftmost-first match in `v` from index `from` (code points); anchored: it must start at `from`. */
  search(v: readonly number[], from: number, anchored: boolean): [number, number] | undefined {
    const { toks, m } = this;
    const n = v.length;
    this.nxt.length = 0;
    this.nxtStart.length = 0;
    this.gen++;
    this.add(0, from);
    this.swap();
    let found: [number, number] | undefined;
    for (let pos = from; this.cur.length > 0; pos++) {
      const { cur, curStart } = this;
      const c = pos < n ? v[pos] : EOF;
      for (let t = 0; t < cur.length; t++) {
        const k = cur[t];
        if (k === m) {
          found = [curStart[t], pos];
          break; // lower-priority threads lose
        }
        if (c === EOF) continue;
        const tok = toks[k];
        if (tok === STAR) {
          if (c !== NEWLINE) this.add(k, curStart[t]);
        } else if (tok === ANY ? c !== NEWLINE : tok === c) {
          this.add(k + 1, curStart[t]);
        }
      }
      if (pos >= n) break;
      if (!anchored && !found) this.add(0, pos + 1);
      this.swap();
    }
    return found;
  }
}

/**
 * Leftmost-first match of `p` in `v` from index `from` (code points). Anchored: the match must start at
 * `from`. Returns [start, end) or undefined.
 */
export function searchPattern(p: ShellPattern, v: readonly number[], from: number, anchored: boolean): [number, number] | undefined {
  return new Matcher(p).search(v, from, anchored);
}

/** Reverse a pattern by code points, keeping each `\x` pair in order (`a\*c` -> `c\*a`). */
function reversePattern(cps: readonly number[]): number[] {
  const out = new Array<number>(cps.length);
  const last = cps.length - 1;
  for (let i = 0; i <= last; ) {
    const o = last - i;
    if (cps[i] === BACKSLASH && i !== last) {
      out[o - 1] = BACKSLASH;
      out[o] = cps[i + 1];
      i += 2;
    } else {
      out[o] = cps[i];
      i++;
    }
  }
  return out;
}

export type TrimResult = { ok: true; value: string } | { ok: false; error: string };

function invalid(pattern: string, error: string): TrimResult {
  return { ok: false, error: `invalid pattern (${pattern}) in substitution: ${error}` };
}

/** `${v#p}` (shortest) / `${v##p}` (longest): drop the prefix of `value` that `pattern` matches. */
export function trimPatternPrefix(pattern: string, value: string, greedy: boolean): TrimResult {
  const c = compileShellPattern(pattern, greedy);
  if (!c.ok) return invalid(pattern, c.error);
  const v = codePoints(value);
  const m = searchPattern(c.pattern, v, 0, true);
  return { ok: true, value: m ? fromCodePoints(v, m[1]) : value };
}

/** `${v%p}` (shortest) / `${v%%p}` (longest): drop the suffix of `value` that `pattern` matches. */
export function trimPatternSuffix(pattern: string, value: string, greedy: boolean): TrimResult {
  // match the reversed pattern at the start of the reversed value: a leftmost search either way
  const reversed = fromCodePoints(reversePattern(codePoints(pattern)));
  const c = compileShellPattern(reversed, greedy);
  if (!c.ok) return invalid(reversed, c.error);
  const v = codePoints(value).reverse();
  const m = searchPattern(c.pattern, v, 0, true);
  if (!m) return { ok: true, value };
  return { ok: true, value: fromCodePoints(v.slice(m[1]).reverse()) };
}

function isNameChar(c: number): boolean {
  if (c < 0x80) {
    return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  }
  return /[\p{L}\p{Nd}]/u.test(String.fromCodePoint(c));
}

/**
 * The replacement of `${v//p/r}` goes through Go's Regexp.Expand: `$$` is `$`, `$0`/`${0}` the whole match,
 * any other `$name`/`${name}` nothing (the pattern has no groups), a `$` that starts no name stays.
 */
function expandTemplate(template: readonly number[], match: readonly number[], ms: number, me: number): number[] {
  const out: number[] = [];
  let i = 0;
  const n = template.length;
  while (i < n) {
    const c = template[i];
    if (c !== 0x24 /* $ */) {
      out.push(c);
      i++;
      continue;
    }
    i++;
    if (i < n && template[i] === 0x24) {
      out.push(0x24);
      i++;
      continue;
    }
    let j = i;
    const brace = j < n && template[j] === 0x7b; /* { */
    if (brace) j++;
    const nameStart = j;
    while (j < n && isNameChar(template[j])) j++;
    if (j === nameStart || (brace && (j >= n || template[j] !== 0x7d))) {
      out.push(0x24); // malformed: `$` as text, go on after it
      continue;
    }
    const name = template.slice(nameStart, j);
    i = brace ? j + 1 : j;
    if (name.length === 1 && name[0] === 0x30 /* 0 */) {
      for (let k = ms; k < me; k++) out.push(match[k]);
    }
  }
  return out;
}

/** `${v/p/r}` (first match, replacement taken literally) and `${v//p/r}` (every match, as Go's ReplaceAllString). */
export function replacePattern(pattern: string, value: string, replacement: string, all: boolean): TrimResult {
  const c = compileShellPattern(pattern, true);
  if (!c.ok) return invalid(pattern, c.error);
  const v = codePoints(value);
  if (!all) {
    const m = searchPattern(c.pattern, v, 0, false);
    if (!m) return { ok: true, value };
    return { ok: true, value: fromCodePoints(v, 0, m[0]) + replacement + fromCodePoints(v, m[1]) };
  }
  const repl = codePoints(replacement);
  const out: number[] = [];
  let lastEnd = 0;
  let searchPos = 0;
  const matcher = new Matcher(c.pattern);
  while (searchPos <= v.length) {
    const m = matcher.search(v, searchPos, false);
    if (!m) break;
    for (let k = lastEnd; k < m[0]; k++) out.push(v[k]);
    // no replacement for an empty match right after the previous match
    if (m[1] > lastEnd || m[0] === 0) {
      for (const x of expandTemplate(repl, v, m[0], m[1])) out.push(x);
    }
    lastEnd = m[1];
    searchPos = searchPos + 1 > m[1] ? searchPos + 1 : m[1];
  }
  for (let k = lastEnd; k < v.length; k++) out.push(v[k]);
  return { ok: true, value: fromCodePoints(out) };
}
