/**
 * Heredoc delimiters on an instruction line, as BuildKit finds them: the line is split into words by the shell
 * lexer (raw quotes, raw escapes, unset variables kept), and each word matching `^(\d*)<<(-?)\s*([^<]*)$` with a
 * single-word rest is a heredoc; a quote anywhere in the delimiter turns expansion of the body off.
 */
import { expandWords, type ShellEnv } from './shell';

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

/** Every heredoc on a logical line, with where its word starts. */
export function findHeredocs(logical: string): {
  heredocs: (HeredocWord & { word: string; wordStart: number })[];
  error?: string;
} {
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
