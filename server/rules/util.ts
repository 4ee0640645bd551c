/**
 * Helpers rules share: positions inside continued instructions, RUN scripts split into simple commands, stage
 * lookups. They read the parse tree; the only text they read besides it is the shell script inside RUN (which
 * the Dockerfile parser deliberately leaves to the shell).
 */
import type { Dockerfile, Instruction, Position, Range, Stage, Token } from '../../engine/dockerfile/types';
import { positionAt } from '../../engine/dockerfile/text';

export function pos(line: number, character: number): Position {
  return { line, character };
}

export function rangeOf(a: Position, b: Position): Range {
  return { start: a, end: b };
}

/** Offset of a position in the document text. */
export function offsetOf(file: Dockerfile, p: Position): number {
  const start = file.lineStarts[p.line];
  if (start === undefined) return file.text.length;
  return Math.min(start + p.character, file.text.length);
}

export function positionOf(file: Dockerfile, offset: number): Position {
  return positionAt(file.lineStarts, offset);
}

/** The document text a range covers. */
export function textOf(file: Dockerfile, r: Range): string {
  return file.text.slice(offsetOf(file, r.start), offsetOf(file, r.end));
}

/** The line end the document uses (for inserted lines). */
const eols = new WeakMap<Dockerfile, string>();
/** The document's line end for inserted lines: CRLF when any line ends so (one scan per tree). */
export function eolOf(file: Dockerfile): string {
  let e = eols.get(file);
  if (e === undefined) {
    e = file.text.includes('\r\n') ? '\r\n' : '\n';
    eols.set(file, e);
  }
  return e;
}

/**
 * Maps an offset in a token's value (continuations joined, comment lines dropped) to a document position, by
 * walking the document text from the token's start and skipping what the join removed. Undefined when the
 * walk loses track (the caller then offers no fix rather than a wrong one).
 */
export function tokenPosition(file: Dockerfile, token: Token, offset: number): Position | undefined {
  const text = file.text;
  let d = offsetOf(file, token.range.start);
  const end = offsetOf(file, token.range.end);
  const v = token.value;
  let i = 0;
  while (i < offset) {
    if (d >= end + 1) return undefined;
    if (text[d] === v[i]) {
      d++;
      i++;
      continue;
    }
    // skip what the line join removed: the escape + line end, comment lines, blank continuation lines
    d++;
  }
  // land on the value's character, not on skipped text before it
  while (d < end && i < v.length && text[d] !== v[i]) d++;
  return positionOf(file, d);
}

/** A range inside a token's value, as a document range (undefined when it cannot be mapped). */
export function tokenSubRange(file: Dockerfile, token: Token, from: number, to: number): Range | undefined {
  const a = tokenPosition(file, token, from);
  const b = tokenPosition(file, token, to);
  if (!a || !b) return undefined;
  return { start: a, end: b };
}

/** Every instruction of every stage, with its stage (FROM lines included), ONBUILD triggers excluded. */
export function* stageInstructions(file: Dockerfile): Generator<{ stage: Stage; ins: Instruction }> {
  for (const stage of file.stages) {
    yield { stage, ins: stage.from };
    for (const ins of stage.instructions) yield { stage, ins };
  }
}

const byKeyword = new WeakMap<Dockerfile, Map<string, Instruction[]>>();
const NO_INSTRUCTIONS: readonly Instruction[] = Object.freeze([]);

/** The top-level instructions with this keyword, in file order (one index per tree, shared: read only). */
export function instructionsOf(file: Dockerfile, keyword: string): readonly Instruction[] {
  let m = byKeyword.get(file);
  if (!m) {
    m = new Map();
    for (const ins of file.instructions) {
      const l = m.get(ins.keyword);
      if (l) l.push(ins);
      else m.set(ins.keyword, [ins]);
    }
    byKeyword.set(file, m);
  }
  return m.get(keyword) ?? NO_INSTRUCTIONS;
}

/** An instruction of a stage (not its FROM), with the stage and its index in the stage's list. */
export interface InStage {
  stage: Stage;
  ins: Instruction;
  pos: number;
}

const byStageKeyword = new WeakMap<Dockerfile, Map<string, InStage[]>>();
const NO_STAGE_INSTRUCTIONS: readonly InStage[] = Object.freeze([]);

/**
 * The stage instructions (FROM lines excluded) with this keyword, stage by stage in order, as walking
 * `file.stages` and each stage's `instructions` finds them (one index per tree, shared: read only). Rules that look
 * at a few keywords walk these instead of every instruction of every stage.
 */
export function stageInstructionsOf(file: Dockerfile, keyword: string): readonly InStage[] {
  let m = byStageKeyword.get(file);
  if (!m) {
    m = new Map();
    for (const stage of file.stages) {
      const list = stage.instructions;
      for (let pos = 0; pos < list.length; pos++) {
        const ins = list[pos]!;
        const e: InStage = { stage, ins, pos };
        const l = m.get(ins.keyword);
        if (l) l.push(e);
        else m.set(ins.keyword, [e]);
      }
    }
    byStageKeyword.set(file, m);
  }
  return m.get(keyword) ?? NO_STAGE_INSTRUCTIONS;
}

/** stageInstructionsOf for several keywords, merged in stage order. */
export function stageInstructionsOfAny(file: Dockerfile, keywords: readonly string[]): readonly InStage[] {
  const lists = keywords.map((k) => stageInstructionsOf(file, k)).filter((l) => l.length > 0);
  if (lists.length <= 1) return lists[0] ?? NO_STAGE_INSTRUCTIONS;
  // kept with the single-keyword lists (a key no keyword has: it holds a space)
  const key = ' ' + keywords.join(' ');
  const m = byStageKeyword.get(file)!;
  let out = m.get(key);
  if (!out) {
    out = lists.flat();
    out.sort((a, b) => a.stage.index - b.stage.index || a.pos - b.pos);
    m.set(key, out);
  }
  return out;
}

/** `s === s.toUpperCase()`, without making the upper-case string when `s` is ASCII. */
export function isUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return s === s.toUpperCase();
    if (c >= 97 && c <= 122) return false;
  }
  return true;
}

/** `s === s.toLowerCase()`, without making the lower-case string when `s` is ASCII. */
export function isLower(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return s === s.toLowerCase();
    if (c >= 65 && c <= 90) return false;
  }
  return true;
}

/** The keyword range, the usual anchor for an instruction-wide finding. */
export function keywordRange(ins: Instruction): Range {
  return ins.keywordToken.range;
}

/** First line of the instruction, from the keyword to the line end (or the instruction end). */
export function firstLineRange(file: Dockerfile, ins: Instruction): Range {
  if (ins.range.end.line === ins.range.start.line) return ins.range;
  const lineStart = file.lineStarts[ins.startLine]!;
  const next = file.lineStarts[ins.startLine + 1] ?? file.text.length;
  let e = next;
  while (e > lineStart && (file.text[e - 1] === '\n' || file.text[e - 1] === '\r')) e--;
  return { start: ins.range.start, end: positionOf(file, e) };
}

import { editDistance, nearest } from '../../engine/dockerfile/flags';
export { editDistance };

/** The closest candidate within distance max(2, len/3), not the word itself, or undefined. */
export function nearestName(word: string, candidates: Iterable<string>): string | undefined {
  return nearest(word, candidates, { maxDistance: (len) => Math.max(2, Math.floor(len / 3)), differentOnly: true });
}

/** Is a RUN/COPY flag set (`--mount=type=cache,target=/var/cache/apt`)? */
export function hasCacheMount(ins: Instruction, targetPrefix: string | RegExp): boolean {
  for (const m of ins.mounts ?? []) {
    if (m.type !== 'cache') continue;
    const target = m.options.find((o) => o.key === 'target' || o.key === 'dst' || o.key === 'destination')?.value ?? '';
    if (typeof targetPrefix === 'string' ? target.startsWith(targetPrefix) : targetPrefix.test(target)) return true;
  }
  return false;
}
