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

/** A token on one line. */
export interface Tok {
  line: number;
  start: number;
  length: number;
  type: number;
  mods: number;
}

class Collector {
  readonly fg: Tok[] = [];
  readonly bg: Tok[] = [];
  constructor(private readonly df: Dockerfile) {}

  private lineLength(line: number): number {
    const ls = this.df.lineStarts;
    const start = ls[line]!;
    let end = line + 1 < ls.length ? ls[line + 1]! - 1 : this.df.text.length;
    if (end > start && this.df.text.charCodeAt(end - 1) === 13) end--;
    return end - start;
  }

  add(r: Range | undefined, type: TokenType, mods: TokenModifier[] = [], background = false): void {
    if (!r) return;
    const t = TYPE_INDEX.get(type)!;
    let m = 0;
    for (const x of mods) m |= MOD_BIT.get(x)!;
    const out = background ? this.bg : this.fg;
    for (let line = r.start.line; line <= r.end.line; line++) {
      const s = line === r.start.line ? r.start.character : 0;
      const e = line === r.end.line ? r.end.character : this.lineLength(line);
      // leading blanks of continuation lines are not part of a token
      let s2 = s;
      if (line !== r.start.line) {
        const text = this.df.text;
        const base = this.df.lineStarts[line]!;
        while (s2 < e && (text[base + s2] === ' ' || text[base + s2] === '\t')) s2++;
      }
      if (e > s2) out.push({ line, start: s2, length: e - s2, type: t, mods: m });
    }
  }
}

const cmp = (a: Tok, b: Tok) => a.line - b.line || a.start - b.start;

/** All tokens, sorted, not overlapping: background (string) tokens are cut around foreground ones. */
export function collectTokens(df: Dockerfile): Tok[] {
  const c = new Collector(df);
  for (const d of df.directives) {
    c.add(d.nameRange, 'macro');
    c.add(d.valueRange, 'string');
  }
  for (const cm of df.comments) c.add(cm.range, 'comment');
  for (const ins of df.instructions) {
    instructionTokens(c, ins);
    if (ins.trigger) instructionTokens(c, ins.trigger);
  }
  const idx = symbolIndex(df);
  for (const s of df.stages) c.add(s.nameToken?.range, 'class', ['declaration']);
  for (const r of idx.stageRefs) c.add(r.range, 'class');
  for (const d of idx.definitions) c.add(d.range, 'variable', d.kind === 'arg' ? ['declaration', 'readonly'] : ['declaration']);
  for (const u of idx.uses) {
    const mods: TokenModifier[] = [];
    if (u.definition?.kind === 'arg') mods.push('readonly');
    if (!u.definition && PREDEFINED_ARG_DOCS.has(u.name)) mods.push('defaultLibrary', 'readonly');
    c.add(u.fullRange, 'variable', mods);
  }
  const fg = dedupe(c.fg.sort(cmp));
  const bg = c.bg.sort(cmp);
  const out: Tok[] = [];
  // cut background tokens around foreground ones (both sorted: one merge pass)
  let j = 0;
  for (const b of bg) {
    while (j < fg.length && cmp(fg[j]!, b) < 0 && !(fg[j]!.line === b.line && fg[j]!.start + fg[j]!.length > b.start)) j++;
    let s = b.start;
    const end = b.start + b.length;
    for (let k = j; k < fg.length && fg[k]!.line === b.line && fg[k]!.start < end; k++) {
      const f = fg[k]!;
      if (f.start > s) out.push({ ...b, start: s, length: f.start - s });
      s = Math.max(s, f.start + f.length);
    }
    if (end > s) out.push({ ...b, start: s, length: end - s });
  }
  return merge(fg, out);
}

/** Foreground tokens may repeat (a stage name is both a FROM arg and a definition): keep the later, richer one. */
function dedupe(sorted: Tok[]): Tok[] {
  const out: Tok[] = [];
  for (const t of sorted) {
    const last = out[out.length - 1];
    if (last && last.line === t.line && t.start < last.start + last.length) {
      // overlapping: keep the shorter (more specific) one
      if (t.length < last.length || (t.length === last.length && t.start === last.start)) out[out.length - 1] = t;
      continue;
    }
    out.push(t);
  }
  return out;
}

function merge(a: Tok[], b: Tok[]): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && cmp(a[i]!, b[j]!) <= 0)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

function instructionTokens(c: Collector, ins: Instruction): void {
  c.add(ins.keywordToken.range, 'keyword', ins.keyword === 'MAINTAINER' ? ['deprecated'] : []);
  for (const f of ins.flags) {
    c.add({ start: f.range.start, end: f.nameRange.end }, 'parameter');
    if (f.name === 'mount' && ins.mounts?.length) {
      for (const m of ins.mounts) {
        for (const o of m.options) {
          if (o.range.start.line !== o.range.end.line) continue;
          const keyEnd = { line: o.range.start.line, character: Math.min(o.range.end.character, o.range.start.character + o.key.length) };
          c.add({ start: o.range.start, end: keyEnd }, 'property');
          if (o.value !== undefined && o.range.end.character > keyEnd.character + 1) {
            c.add({ start: { line: keyEnd.line, character: keyEnd.character + 1 }, end: o.range.end }, 'string', [], true);
          }
        }
      }
    } else if (f.valueRange) c.add(f.valueRange, 'string', [], true);
  }
  switch (ins.keyword) {
    case 'FROM':
      if (ins.from?.image) c.add(ins.from.image.range, 'string', [], true);
      c.add(ins.from?.asKeyword?.range, 'keyword');
      break;
    case 'ARG':
      for (const a of ins.argDeclarations ?? []) c.add(a.defaultValue?.range, 'string', [], true);
      break;
    case 'ENV':
    case 'LABEL':
      for (const p of ins.pairs ?? []) {
        if (ins.keyword === 'LABEL') c.add(p.key.range, 'property');
        c.add(p.value.range, 'string', [], true);
      }
      break;
    case 'EXPOSE':
      for (const a of ins.args) c.add(a.range, 'number');
      break;
    case 'STOPSIGNAL':
      for (const a of ins.args) c.add(a.range, 'enumMember');
      break;
    case 'HEALTHCHECK':
      c.add(ins.healthcheckType?.range, 'keyword');
      break;
  }
  if (ins.json && ins.command) for (const w of ins.command.words) c.add(w.range, 'string', [], true);
  else if (ins.json && (ins.keyword === 'COPY' || ins.keyword === 'ADD' || ins.keyword === 'VOLUME')) for (const a of ins.args) c.add(a.range, 'string', [], true);
  for (const h of ins.heredocs) {
    c.add(h.delimiterRange, 'operator');
    c.add(h.terminatorRange, 'operator');
  }
}

/** LSP's relative encoding. */
export function encode(tokens: Tok[]): number[] {
  const data = new Array<number>(tokens.length * 5);
  let line = 0;
  let start = 0;
  let i = 0;
  for (const t of tokens) {
    const dl = t.line - line;
    data[i++] = dl;
    data[i++] = dl === 0 ? t.start - start : t.start;
    data[i++] = t.length;
    data[i++] = t.type;
    data[i++] = t.mods;
    line = t.line;
    start = t.start;
  }
  return data;
}

export function semanticTokens(df: Dockerfile, resultId?: string): SemanticTokens {
  const r: SemanticTokens = { data: encode(collectTokens(df)) };
  if (resultId !== undefined) r.resultId = resultId;
  return r;
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
