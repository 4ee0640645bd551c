/** Folding: stages, multi-line instructions, heredoc bodies and blocks of comment lines. */
import { FoldingRangeKind, type FoldingRange } from 'vscode-languageserver';
import type { Dockerfile } from '../../engine/dockerfile/types';

export function foldingRanges(df: Dockerfile): FoldingRange[] {
  const out: FoldingRange[] = [];
  const starts = new Set<number>();
  const add = (startLine: number, endLine: number, kind?: string) => {
    if (endLine <= startLine || starts.has(startLine)) return;
    starts.add(startLine);
    out.push(kind ? { startLine, endLine, kind } : { startLine, endLine });
  };
  for (const st of df.stages) add(st.from.startLine, st.range.end.line);
  for (const ins of df.instructions) {
    // a heredoc that begins on the keyword line folds with the instruction; later ones fold on their own
    add(ins.startLine, ins.endLine);
    for (const h of ins.heredocs) {
      const end = h.terminatorRange ? h.terminatorRange.start.line : h.bodyRange.end.line;
      add(h.delimiterRange.start.line, end);
    }
  }
  // runs of comment lines outside instructions (directives excluded: they are not in df.comments)
  let runStart = -1;
  let prev = -2;
  const flush = () => {
    if (runStart >= 0 && prev > runStart) add(runStart, prev, FoldingRangeKind.Comment);
  };
  for (const c of df.comments) {
    if (c.inInstruction) continue;
    const line = c.range.start.line;
    if (line !== prev + 1) {
      flush();
      runStart = line;
    }
    prev = line;
  }
  flush();
  return out.sort((a, b) => a.startLine - b.startLine);
}
