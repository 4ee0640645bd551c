/** Shared plumbing for rules that look inside RUN scripts. */
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { namedCommands, runCommands, runScripts, wordRange, type RunScript, type ShellWord, type SimpleCommand } from './shell';
import type { Fix, RuleContext, TextEditLike } from './types';
import { tokenPosition } from './util';

export interface RunCommand {
  stage: Stage;
  ins: Instruction;
  cmd: SimpleCommand;
  script: RunScript;
  name: string;
  args: ShellWord[];
  /** the subcommand: the first argument that is not an option (undefined when there is none) */
  sub: string | undefined;
  /** the word holding the command name */
  nameWord: ShellWord;
}

/** The RUN commands of a tree, found in one pass and shared by every rule that looks at them. */
interface RunIndex {
  /** every simple command of every RUN in every stage, in file order */
  all: RunCommand[];
  /** by instruction (RUNs with at least one command) */
  byIns: Map<Instruction, RunCommand[]>;
  /** by command name, in file order */
  byName: Map<string, RunCommand[]>;
  /** the stage of each command of `all` in this tree */
  stageOf: Stage[];
}

const indexes = new WeakMap<Dockerfile, RunIndex>();
const NO_COMMANDS: RunCommand[] = Object.freeze([]) as unknown as RunCommand[];
/**
 * The commands of one RUN instruction, made once per instruction object: a re-parse after an edit keeps the
 * instructions it did not touch, so their commands are not made again for each edit. They depend on the instruction
 * alone except `stage`: each parse (and each sub-tree the incremental rules run on) has stage objects of its own, so
 * an index re-points the commands' `stage` at its tree's stages whenever it is handed out and was not the last one
 * that did (`applied`). Rules read an index's commands right after getting them, so they always see their tree's.
 */
const perInstruction = new WeakMap<Instruction, RunCommand[]>();
let applied: RunIndex | undefined;

function commandsOfInstruction(stage: Stage, ins: Instruction): RunCommand[] {
  let list = perInstruction.get(ins);
  if (list === undefined) {
    list = NO_COMMANDS;
    for (const script of runScripts(ins)) {
      for (const c of namedCommands(script)) {
        // one shape for every command: `sub` is always there (undefined when there is none)
        const rc: RunCommand = { stage, ins, cmd: c.cmd, script, name: c.name, args: c.args, sub: c.sub, nameWord: c.nameWord };
        if (list === NO_COMMANDS) list = [rc];
        else list.push(rc);
      }
    }
    perInstruction.set(ins, list);
  }
  return list;
}

function runIndex(file: Dockerfile): RunIndex {
  let x = indexes.get(file);
  if (!x) {
    const all: RunCommand[] = [];
    const stageOf: Stage[] = [];
    const byIns = new Map<Instruction, RunCommand[]>();
    const byName = new Map<string, RunCommand[]>();
    for (const stage of file.stages) {
      const list = stage.instructions;
      for (let i = 0; i < list.length; i++) {
        const ins = list[i]!;
        if (ins.keyword !== 'RUN') continue;
        const cmds = commandsOfInstruction(stage, ins);
        if (cmds.length === 0) continue;
        byIns.set(ins, cmds);
        for (let k = 0; k < cmds.length; k++) {
          const rc = cmds[k]!;
          all.push(rc);
          stageOf.push(stage);
          const named = byName.get(rc.name);
          if (named) named.push(rc);
          else byName.set(rc.name, [rc]);
        }
      }
    }
    x = { all, stageOf, byIns, byName };
    indexes.set(file, x);
    applied = undefined;
  }
  if (applied !== x) {
    const { all, stageOf } = x;
    for (let i = 0; i < all.length; i++) all[i]!.stage = stageOf[i]!;
    applied = x;
  }
  return x;
}

/** The simple commands of one RUN. */
export function commandsOfRun(file: Dockerfile, ins: Instruction): RunCommand[] {
  return runIndex(file).byIns.get(ins) ?? NO_COMMANDS;
}

/** Every simple command of every RUN in every stage. */
export function allRunCommands(file: Dockerfile): RunCommand[] {
  return runIndex(file).all;
}

/** The commands with one of these names (and one of these subcommands), in file order; the list is shared: read only. */
export function commandsNamed(file: Dockerfile, names: string[], subs?: string[]): RunCommand[] {
  const m = runIndex(file).byName;
  if (names.length === 1) {
    const l = m.get(names[0]!);
    if (!l) return NO_COMMANDS;
    if (!subs) return l;
  }
  const out: RunCommand[] = [];
  for (const n of names) for (const c of m.get(n) ?? NO_COMMANDS) if (!subs || (c.sub !== undefined && subs.includes(c.sub))) out.push(c);
  return names.length > 1 ? out.sort((a, b) => a.ins.startLine - b.ins.startLine || a.cmd.start - b.cmd.start) : out;
}

/** Document range of a command (whole simple command). */
export function rangeOfCommand(file: Dockerfile, c: RunCommand): import('../../engine/dockerfile/types').Range {
  return wordRange(file, c.script, c.cmd.start, c.cmd.end);
}

/** Insert `text` right after a word of a shell-form RUN (undefined for heredoc/exec form). */
export function insertAfterWord(file: Dockerfile, c: RunCommand, word: ShellWord, text: string): TextEditLike | undefined {
  if (!c.script.token) return undefined;
  const p = tokenPosition(file, c.script.token, word.end);
  if (!p) return undefined;
  return { range: { start: p, end: p }, newText: text };
}

/** Replace a word of a shell-form RUN. */
export function replaceWord(file: Dockerfile, c: RunCommand, word: ShellWord, text: string): TextEditLike | undefined {
  if (!c.script.token) return undefined;
  const a = tokenPosition(file, c.script.token, word.start);
  const b = tokenPosition(file, c.script.token, word.end);
  if (!a || !b) return undefined;
  return { range: { start: a, end: b }, newText: text };
}

/** Append text at the end of a shell-form RUN's command. */
export function appendToRun(ins: Instruction, text: string): TextEditLike | undefined {
  const cmd = ins.command;
  if (!cmd || cmd.json || !cmd.words[0] || ins.heredocs.length) return undefined;
  const end = cmd.words[0].range.end;
  return { range: { start: end, end }, newText: text };
}

/** Prepend text to a shell-form RUN's command. */
export function prependToRun(ins: Instruction, text: string): TextEditLike | undefined {
  const cmd = ins.command;
  if (!cmd || cmd.json || !cmd.words[0] || ins.heredocs.length) return undefined;
  const start = cmd.words[0].range.start;
  return { range: { start, end: start }, newText: text };
}

export function fixOf(title: string, edit: TextEditLike | undefined, preferred = true): Fix[] | undefined {
  return edit ? [{ title, edits: [edit], preferred }] : undefined;
}

/** Report a finding on a command with an optional fix. */
export function reportCommand(ctx: RuleContext, c: RunCommand, message: string, fixes?: Fix[]): void {
  ctx.report({ range: rangeOfCommand(ctx.file, c), instruction: c.ins, message, ...(fixes ? { fixes } : {}) });
}

/** The positional (non-option) arguments after the subcommand, skipping option values. */
export function packageArgs(c: RunCommand, optionsWithValue: string[]): ShellWord[] {
  const out: ShellWord[] = [];
  let seenSub = c.sub === undefined;
  for (let k = 0; k < c.args.length; k++) {
    const a = c.args[k]!;
    const v = a.value;
    if (!seenSub) {
      if (v === c.sub) seenSub = true;
      else if (optionsWithValue.includes(v)) k++;
      continue;
    }
    if (v.startsWith('-')) {
      if (optionsWithValue.includes(v)) k++;
      continue;
    }
    if (v === '' || v.startsWith('$(') || v === '\\') continue;
    out.push(a);
  }
  return out;
}

/** Is there any command in the same RUN matching `pred`? */
export function sameRunHas(file: Dockerfile, ins: Instruction, pred: (c: RunCommand) => boolean): boolean {
  return commandsOfRun(file, ins).some(pred);
}

/** A RUN script text contains `needle` (for rm -rf paths and the like). */
export function runTextIncludes(ins: Instruction, re: RegExp): boolean {
  return runCommands(ins).some(({ script }) => re.test(script.text));
}

/** An ENV set in the stage (or its parents) before `ins`. */
export function envSetBefore(file: Dockerfile, stage: Stage, ins: Instruction, name: string): boolean {
  for (const i of stage.instructions) {
    if (i === ins) break;
    if (i.keyword === 'ENV' && i.pairs?.some((p) => p.key.value === name)) return true;
  }
  if (stage.base.kind === 'stage') {
    const parent = file.stages[stage.base.stage];
    if (parent && parent !== stage) return parent.instructions.some((i) => i.keyword === 'ENV' && i.pairs?.some((p) => p.key.value === name));
  }
  return false;
}
