/**
 * Formatting of a document, a range, or on type. What it changes: keyword case, the blanks between the
 * keyword, the flags and the arguments on an instruction's first line, the indentation of continuation
 * lines, blanks after a line-continuation escape, and trailing blanks. What it never touches: heredoc bodies
 * and terminators (byte for byte), comments outside instructions, anything inside quotes, and the
 * continuation lines of instructions whose value keeps whitespace (legacy `ENV k v`, `LABEL k v`, USER,
 * WORKDIR, MAINTAINER, STOPSIGNAL). The parse tree before and after is the same apart from whitespace, and a
 * second run changes nothing.
 */
import type { FormattingOptions, Position, Range, TextEdit } from 'vscode-languageserver';
import type { Dockerfile, Instruction } from '../../engine/dockerfile/types';
import { instructionAtLine } from './cursor';

export interface FormatSettings {
  /** `upper` (default), `lower`, or `preserve` */
  keywordCase: 'upper' | 'lower' | 'preserve';
  /** leave the indentation of continuation lines as written */
  keepContinuationIndent: boolean;
}

export const defaultFormatSettings: FormatSettings = { keywordCase: 'upper', keepContinuationIndent: false };

/** Reads `layerwise.format.*` from the raw settings section. */
export function readFormatSettings(raw: Record<string, unknown> | undefined): FormatSettings {
  const f = raw && typeof raw.format === 'object' && raw.format !== null ? (raw.format as Record<string, unknown>) : {};
  const pick = (k: string) => (raw ? (raw[`format.${k}`] ?? f[k]) : f[k]);
  const kc = pick('keywordCase');
  const keep = pick('keepContinuationIndent');
  return {
    keywordCase: kc === 'lower' || kc === 'preserve' ? kc : 'upper',
    keepContinuationIndent: keep === true,
  };
}

/** Instructions whose arguments are blank-separated words: the blanks between them carry nothing. */
const WORD_SPLIT = new Set(['FROM', 'COPY', 'ADD', 'EXPOSE', 'VOLUME', 'ARG']);

/** Instructions whose continuation lines carry whitespace into a value. */
const WHITESPACE_KEEPING = new Set(['USER', 'WORKDIR', 'MAINTAINER', 'STOPSIGNAL']);

class LineInfo {
  constructor(private readonly df: Dockerfile) {}
  start(line: number): number {
    return this.df.lineStarts[line]!;
  }
  /** end of the line content (before \r\n or \n) */
  end(line: number): number {
    const ls = this.df.lineStarts;
    let e = line + 1 < ls.length ? ls[line + 1]! - 1 : this.df.text.length;
    if (e > ls[line]! && this.df.text.charCodeAt(e - 1) === 13) e--;
    return e;
  }
  text(line: number): string {
    return this.df.text.slice(this.start(line), this.end(line));
  }
}

const pos = (line: number, character: number): Position => ({ line, character });
const rng = (line: number, a: number, b: number): Range => ({ start: pos(line, a), end: pos(line, b) });

function indentUnit(options: FormattingOptions): string {
  return options.insertSpaces === false ? '\t' : ' '.repeat(Math.max(1, Math.min(8, options.tabSize || 4)));
}

function caseOf(word: string, s: FormatSettings): string {
  return s.keywordCase === 'upper' ? word.toUpperCase() : s.keywordCase === 'lower' ? word.toLowerCase() : word;
}

/** Lines of an instruction that belong to heredoc bodies or terminators. */
function heredocLines(ins: Instruction): Set<number> {
  const out = new Set<number>();
  for (const h of ins.heredocs) {
    const from = h.bodyRange.start.line;
    const to = h.terminatorRange ? h.terminatorRange.end.line : h.bodyRange.end.line;
    if (h.content.length === 0 && !h.terminatorRange) continue;
    for (let l = from; l <= to; l++) out.add(l);
  }
  return out;
}

/**
 * For each line of the instruction: whether the line starts inside a quoted string (then its leading
 * whitespace is data) and whether it ends inside one. A plain scanner over the instruction's own lines:
 * double quotes honour the escape character, single quotes do not.
 */
function quoteStates(df: Dockerfile, li: LineInfo, ins: Instruction, skip: Set<number>): Map<number, { startsQuoted: boolean; endsQuoted: boolean }> {
  const out = new Map<number, { startsQuoted: boolean; endsQuoted: boolean }>();
  let q: '' | '"' | "'" = '';
  const esc = df.escape;
  for (let line = ins.startLine; line <= ins.endLine; line++) {
    if (skip.has(line)) continue;
    const t = li.text(line);
    const startsQuoted = q !== '';
    // comment lines inside a continuation are dropped by the parser: they do not change the state
    if (line !== ins.startLine && !startsQuoted && /^[ \t]*#/.test(t)) {
      out.set(line, { startsQuoted, endsQuoted: false });
      continue;
    }
    for (let i = line === ins.startLine ? ins.keywordToken.range.end.character : 0; i < t.length; i++) {
      const c = t[i];
      if (q === "'") {
        if (c === "'") q = '';
      } else if (c === esc) {
        i++;
      } else if (q === '"') {
        if (c === '"') q = '';
      } else if (c === '"' || c === "'") q = c;
    }
    out.set(line, { startsQuoted, endsQuoted: q !== '' });
  }
  return out;
}

/** Index where the trailing blanks of `t` begin (t.length when none). */
function trailingBlanks(t: string): number {
  let i = t.length;
  while (i > 0 && (t.charCodeAt(i - 1) === 32 || t.charCodeAt(i - 1) === 9)) i--;
  return i;
}

/** Index of the escape character that continues the line, or -1. */
function endsWithContinuation(t: string, esc: string): number {
  const i = trailingBlanks(t) - 1;
  return i >= 0 && t[i] === esc ? i : -1;
}

function formatInstruction(df: Dockerfile, li: LineInfo, ins: Instruction, s: FormatSettings, unit: string, lineFilter: (l: number) => boolean, out: TextEdit[]): void {
  const skip = heredocLines(ins);
  const quotes = quoteStates(df, li, ins, skip);
  const first = ins.startLine;

  if (lineFilter(first)) {
    const t = li.text(first);
    // leading blanks before the keyword
    const kw = ins.keywordToken;
    if (kw.range.start.character > 0 && /^[ \t]+$/.test(t.slice(0, kw.range.start.character))) out.push({ range: rng(first, 0, kw.range.start.character), newText: '' });
    const cased = caseOf(kw.value, s);
    if (cased !== kw.value && ins.known) out.push({ range: kw.range, newText: cased });
    // one blank between the keyword, ONBUILD's trigger keyword, the flags and the arguments, on the first line
    const marks: { start: Position; end: Position }[] = [kw.range];
    const trig = ins.trigger;
    const body = trig ?? ins;
    if (trig) {
      const tc = caseOf(trig.keywordToken.value, s);
      if (tc !== trig.keywordToken.value && trig.known) out.push({ range: trig.keywordToken.range, newText: tc });
      marks.push(trig.keywordToken.range);
    }
    for (const f of body.flags) marks.push(f.range);
    const firstArg = body.argsToken?.range ?? body.args[0]?.range ?? body.heredocs[0]?.delimiterRange;
    if (firstArg) marks.push({ start: firstArg.start, end: firstArg.start });
    // words of the instructions BuildKit splits on blanks: one blank between them too
    if (WORD_SPLIT.has(body.keyword) && !body.json && body.args.length > 1 && firstArg) {
      marks.pop();
      for (const a of body.args) marks.push(a.range);
    }
    for (let i = 1; i < marks.length; i++) {
      const a = marks[i - 1]!.end;
      const b = marks[i]!.start;
      if (a.line !== first || b.line !== first || b.character <= a.character) continue;
      const gap = t.slice(a.character, b.character);
      if (gap !== ' ' && /^[ \t]+$/.test(gap)) out.push({ range: rng(first, a.character, b.character), newText: ' ' });
    }
  }

  const legacyPairs = (ins.pairs ?? []).some((p) => p.legacy);
  const reindent = !s.keepContinuationIndent && !WHITESPACE_KEEPING.has(ins.keyword) && !legacyPairs;
  let blankBeforeEscape = false;
  for (let line = first; line <= ins.endLine; line++) {
    if (skip.has(line)) continue;
    if (!lineFilter(line)) {
      const t = li.text(line);
      const cont = endsWithContinuation(t, df.escape);
      if (t.trim() !== '' && !/^[ \t]*#/.test(t)) if (cont !== 0) blankBeforeEscape = cont > 0 && (t[cont - 1] === ' ' || t[cont - 1] === '\t');
      continue;
    }
    const t = li.text(line);
    const q = quotes.get(line);
    if (!q) continue;
    const isComment = line !== first && !q.startsQuoted && /^[ \t]*#/.test(t);
    if (line !== first && reindent && !q.startsQuoted && t.trim() !== '') {
      const lead = /^[ \t]*/.exec(t)![0];
      // a line that continues a word (`light\` + `ning`) must not gain a blank: only lines that already
      // start with one, follow a blank before the escape, or are comments are re-indented
      if (lead !== unit && (lead.length > 0 || isComment || blankBeforeEscape)) out.push({ range: rng(line, 0, lead.length), newText: unit });
    }
    // trailing blanks: after a continuation escape always; at the end otherwise only outside quotes
    const cont = endsWithContinuation(t, df.escape);
    if (!isComment && t.trim() !== '') if (cont !== 0) blankBeforeEscape = cont > 0 && (t[cont - 1] === ' ' || t[cont - 1] === '\t');
    const trail = trailingBlanks(t);
    if (trail < t.length) {
      if (cont >= 0 && cont === trail - 1) out.push({ range: rng(line, trail, t.length), newText: '' });
      else if (cont < 0 && !q.endsQuoted && trail > 0 && !(line === first && !ins.known)) {
        // a trailing escaped blank (`\ `) is data
        if (t[trail - 1] !== df.escape) out.push({ range: rng(line, trail, t.length), newText: '' });
      }
    }
  }
}

function formatLines(df: Dockerfile, options: FormattingOptions, settings: FormatSettings, fromLine: number, toLine: number): TextEdit[] {
  const li = new LineInfo(df);
  const unit = indentUnit(options);
  const out: TextEdit[] = [];
  const filter = (l: number) => l >= fromLine && l <= toLine;
  const last = df.lineStarts.length - 1;
  for (let line = Math.max(0, fromLine); line <= Math.min(last, toLine); ) {
    const ins = instructionAtLine(df, line);
    if (ins) {
      formatInstruction(df, li, ins, settings, unit, filter, out);
      line = ins.endLine + 1;
      continue;
    }
    // blank lines between instructions lose their blanks; comments and directives stay as written
    const t = li.text(line);
    if (t.length > 0 && /^[ \t]+$/.test(t)) out.push({ range: rng(line, 0, t.length), newText: '' });
    line++;
  }
  return out;
}

export function formatDocument(df: Dockerfile, options: FormattingOptions, settings: FormatSettings = defaultFormatSettings): TextEdit[] {
  return formatLines(df, options, settings, 0, df.lineStarts.length - 1);
}

/** Formats the lines the range touches (whole instructions are read, only those lines are edited). */
export function formatRange(df: Dockerfile, range: Range, options: FormattingOptions, settings: FormatSettings = defaultFormatSettings): TextEdit[] {
  const end = range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line;
  return formatLines(df, options, settings, range.start.line, end);
}

export const ON_TYPE_TRIGGERS = ['\n'];

/**
 * On type (Enter): formats the line just finished; when it ends with a continuation and the new line is
 * still blank, indents the new line by one unit.
 */
export function formatOnType(df: Dockerfile, position: Position, ch: string, options: FormattingOptions, settings: FormatSettings = defaultFormatSettings): TextEdit[] {
  if (ch !== '\n' || position.line === 0) return [];
  const prev = position.line - 1;
  const out = formatLines(df, options, settings, prev, prev);
  const li = new LineInfo(df);
  const prevText = li.text(prev);
  const cur = li.text(position.line);
  const ins = instructionAtLine(df, prev);
  if (ins && !settings.keepContinuationIndent && endsWithContinuation(prevText, df.escape) >= 0 && /^[ \t]*$/.test(cur) && !heredocLines(ins).has(prev)) {
    const unit = indentUnit(options);
    if (cur !== unit) out.push({ range: rng(position.line, 0, cur.length), newText: unit });
  }
  return out;
}

/** Applies non-overlapping edits to a text (for tests and the corpus check). */
export function applyEdits(text: string, lineStarts: number[], edits: TextEdit[]): string {
  const off = (p: Position) => Math.min(text.length, (lineStarts[p.line] ?? text.length) + p.character);
  const sorted = [...edits].sort((a, b) => off(b.range.start) - off(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, off(e.range.start)) + e.newText + out.slice(off(e.range.end));
  return out;
}
