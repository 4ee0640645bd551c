/** Shared plumbing for rules that look inside RUN scripts. */
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { commandArgs, runCommands, wordRange, type RunScript, type ShellWord, type SimpleCommand } from './shell';
import type { Fix, RuleContext, TextEditLike } from './types';
import { tokenPosition } from './util';

export interface RunCommand {
  stage: Stage;
  ins: Instruction;
  cmd: SimpleCommand;
  script: RunScript;
  name: string;
  args: ShellWord[];
  sub?: string;
  /** the word holding the command name */
  nameWord: ShellWord;
}

const cache = new WeakMap<Dockerfile, RunCommand[]>();
const byIns = new WeakMap<Dockerfile, Map<Instruction, RunCommand[]>>();

/** The simple commands of one RUN instruction. */
export function commandsOfRun(file: Dockerfile, ins: Instruction): RunCommand[] {
  let m = byIns.get(file);
  if (!m) {
    m = new Map();
    for (const c of allRunCommands(file)) {
      const l = m.get(c.ins);
      if (l) l.push(c);
      else m.set(c.ins, [c]);
    }
    byIns.set(file, m);
  }
  return m.get(ins) ?? [];
}

/** The commands of one RUN without their stage (an instruction kept by an edit keeps them). */
const perIns = new WeakMap<Instruction, Omit<RunCommand, 'stage'>[]>();
function commandsOfIns(ins: Instruction): Omit<RunCommand, 'stage'>[] {
  let l = perIns.get(ins);
  if (l) return l;
  l = [];
  for (const { cmd, script } of runCommands(ins)) {
    const ca = commandArgs(cmd);
    if (!ca) continue;
    const nameWord = cmd.words[cmd.words.length - ca.args.length - 1]!;
    const rc: Omit<RunCommand, 'stage'> = { ins, cmd, script, name: ca.name, args: ca.args, nameWord };
    if (ca.sub !== undefined) rc.sub = ca.sub;
    l.push(rc);
  }
  perIns.set(ins, l);
  return l;
}

/** Every simple command of every RUN in every stage. */
export function allRunCommands(file: Dockerfile): RunCommand[] {
  const hit = cache.get(file);
  if (hit) return hit;
  const out: RunCommand[] = [];
  for (const stage of file.stages) {
    for (const ins of stage.instructions) {
      if (ins.keyword !== 'RUN') continue;
      for (const c of commandsOfIns(ins)) {
        const rc: RunCommand = { stage, ins: c.ins, cmd: c.cmd, script: c.script, name: c.name, args: c.args, nameWord: c.nameWord };
        if (c.sub !== undefined) rc.sub = c.sub;
        out.push(rc);
      }
    }
  }
  cache.set(file, out);
  return out;
}

const byName = new WeakMap<Dockerfile, Map<string, RunCommand[]>>();

export function commandsNamed(file: Dockerfile, names: string[], subs?: string[]): RunCommand[] {
  let m = byName.get(file);
  if (!m) {
    m = new Map();
    for (const c of allRunCommands(file)) {
      const l = m.get(c.name);
      if (l) l.push(c);
      else m.set(c.name, [c]);
    }
    byName.set(file, m);
  }
  const out: RunCommand[] = [];
  for (const n of names) for (const c of m.get(n) ?? []) if (!subs || (c.sub !== undefined && subs.includes(c.sub))) out.push(c);
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
