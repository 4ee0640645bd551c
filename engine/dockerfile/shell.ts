/**
 * Shell-word expansion with BuildKit's results (frontend/dockerfile/shell): `$v`, `${v}`, the modifiers
 * `${v:-x}` `${v-x}` `${v:+x}` `${v+x}` `${v:?m}` `${v?m}` `${v#p}` `${v##p}` `${v%p}` `${v%%p}` `${v/p/r}`
 * `${v//p/r}`, single and double quotes, the escape character (`\` or `` ` ``), word splitting, and the
 * options the parser and the builder set (raw quotes, raw escapes, no quote processing, unset variables kept).
 *
 * The same scanner serves the builder (expandWord/expandWords) and the language server (findVariableRefs),
 * so both agree on what is a variable reference. Everything is one left-to-right pass; patterns are
 * matched without backtracking (shell-pattern.ts). Nothing here throws for any input.
 */
import { LexError, Lexer } from './shell-lexer';
import { goQuote, isGoSpace } from './shell-text';

export interface ShellEnv {
  get(name: string): string | undefined;
  keys(): string[];
}

/** An environment from a record, a Map, or BuildKit-style `KEY=VALUE` entries (later entries win). */
export function envFromRecord(r: Record<string, string> | ReadonlyMap<string, string> | readonly string[]): ShellEnv {
  const m = new Map<string, string>();
  if (Array.isArray(r)) {
    for (const e of r as readonly string[]) {
      const i = e.indexOf('=');
      if (i < 0) m.set(e, '');
      else m.set(e.slice(0, i), e.slice(i + 1));
    }
  } else if (r instanceof Map) {
    for (const [k, v] of r) m.set(k, v);
  } else {
    const rec = r as Record<string, string>;
    for (const k of Object.keys(rec)) m.set(k, rec[k]);
  }
  return { get: (name) => m.get(name), keys: () => [...m.keys()] };
}

export interface LexOptions {
  /** default `\` */
  escape?: '\\' | '`';
  /** keep quote characters in the output (BuildKit RawQuotes) */
  rawQuotes?: boolean;
  /** keep escape characters in the output (BuildKit RawEscapes) */
  rawEscapes?: boolean;
  /** quotes are ordinary characters (BuildKit SkipProcessQuotes) */
  skipProcessQuotes?: boolean;
  /** leave `$VAR` / `${VAR...}` text untouched when VAR is unset (BuildKit SkipUnsetEnv) */
  skipUnsetEnv?: boolean;
}

export type ExpandResult =
  | { ok: true; value: string; words: string[]; matched: ReadonlySet<string>; unmatched: ReadonlySet<string> }
  | {
      ok: false;
      error: string;
      /** UTF-16 index into the input word where the problem is, if known */
      offset?: number;
    };

/** A variable reference in a word. Offsets are UTF-16 indexes into the word; `end` is exclusive. */
export interface VarRef {
  name: string;
  /** the `$` */
  start: number;
  /** after the name (`$v`) or after the closing `}` */
  end: number;
  braced: boolean;
  /** `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//` (or the unsupported text, e.g. `:=`) */
  modifier?: string;
  nameStart: number;
  nameEnd: number;
}

/** What words without a variable look up (shared: the results are read only). */
const NONE: ReadonlySet<string> = new Set<string>();

/**
 * A word the scanner would copy as it is: no `$`, no `<` (a heredoc word), no escape character, no quote that
 * quote processing would remove, and no byte-order mark at the start. Most words are such (paths, versions, names).
 */
function isPlain(word: string, opts: LexOptions): boolean {
  const esc = opts.escape === '`' ? 0x60 : 0x5c;
  const quotes = !opts.skipProcessQuotes;
  const n = word.length;
  if (n > 0 && word.charCodeAt(0) === 0xfeff) return false;
  for (let i = 0; i < n; i++) {
    const c = word.charCodeAt(i);
    if (c === 0x24 || c === 0x3c || c === esc || (quotes && (c === 0x27 || c === 0x22))) return false;
  }
  return true;
}

/** The words of a plain word: its runs of non-blank characters (as the scanner splits them). */
function splitPlain(word: string): string[] {
  const words: string[] = [];
  const n = word.length;
  let i = 0;
  while (i < n) {
    while (i < n && isGoSpace(word.charCodeAt(i))) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && !isGoSpace(word.charCodeAt(j))) j++;
    words.push(j - i === n ? word : word.slice(i, j));
    i = j;
  }
  return words;
}

function expand(word: string, env: ShellEnv, opts: LexOptions): ExpandResult {
  // the scanner's result for a word with nothing to expand, without running it
  if (isPlain(word, opts)) return { ok: true, value: word, words: splitPlain(word), matched: NONE, unmatched: NONE };
  const lx = new Lexer(word, env, opts);
  try {
    const { value, words } = lx.run();
    return { ok: true, value, words, matched: lx.matched ?? NONE, unmatched: lx.unmatched ?? NONE };
  } catch (e) {
    if (e instanceof LexError) return { ok: false, error: `failed to process ${goQuote(word)}: ${e.message}`, offset: e.offset };
    return { ok: false, error: `failed to process ${goQuote(word)}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * BuildKit's ProcessWord / ProcessWordWithMatches: `value` is the expansion without word splitting;
 * `words` is the split result too; `matched`/`unmatched` are the variable names looked up, set or not.
 */
export function expandWord(word: string, env: ShellEnv, opts: LexOptions = {}): ExpandResult {
  return expand(word, env, opts);
}

/** expandWord's `value` when it succeeds, `fallback` when it fails (no result object for a word with nothing to expand). */
export function expandWordOr(word: string, env: ShellEnv, opts: LexOptions, fallback: string): string {
  if (isPlain(word, opts)) return word;
  const r = expand(word, env, opts);
  return r.ok ? r.value : fallback;
}

/** BuildKit's ProcessWords: `words` is the expansion split on unquoted blanks (quotes keep a word together). */
export function expandWords(word: string, env: ShellEnv, opts: LexOptions = {}): ExpandResult {
  return expand(word, env, opts);
}

/**
 * Every variable reference in `word`, in order of their `$`, without expanding: what expandWord would look
 * up (unquoted and double-quoted references; not in single quotes, not after the escape character; nested
 * ones in modifier words too). On a syntax error, the references found before it.
 */
export function findVariableRefs(word: string, opts: LexOptions = {}): VarRef[] {
  const refs: VarRef[] = [];
  try {
    new Lexer(word, undefined, opts, refs).run();
  } catch (e) {
    if (!(e instanceof LexError)) throw e;
  }
  return refs.sort((a, b) => a.start - b.start);
}
