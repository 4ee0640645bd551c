/**
 * Translates a Go `regexp` (RE2 syntax, Perl flags) source string into an equivalent JavaScript RegExp.
 *
 * moby's pattern matcher turns a `.dockerignore` glob into an RE2 source string and lets Go's regexp parser give
 * it meaning. That string passes `[`, `]`, `^` and `\x` escapes through from the user's pattern, so odd patterns
 * (`[*]`, `\d`, `[[:alpha:]]`, a reversed range) mean whatever RE2 makes of them, including compile errors. To
 * match exactly, this module parses the RE2 source with RE2's rules and emits a JavaScript regex (`u` flag) with
 * the same meaning. Supported: literals, `.`, `^`, `$`, groups, `|`, `* + ?` (and lazy forms), bracket classes
 * with ranges, negation, POSIX `[:name:]`, Perl `\d\s\w` (ASCII, as RE2), `\pX`/`\p{Name}`, `\Q…\E`, `\A`, `\z`,
 * `\b`, `\B`, and RE2's escape forms (octal, `\x`, `\a\f\n\r\t\v`). Anything else is an error, like RE2.
 */

export class Re2SyntaxError extends Error {}

type Range = [number, number];

const PERL: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const POSIX: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const MAX_RUNE = 0x10ffff;

function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function cpEscape(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f) {
    return String.fromCodePoint(cp);
  }
  return `\\u{${cp.toString(16)}}`;
}

function rangesSource(ranges: Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? cpEscape(lo) : `${cpEscape(lo)}-${cpEscape(hi)}`)).join('');
}

function isOctal(cp: number | undefined): boolean {
  return cp !== undefined && cp >= 0x30 && cp <= 0x37;
}

function isHex(cp: number | undefined): boolean {
  return cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66));
}

function isAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

/** A JS property escape for an RE2 Unicode class name, or null if neither a category nor a script. */
function unicodeProperty(name: string, negated: boolean): string | null {
  const p = negated ? 'P' : 'p';
  const candidates = /^(Any|[A-Z][a-z]?)$/.test(name) ? [`\\${p}{${name}}`] : [`\\${p}{Script=${name}}`];
  for (const c of candidates) {
    try {
      new RegExp(c, 'u');
      return c;
    } catch {
      /* not a property JavaScript knows */
    }
  }
  return null;
}

class Parser {
  private readonly cps: number[];
  private pos = 0;
  private depth = 0;

  constructor(source: string) {
    this.cps = Array.from(source, (ch) => ch.codePointAt(0)!);
  }

  parse(): string {
    const out = this.alternation();
    if (this.pos < this.cps.length) throw new Re2SyntaxError('unexpected )');
    return out;
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.pos + offset];
  }

  private alternation(): string {
    const alts = [this.concat()];
    while (this.peek() === 0x7c /* | */) {
      this.pos++;
      alts.push(this.concat());
    }
    return alts.join('|');
  }

  private concat(): string {
    let out = '';
    // where the last item (atom plus its repetition operators) starts in `out`
    let lastStart = 0;
    // whether the last item can take a repetition operator, and whether it already has one
    let lastAtom: 'none' | 'atom' | 'repeated' = 'none';
    // RE2 forbids stacking operators (`a**`) only when they are adjacent: after an empty \Q\E it repeats the repeat
    let stackable = false;
    while (this.pos < this.cps.length) {
      const c = this.peek()!;
      if (c === 0x7c) break;
      if (c === 0x29 /* ) */) {
        if (this.depth === 0) throw new Re2SyntaxError('unexpected )');
        break;
      }
      let repeat: string | undefined;
      if (c === 0x2a || c === 0x2b || c === 0x3f) {
        // * + ?
        this.pos++;
        repeat = String.fromCodePoint(c);
      } else if (c === 0x7b) {
        // {n}, {n,}, {n,m}; anything else is a literal "{"
        const r = this.repeatCount();
        if (r !== null) repeat = r;
      }
      if (repeat !== undefined) {
        if (lastAtom === 'repeated' && !stackable) throw new Re2SyntaxError('invalid nested repetition operator');
        if (lastAtom === 'none') throw new Re2SyntaxError('missing argument to repetition operator');
        if (lastAtom === 'repeated') out = out.slice(0, lastStart) + `(?:${out.slice(lastStart)})`;
        out += repeat;
        if (this.peek() === 0x3f) {
          this.pos++;
          out += '?';
        }
        lastAtom = 'repeated';
        stackable = false;
        continue;
      }
      const atom = this.atom();
      if (atom.src === '') {
        // an empty \Q\E leaves the previous item in place
        stackable = true;
        continue;
      }
      lastStart = out.length;
      out += atom.src;
      lastAtom = atom.repeatable ? 'atom' : 'none';
      stackable = false;
    }
    return out;
  }

  /** Parses `{min[,[max]]}` at the cursor (RE2 rules); null (cursor unchanged) when it is not a repeat. */
  private repeatCount(): string | null {
    const start = this.pos;
    const num = (): number | null => {
      const from = this.pos;
      while (this.peek() !== undefined && this.peek()! >= 0x30 && this.peek()! <= 0x39) this.pos++;
      if (this.pos === from) return null;
      const digits = String.fromCodePoint(...this.cps.slice(from, this.pos));
      if (digits.length >= 2 && digits[0] === '0') return null; // no leading zeros
      return digits.length > 8 ? -1 : Number(digits);
    };
    this.pos++; // {
    const min = num();
    if (min === null) {
      this.pos = start;
      return null;
    }
    let max: number | null = min;
    if (this.peek() === 0x2c) {
      this.pos++;
      max = this.peek() === 0x7d ? -2 /* open */ : num();
      if (max === null) {
        this.pos = start;
        return null;
      }
    }
    if (this.peek() !== 0x7d) {
      this.pos = start;
      return null;
    }
    this.pos++;
    if (min < 0 || min > 1000 || max > 1000 || max === -1 || (max >= 0 && min > max)) {
      throw new Re2SyntaxError('invalid repeat count');
    }
    return max === -2 ? `{${min},}` : max === min ? `{${min}}` : `{${min},${max}}`;
  }

  private atom(): { src: string; repeatable: boolean } {
    const c = this.cps[this.pos++]!;
    switch (c) {
      case 0x28: {
        // (
        if (this.peek() === 0x3f) throw new Re2SyntaxError('unsupported group flags');
        this.depth++;
        const inner = this.alternation();
        if (this.peek() !== 0x29) throw new Re2SyntaxError('missing closing )');
        this.pos++;
        this.depth--;
        return { src: `(?:${inner})`, repeatable: true };
      }
      // assertions are grouped: RE2 lets them take a repetition operator, JavaScript only inside a group
      case 0x5e: // ^ (begin of text: no multi-line flag)
        return { src: '(?:^)', repeatable: true };
      case 0x24: // $ (end of text)
        return { src: '(?:$)', repeatable: true };
      case 0x2e: // . never matches \n without the s flag
        return { src: '[^\\n]', repeatable: true };
      case 0x5b: // [
        return { src: this.bracketClass(), repeatable: true };
      case 0x5c: // backslash
        return this.escapeAtom();
      default:
        return { src: cpEscape(c), repeatable: true };
    }
  }

  private escapeAtom(): { src: string; repeatable: boolean } {
    const c = this.peek();
    if (c === undefined) throw new Re2SyntaxError('trailing backslash at end of expression');
    switch (c) {
      case 0x41: // \A
        this.pos++;
        return { src: '(?:^)', repeatable: true };
      case 0x7a: // \z
        this.pos++;
        return { src: '(?:$)', repeatable: true };
      case 0x62: // \b
        this.pos++;
        return { src: '(?:\\b)', repeatable: true };
      case 0x42: // \B
        this.pos++;
        return { src: '(?:\\B)', repeatable: true };
      case 0x51: {
        // \Q ... \E literal text
        this.pos++;
        let lit = '';
        while (this.pos < this.cps.length) {
          if (this.peek() === 0x5c && this.peek(1) === 0x45) {
            this.pos += 2;
            break;
          }
          lit += cpEscape(this.cps[this.pos++]!);
        }
        // not grouped: a repetition after \Q…\E applies to its last character only, as in RE2
        return { src: lit, repeatable: true };
      }
      default: {
        const cls = this.classEscape();
        if (cls !== null) return { src: `[${cls}]`, repeatable: true };
        return { src: cpEscape(this.escapeChar()), repeatable: true };
      }
    }
  }

  /** After a backslash: \d \s \w (and negations) or \p/\P classes, as class-body source; null if not one. */
  private classEscape(): string | null {
    const c = this.peek();
    if (c === undefined) return null;
    const letter = String.fromCodePoint(c);
    const lower = letter.toLowerCase();
    if ((lower === 'd' || lower === 's' || lower === 'w') && isAlnum(c)) {
      this.pos++;
      const ranges = PERL[lower]!;
      return rangesSource(letter === lower ? ranges : complement(ranges));
    }
    if (letter === 'p' || letter === 'P') {
      this.pos++;
      let name: string;
      const n = this.peek();
      if (n === undefined) throw new Re2SyntaxError('invalid character class range');
      if (n === 0x7b) {
        const end = this.cps.indexOf(0x7d, this.pos);
        if (end < 0) throw new Re2SyntaxError('invalid character class range');
        name = String.fromCodePoint(...this.cps.slice(this.pos + 1, end));
        this.pos = end + 1;
      } else {
        name = String.fromCodePoint(n);
        this.pos++;
      }
      let negated = letter === 'P';
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
      const prop = unicodeProperty(name, negated);
      if (prop === null) throw new Re2SyntaxError(`invalid character class range: \\p{${name}}`);
      return prop;
    }
    return null;
  }

  /** RE2's parseEscape: the code point an escape sequence stands for (the backslash is already consumed). */
  private escapeChar(): number {
    const c = this.cps[this.pos++];
    if (c === undefined) throw new Re2SyntaxError('trailing backslash at end of expression');
    if (c < 0x80 && !isAlnum(c)) return c; // escaped punctuation is itself
    if (c >= 0x31 && c <= 0x37 && isOctal(this.peek())) {
      // \12 is octal; a lone \1 would be a backreference, which RE2 rejects
      return this.octal(c);
    }
    if (c === 0x30) return this.octal(c);
    switch (c) {
      case 0x78: {
        // \x
        const n = this.peek();
        if (n === 0x7b) {
          const end = this.cps.indexOf(0x7d, this.pos);
          const digits = end < 0 ? [] : this.cps.slice(this.pos + 1, end);
          if (end < 0 || digits.length === 0 || !digits.every((d) => isHex(d))) throw new Re2SyntaxError('invalid escape sequence');
          const v = parseInt(String.fromCodePoint(...digits), 16);
          if (v > MAX_RUNE) throw new Re2SyntaxError('invalid escape sequence');
          this.pos = end + 1;
          return v;
        }
        if (!isHex(n) || !isHex(this.peek(1))) throw new Re2SyntaxError('invalid escape sequence');
        const v = parseInt(String.fromCodePoint(n!, this.peek(1)!), 16);
        this.pos += 2;
        return v;
      }
      case 0x61:
        return 0x07; // \a
      case 0x66:
        return 0x0c; // \f
      case 0x6e:
        return 0x0a; // \n
      case 0x72:
        return 0x0d; // \r
      case 0x74:
        return 0x09; // \t
      case 0x76:
        return 0x0b; // \v
      default:
        throw new Re2SyntaxError('invalid escape sequence');
    }
  }

  private octal(first: number): number {
    let v = first - 0x30;
    for (let i = 0; i < 2 && isOctal(this.peek()); i++) v = v * 8 + (this.cps[this.pos++]! - 0x30);
    return v;
  }

  /** A bracket class; the '[' is consumed. Returns a JS class source. */
  private bracketClass(): string {
    let negated = false;
    if (this.peek() === 0x5e) {
      negated = true;
      this.pos++;
    }
    const parts: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Re2SyntaxError('missing closing ]');
      if (c === 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === 0x5b && this.peek(1) === 0x3a) {
        const named = this.posixClass();
        if (named !== null) {
          parts.push(named);
          continue;
        }
      }
      if (c === 0x5c) {
        this.pos++;
        const cls = this.classEscape();
        if (cls !== null) {
          parts.push(cls);
          continue;
        }
        this.pos--;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === 0x2d && this.peek(1) !== undefined && this.peek(1) !== 0x5d) {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) throw new Re2SyntaxError('invalid character class range');
      }
      parts.push(rangesSource([[lo, hi]]));
    }
    return `[${negated ? '^' : ''}${parts.join('')}]`;
  }

  private classChar(): number {
    const c = this.cps[this.pos++];
    if (c === undefined) throw new Re2SyntaxError('missing closing ]');
    if (c === 0x5c) return this.escapeChar();
    return c;
  }

  /** `[:name:]` or `[:^name:]` at the cursor; null (cursor unchanged) if it is not one. */
  private posixClass(): string | null {
    const start = this.pos;
    let end = -1;
    for (let i = start + 2; i + 1 < this.cps.length; i++) {
      if (this.cps[i] === 0x3a && this.cps[i + 1] === 0x5d) {
        end = i;
        break;
      }
    }
    if (end < 0) return null;
    let name = String.fromCodePoint(...this.cps.slice(start + 2, end));
    let negated = false;
    if (name.startsWith('^')) {
      negated = true;
      name = name.slice(1);
    }
    const ranges = POSIX[name];
    if (!ranges) throw new Re2SyntaxError(`invalid character class range: [:${name}:]`);
    this.pos = end + 2;
    return rangesSource(negated ? complement(ranges) : ranges);
  }
}

/** Compiles RE2 source to a JavaScript RegExp with the same meaning; throws Re2SyntaxError where RE2 would. */
export function compileRe2(source: string): RegExp {
  const js = new Parser(source).parse();
  try {
    return new RegExp(js, 'u');
  } catch (e) {
    throw new Re2SyntaxError(e instanceof Error ? e.message : String(e));
  }
}
