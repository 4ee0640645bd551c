/**
 * The physical-line layer of the parser, with BuildKit's rules: the BOM, parser directives (only before anything
 * else, `syntax`/`escape`/`check`, once each), comments, line continuations with the escape character (comment
 * lines and empty lines inside a continuation are dropped, the latter with a warning), and heredoc bodies.
 * It produces "logical lines" (BuildKit's `Original`) and a map from every offset of a logical line back to the
 * source, so that every token the upper layers cut out of it gets an exact range.
 */
import type { Comment, Directive, ParseProblem, Position, Range } from './types';
import { isGoSpaceCode } from './text';

/**
 * Maps offsets in a logical line to source positions. The logical line is made of segments, each `length`
 * characters copied from one source line starting at a column; they are kept flat, four numbers a segment
 * (logical offset, line, column, length), so that a one-line instruction costs one small array.
 */
export class LineMap {
  constructor(private readonly segs: number[], private readonly fallback: Position) {}

  /** The source position of logical offset `off`. With `asEnd`, an offset on a segment boundary maps to the
   *  end of the earlier segment (so that a token's end does not jump to the next line). */
  pos(off: number, asEnd = false): Position {
    const segs = this.segs;
    const n = segs.length >> 2;
    if (n === 0) return this.fallback;
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
    return { line: segs[b + 1]!, character: segs[b + 2]! + within };
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

export interface LogicalLine<P = unknown> {
  text: string;
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

/**
 * BuildKit's line-continuation rule on s[from..]: a trailing escape (plus spaces/tabs) not preceded by another
 * escape. Returns where the text before the escape ends, or -1 when the line is not continued.
 */
export function continuationCut(s: string, from: number, esc: string): number {
  let j = s.length;
  let c = s.charCodeAt(j - 1);
  while (j > from && (c === 0x20 || c === 0x09)) c = s.charCodeAt(--j - 1);
  if (j > from && s[j - 1] === esc) {
    if (j - 1 === from) return from;
    if (s[j - 2] !== esc) return j - 1;
  }
  return -1;
}

/** Shared empty lists for the logical lines that have none (never mutated: buildInstruction copies them). */
const NO_HEREDOCS: RawHeredoc[] = [];
const NO_PROBLEMS: ParseProblem[] = [];
const NO_COMMENTS: Comment[] = [];

export interface LineScan<P = unknown> {
  escape: '\\' | '`';
  directives: Directive[];
  comments: Comment[];
  logicalLines: LogicalLine<P>[];
  problems: ParseProblem[];
  lines: PhysicalLine[];
  bom: boolean;
}

export type HeredocFinder = (
  logical: string,
) => { heredocs: { name: string; fd: number; chomp: boolean; expand: boolean; word: string; wordStart: number }[]; error?: string };

/** Whether a logical line may carry heredocs (RUN/COPY/ADD not in JSON form, also behind ONBUILD), with what the
 *  gate parsed of the line to decide it. */
export type HeredocGate<P> = (logical: string, escape: '\\' | '`') => { carries: boolean; node: P };

/**
 * Scans the text into logical lines. `gate` and `findHeredocs` come from the instruction layer (they need the
 * keyword dispatch and the shell lexer); they decide which lines carry heredocs and where their delimiters are.
 */
export function scanLines<P>(text: string, gate: HeredocGate<P>, findHeredocs: HeredocFinder): LineScan<P> {
  const { lines, bom } = splitLines(text);
  const out: LineScan<P> = { escape: '\\', directives: [], comments: [], logicalLines: [], problems: [], lines, bom };
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

  const esc = out.escape;
  let i = 0;
  while (i < lines.length) {
    const pl = lines[i]!;
    const plText = pl.text;
    const lead = leadingSpace(plText);
    if (!directivesDone && directiveAt(i, plText.slice(lead), lead)) {
      i++;
      continue;
    }
    if (plText.charCodeAt(lead) === 0x23 /* # */) {
      comment(i, false);
      i++;
      continue;
    }
    let cut = continuationCut(plText, lead, out.escape);
    let continued = cut !== -1;
    if (!continued && lead === plText.length) {
      i++;
      continue;
    }
    const firstEnd = continued ? cut : plText.length;
    // flat segments: logical offset, line, column, length (see LineMap)
    const segs: number[] = firstEnd > lead ? [0, i, pl.col + lead, firstEnd - lead] : [];
    let logical: string;
    const firstLine = i;
    let lastLine = i;
    let comments: Comment[] | undefined;
    let problems: ParseProblem[] | undefined;
    let emptyLines: number[] | undefined;
    i++;
    if (!continued) {
      logical = lead === 0 ? plText : plText.slice(lead);
    } else {
      const parts: string[] = [plText.slice(lead, firstEnd)];
      let len = firstEnd - lead;
      while (continued && i < lines.length) {
        const cl = lines[i]!;
        const t = cl.text;
        lastLine = i;
        const cLead = leadingSpace(t);
        if (t.charCodeAt(cLead) === 0x23 /* # */) {
          comment(i, true);
          (comments ??= []).push(out.comments[out.comments.length - 1]!);
          i++;
          continue;
        }
        if (cLead === t.length) {
          (emptyLines ??= []).push(i);
          i++;
          continue;
        }
        cut = continuationCut(t, 0, esc);
        continued = cut !== -1;
        const e = continued ? cut : t.length;
        if (e > 0) {
          segs.push(len, i, cl.col, e);
          parts.push(e === t.length ? t : t.slice(0, e));
          len += e;
        }
        i++;
      }
      logical = parts.length === 1 ? parts[0]! : parts.join('');
    }
    const fallback = { line: firstLine, character: pl.col + lead };
    const map = new LineMap(segs, fallback);
    const lastPl = lines[lastLine]!;
    let end: Position = { line: lastLine, character: lastPl.col + lastPl.text.length };
    if (emptyLines) {
      problems = [];
      for (const el of emptyLines) {
        const e = lines[el]!;
        problems.push({
          code: 'NoEmptyContinuation',
          message: 'Empty continuation line found in: ' + logical,
          severity: 'warning',
          range: { start: { line: el, character: 0 }, end: { line: el, character: e.col + e.text.length } },
        });
      }
    }
    let heredocs: RawHeredoc[] = NO_HEREDOCS;
    let parsed: P | undefined;
    let gated = false;
    if (logical.includes('<<')) {
      const g = gate(logical, out.escape);
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
    out.logicalLines.push({
      text: logical,
      parsed,
      map,
      firstLine,
      lastLine,
      end,
      comments: comments ?? NO_COMMENTS,
      heredocs,
      problems: problems ?? NO_PROBLEMS,
    });
  }
  return out;
}
