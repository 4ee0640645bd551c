/** Where a position falls in the tree: the instruction, the flag, the word being typed. Shared by features. */
import { offsetAt, partitionPoint } from '../../engine/dockerfile/text';
import { containsPosition, instructionAt } from '../../engine/dockerfile';
import type { Dockerfile, Flag, Heredoc, Instruction, Position, Range } from '../../engine/dockerfile/types';

/** Is `p` inside `r` (ends included)? */
export const contains: (r: Range, p: Position) => boolean = containsPosition;

/** The top-level instruction whose lines include `line`. */
export const instructionAtLine: (df: Dockerfile, line: number) => Instruction | undefined = instructionAt;

/** Index of the last instruction starting at or before `line` (-1 when none). */
export function lastInstructionBefore(df: Dockerfile, line: number): number {
  const list = df.instructions;
  return partitionPoint(list.length, (i) => list[i]!.startLine <= line) - 1;
}

export function heredocBodyAt(ins: Instruction, line: number): Heredoc | undefined {
  return ins.heredocs.find((h) => h.content.length > 0 && line >= h.bodyRange.start.line && line <= h.bodyRange.end.line);
}

export function flagAt(ins: Instruction, p: Position): Flag | undefined {
  return ins.flags.find((f) => contains(f.range, p));
}

/** The text of one line without its line end. */
export function lineText(df: Dockerfile, line: number): string {
  const start = df.lineStarts[line];
  if (start === undefined) return '';
  const next = df.lineStarts[line + 1];
  let end = next === undefined ? df.text.length : next - 1;
  if (end > start && df.text.charCodeAt(end - 1) === 13) end--;
  return df.text.slice(start, Math.max(start, end));
}

export function offsetOf(df: Dockerfile, p: Position): number {
  return offsetAt(df.lineStarts, p, df.text.length);
}

/** The instruction a trigger of ONBUILD is, or the instruction itself. */
export function effective(ins: Instruction): Instruction {
  return ins.keyword === 'ONBUILD' && ins.trigger ? ins.trigger : ins;
}
