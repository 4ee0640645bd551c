/**
 * Re-parse after an edit without parsing the whole text again: the engine's parser (engine/dockerfile `parse`)
 * parses only the instructions the edit touched, and the rest of the previous tree is kept (shifted when the line
 * count changed). The result is the tree `parse(newText)` would give — `test/unit/incremental.test.ts` checks that
 * over random edit sequences — and any edit this cannot place safely falls back to a full parse.
 *
 * Why a slice parses the same as in the whole file: at the first line of an instruction the line scanner is in its
 * start state (not in a continuation, not in a heredoc body, past the directives), so the text from there on parses
 * the same whether it follows the earlier lines or not. The slice starts at the last instruction entirely before the
 * first changed character and ends with the first instruction entirely after the change (the "anchor"); when the
 * slice's parse ends with the anchor again (same lines, same text), everything after it is unchanged too. Stages,
 * global ARGs and the problems that depend on the whole file (InstructionBeforeFrom, NoInstructions) are then
 * assembled over the whole instruction list as `parse` assembles them.
 */
import { assembleDockerfile, computeLineStarts, lineAt, parse, partitionPoint } from '../engine/dockerfile/index';
import type { Comment, Dockerfile, Instruction, ParseProblem } from '../engine/dockerfile/types';

/** For an instruction copied to new lines by a re-parse (the edit changed the line count above it): the instruction
 *  of the previous tree it stands for. Caches keyed by instructions use it to follow their entries. */
export const movedFrom = new WeakMap<Instruction, Instruction>();

/** Problems `parse` adds while assembling the whole file (not the line parsers'). */
const FILE_PROBLEMS = new Set(['InstructionBeforeFrom', 'NoInstructions']);

export interface ReparseStats {
  /** 'full' when the edit could not be placed and the whole text was parsed */
  mode: 'incremental' | 'full';
  /** instructions parsed again */
  parsed: number;
  /** for an incremental re-parse: the instructions the edit replaced (previous tree) and the ones that replaced
   *  them (new tree), and the change in line count after them */
  region?: { old: Instruction[]; new: Instruction[]; delta: number };
}

/** Shifts every position (`{line, character}`) and `startLine`/`endLine` in a fresh object graph, in place. */
function shiftInPlace(root: unknown, delta: number, seen: Set<object>): void {
  if (delta === 0 || root === null || typeof root !== 'object' || seen.has(root) || Object.isFrozen(root)) return;
  seen.add(root);
  if (Array.isArray(root)) {
    for (const x of root) shiftInPlace(x, delta, seen);
    return;
  }
  const o = root as Record<string, unknown>;
  if (typeof o.line === 'number' && typeof o.character === 'number') {
    o.line += delta;
    return;
  }
  if (typeof o.startLine === 'number') o.startLine += delta;
  if (typeof o.endLine === 'number') o.endLine += delta;
  for (const k in o) {
    const v = o[k];
    if (v !== null && typeof v === 'object') shiftInPlace(v, delta, seen);
  }
}

/** A copy of an object graph of the previous tree with positions shifted (shared objects stay shared). */
function shiftedCopy<T>(root: T, delta: number, memo: Map<object, unknown>): T {
  if (root === null || typeof root !== 'object') return root;
  if (Object.isFrozen(root)) return root;
  const hit = memo.get(root as object);
  if (hit !== undefined) return hit as T;
  if (Array.isArray(root)) {
    const out: unknown[] = new Array(root.length);
    memo.set(root, out);
    for (let i = 0; i < root.length; i++) out[i] = shiftedCopy(root[i], delta, memo);
    return out as T;
  }
  const o = root as Record<string, unknown>;
  if (typeof o.line === 'number' && typeof o.character === 'number' && Object.keys(o).length === 2) {
    const p = { line: o.line + delta, character: o.character };
    memo.set(root as object, p);
    return p as T;
  }
  const out: Record<string, unknown> = {};
  memo.set(root as object, out);
  for (const k in o) {
    const v = o[k];
    if ((k === 'startLine' || k === 'endLine') && typeof v === 'number') out[k] = v + delta;
    else out[k] = v !== null && typeof v === 'object' ? shiftedCopy(v, delta, memo) : v;
  }
  return out as T;
}

function sameInstruction(a: Instruction, b: Instruction, delta: number): boolean {
  if (a.logical !== b.logical || a.startLine + delta !== b.startLine || a.endLine + delta !== b.endLine) return false;
  if (a.heredocs.length !== b.heredocs.length) return false;
  for (let i = 0; i < a.heredocs.length; i++) if (a.heredocs[i]!.content !== b.heredocs[i]!.content) return false;
  return true;
}

/** Block size of commonEnds' comparisons. */
const BLOCK = 256;

/**
 * The lengths of the common prefix of `a` and `b`, and of their common suffix after it (they do not overlap). Blocks
 * are compared as substrings first (one native comparison a block: ten times faster than a loop of charCodeAt over a
 * 160 kB file), then the characters of the block that differs.
 */
export function commonEnds(a: string, b: string): [number, number] {
  const min = Math.min(a.length, b.length);
  let p = 0;
  while (p + BLOCK <= min && a.substring(p, p + BLOCK) === b.substring(p, p + BLOCK)) p += BLOCK;
  while (p < min && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  const al = a.length;
  const bl = b.length;
  let s = 0;
  while (s + BLOCK <= min - p && a.substring(al - s - BLOCK, al - s) === b.substring(bl - s - BLOCK, bl - s)) s += BLOCK;
  while (s < min - p && a.charCodeAt(al - 1 - s) === b.charCodeAt(bl - 1 - s)) s++;
  return [p, s];
}

/**
 * The tree for `text`, reusing `prev` (the tree of the text before the edit) where the edit left it alone.
 * `stats`, when given, says what was done.
 */
export function reparse(prev: Dockerfile, text: string, stats?: ReparseStats): Dockerfile {
  const full = (): Dockerfile => {
    const t = parse(text);
    if (stats) {
      stats.mode = 'full';
      stats.parsed = t.instructions.length;
      delete stats.region;
    }
    return t;
  };
  const old = prev.text;
  if (old === text) {
    if (stats) Object.assign(stats, { mode: 'incremental', parsed: 0, region: { old: [], new: [], delta: 0 } });
    return prev;
  }
  // the escape directive and a byte order mark change how every line scans: keep it simple, parse it all
  if (prev.bom || prev.escape !== '\\' || prev.instructions.length === 0 || text.charCodeAt(0) === 0xfeff) return full();
  const [p, s] = commonEnds(old, text);
  const oldStarts = prev.lineStarts;
  const lineA = lineAt(oldStarts, p);
  const lineB = lineAt(oldStarts, old.length - s);
  const list = prev.instructions;
  // X: the last instruction whose lines all come before the first changed line. The slice starts at X's first
  // line, which the edit left as it was: an instruction line, so the slice's scan starts past any directive.
  const xi = partitionPoint(list.length, (i) => list[i]!.endLine < lineA) - 1;
  // an edit in the first instruction or above it (directives): parse it all
  if (xi < 0) return full();
  const X = list[xi]!;
  // Y: the first instruction starting after the last changed line (the anchor), if any
  let yi = xi + 1;
  while (yi < list.length && list[yi]!.startLine <= lineB) yi++;
  const Y = yi < list.length ? list[yi] : undefined;
  const newStarts = computeLineStarts(text);
  const delta = newStarts.length - oldStarts.length;
  const startLine = X.startLine;
  const endOld = Y ? Y.endLine : oldStarts.length - 1;
  const endNew = endOld + delta;
  if (endNew < startLine) return full();
  const from = newStarts[startLine]!;
  const to = endNew + 1 < newStarts.length ? newStarts[endNew + 1]! : text.length;
  const slice = parse(text.slice(from, to));
  const fresh = slice.instructions;
  const seen = new Set<object>();
  shiftInPlace(fresh, startLine, seen);
  shiftInPlace(slice.comments, startLine, seen);
  if (Y) {
    const last = fresh[fresh.length - 1];
    if (!last || !sameInstruction(Y, last, delta)) return full();
  }
  // the region's instructions without the anchor (the previous tree's anchor object is kept, as all after it)
  const region = Y ? fresh.slice(0, -1) : fresh;
  // the slice had no FROM above it: InstructionBeforeFrom is assembleDockerfile()'s to decide (fresh objects: fix in place)
  for (const ins of region) {
    if (ins.problems.some((p) => p.code === 'InstructionBeforeFrom')) ins.problems = ins.problems.filter((p) => p.code !== 'InstructionBeforeFrom');
  }
  // re-parsed but unchanged (the very same lines, as X always is): say which instruction each stands for
  const oldRegion = list.slice(xi, Y ? yi : list.length);
  const rawOld = (i: Instruction): string => old.slice(oldStarts[i.startLine]!, oldStarts[i.endLine + 1] ?? old.length);
  const rawNew = (i: Instruction): string => text.slice(newStarts[i.startLine]!, newStarts[i.endLine + 1] ?? text.length);
  const unchanged = (o: Instruction, n: Instruction, d: number): boolean => sameInstruction(o, n, d) && rawOld(o) === rawNew(n);
  for (let i = 0; i < region.length && i < oldRegion.length && unchanged(oldRegion[i]!, region[i]!, 0); i++) movedFrom.set(region[i]!, oldRegion[i]!);
  for (let i = 1; i <= region.length && i <= oldRegion.length; i++) {
    const o = oldRegion[oldRegion.length - i]!;
    const n = region[region.length - i]!;
    if (movedFrom.has(n) || !unchanged(o, n, delta)) break;
    movedFrom.set(n, o);
  }
  const sliceProblems = new Set<ParseProblem>();
  for (const ins of region) for (const pr of ins.problems) sliceProblems.add(pr);
  // kept: before X (as they are) and from Y on (shifted when the line count changed)
  const memo = new Map<object, unknown>();
  const after = Y ? list.slice(yi) : [];
  const kept = delta === 0 ? after : after.map((ins) => {
    const c = shiftedCopy(ins, delta, memo);
    movedFrom.set(c, ins);
    return c;
  });
  const instructions = [...list.slice(0, xi), ...region, ...kept];
  // comments: before X, the region's, after the region (shifted)
  const comments: Comment[] = [];
  for (const c of prev.comments) if (c.range.start.line < startLine) comments.push(c);
  for (const c of slice.comments) if (!Y || c.range.start.line < Y.startLine + delta) comments.push(c);
  if (Y) {
    for (const c of prev.comments) if (c.range.start.line >= Y.startLine) comments.push(delta === 0 ? c : shiftedCopy(c, delta, memo));
  }
  // problems that belong to no instruction (the directives'): as they were
  const insProblems = new Set<ParseProblem>();
  for (const ins of list) for (const pr of ins.problems) insProblems.add(pr);
  const top = prev.problems.filter((pr) => !insProblems.has(pr) && !FILE_PROBLEMS.has(pr.code));
  const out = assembleDockerfile({ text, escape: prev.escape, directives: prev.directives, comments, bom: prev.bom, lineStarts: newStarts }, instructions, top);
  if (stats) {
    stats.mode = 'incremental';
    stats.parsed = fresh.length;
    // assembleDockerfile() may have replaced an instruction (InstructionBeforeFrom moved): the region as the new tree has it
    stats.region = { old: list.slice(xi, Y ? yi : list.length), new: out.instructions.slice(xi, xi + region.length), delta };
  }
  return out;
}
