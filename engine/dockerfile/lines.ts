/**
 * The physical-line layer of the parser, with BuildKit's rules: the BOM, parser directives (only before anything
 * else, `syntax`/`escape`/`check`, once each), comments, line continuations with the escape character (comment
 * lines and empty lines inside a continuation are dropped, the latter with a warning), and heredoc bodies.
 * It produces "logical lines" (BuildKit's `Original`) and a map from every offset of a logical line back to the
 * source, so that every token the upper layers cut out of it gets an exact range.
 */
import type { Comment, Directive, ParseProblem, Position, Range } from './types';
import { isGoSpaceCode } from './text';

/** One piece of a logical line: `length` characters copied from `line`, starting at column `ch`. */
interface Segment {
  lo: number;
  line: number;
  ch: number;
  length: number;
}

/** Maps offsets in a logical line to source positions. */
export class LineMap {
  constructor(private readonly segments: Segment[], private readonly fallback: Position) {}

  /** The source position of logical offset `off`. With `asEnd`, an offset on a segment boundary maps to the
   *  end of the earlier segment (so that a token's end does not jump to the next line). */
  pos(off: number, asEnd = false): Position {
    const segs = this.segments;
    if (segs.length === 0) return this.fallback;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.lo <= off) lo = mid;
      else hi = mid - 1;
    }
    let s = segs[lo]!;
    if (asEnd && off === s.lo && lo > 0 && off > 0) s = segs[lo - 1]!;
    const within = Math.max(0, Math.min(off - s.lo, s.length));
    return { line: s.line, character: s.ch + within };
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
  terminatorRange?: Range;
}

export interface LogicalLine {
  text: string;
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

export interface PhysicalLine {
  /** the text without the `\n` (a trailing `\r` removed too, as BuildKit's trimNewline) */
  text: string;
  /** the text with its `\r` kept, for heredoc bodies (without the `\n`) */
  raw: string;
  /** column where `text` starts in the source line (1 on line 0 after a BOM) */
  col: number;
  /** UTF-16 length of the whole source line without `\n` */
  fullLength: number;
  /** the line ended with `\n` */
  newline: boolean;
}

export function splitLines(text: string): { lines: PhysicalLine[]; bom: boolean } {
  const lines: PhysicalLine[] = [];
  let bom = false;
  let start = 0;
  const n = text.length;
  while (start < n || (start === n && lines.length === 0 && n === 0)) {
    if (n === 0) break;
    let nl = text.indexOf('\n', start);
    const newline = nl !== -1;
    if (!newline) nl = n;
    let col = 0;
    let raw = text.slice(start, nl);
    const fullLength = raw.length;
    if (lines.length === 0 && raw.charCodeAt(0) === 0xfeff) {
      bom = true;
      raw = raw.slice(1);
      col = 1;
    }
    let e = raw.length;
    while (e > 0 && (raw[e - 1] === '\r' || raw[e - 1] === '\n')) e--;
    lines.push({ text: e === raw.length ? raw : raw.slice(0, e), raw, col, fullLength, newline });
    start = nl + 1;
  }
  return { lines, bom };
}

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

function leadingSpace(s: string): number {
  let i = 0;
  while (i < s.length && isGoSpaceCode(s.charCodeAt(i))) i++;
  return i;
}

function isCommentLine(s: string): boolean {
  const i = leadingSpace(s);
  return i < s.length && s[i] === '#';
}

/** BuildKit's line-continuation rule: a trailing escape (plus spaces/tabs) not preceded by another escape. */
export function trimContinuation(s: string, esc: string): { text: string; continued: boolean } {
  let j = s.length;
  while (j > 0 && (s[j - 1] === ' ' || s[j - 1] === '\t')) j--;
  if (j > 0 && s[j - 1] === esc) {
    if (j === 1) return { text: '', continued: true };
    if (s[j - 2] !== esc) return { text: s.slice(0, j - 1), continued: true };
  }
  return { text: s, continued: false };
}

export interface LineScan {
  escape: '\\' | '`';
  directives: Directive[];
  comments: Comment[];
  logicalLines: LogicalLine[];
  problems: ParseProblem[];
  lines: PhysicalLine[];
  bom: boolean;
}

export type HeredocFinder = (
  logical: string,
) => { heredocs: { name: string; fd: number; chomp: boolean; expand: boolean; word: string; wordStart: number }[]; error?: string };

/** Whether a logical line may carry heredocs (RUN/COPY/ADD not in JSON form, also behind ONBUILD). */
export type HeredocGate = (logical: string, escape: '\\' | '`') => boolean;

/**
 * Scans the text into logical lines. `gate` and `findHeredocs` come from the instruction layer (they need the
 * keyword dispatch and the shell lexer); they decide which lines carry heredocs and where their delimiters are.
 */
export function scanLines(text: string, gate: HeredocGate, findHeredocs: HeredocFinder): LineScan {
  const { lines, bom } = splitLines(text);
  const out: LineScan = { escape: '\\', directives: [], comments: [], logicalLines: [], problems: [], lines, bom };
  let directivesDone = false;
  const seen = new Set<string>();

  const directiveAt = (i: number, stripped: string, lead: number): boolean => {
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
    const pl = lines[i]!;
    const base = pl.col + lead + 1 + ws;
    const value = m[2]!;
    const valueOffset = afterHash.slice(ws).indexOf(value, m[1]!.length);
    const d: Directive = {
      name,
      value,
      range: { start: { line: i, character: pl.col + lead }, end: { line: i, character: pl.col + pl.text.length } },
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

  const comment = (i: number, inInstruction: boolean): void => {
    const pl = lines[i]!;
    const lead = leadingSpace(pl.text);
    out.comments.push({
      text: pl.text.slice(lead + 1).trim(),
      range: { start: { line: i, character: pl.col + lead }, end: { line: i, character: pl.col + pl.text.length } },
      inInstruction,
    });
  };

  let i = 0;
  while (i < lines.length) {
    const pl = lines[i]!;
    const lead = leadingSpace(pl.text);
    const stripped = pl.text.slice(lead);
    const isDirective = directiveAt(i, stripped, lead);
    if (isDirective) {
      i++;
      continue;
    }
    if (isCommentLine(pl.text)) {
      comment(i, false);
      i++;
      continue;
    }
    const first = trimContinuation(stripped, out.escape);
    if (!first.continued && first.text.length === 0) {
      i++;
      continue;
    }
    const segments: Segment[] = [];
    let logical = '';
    const add = (line: number, ch: number, s: string): void => {
      if (s.length === 0) return;
      segments.push({ lo: logical.length, line, ch, length: s.length });
      logical += s;
    };
    add(i, pl.col + lead, first.text);
    const firstLine = i;
    let lastLine = i;
    const comments: Comment[] = [];
    const problems: ParseProblem[] = [];
    let continued = first.continued;
    let emptyLines: number[] = [];
    i++;
    while (continued && i < lines.length) {
      const cl = lines[i]!;
      lastLine = i;
      if (isCommentLine(cl.text)) {
        comment(i, true);
        comments.push(out.comments[out.comments.length - 1]!);
        i++;
        continue;
      }
      if (leadingSpace(cl.text) === cl.text.length) {
        emptyLines.push(i);
        i++;
        continue;
      }
      const t = trimContinuation(cl.text, out.escape);
      add(i, cl.col, t.text);
      continued = t.continued;
      i++;
    }
    const fallback = { line: firstLine, character: pl.col + lead };
    const map = new LineMap(segments, fallback);
    const lastPl = lines[lastLine]!;
    let end: Position = { line: lastLine, character: lastPl.col + lastPl.text.length };
    if (emptyLines.length) {
      for (const el of emptyLines) {
        const e = lines[el]!;
        problems.push({
          code: 'NoEmptyContinuation',
          message: 'Empty continuation line found in: ' + logical,
          severity: 'warning',
          range: { start: { line: el, character: 0 }, end: { line: el, character: e.col + e.text.length } },
        });
      }
      emptyLines = [];
    }
    const heredocs: RawHeredoc[] = [];
    if (logical.includes('<<') && gate(logical, out.escape)) {
      const found = findHeredocs(logical);
      if (found.error) {
        problems.push({ code: 'InvalidHeredoc', message: found.error, severity: 'error', range: map.range(0, logical.length) });
      }
      for (const h of found.heredocs) {
        let content = '';
        let terminated = false;
        const bodyStart: Position = i < lines.length ? { line: i, character: 0 } : end;
        let bodyEnd: Position = bodyStart;
        let terminatorRange: Range | undefined;
        while (i < lines.length) {
          const bl = lines[i]!;
          let candidate = bl.text;
          if (h.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === h.name) {
            terminated = true;
            terminatorRange = { start: { line: i, character: bl.col }, end: { line: i, character: bl.col + bl.text.length } };
            end = terminatorRange.end;
            i++;
            break;
          }
          content += bl.newline ? bl.raw + '\n' : bl.raw;
          bodyEnd = { line: i, character: bl.col + bl.text.length };
          end = bodyEnd;
          i++;
        }
        const rh: RawHeredoc = {
          ...h,
          content,
          bodyRange: { start: bodyStart, end: bodyEnd },
        };
        if (terminatorRange) rh.terminatorRange = terminatorRange;
        heredocs.push(rh);
        if (!terminated) {
          problems.push({
            code: 'UnterminatedHeredoc',
            message: `unterminated heredoc: no line "${h.name}" closes it`,
            severity: 'error',
            range: map.range(h.wordStart, h.wordStart + h.word.length),
          });
          break;
        }
      }
    }
    out.logicalLines.push({ text: logical, map, firstLine, lastLine, end, comments, heredocs, problems });
  }
  return out;
}
