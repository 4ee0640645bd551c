/**
 * The physical-line layer of the parser, with BuildKit's rules: the BOM, parser directives (only before anything
 * else, `syntax`/`escape`/`check`, once each), comments, line continuations with the escape character (comment
 * lines and empty lines inside a continuation are dropped, the latter with a warning), and heredoc bodies.
 * It produces "logical lines" (BuildKit's `Original`) and a map from every offset of a logical line back to the
 * source, so that every token the upper layers cut out of it gets an exact range.
 */
import type { Comment, Directive, ParseProblem, Position, Range } from './types';
import { computeLineStarts, isGoSpaceCode } from './text';

/**
 * Maps offsets in a logical line to source positions. The logical line is made of segments, each `length`
 * characters copied from one source line starting at a column; they are kept flat, four numbers a segment
 * (logical offset, line, column, length). The scanner keeps one map and refills it for each logical line
 * (`reset`, `add`): a map is valid until the next line is scanned.
 */
/** Offsets past this in a logical line get no shared positions (the cache would grow with the line). */
const CACHED_OFFSETS = 4096;

export class LineMap {
  private segs: number[] = [];
  /** numbers in use in `segs` (four a segment) */
  private used = 0;
  private fallbackLine = 0;
  private fallbackChar = 0;
  /**
   * The positions made for this logical line, by key (2 × offset, + 1 for an end on a segment boundary), valid
   * where `stamps` holds the line's generation: tokens that start or end at the same offset share one Position
   * object (the tree is read only; the language server's shifting of re-used subtrees handles shared objects).
   */
  private cache: Position[] = [];
  private stamps: number[] = [];
  private gen = 0;

  /** Starts a logical line; the fallback is the position every offset maps to when the line has no segment. */
  reset(fallbackLine: number, fallbackChar: number): void {
    this.used = 0;
    this.fallbackLine = fallbackLine;
    this.fallbackChar = fallbackChar;
    this.gen++;
  }

  add(off: number, line: number, col: number, length: number): void {
    const segs = this.segs;
    const u = this.used;
    if (u === segs.length) segs.push(off, line, col, length);
    else {
      segs[u] = off;
      segs[u + 1] = line;
      segs[u + 2] = col;
      segs[u + 3] = length;
    }
    this.used = u + 4;
  }

  /** The source position of logical offset `off`. With `asEnd`, an offset on a segment boundary maps to the
   *  end of the earlier segment (so that a token's end does not jump to the next line). */
  pos(off: number, asEnd = false): Position {
    const segs = this.segs;
    const n = this.used >> 2;
    // `asEnd` only matters where there is more than one segment
    const key = asEnd && n > 1 ? off * 2 + 1 : off * 2;
    const stamps = this.stamps;
    if (key >= 0 && key < stamps.length && stamps[key] === this.gen) return this.cache[key]!;
    let p: Position;
    if (n === 0) p = { line: this.fallbackLine, character: this.fallbackChar };
    else {
      let k = 0;
      if (n > 1) {
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (segs[mid << 2]! <= off) lo = mid;
          else hi = mid - 1;
        }
        k = lo;
        if (asEnd && off === segs[k << 2] && k > 0 && off > 0) k--;
      }
      const b = k << 2;
      let within = off - segs[b]!;
      if (within < 0) within = 0;
      else if (within > segs[b + 3]!) within = segs[b + 3]!;
      p = { line: segs[b + 1]!, character: segs[b + 2]! + within };
    }
    if (key >= 0 && key < CACHED_OFFSETS * 2) {
      const cache = this.cache;
      while (stamps.length <= key) {
        stamps.push(0);
        cache.push(p);
      }
      stamps[key] = this.gen;
      cache[key] = p;
    }
    return p;
  }

  range(start: number, end: number): Range {
    return { start: this.pos(start), end: this.pos(end, end > start) };
  }
}

export interface RawHeredoc {
  name: string;
  fd: number;
  chomp: boolean;
  expand: boolean;
  content: string;
  /** the `<<EOF` word as found in the logical line */
  word: string;
  wordStart: number;
  bodyRange: Range;
  terminatorRange: Range | undefined;
}

export interface LogicalLine<P = unknown> {
  text: string;
  /** the file's escape character */
  escape: '\\' | '`';
  /** what the heredoc gate parsed of this line, when it looked at it */
  parsed?: P;
  map: LineMap;
  /** 0-based physical lines: first, and last of the continuation (before heredoc bodies) */
  firstLine: number;
  lastLine: number;
  /** the end of the instruction (after heredoc terminators) */
  end: Position;
  comments: Comment[];
  heredocs: RawHeredoc[];
  problems: ParseProblem[];
}

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/** The count of Go white space characters at s[from..to). */
function leadingSpace(s: string, from = 0, to = s.length): number {
  let i = from;
  while (i < to && isGoSpaceCode(s.charCodeAt(i))) i++;
  return i - from;
}

/**
 * BuildKit's line-continuation rule on s[from..to): a trailing escape (plus spaces/tabs) not preceded by another
 * escape. Returns where the text before the escape ends (an index into `s`), or -1 when the line is not continued.
 */
export function continuationCut(s: string, from: number, to: number, esc: string): number {
  const e = esc.charCodeAt(0);
  let j = to;
  let c = s.charCodeAt(j - 1);
  while (j > from && (c === 0x20 || c === 0x09)) c = s.charCodeAt(--j - 1);
  if (j > from && c === e) {
    if (j - 1 === from) return from;
    if (s.charCodeAt(j - 2) !== e) return j - 1;
  }
  return -1;
}

/** Shared empty lists for the logical lines that have none (never mutated: buildInstruction copies them). */
const NO_HEREDOCS: RawHeredoc[] = [];
const NO_PROBLEMS: ParseProblem[] = [];
const NO_COMMENTS: Comment[] = [];

export interface LineScan {
  escape: '\\' | '`';
  directives: Directive[];
  comments: Comment[];
  problems: ParseProblem[];
  bom: boolean;
  /** UTF-16 offset of the start of each line (as computeLineStarts) */
  lineStarts: number[];
}

export type HeredocFinder = (
  logical: string,
) => { heredocs: { name: string; fd: number; chomp: boolean; expand: boolean; word: string; wordStart: number }[]; error?: string };

/** Whether a logical line may carry heredocs (RUN/COPY/ADD not in JSON form, also behind ONBUILD), with what the
 *  gate parsed of the line to decide it. */
export type HeredocGate<P> = (logical: string, escape: '\\' | '`', map: LineMap) => { carries: boolean; node: P };

/** The pieces of a continued logical line, joined once it is complete (one list for the whole scan). */
const parts: string[] = [];

/**
 * Scans the text into logical lines and hands each to `emit` as soon as it is complete. The LogicalLine object
 * and its map are the scanner's own and are refilled for the next line: `emit` must take what it keeps.
 * `gate` and `findHeredocs` come from the instruction layer (they need the keyword dispatch and the shell
 * lexer); they decide which lines carry heredocs and where their delimiters are.
 *
 * Physical lines are read in place: a line ends at `\n` (not part of it), its trailing `\r`s are not part of
 * its text (BuildKit's trimNewline), and a byte order mark at the very start is not part of line 0 (column 1).
 */
export function scanLines<P>(text: string, gate: HeredocGate<P>, findHeredocs: HeredocFinder, emit: (ll: LogicalLine<P>) => void): LineScan {
  const n = text.length;
  const starts = computeLineStarts(text);
  const bom = text.charCodeAt(0) === 0xfeff;
  const out: LineScan = { escape: '\\', directives: [], comments: [], problems: [], bom, lineStarts: starts };
  /** physical line count: no line after a final `\n` */
  const count = n === 0 ? 0 : text.charCodeAt(n - 1) === 0x0a ? starts.length - 1 : starts.length;
  /** where line i's text starts (after the BOM on line 0) */
  const lineStart = (i: number): number => (i === 0 && bom ? 1 : starts[i]!);
  /** where line i ends, before its `\n` */
  const rawEnd = (i: number): number => (i + 1 < starts.length ? starts[i + 1]! - 1 : n);
  /** where line i's text ends (trailing `\r`s removed) */
  const textEnd = (i: number, from: number): number => {
    let e = rawEnd(i);
    while (e > from && text.charCodeAt(e - 1) === 0x0d) e--;
    return e;
  };
  const colOf = (i: number): number => (i === 0 && bom ? 1 : 0);

  let directivesDone = false;
  const seen = new Set<string>();

  const directiveAt = (i: number, stripped: string, lead: number, lineLength: number): boolean => {
    if (directivesDone) return false;
    if (!stripped.startsWith('#')) {
      directivesDone = true;
      return false;
    }
    const afterHash = stripped.slice(1);
    const ws = leadingSpace(afterHash);
    const m = DIRECTIVE_RE.exec(afterHash.slice(ws));
    if (!m) {
      directivesDone = true;
      return false;
    }
    const name = m[1]!.toLowerCase();
    if (!VALID_DIRECTIVES.has(name)) {
      directivesDone = true;
      return false;
    }
    const col = colOf(i);
    const base = col + lead + 1 + ws;
    const value = m[2]!;
    const valueOffset = afterHash.slice(ws).indexOf(value, m[1]!.length);
    const d: Directive = {
      name,
      value,
      range: { start: { line: i, character: col + lead }, end: { line: i, character: col + lineLength } },
      nameRange: { start: { line: i, character: base }, end: { line: i, character: base + m[1]!.length } },
      valueRange: {
        start: { line: i, character: base + valueOffset },
        end: { line: i, character: base + valueOffset + value.length },
      },
    };
    if (seen.has(name)) {
      out.problems.push({
        code: 'DuplicateDirective',
        message: `only one ${name} parser directive can be used`,
        severity: 'error',
        range: d.range,
      });
      return true;
    }
    seen.add(name);
    out.directives.push(d);
    if (name === 'escape') {
      if (value !== '`' && value !== '\\') {
        out.problems.push({
          code: 'InvalidDirective',
          message: `invalid escape token '${value}' does not match \` or \\`,
          severity: 'error',
          range: d.valueRange,
        });
      } else {
        out.escape = value;
      }
    }
    return true;
  };

  /** a comment line: `a` its text start, `lead` the white space before `#`, `e` its text end */
  const comment = (i: number, a: number, lead: number, e: number, inInstruction: boolean): Comment => {
    const col = colOf(i);
    const c: Comment = {
      text: text.slice(a + lead + 1, e).trim(),
      range: { start: { line: i, character: col + lead }, end: { line: i, character: col + e - a } },
      inInstruction,
    };
    out.comments.push(c);
    return c;
  };

  const map = new LineMap();
  const ll: LogicalLine<P> = {
    text: '',
    escape: '\\',
    parsed: undefined,
    map,
    firstLine: 0,
    lastLine: 0,
    end: { line: 0, character: 0 },
    comments: NO_COMMENTS,
    heredocs: NO_HEREDOCS,
    problems: NO_PROBLEMS,
  };
  let i = 0;
  while (i < count) {
    const a = lineStart(i);
    const te = textEnd(i, a);
    const lead = leadingSpace(text, a, te);
    if (!directivesDone && directiveAt(i, text.slice(a + lead, te), lead, te - a)) {
      i++;
      continue;
    }
    if (a + lead < te && text.charCodeAt(a + lead) === 0x23 /* # */) {
      comment(i, a, lead, te, false);
      i++;
      continue;
    }
    let cut = continuationCut(text, a + lead, te, out.escape);
    let continued = cut !== -1;
    if (!continued && a + lead === te) {
      i++;
      continue;
    }
    const col = colOf(i);
    const firstEnd = continued ? cut : te;
    // segments: logical offset, line, column, length (see LineMap)
    map.reset(i, col + lead);
    if (firstEnd > a + lead) map.add(0, i, col + lead, firstEnd - a - lead);
    let logical: string;
    const firstLine = i;
    let lastLine = i;
    let comments: Comment[] | undefined;
    let problems: ParseProblem[] | undefined;
    let emptyLines: number[] | undefined;
    i++;
    if (!continued) {
      logical = text.slice(a + lead, te);
    } else {
      parts.push(text.slice(a + lead, firstEnd));
      let len = firstEnd - a - lead;
      while (continued && i < count) {
        const ca = lineStart(i);
        const ce = textEnd(i, ca);
        lastLine = i;
        const cLead = leadingSpace(text, ca, ce);
        if (ca + cLead < ce && text.charCodeAt(ca + cLead) === 0x23 /* # */) {
          const c = comment(i, ca, cLead, ce, true);
          // (a list literal has no spare capacity; nearly all continuations have at most one comment)
          if (comments) comments.push(c);
          else comments = [c];
          i++;
          continue;
        }
        if (ca + cLead === ce) {
          (emptyLines ??= []).push(i);
          i++;
          continue;
        }
        cut = continuationCut(text, ca, ce, out.escape);
        continued = cut !== -1;
        const e = continued ? cut : ce;
        if (e > ca) {
          map.add(len, i, colOf(i), e - ca);
          parts.push(text.slice(ca, e));
          len += e - ca;
        }
        i++;
      }
      logical = parts.length === 1 ? parts[0]! : parts.join('');
      parts.length = 0;
    }
    const lastStart = lineStart(lastLine);
    const endChar = colOf(lastLine) + textEnd(lastLine, lastStart) - lastStart;
    // nearly always where the logical line ends: the position the last token's end shares
    const lineEnd = map.pos(logical.length, true);
    let end: Position = lineEnd.line === lastLine && lineEnd.character === endChar ? lineEnd : { line: lastLine, character: endChar };
    if (emptyLines) {
      problems = [];
      for (const el of emptyLines) {
        const es = lineStart(el);
        problems.push({
          code: 'NoEmptyContinuation',
          message: 'Empty continuation line found in: ' + logical,
          severity: 'warning',
          range: { start: { line: el, character: 0 }, end: { line: el, character: colOf(el) + textEnd(el, es) - es } },
        });
      }
    }
    let heredocs: RawHeredoc[] = NO_HEREDOCS;
    let parsed: P | undefined;
    let gated = false;
    if (logical.includes('<<')) {
      const g = gate(logical, out.escape, map);
      parsed = g.node;
      gated = g.carries;
    }
    if (gated) {
      const found = findHeredocs(logical);
      if (found.error) {
        (problems ??= []).push({ code: 'InvalidHeredoc', message: found.error, severity: 'error', range: map.range(0, logical.length) });
      }
      if (found.heredocs.length) heredocs = [];
      for (const h of found.heredocs) {
        let terminated = false;
        const bodyStart: Position = i < count ? { line: i, character: 0 } : end;
        let bodyEnd: Position = bodyStart;
        let terminatorRange: Range | undefined;
        // the body is the source text of its lines, line ends included (`\r` too): one slice
        const contentFrom = i < count ? starts[i]! : n;
        let contentTo = contentFrom;
        let lastBody = -1;
        const name = h.name;
        while (i < count) {
          const ba = lineStart(i);
          const be = textEnd(i, ba);
          let ca = ba;
          if (h.chomp) while (ca < be && text.charCodeAt(ca) === 0x09) ca++;
          if (be - ca === name.length && text.startsWith(name, ca)) {
            terminated = true;
            const col = colOf(i);
            terminatorRange = { start: { line: i, character: col }, end: { line: i, character: col + be - ba } };
            end = terminatorRange.end;
            i++;
            break;
          }
          contentTo = i + 1 < starts.length ? starts[i + 1]! : n;
          lastBody = i;
          i++;
        }
        if (lastBody !== -1) {
          const bs = lineStart(lastBody);
          bodyEnd = { line: lastBody, character: colOf(lastBody) + textEnd(lastBody, bs) - bs };
          if (!terminated) end = bodyEnd;
        }
        // every field from the start (one object shape for all heredocs)
        const rh: RawHeredoc = {
          name: h.name,
          fd: h.fd,
          chomp: h.chomp,
          expand: h.expand,
          word: h.word,
          wordStart: h.wordStart,
          content: text.slice(contentFrom, contentTo),
          bodyRange: { start: bodyStart, end: bodyEnd },
          terminatorRange,
        };
        heredocs.push(rh);
        if (!terminated) {
          (problems ??= []).push({
            code: 'UnterminatedHeredoc',
            message: `unterminated heredoc: no line "${h.name}" closes it`,
            severity: 'error',
            range: map.range(h.wordStart, h.wordStart + h.word.length),
          });
          break;
        }
      }
    }
    ll.text = logical;
    ll.escape = out.escape;
    ll.parsed = parsed;
    ll.firstLine = firstLine;
    ll.lastLine = lastLine;
    ll.end = end;
    ll.comments = comments ?? NO_COMMENTS;
    ll.heredocs = heredocs;
    ll.problems = problems ?? NO_PROBLEMS;
    emit(ll);
  }
  return out;
}
