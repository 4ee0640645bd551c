/** Selection ranges: variable -> mount option / flag value -> flag or argument word -> arguments -> instruction -> stage -> document. */
import type { Position, Range, SelectionRange } from 'vscode-languageserver';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { contains, effective, instructionAtLine, offsetOf } from './cursor';
import { symbolIndex } from './symbolIndex';

function within(outer: Range, inner: Range): boolean {
  return contains(outer, inner.start) && contains(outer, inner.end);
}
const same = (a: Range, b: Range) =>
  a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;

export function selectionRange(df: Dockerfile, pos: Position): SelectionRange {
  const candidates: Range[] = [];
  const top = instructionAtLine(df, pos.line);
  if (top) {
    const idx = symbolIndex(df);
    for (const u of idx.uses) if (u.instruction === top && contains(u.fullRange, pos)) candidates.push(u.range, u.fullRange);
    const ins = effective(top);
    for (const f of ins.flags) {
      if (!contains(f.range, pos)) continue;
      for (const m of ins.mounts ?? []) for (const o of m.options) if (contains(o.range, pos)) candidates.push(o.range);
      if (f.valueRange && contains(f.valueRange, pos)) candidates.push(f.valueRange);
      candidates.push(f.range);
    }
    for (const p of ins.pairs ?? []) {
      if (contains(p.key.range, pos)) candidates.push(p.key.range);
      if (contains(p.value.range, pos)) candidates.push(p.value.range);
      if (contains(p.range, pos)) candidates.push(p.range);
    }
    for (const a of ins.args) if (contains(a.range, pos)) candidates.push(a.range);
    for (const h of ins.heredocs) if (contains(h.bodyRange, pos)) candidates.push(h.bodyRange);
    if (ins.argsToken && contains(ins.argsToken.range, pos)) candidates.push(ins.argsToken.range);
    if (contains(ins.keywordToken.range, pos)) candidates.push(ins.keywordToken.range);
    if (ins !== top) candidates.push(ins.range);
    candidates.push(top.range);
    const st = df.stages.find((s) => contains(s.range, pos));
    if (st) candidates.push(st.range);
  }
  const lastLine = df.lineStarts.length - 1;
  candidates.push({ start: { line: 0, character: 0 }, end: { line: lastLine, character: df.text.length - df.lineStarts[lastLine]! } });
  // outermost first (by length); keep a chain where each range lies within the one before
  const size = (r: Range) => offsetOf(df, r.end) - offsetOf(df, r.start);
  candidates.sort((a, b) => size(b) - size(a));
  let chain: SelectionRange | undefined;
  const kept: Range[] = [];
  for (const r of candidates) {
    const last = kept[kept.length - 1];
    if (last && (!within(last, r) || same(last, r))) continue;
    kept.push(r);
  }
  for (const r of kept) chain = chain ? { range: r, parent: chain } : { range: r };
  return chain ?? { range: { start: pos, end: pos } };
}
