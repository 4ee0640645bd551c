/**
 * The scanner behind expandWord/expandWords/findVariableRefs (shell.ts): one left-to-right pass over a word,
 * giving BuildKit's results (frontend/dockerfile/shell/lex.go), quirks included:
 * - one word buffer is shared by every nesting level, so an inner `${v:-...}` drops the outer word's text
 *   gathered so far from the split result (`he${X:-a b}c` splits to `a`, `bc`);
 * - after `${v:` any character is read as a modifier; unknown ones fail only once the word is read;
 * - `##`/`%%` is decided on the expanded word; with skipUnsetEnv, `${v//p/r}` comes back as `${v/p/r}`;
 * - a U+FEFF at the start of the word is dropped (Go's text/scanner).
 * Internal: use the functions in shell.ts.
 */
import type { LexOptions, ShellEnv, VarRef } from './shell';
import { replacePattern, runeText, trimPatternPrefix, trimPatternSuffix } from './shell-pattern';
import { isGoDigit, isGoLetter, isGoSpace } from './shell-text';

const EOF = -1;
const DOLLAR = 0x24;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COLON = 0x3a;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const LT = 0x3c;
const SLASH = 0x2f;
const HASH = 0x23;
const PERCENT = 0x25;
const PLUS = 0x2b;
const MINUS = 0x2d;
const QUESTION = 0x3f;
/** deeper `${a:-${b:-...}}` nesting is refused instead of exhausting the stack */
const MAX_DEPTH = 1000;

export class LexError {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

function isSpecialParam(c: number): boolean {
  // @ * # ? - $ ! 0
  return c === 0x40 || c === 0x2a || c === HASH || c === QUESTION || c === MINUS || c === DOLLAR || c === 0x21 || c === 0x30;
}

interface Level {
  words: string[];
  inWord: boolean;
}

interface RefInfo {
  start: number;
  braced: boolean;
  modifier?: string;
  nameStart: number;
  nameEnd: number;
}

export class Lexer {
  private pos = 0;
  private depth = 0;
  private rawEscapes: boolean;
  private readonly esc: number;
  private readonly rawQuotes: boolean;
  private readonly quotes: boolean;
  private readonly skipUnset: boolean;
  /** BuildKit keeps one word buffer for all nesting levels: an inner `${v:-...}` empties the outer word. */
  private buf = '';
  /** the names looked up that were set / unset (made on the first lookup: most words look up nothing) */
  matched: Set<string> | undefined;
  unmatched: Set<string> | undefined;

  constructor(
    private readonly s: string,
    private readonly env: ShellEnv | undefined,
    opts: LexOptions,
    /** scan mode (no env): record references, skip the errors that depend on values */
    private readonly refs?: VarRef[],
  ) {
    this.esc = (opts.escape ?? '\\').charCodeAt(0);
    this.rawQuotes = !!opts.rawQuotes;
    this.rawEscapes = !!opts.rawEscapes;
    this.quotes = !opts.skipProcessQuotes;
    this.skipUnset = !!opts.skipUnsetEnv && !refs;
    // Go's text/scanner drops a byte-order mark at the start of its input
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  run(): { value: string; words: string[] } {
    return this.stopOn(EOF, this.rawEscapes, 0);
  }

  private peek(): number {
    return this.pos < this.s.length ? this.s.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    const c = this.peek();
    if (c !== EOF) this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  private getEnv(name: string, ref: RefInfo): string | undefined {
    if (this.refs) {
      const r: VarRef = { name, start: ref.start, end: this.pos, braced: ref.braced, nameStart: ref.nameStart, nameEnd: ref.nameEnd };
      if (ref.modifier !== undefined) r.modifier = ref.modifier;
      this.refs.push(r);
      return undefined;
    }
    const v = this.env!.get(name);
    if (v === undefined) (this.unmatched ??= new Set()).add(name);
    else (this.matched ??= new Set()).add(name);
    return v;
  }

  // word splitting, on the shared buffer
  private addChar(l: Level, ch: string, c: number): void {
    if (isGoSpace(c)) {
      if (l.inWord && this.buf.length !== 0) {
        l.words.push(this.buf);
        this.buf = '';
        l.inWord = false;
      }
    } else {
      this.buf += ch;
      l.inWord = true;
    }
  }

  /** Add expanded text: blanks split words. Runs of non-blank characters are added at once. */
  private addString(l: Level, str: string): void {
    const n = str.length;
    let i = 0;
    while (i < n) {
      let j = i;
      // surrogate halves are never blanks, so UTF-16 units can be tested one by one
      while (j < n && !isGoSpace(str.charCodeAt(j))) j++;
      if (j > i) {
        this.buf += j - i === n ? str : str.slice(i, j);
        l.inWord = true;
      }
      if (j < n) {
        if (l.inWord && this.buf.length !== 0) {
          l.words.push(this.buf);
          this.buf = '';
          l.inWord = false;
        }
        j++;
      }
      i = j;
    }
  }

  private addRaw(l: Level, str: string): void {
    this.buf += str;
    l.inWord = true;
  }

  private finish(l: Level): string[] {
    if (this.buf.length > 0) {
      l.words.push(this.buf);
      this.buf = '';
      l.inWord = false;
    }
    return l.words;
  }

  /** Process up to `stop` (consumed) or the end of the word. `openAt`: where the construct began. */
  private stopOn(stop: number, raw: boolean, openAt: number): { value: string; words: string[] } {
    if (++this.depth > MAX_DEPTH) throw new LexError('too deeply nested', openAt);
    const saved = this.rawEscapes;
    this.rawEscapes = raw;
    let result = '';
    this.buf = '';
    const l: Level = { words: [], inWord: false };
    try {
      for (;;) {
        const ch = this.peek();
        if (ch === EOF) break;
        if (ch === stop) {
          this.next();
          return { value: result, words: this.finish(l) };
        }
        if (ch === DOLLAR) {
          const t = this.dollar();
          result += t;
          this.addString(l, t);
        } else if (ch === LT) {
          const t = this.possibleHeredoc();
          result += t;
          this.addRaw(l, t);
        } else if (this.quotes && (ch === SQUOTE || ch === DQUOTE)) {
          const t = ch === SQUOTE ? this.singleQuote() : this.doubleQuote();
          result += t;
          this.addRaw(l, t);
        } else {
          let at = this.pos;
          let c = this.next();
          if (c === this.esc) {
            if (this.rawEscapes) {
              const e = this.s.slice(at, this.pos);
              this.addRaw(l, e);
              result += e;
            }
            at = this.pos;
            c = this.next();
            if (c === EOF) break; // an escape at the very end is dropped
            const t = this.s.slice(at, this.pos);
            this.addRaw(l, t);
            result += t;
          } else if (isGoSpace(c)) {
            this.addChar(l, this.s.slice(at, this.pos), c);
            result += this.s.slice(at, this.pos);
          } else {
            // a run of ordinary characters, added at once
            const s = this.s;
            let j = this.pos;
            for (; j < s.length; j++) {
              const u = s.charCodeAt(j);
              if (u === DOLLAR || u === LT || u === this.esc || u === stop || isGoSpace(u) || (this.quotes && (u === SQUOTE || u === DQUOTE))) break;
            }
            this.pos = j;
            const t = s.slice(at, j);
            this.addRaw(l, t);
            result += t;
          }
        }
      }
      if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${runeText(stop)}`, openAt);
      return { value: result, words: this.finish(l) };
    } finally {
      this.rawEscapes = saved;
      this.depth--;
    }
  }

  private singleQuote(): string {
    // everything up to the next ' is literal; a ' cannot be escaped inside
    const open = this.pos;
    this.pos++;
    const close = this.s.indexOf("'", this.pos);
    if (close < 0) {
      this.pos = this.s.length;
      throw new LexError('unexpected end of statement while looking for matching single-quote', open);
    }
    const body = this.s.slice(this.pos, close);
    this.pos = close + 1;
    return this.rawQuotes ? `'${body}'` : body;
  }

  private doubleQuote(): string {
    // literal except `$` expansions; the escape character escapes only `"`, `$` and itself
    const open = this.pos;
    this.pos++;
    let result = this.rawQuotes ? '"' : '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote', open);
      if (ch === DQUOTE) {
        this.pos++;
        return this.rawQuotes ? result + '"' : result;
      }
      if (ch === DOLLAR) {
        result += this.dollar();
        continue;
      }
      let at = this.pos;
      const c = this.next();
      if (c !== this.esc) {
        // a run of characters that are neither `"`, `$` nor the escape character
        const s = this.s;
        let j = this.pos;
        while (j < s.length) {
          const u = s.charCodeAt(j);
          if (u === DQUOTE || u === DOLLAR || u === this.esc) break;
          j++;
        }
        this.pos = j;
      } else {
        if (this.rawEscapes) result += this.s.slice(at, this.pos);
        const n = this.peek();
        if (n === EOF) continue; // reported as the missing closing quote
        if (n === DQUOTE || n === DOLLAR || n === this.esc) {
          at = this.pos;
          this.next();
        }
        // any other character: the escape character itself is kept (twice with raw escapes, as BuildKit)
      }
      result += this.s.slice(at, this.pos);
    }
  }

  private possibleHeredoc(): string {
    // `<<` and the blanks after it stay glued to the delimiter word
    const start = this.pos;
    this.pos++;
    if (this.peek() !== LT) return '<';
    this.pos++;
    for (let c = this.peek(); c === 0x20 || c === 0x09 || c === 0x0d; c = this.peek()) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private name(): string {
    const start = this.pos;
    let c = this.peek();
    if (c === EOF) return '';
    if (isGoDigit(c)) {
      // positional parameter: all the digits
      while (c !== EOF && isGoDigit(c)) {
        this.next();
        c = this.peek();
      }
      return this.s.slice(start, this.pos);
    }
    if (isSpecialParam(c)) {
      this.next();
      return this.s.slice(start, this.pos);
    }
    while (c !== EOF && (isGoLetter(c) || isGoDigit(c) || c === 0x5f)) {
      this.next();
      c = this.peek();
    }
    return this.s.slice(start, this.pos);
  }

  private dollar(): string {
    const start = this.pos;
    this.pos++; // $
    if (this.peek() !== LBRACE) {
      const nameStart = this.pos;
      const name = this.name();
      if (name === '') return '$';
      const v = this.getEnv(name, { start, braced: false, nameStart, nameEnd: this.pos });
      if (v === undefined && this.skipUnset) return '$' + name;
      return v ?? '';
    }
    this.pos++; // {
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'", start);
    if (first === LBRACE || first === RBRACE || first === COLON) throw new LexError('syntax error: bad substitution', start);
    const nameStart = this.pos;
    const name = this.name();
    const nameEnd = this.pos;
    const modAt = this.pos;
    let ch = this.next();
    let chs = runeText(ch);
    const ref: RefInfo = { start, braced: true, nameStart, nameEnd };

    if (ch === RBRACE) {
      const v = this.getEnv(name, ref);
      if (v === undefined && this.skipUnset) return '${' + name + '}';
      return v ?? '';
    }

    if (ch === COLON || ch === PLUS || ch === MINUS || ch === QUESTION || ch === HASH || ch === PERCENT) {
      const nullIsUnset = ch === COLON;
      if (nullIsUnset) {
        // whatever follows the colon goes on as the modifier; unknown ones fail after the word is read
        ch = this.next();
        chs += runeText(ch);
      }
      const trim = ch === HASH || ch === PERCENT;
      if (nullIsUnset && trim) throw new LexError(`unsupported modifier (${chs}) in substitution`, modAt);
      ref.modifier = trim && this.peek() === ch ? chs + chs : chs;
      let word: string;
      try {
        word = this.stopOn(RBRACE, trim, start).value;
      } catch (e) {
        if (e instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '}'", start);
        throw e;
      }
      const value = this.getEnv(name, ref);
      const set = value !== undefined;
      if (this.skipUnset && !set) return '${' + name + chs + word + '}';
      const v = value ?? '';
      switch (ch) {
        case MINUS:
          return !set || (nullIsUnset && v === '') ? word : v;
        case PLUS:
          return !set || (nullIsUnset && v === '') ? '' : word;
        case QUESTION:
          if (this.refs) return '';
          if (!set) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`, start);
          if (nullIsUnset && v === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`, start);
          return v;
        case HASH:
        case PERCENT: {
          if (this.refs) return '';
          // a doubled modifier (`##`, `%%`) means longest match; BuildKit looks at the expanded word
          let greedy = false;
          if (word.length > 0 && word.charCodeAt(0) === ch) {
            greedy = true;
            word = word.slice(1);
          }
          const r = ch === PERCENT ? trimPatternSuffix(word, v, greedy) : trimPatternPrefix(word, v, greedy);
          if (!r.ok) throw new LexError(r.error, start);
          return r.value;
        }
        default:
          throw new LexError(`unsupported modifier (${chs}) in substitution`, modAt);
      }
    }

    if (ch === SLASH) {
      const all = this.peek() === SLASH;
      if (all) this.pos++;
      ref.modifier = all ? '//' : '/';
      let pattern: string;
      let replacement: string;
      try {
        pattern = this.stopOn(SLASH, true, start).value;
      } catch (e) {
        if (e instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '/' in ${}", start);
        throw e;
      }
      try {
        replacement = this.stopOn(RBRACE, true, start).value;
      } catch (e) {
        if (e instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '}'", start);
        throw e;
      }
      const value = this.getEnv(name, ref);
      if (this.skipUnset && value === undefined) return '${' + name + '/' + pattern + '/' + replacement + '}';
      if (this.refs) return '';
      const r = replacePattern(pattern, value ?? '', replacement, all);
      if (!r.ok) throw new LexError(r.error, start);
      return r.value;
    }

    // `${name` and then the end: BuildKit reports the end-of-input rune as the modifier
    throw new LexError(`unsupported modifier (${chs}) in substitution`, ch === EOF ? start : modAt);
  }
}
