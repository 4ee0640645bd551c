/**
 * engine/dockerfile: the one Dockerfile parser. `parse(text)` never throws; problems come back in
 * `Dockerfile.problems` (and per instruction) with ranges, and parsing goes on after each.
 *
 * Layers: lines.ts (physical lines, directives, continuations, heredoc bodies) -> nodes.ts (BuildKit's line
 * parsers: keyword, flags, argument words) -> instructions.ts (typed views, instruction errors) -> stages here.
 */
import { findHeredocs } from './heredoc';
import { buildInstruction, withProblems } from './instructions';
import { scanLines } from './lines';
import { knownKeyword, parseNode, Pieces, type RawNode } from './nodes';
import type { Comment, Dockerfile, Instruction, ParseProblem, Range, Stage, Token } from './types';
import { partitionPoint } from './text';

export * from './types';
export { dumpBuildKit, dumpInstruction } from './dump';
export { lineAt, positionAt, offsetAt, containsPosition, comparePositions, computeLineStarts, partitionPoint } from './text';

/** The top-level instruction whose lines include `line` (0-based), by binary search: instructions are in order. */
export function instructionAt(df: Dockerfile, line: number): Instruction | undefined {
  const list = df.instructions;
  const ins = list[partitionPoint(list.length, (i) => list[i]!.endLine < line)];
  return ins && ins.startLine <= line ? ins : undefined;
}
export { KNOWN_KEYWORDS, isKnownKeyword } from './nodes';
export { FLAG_SPECS } from './flags';


/** RUN, COPY and ADD (also behind ONBUILD) carry heredocs, unless in JSON form. The node it parsed comes back
 *  with the answer, so that the line is not parsed twice. */
function heredocGate(ps: Pieces, logical: string, escape: '\\' | '`'): { carries: boolean; node: RawNode } {
  const node = parseNode(logical, 0, escape, ps);
  const n = node.child && knownKeyword(node.cmd) === 'ONBUILD' ? node.child : node;
  const k = knownKeyword(n.cmd);
  return { carries: (k === 'RUN' || k === 'COPY' || k === 'ADD') && !n.json, node };
}

export function parse(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const ps = new Pieces();
  // each logical line becomes an instruction as soon as it is scanned (its line map and node are valid until the
  // next one)
  const scan = scanLines<RawNode>(
    text,
    (logical, escape) => heredocGate(ps, logical, escape),
    findHeredocs,
    (ll) => {
      instructions.push(buildInstruction(ll.parsed ?? parseNode(ll.text, 0, ll.escape, ps), ps, ll));
    },
  );
  return assembleDockerfile(
    { text, escape: scan.escape, directives: scan.directives, comments: scan.comments, bom: scan.bom, lineStarts: scan.lineStarts },
    instructions,
    scan.problems,
  );
}

/**
 * The file-level part of a parse, from its instructions in order: stages, global ARGs, InstructionBeforeFrom and
 * NoInstructions, and the sorted problem list (`topProblems`, the line layer's, first). Instructions are never
 * changed: one that gains or loses InstructionBeforeFrom is replaced by a copy, so that the language server can
 * re-assemble a tree whose instructions it reuses from the previous one.
 */
export function assembleDockerfile(base: Omit<Dockerfile, 'stages' | 'globalArgs' | 'problems' | 'instructions'>, list: Instruction[], topProblems: ParseProblem[]): Dockerfile {
  const instructions: Instruction[] = new Array(list.length);
  const problems: ParseProblem[] = [...topProblems];
  const stages: Stage[] = [];
  const globalArgs: Instruction[] = [];
  const byName = new Map<string, number>();
  let seenFrom = false;
  for (let k = 0; k < list.length; k++) {
    let ins = list[k]!;
    if (!seenFrom && ins.keyword === 'FROM') seenFrom = true;
    const before = !seenFrom && ins.keyword !== 'ARG';
    // InstructionBeforeFrom belongs to the whole file: take it off kept instructions, add it where it applies now
    // (indexed loops: the shared empty lists are frozen, and for-of over a frozen array allocates an iterator)
    let had = false;
    for (let i = 0; i < ins.problems.length; i++) if (ins.problems[i]!.code === 'InstructionBeforeFrom') had = true;
    if (had) ins = withProblems(ins, ins.problems.filter((p) => p.code !== 'InstructionBeforeFrom'));
    for (let i = 0; i < ins.problems.length; i++) problems.push(ins.problems[i]!);
    if (before) {
      const p: ParseProblem = {
        code: 'InstructionBeforeFrom',
        message: `${ins.keyword} cannot appear before the first FROM: no build stage in current context`,
        severity: 'error',
        range: ins.keywordToken.range,
      };
      if (!had) ins = withProblems(ins, [...ins.problems]);
      ins.problems.push(p);
    }
    instructions[k] = ins;
  }
  const late: ParseProblem[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const image = ins.from?.image?.value ?? '';
      const b = stageBase(image, byName);
      const st = makeStage(stages.length, undefined, undefined, ins, [], ins.range, b);
      const nameTok = ins.from?.stageName;
      if (nameTok) {
        st.name = nameTok.value.toLowerCase();
        st.nameToken = nameTok;
        // a later stage of the same name takes the name over, for the FROM lines after it (as BuildKit)
        byName.set(st.name, st.index);
      }
      stages.push(st);
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') globalArgs.push(ins);
      else late.push(ins.problems[ins.problems.length - 1]!);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  for (const st of stages) {
    const last = st.instructions[st.instructions.length - 1];
    if (last) st.range = { start: st.range.start, end: last.range.end };
  }
  // parse() pushes each InstructionBeforeFrom into the list after every instruction's own problems
  for (const p of late) problems.push(p);
  if (instructions.length === 0) {
    const last = base.lineStarts.length - 1;
    problems.push({
      code: 'NoInstructions',
      message: 'file with no instructions',
      severity: 'error',
      range: { start: { line: 0, character: 0 }, end: { line: last, character: base.text.length - base.lineStarts[last]! } },
    });
  }
  problems.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return makeTree(base, base.comments, instructions, globalArgs, stages, problems);
}

/**
 * A tree from its parts. Every tree is made here, the parser's and the language server's sub-trees alike, as one
 * literal: V8 then gives them all one hidden class (a spread copy gets a class of its own, and the rules reading
 * trees would fall back from their optimised code).
 */
export function makeTree(
  base: Pick<Dockerfile, 'text' | 'escape' | 'directives' | 'bom' | 'lineStarts'>,
  comments: Comment[],
  instructions: Instruction[],
  globalArgs: Instruction[],
  stages: Stage[],
  problems: ParseProblem[],
): Dockerfile {
  return { text: base.text, escape: base.escape, directives: base.directives, comments, bom: base.bom, lineStarts: base.lineStarts, instructions, globalArgs, stages, problems };
}

/** A stage from its parts: every stage is made here, as makeTree makes every tree. */
/**
 * What a FROM's base name refers to, as BuildKit decides it: an earlier stage whose name (stored lower-cased) is
 * exactly the base name (`FROM Builder` is not stage `builder`: it is an image name, and an invalid one), then
 * `scratch`, exactly so, then an image. The builder calls it again with the name expanded (`FROM $BASE`).
 */
export function stageBase(image: string, earlierByName: ReadonlyMap<string, number>): Stage['base'] {
  const stage = earlierByName.get(image);
  if (stage !== undefined) return { kind: 'stage', stage };
  if (image === 'scratch') return { kind: 'scratch' };
  return { kind: 'image', ref: image };
}

export function makeStage(index: number, name: string | undefined, nameToken: Token | undefined, from: Instruction, instructions: Instruction[], range: Range, base: Stage['base']): Stage {
  return { index, name, nameToken, from, instructions, range, base };
}

export {
  resolveScopes,
  expandInstruction,
  copyMap,
  shellEnv,
  hostPlatform,
  formatPlatform,
  PREDEFINED_PLATFORM_ARGS,
  PREDEFINED_PROXY_ARGS,
  type Scopes,
  type ScopeOptions,
  type VarDef,
  type Vars,
  type VarsByInstruction,
  type Expanded,
  type Platform,
} from './scope';
