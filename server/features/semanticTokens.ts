/**
 * Semantic tokens from the tree in one pass (plus a sort): keywords, flags, mount keys, stage names,
 * variable declarations and uses, strings, numbers, signals, heredoc markers, directives and comments.
 * Full and delta (one edit from the common prefix and suffix of the previous data), both linear.
 */
import type { SemanticTokens, SemanticTokensDelta, SemanticTokensLegend } from 'vscode-languageserver';
import type { Dockerfile, Instruction, Range } from '../../engine/dockerfile/types';
import { PREDEFINED_ARG_DOCS } from '../docs/args';
import { symbolIndex } from './symbolIndex';

export const TOKEN_TYPES = ['keyword', 'comment', 'string', 'variable', 'parameter', 'property', 'class', 'operator', 'macro', 'number', 'enumMember'] as const;
export const TOKEN_MODIFIERS = ['declaration', 'deprecated', 'readonly', 'defaultLibrary'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];
export type TokenModifier = (typeof TOKEN_MODIFIERS)[number];

export const legend: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

const TYPE_INDEX = new Map<string, number>(TOKEN_TYPES.map((t, i) => [t, i]));
const MOD_BIT = new Map<string, number>(TOKEN_MODIFIERS.map((m, i) => [m, 1 << i]));

const T = (t: TokenType) => TYPE_INDEX.get(t)!;
const M = (...ms: TokenModifier[]) => ms.reduce((n, m) => n | MOD_BIT.get(m)!, 0);
const KEYWORD = T('keyword');
const COMMENT = T('comment');
const STRING = T('string');
const VARIABLE = T('variable');
const PARAMETER = T('parameter');
const PROPERTY = T('property');
const CLASS = T('class');
const OPERATOR = T('operator');
const MACRO = T('macro');
const NUMBER = T('number');
const ENUM_MEMBER = T('enumMember');
const DECLARATION = M('declaration');
const DEPRECATED = M('deprecated');
const ARG_DECL = M('declaration', 'readonly');
const READONLY = M('readonly');
const PREDEFINED = M('defaultLibrary', 'readonly');

/**
 * Tokens in flat arrays (line, start, length, type, modifiers per token): few allocations, so that 5,000
 * lines stay well under the 20 ms goal. Foreground tokens never overlap each other once deduplicated;
 * background (string) tokens are cut around them.
 */
class Collector {
  readonly fg: number[] = [];
  readonly bg: number[] = [];
  constructor(private readonly df: Dockerfile) {}

  private lineLength(line: number): number {
    const ls = this.df.lineStarts;
    const start = ls[line]!;
    let end = line + 1 < ls.length ? ls[line + 1]! - 1 : this.df.text.length;
    if (end > start && this.df.text.charCodeAt(end - 1) === 13) end--;
    return end - start;
  }

  add(r: Range | undefined, type: number, mods = 0, background = false): void {
    if (!r) return;
    this.addSpan(r.start.line, r.start.character, r.end.line, r.end.character, type, mods, background);
  }

  addSpan(sl: number, sc: number, el: number, ec: number, type: number, mods: number, background: boolean): void {
    const out = background ? this.bg : this.fg;
    if (sl === el) {
      if (ec > sc) out.push(sl, sc, ec - sc, type, mods);
      return;
    }
    const text = this.df.text;
    for (let line = sl; line <= el; line++) {
      const e = line === el ? ec : this.lineLength(line);
      let s = line === sl ? sc : 0;
      // leading blanks of continuation lines are not part of a token
      if (line !== sl) {
        const base = this.df.lineStarts[line]!;
        while (s < e && (text.charCodeAt(base + s) === 32 || text.charCodeAt(base + s) === 9)) s++;
      }
      if (e > s) out.push(line, s, e - s, type, mods);
    }
  }
}

/** Token indexes ordered by position (TimSort: the arrays are a few sorted runs). */
function order(a: number[]): Uint32Array {
  const n = a.length / 5;
  const idx = new Uint32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    idx[i] = i;
    if (i > 0 && (a[i * 5]! < a[i * 5 - 5]! || (a[i * 5] === a[i * 5 - 5] && a[i * 5 + 1]! < a[i * 5 - 4]!))) sorted = false;
  }
  if (!sorted) idx.sort((x, y) => a[x * 5]! - a[y * 5]! || a[x * 5 + 1]! - a[y * 5 + 1]!);
  return idx;
}

/** Encodes all tokens (LSP relative form): foreground deduplicated, background cut around foreground. */
export function encodeTokens(df: Dockerfile, fromLine = 0, toLine = Infinity): number[] {
  const c = new Collector(df);
  for (const d of df.directives) {
    c.add(d.nameRange, MACRO);
    c.add(d.valueRange, STRING);
  }
  for (const cm of df.comments) c.add(cm.range, COMMENT);
  for (const ins of df.instructions) {
    instructionTokens(c, ins);
    if (ins.trigger) instructionTokens(c, ins.trigger);
  }
  const idx = symbolIndex(df);
  for (const s of df.stages) c.add(s.nameToken?.range, CLASS, DECLARATION);
  for (const r of idx.stageRefs) c.add(r.range, CLASS);
  for (const d of idx.definitions) c.add(d.range, VARIABLE, d.kind === 'arg' ? ARG_DECL : DECLARATION);
  for (const u of idx.uses) {
    const mods = u.definition?.kind === 'arg' ? READONLY : !u.definition && PREDEFINED_ARG_DOCS.has(u.name) ? PREDEFINED : 0;
    c.add(u.fullRange, VARIABLE, mods);
  }
  const fg = c.fg;
  const bg = c.bg;
  const fo = order(fg);
  const bo = order(bg);
  const data: number[] = [];
  let prevLine = 0;
  let prevStart = 0;
  const emit = (line: number, start: number, length: number, type: number, mods: number) => {
    if (line < fromLine || line > toLine) return;
    const dl = line - prevLine;
    data.push(dl, dl === 0 ? start - prevStart : start, length, type, mods);
    prevLine = line;
    prevStart = start;
  };
  // foreground, deduplicated: of two overlapping tokens the shorter (more specific) wins
  const keep: number[] = [];
  for (let k = 0; k < fo.length; k++) {
    const i = fo[k]! * 5;
    const last = keep.length ? keep[keep.length - 1]! : -1;
    if (last >= 0 && fg[last] === fg[i] && fg[i + 1]! < fg[last + 1]! + fg[last + 2]!) {
      if (fg[i + 2]! < fg[last + 2]! || fg[i + 1] === fg[last + 1]) keep[keep.length - 1] = i;
      continue;
    }
    keep.push(i);
  }
  // merge foreground with background pieces, in order
  let j = 0;
  const flushFgBefore = (line: number, start: number) => {
    while (j < keep.length) {
      const i = keep[j]!;
      if (fg[i]! > line || (fg[i] === line && fg[i + 1]! >= start)) break;
      emit(fg[i]!, fg[i + 1]!, fg[i + 2]!, fg[i + 3]!, fg[i + 4]!);
      j++;
    }
  };
  for (let k = 0; k < bo.length; k++) {
    const b = bo[k]! * 5;
    const line = bg[b]!;
    let s = bg[b + 1]!;
    const end = s + bg[b + 2]!;
    flushFgBefore(line, s);
    // a foreground token that began before and reaches into this one trims it
    if (j > 0) {
      const p = keep[j - 1]!;
      if (fg[p] === line && fg[p + 1]! + fg[p + 2]! > s) s = fg[p + 1]! + fg[p + 2]!;
    }
    while (s < end) {
      const i = j < keep.length ? keep[j]! : -1;
      if (i >= 0 && fg[i] === line && fg[i + 1]! < end) {
        if (fg[i + 1]! > s) emit(line, s, fg[i + 1]! - s, bg[b + 3]!, bg[b + 4]!);
        emit(fg[i]!, fg[i + 1]!, fg[i + 2]!, fg[i + 3]!, fg[i + 4]!);
        s = Math.max(s, fg[i + 1]! + fg[i + 2]!);
        j++;
      } else {
        emit(line, s, end - s, bg[b + 3]!, bg[b + 4]!);
        s = end;
      }
    }
  }
  flushFgBefore(Infinity, 0);
  return data;
}

function instructionTokens(c: Collector, ins: Instruction): void {
  c.add(ins.keywordToken.range, KEYWORD, ins.keyword === 'MAINTAINER' ? DEPRECATED : 0);
  for (const f of ins.flags) {
    c.addSpan(f.range.start.line, f.range.start.character, f.nameRange.end.line, f.nameRange.end.character, PARAMETER, 0, false);
    if (f.name === 'mount' && ins.mounts?.length) {
      for (const m of ins.mounts) {
        for (const o of m.options) {
          if (o.range.start.line !== o.range.end.line) continue;
          const line = o.range.start.line;
          const keyEnd = Math.min(o.range.end.character, o.range.start.character + o.key.length);
          c.addSpan(line, o.range.start.character, line, keyEnd, PROPERTY, 0, false);
          if (o.value !== undefined && o.range.end.character > keyEnd + 1) c.addSpan(line, keyEnd + 1, line, o.range.end.character, STRING, 0, true);
        }
      }
    } else if (f.valueRange) c.add(f.valueRange, STRING, 0, true);
  }
  switch (ins.keyword) {
    case 'FROM':
      if (ins.from?.image) c.add(ins.from.image.range, STRING, 0, true);
      c.add(ins.from?.asKeyword?.range, KEYWORD);
      break;
    case 'ARG':
      for (const a of ins.argDeclarations ?? []) c.add(a.defaultValue?.range, STRING, 0, true);
      break;
    case 'ENV':
    case 'LABEL':
      for (const p of ins.pairs ?? []) {
        if (ins.keyword === 'LABEL') c.add(p.key.range, PROPERTY);
        c.add(p.value.range, STRING, 0, true);
      }
      break;
    case 'EXPOSE':
      for (const a of ins.args) c.add(a.range, NUMBER);
      break;
    case 'STOPSIGNAL':
      for (const a of ins.args) c.add(a.range, ENUM_MEMBER);
      break;
    case 'HEALTHCHECK':
      c.add(ins.healthcheckType?.range, KEYWORD);
      break;
  }
  if (ins.json && ins.command) for (const w of ins.command.words) c.add(w.range, STRING, 0, true);
  else if (ins.json && (ins.keyword === 'COPY' || ins.keyword === 'ADD' || ins.keyword === 'VOLUME')) for (const a of ins.args) c.add(a.range, STRING, 0, true);
  for (const h of ins.heredocs) {
    c.add(h.delimiterRange, OPERATOR);
    c.add(h.terminatorRange, OPERATOR);
  }
}

export function semanticTokens(df: Dockerfile, resultId?: string): SemanticTokens {
  const r: SemanticTokens = { data: encodeTokens(df) };
  if (resultId !== undefined) r.resultId = resultId;
  return r;
}

/** Tokens of the lines a range touches (what the editor asks for first on a large file). */
export function semanticTokensRange(df: Dockerfile, range: Range): SemanticTokens {
  return { data: encodeTokens(df, range.start.line, range.end.line) };
}

/** One edit turning `prev` into `next`: the middle between their common prefix and suffix. */
export function semanticTokensDelta(prev: number[], next: number[], resultId: string): SemanticTokensDelta {
  let p = 0;
  const max = Math.min(prev.length, next.length);
  while (p < max && prev[p] === next[p]) p++;
  let s = 0;
  while (s < max - p && prev[prev.length - 1 - s] === next[next.length - 1 - s]) s++;
  if (p === prev.length && p === next.length) return { resultId, edits: [] };
  return { resultId, edits: [{ start: p, deleteCount: prev.length - p - s, data: next.slice(p, next.length - s) }] };
}

/** Tokens decoded back to `line:col text type[.mods]` lines, for tests and debugging. */
export function renderTokens(df: Dockerfile, data: number[]): string[] {
  const out: string[] = [];
  let line = 0;
  let start = 0;
  for (let i = 0; i + 4 < data.length + 0 && i < data.length; i += 5) {
    const dl = data[i]!;
    line += dl;
    start = dl === 0 ? start + data[i + 1]! : data[i + 1]!;
    const len = data[i + 2]!;
    const type = TOKEN_TYPES[data[i + 3]!]!;
    const mods = TOKEN_MODIFIERS.filter((_, b) => data[i + 4]! & (1 << b));
    const base = df.lineStarts[line]!;
    out.push(`${line}:${start} ${df.text.slice(base + start, base + start + len)} ${[type, ...mods].join('.')}`);
  }
  return out;
}
