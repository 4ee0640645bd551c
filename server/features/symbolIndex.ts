/**
 * Stages and variables of one parsed Dockerfile: every definition and every use with its range, built once
 * per tree (cached in a WeakMap) in one pass. Navigation, rename, hover, completion and semantic tokens all
 * read it. Variable uses come from engine/dockerfile/shell's findVariableRefs over each instruction's
 * text, so the editor finds exactly the references the builder expands.
 */
import { findVariableRefs } from '../../engine/dockerfile/shell';
import { offsetAt, positionAt } from '../../engine/dockerfile/text';
import type { Dockerfile, Instruction, Position, Range, Stage } from '../../engine/dockerfile/types';

export type VariableKind = 'arg' | 'env';

export interface VariableDefinition {
  name: string;
  kind: VariableKind;
  /** the name token's range */
  range: Range;
  /** the value as written (quotes kept); undefined for `ARG x` */
  value?: string;
  instruction: Instruction;
  /** -1 for a global ARG (before the first FROM) */
  stage: number;
  /** the symbol the definition belongs to: stage ARGs and the global ARG of the same name share one */
  symbol: string;
}

export interface VariableUse {
  name: string;
  range: Range;
  /** the `$…` text range, `${` to `}` included */
  fullRange: Range;
  instruction: Instruction;
  stage: number;
  /** the definition in scope, when there is one */
  definition?: VariableDefinition;
  /** the symbol, or `undeclared:<name>` */
  symbol: string;
}

export interface StageReference {
  stage: Stage;
  range: Range;
  /** `from` (FROM x), `copy` (COPY --from=x), `mount` (--mount from=x) */
  kind: 'from' | 'copy' | 'mount';
  /** true when written as a stage index (`--from=0`) */
  numeric: boolean;
}

export interface SymbolIndex {
  definitions: VariableDefinition[];
  uses: VariableUse[];
  stageRefs: StageReference[];
  /** the stage of a top-level instruction (-1 before the first FROM) */
  stageOf: Map<Instruction, number>;
}

const cache = new WeakMap<Dockerfile, SymbolIndex>();

export function symbolIndex(df: Dockerfile): SymbolIndex {
  let idx = cache.get(df);
  if (!idx) {
    idx = build(df);
    cache.set(df, idx);
  }
  return idx;
}

/** The text between two positions of the document (UTF-16 offsets through lineStarts). */
export function textOf(df: Dockerfile, r: Range): string {
  return df.text.slice(offsetAt(df.lineStarts, r.start, df.text.length), offsetAt(df.lineStarts, r.end, df.text.length));
}

export function rangeAt(df: Dockerfile, start: number, end: number): Range {
  return { start: positionAt(df.lineStarts, start), end: positionAt(df.lineStarts, end) };
}

/** The stage a name refers to (before stage `before`, when given): with two stages of one name, the later one, as
 *  BuildKit resolves it (its table of names is overwritten as stages are added). */
export function stageByName(df: Dockerfile, name: string, before?: number): Stage | undefined {
  const lower = name.toLowerCase();
  let found: Stage | undefined;
  for (const st of df.stages) {
    if (before !== undefined && st.index >= before) break;
    if (st.name === lower) found = st;
  }
  if (found) return found;
  if (/^[0-9]+$/.test(name)) {
    const i = Number(name);
    if (i < df.stages.length && (before === undefined || i < before)) return df.stages[i];
  }
  return undefined;
}

/** Variables in scope right before `ins` (latest definition wins), by name. */
export function scopeAt(df: Dockerfile, idx: SymbolIndex, stage: number, before: Instruction | undefined): Map<string, VariableDefinition> {
  const out = new Map<string, VariableDefinition>();
  const beforeLine = before ? before.startLine : Infinity;
  if (stage < 0) {
    for (const d of idx.definitions) if (d.stage === -1 && d.instruction.startLine < beforeLine) out.set(d.name, d);
    return out;
  }
  // ENV is inherited through FROM <stage>; ARG is not
  const chain: number[] = [];
  for (let s: Stage | undefined = df.stages[stage]; s; s = s.base.kind === 'stage' ? df.stages[s.base.stage] : undefined) {
    if (chain.includes(s.index)) break;
    chain.unshift(s.index);
  }
  for (const d of idx.definitions) {
    if (d.stage < 0 || !chain.includes(d.stage)) continue;
    if (d.stage === stage && d.instruction.startLine >= beforeLine) continue;
    if (d.stage !== stage && d.kind !== 'env') continue;
    out.set(d.name, d);
  }
  return out;
}

function definitionsOf(ins: Instruction, stage: number, globals: Map<string, VariableDefinition>): VariableDefinition[] {
  const out: VariableDefinition[] = [];
  if (ins.keyword === 'ARG') {
    for (const a of ins.argDeclarations ?? []) {
      const name = a.name.value;
      const d: VariableDefinition = { name, kind: 'arg', range: a.name.range, instruction: ins, stage, symbol: `arg:${name}` };
      if (a.defaultValue) d.value = a.defaultValue.value;
      out.push(d);
    }
  } else if (ins.keyword === 'ENV') {
    for (const p of ins.pairs ?? []) {
      out.push({ name: p.key.value, kind: 'env', range: p.key.range, value: p.value.value, instruction: ins, stage, symbol: `env:${stage}:${p.key.value}` });
    }
  }
  void globals;
  return out;
}

function build(df: Dockerfile): SymbolIndex {
  const definitions: VariableDefinition[] = [];
  const uses: VariableUse[] = [];
  const stageRefs: StageReference[] = [];
  const stageOf = new Map<Instruction, number>();
  const globals = new Map<string, VariableDefinition>();
  const stageScope = new Map<string, VariableDefinition>();
  let stage = -1;
  const stageIndexOfFrom = new Map<Instruction, Stage>();
  for (const st of df.stages) stageIndexOfFrom.set(st.from, st);

  for (const ins of df.instructions) {
    const st = stageIndexOfFrom.get(ins);
    if (st) {
      stage = st.index;
      stageScope.clear();
      // ENV of the base stage is inherited
      if (st.base.kind === 'stage') {
        for (const d of definitions) if (d.kind === 'env' && d.stage === st.base.stage) stageScope.set(d.name, d);
        // stage ENV from further up the chain was already folded into the base's definitions order
        let b: Stage | undefined = df.stages[st.base.stage];
        const seen = new Set<number>();
        while (b && b.base.kind === 'stage' && !seen.has(b.index)) {
          seen.add(b.index);
          const up: number = b.base.stage;
          for (const d of definitions) if (d.kind === 'env' && d.stage === up && !stageScope.has(d.name)) stageScope.set(d.name, d);
          b = df.stages[up];
        }
      }
    }
    stageOf.set(ins, stage);

    // uses first: an instruction sees the definitions made before it
    const scope = stage < 0 || ins.keyword === 'FROM' ? globals : stageScope;
    collectUses(df, ins, stage, scope, uses);
    if (ins.keyword === 'FROM') collectFromRefs(df, ins, st, stageRefs);
    collectFlagStageRefs(df, ins, stage, stageRefs);

    for (const d of definitionsOf(ins, stage, globals)) {
      definitions.push(d);
      if (stage < 0) globals.set(d.name, d);
      else stageScope.set(d.name, d);
    }
  }
  return { definitions, uses, stageRefs, stageOf };
}

/** The part of an instruction that the builder expands: after the keyword, heredoc bodies included. */
function collectUses(df: Dockerfile, ins: Instruction, stage: number, scope: Map<string, VariableDefinition>, out: VariableUse[]): void {
  const text = df.text;
  const ls = df.lineStarts;
  const start = offsetAt(ls, ins.keywordToken.range.end, text.length);
  const end = offsetAt(ls, ins.range.end, text.length);
  // heredoc bodies that are not expanded (quoted delimiter in COPY/ADD) are skipped
  const skips: [number, number][] = [];
  for (const h of ins.heredocs) {
    const hs = offsetAt(ls, h.bodyRange.start, text.length);
    const he = offsetAt(ls, h.bodyRange.end, text.length);
    if (!h.expand && ins.keyword !== 'RUN') skips.push([hs, he]);
    // the terminator is never expanded
    if (h.terminatorRange) skips.push([offsetAt(ls, h.terminatorRange.start, text.length), offsetAt(ls, h.terminatorRange.end, text.length)]);
  }
  // scan line by line so that comment lines inside a continuation are left out
  let lineStart = start;
  let line = ins.keywordToken.range.end.line;
  let lineBase = ls[line]!;
  while (lineStart < end) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0 || lineEnd > end) lineEnd = end;
    const dollar = text.indexOf('$', lineStart);
    if (dollar >= 0 && dollar < lineEnd) {
      const skipped = skips.some(([a, b]) => lineStart >= a && lineStart < b);
      const slice = text.slice(lineStart, lineEnd);
      const isComment = lineStart !== start && /^[ \t]*#/.test(slice) && !inBody(ins, line);
      if (!skipped && !isComment) {
        const col = lineStart - lineBase;
        for (const r of findVariableRefs(slice, { escape: df.escape })) {
          const name = r.name;
          if (!name) continue;
          const def = scope.get(name);
          const u: VariableUse = {
            name,
            range: { start: { line, character: col + r.nameStart }, end: { line, character: col + r.nameEnd } },
            fullRange: { start: { line, character: col + r.start }, end: { line, character: col + r.end } },
            instruction: ins,
            stage,
            symbol: def ? def.symbol : `undeclared:${name}`,
          };
          if (def) u.definition = def;
          out.push(u);
        }
      }
    }
    lineStart = lineEnd + 1;
    line++;
    lineBase = lineStart;
  }
}

function inBody(ins: Instruction, line: number): boolean {
  return ins.heredocs.some((h) => line >= h.bodyRange.start.line && line <= h.bodyRange.end.line && h.content.length > 0);
}

function collectFromRefs(df: Dockerfile, ins: Instruction, st: Stage | undefined, out: StageReference[]): void {
  if (!st || st.base.kind !== 'stage' || !ins.from?.image) return;
  const target = df.stages[st.base.stage];
  if (target) out.push({ stage: target, range: ins.from.image.range, kind: 'from', numeric: false });
}

function collectFlagStageRefs(df: Dockerfile, ins: Instruction, stage: number, out: StageReference[]): void {
  const target = ins.keyword === 'ONBUILD' ? undefined : ins;
  if (!target) return;
  for (const f of target.flags) {
    if (f.name === 'from' && f.value && f.valueRange && (ins.keyword === 'COPY' || ins.keyword === 'ADD')) {
      const s = stageByName(df, f.value, stage < 0 ? 0 : stage);
      if (s) out.push({ stage: s, range: f.valueRange, kind: 'copy', numeric: /^[0-9]+$/.test(f.value) });
    }
  }
  for (const m of ins.mounts ?? []) {
    for (const o of m.options) {
      if (o.key !== 'from' || !o.value) continue;
      const s = stageByName(df, o.value, stage < 0 ? 0 : stage);
      if (!s) continue;
      const valueStart: Position = { line: o.range.start.line, character: o.range.end.character - o.value.length };
      if (o.range.start.line !== o.range.end.line) continue;
      out.push({ stage: s, range: { start: valueStart, end: o.range.end }, kind: 'mount', numeric: /^[0-9]+$/.test(o.value) });
    }
  }
}
