/**
 * Heredoc delimiters on an instruction line, as BuildKit finds them: the line is split into words by the shell
 * lexer (raw quotes, raw escapes, unset variables kept), and each word matching `^(\d*)<<(-?)\s*([^<]*)$` with a
 * single-word rest is a heredoc; a quote anywhere in the delimiter turns expansion of the body off.
 */
import { expandWords, type ShellEnv } from './shell';
import { isGoSpaceCode } from './text';

const EMPTY_ENV: ShellEnv = { get: () => undefined, keys: () => [] };
const HEREDOC_RE = /^(\d*)<<(-?)\s*([^<]*)$/;

export interface HeredocWord {
  name: string;
  fd: number;
  chomp: boolean;
  expand: boolean;
}

/** BuildKit's ParseHeredoc on one word: undefined when the word is not a heredoc. */
export function parseHeredocWord(word: string): { heredoc?: HeredocWord; error?: string } {
  const m = HEREDOC_RE.exec(word);
  if (!m) return {};
  const rest = m[3]!;
  if (rest.length === 0) return {};
  const cooked = expandWords(rest, EMPTY_ENV, { skipUnsetEnv: true });
  if (!cooked.ok) return { error: cooked.error };
  if (cooked.words.length !== 1) return {};
  const raw = expandWords(rest, EMPTY_ENV, { skipUnsetEnv: true, rawQuotes: true });
  if (!raw.ok) return { error: raw.error };
  if (raw.words.length !== cooked.words.length) return { error: `internal lexing of heredoc produced inconsistent results: ${rest}` };
  const name = cooked.words[0]!;
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return {
    heredoc: {
      name,
      fd: m[1] ? Number.parseInt(m[1], 10) : 0,
      chomp: m[2] === '-',
      expand: quotes(name) === quotes(raw.words[0]!),
    },
  };
}

/** Characters the shell lexer treats specially in findHeredocs' words, besides blanks and `<`. */
const LEXER_SPECIAL = /[$'"\\\ufeff]/;

/** Every heredoc on a logical line, with where its word starts. */
export function findHeredocs(logical: string): {
  heredocs: (HeredocWord & { word: string; wordStart: number })[];
  error?: string;
} {
  if (!LEXER_SPECIAL.test(logical)) return findHeredocsPlain(logical);
  const r = expandWords(logical, EMPTY_ENV, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  const words = r.ok ? r.words : [];
  const out: (HeredocWord & { word: string; wordStart: number })[] = [];
  let cursor = 0;
  for (const w of words) {
    const found = logical.indexOf(w, cursor);
    const at = found === -1 ? cursor : found;
    if (found !== -1) cursor = found + w.length;
    const p = parseHeredocWord(w);
    if (p.error) return { heredocs: out, error: p.error };
    if (p.heredoc) out.push({ ...p.heredoc, word: w, wordStart: at });
  }
  return { heredocs: out };
}

/**
 * findHeredocs on a line without quotes, escapes, `$` or a byte order mark (nearly all heredoc lines): there the
 * lexer's words are the source text split on white space, except that the blanks right after `<<` stay with it
 * (`<< EOF` is one word), and a heredoc word's delimiter is its text after `<<`, `-` and blanks, expanded.
 */
function findHeredocsPlain(logical: string): { heredocs: (HeredocWord & { word: string; wordStart: number })[] } {
  const out: (HeredocWord & { word: string; wordStart: number })[] = [];
  const n = logical.length;
  let p = 0;
  while (p < n) {
    while (p < n && isGoSpaceCode(logical.charCodeAt(p))) p++;
    if (p >= n) break;
    const start = p;
    let lt = false;
    while (p < n) {
      const c = logical.charCodeAt(p);
      if (isGoSpaceCode(c)) break;
      if (c === 0x3c /* < */ && logical.charCodeAt(p + 1) === 0x3c) {
        lt = true;
        p += 2;
        for (let b = logical.charCodeAt(p); b === 0x20 || b === 0x09 || b === 0x0d; b = logical.charCodeAt(p)) p++;
        continue;
      }
      p++;
    }
    if (!lt) continue;
    const w = logical.slice(start, p);
    const m = HEREDOC_RE.exec(w);
    // the delimiter has no blank, quote, escape or `$`: it expands to itself, as one word
    if (m && m[3]!.length > 0) out.push({ name: m[3]!, fd: m[1] ? Number.parseInt(m[1], 10) : 0, chomp: m[2] === '-', expand: true, word: w, wordStart: start });
  }
  return { heredocs: out };
}
