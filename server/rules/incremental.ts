/**
 * Incremental rule runs for one open document. A rule whose findings for an instruction (`scope: 'instruction'`)
 * or for a stage (`scope: 'stage'`) depend only on that instruction's or stage's own lines is run only on the units
 * an edit changed (a sub-tree holding just them); for the others its previous findings are reused, moved to where
 * the unit is now. Every other rule runs on the whole tree as before. The result is exactly `runRules`'s (same
 * findings, same order): test/unit/incremental.test.ts compares both over random edit sequences.
 *
 * Units are known by identity: server/incrementalParse.ts keeps the instruction objects an edit did not touch (and
 * says which copy stands for which when lines moved: `movedFrom`), so an instruction unit is clean when its object
 * (or the one it was copied from) was seen with the same escape character, line end and stage membership. A stage
 * unit is clean when its FROM and all its instructions are the objects seen last time on the same first line (stage
 * hints name other lines in their messages). A unit that ends the file is never reused: some fixes there reach into
 * the line before it.
 */
import { makeStage, makeTree } from '../../engine/dockerfile/index';
import { partitionPoint } from '../../engine/dockerfile/text';
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { movedFrom } from '../incrementalParse';
import { finishFindings, hadolintIgnores, parseCheckDirective, runOneRule, type RunOptions, type RunResult } from './run';
import type { Finding, Rule } from './types';
import { eolOf } from './util';

/** One finding of a unit: its rule (index into the scoped rule list) and what `instruction` pointed at. */
interface Kept {
  k: number;
  /** the unit's instruction (index in the unit's list), its ONBUILD trigger, or nothing */
  ref: 'self' | 'trigger' | 'none';
  at?: number;
}

interface Entry {
  tag: string;
  /** stage units: the instructions (FROM first) the findings were made for */
  list?: Instruction[];
  kept: Kept[];
  /** findings by the unit's first line; `line0` is the line they were made on */
  line0: number;
  made: Map<number, Finding[]>;
}

function shiftLines<T>(v: T, delta: number): T {
  if (delta === 0 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => shiftLines(x, delta)) as T;
  const o = v as Record<string, unknown>;
  if (typeof o.line === 'number' && typeof o.character === 'number') return { ...o, line: o.line + delta } as T;
  const out: Record<string, unknown> = {};
  for (const k in o) {
    const x = o[k];
    // instructions are not copied: `instruction` is re-pointed by the caller
    out[k] = k === 'instruction' ? x : x !== null && typeof x === 'object' ? shiftLines(x, delta) : x;
  }
  return out as T;
}

interface Unit {
  first: number;
  last: number;
  /** instructions of the unit in order (one for an instruction unit; FROM + the stage's for a stage unit) */
  list: Instruction[];
  stage?: Stage;
  cacheable: boolean;
  tag: string;
  /** the cached entry, when the unit is clean */
  entry?: Entry;
}

export class IncrementalRules {
  private readonly insRules: Rule[];
  private readonly stageRules: Rule[];
  private insEntries = new WeakMap<Instruction, Entry>();
  private stageEntries = new WeakMap<Instruction, Entry>();
  private sig = '';
  /** units made on the last run (for tests: how much was recomputed) */
  lastRecomputed = { instructions: 0, stages: 0 };
  /** scoped rules that reported outside their unit on the last run (and so ran on the whole tree) */
  lastFailed: string[] = [];

  constructor(private readonly rules: readonly Rule[]) {
    this.insRules = rules.filter((r) => r.scope === 'instruction');
    this.stageRules = rules.filter((r) => r.scope === 'stage');
  }

  /** true once a run has filled the per-unit findings (the first run over a document has nothing to reuse) */
  get warm(): boolean {
    return this.runs > 0;
  }
  private runs = 0;

  /**
   * Fill the per-unit findings for `file` without computing the diagnostics (scoped rules only). The server calls it
   * right after publishing a document's first diagnostics, computed the plain way: a first run through the units costs
   * more than a plain one, and nothing is there to reuse yet.
   */
  prime(file: Dockerfile, opts: RunOptions): void {
    this.run(file, opts, true);
  }

  run(file: Dockerfile, opts: RunOptions, scopedOnly = false): RunResult {
    this.runs++;
    const check = parseCheckDirective(file);
    const ignores = hadolintIgnores(file);
    // rules `# check=` leaves on (the others are not run at all, as runRules does)
    const on = (r: Rule): boolean => {
      const id = r.id.toLowerCase();
      if (r.group !== 'syntax' && (check.skipAll || check.skip.has(id))) return false;
      if (r.experimental && !(check.experimentalAll || check.experimental.has(id))) return false;
      return true;
    };
    const insRules = this.insRules.filter(on);
    const stageRules = this.stageRules.filter(on);
    // kept findings are per rule: another set of rules on (an edited `# check=` line) starts afresh
    const sig = [...insRules, ...stageRules].map((r) => r.id).join(',');
    if (sig !== this.sig) {
      this.sig = sig;
      this.insEntries = new WeakMap();
      this.stageEntries = new WeakMap();
    }
    const tag = `${file.escape}${eolOf(file)}`;
    const nLines = file.lineStarts.length;

    // in a stage: after the first FROM, and not a FROM (those are the stages' `from`)
    const firstFrom = file.stages.length ? file.instructions.indexOf(file.stages[0]!.from) : file.instructions.length;
    // only the units that matter this run: dirty ones, and clean ones with findings to place (file order)
    const insUnits: Unit[] = [];
    const list = file.instructions;
    const tagStage = tag + 's';
    const tagGlobal = tag + 'g';
    for (let n = 0; n < list.length; n++) {
      const ins = list[n]!;
      const t = n > firstFrom && ins.keyword !== 'FROM' ? tagStage : tagGlobal;
      const cacheable = ins.endLine + 1 < nLines;
      let e: Entry | undefined;
      if (cacheable) {
        e = this.insEntries.get(ins);
        if (!e) {
          const from = movedFrom.get(ins);
          e = from && this.insEntries.get(from);
          if (e) this.insEntries.set(ins, e); // the copy carries the entry on
        }
        if (e && e.tag !== t) e = undefined;
      }
      if (e && e.kept.length === 0) continue;
      insUnits.push({ first: ins.startLine, last: ins.endLine, list: [ins], cacheable, tag: t, ...(e ? { entry: e } : {}) });
    }
    const stageUnits: Unit[] = file.stages.map((st) => {
      const lastIns = st.instructions[st.instructions.length - 1] ?? st.from;
      const list = [st.from, ...st.instructions];
      const u: Unit = { first: st.from.startLine, last: lastIns.endLine, list, stage: st, cacheable: lastIns.endLine + 1 < nLines, tag };
      if (u.cacheable) {
        const e = this.stageEntries.get(st.from);
        if (e && e.tag === tag && e.line0 === u.first && e.list!.length === list.length && e.list!.every((x, i) => x === list[i])) u.entry = e;
      }
      return u;
    });

    const raw = new Map<Rule, Finding[]>();
    const failed = new Set<Rule>();
    const insDirty = this.scoped(file, insRules, insUnits, this.insEntries, opts, failed, (dirty) => subFileOfInstructions(file, dirty));
    const stDirty = this.scoped(file, stageRules, stageUnits, this.stageEntries, opts, failed, (dirty) => subFileOfStages(file, dirty));
    this.lastRecomputed = { instructions: insDirty.dirty, stages: stDirty.dirty };
    this.lastFailed = [...failed].map((r) => r.id);
    for (const [r, fs] of [...insDirty.raw, ...stDirty.raw]) raw.set(r, fs);
    if (scopedOnly) return { findings: [], check };
    for (const r of this.rules) {
      if (r.scope === 'instruction' || r.scope === 'stage') continue;
      const fs = runOneRule(file, r, check, opts);
      if (fs) raw.set(r, fs);
    }
    if (failed.size) {
      // a rule broke its promise: nothing kept from this run is trusted
      this.insEntries = new WeakMap();
      this.stageEntries = new WeakMap();
    }
    return finishFindings(file, this.rules, raw, check, ignores);
  }

  /** Run `rules` (all of one scope) over the units: reuse clean units, run the rules on a sub-tree of the dirty ones. */
  private scoped(
    file: Dockerfile,
    rules: Rule[],
    units: Unit[],
    entries: WeakMap<Instruction, Entry>,
    opts: RunOptions,
    failed: Set<Rule>,
    subFile: (dirty: Unit[]) => Dockerfile,
  ): { raw: Map<Rule, Finding[]>; dirty: number } {
    const raw = new Map<Rule, Finding[]>();
    if (rules.length === 0) return { raw, dirty: 0 };
    const dirty = units.filter((u) => !u.entry);
    const check = parseCheckDirective(file);
    if (dirty.length) {
      const sub = subFile(dirty);
      // the units are in order and do not overlap: the first that ends at or after `line`, if it starts by then
      const byLine = (line: number): Unit | undefined => {
        const u = dirty[partitionPoint(dirty.length, (i) => dirty[i]!.last < line)];
        return u && u.first <= line ? u : undefined;
      };
      const made = new Map<Unit, Finding[]>();
      for (const u of dirty) {
        u.entry = { tag: u.tag, kept: [], line0: u.first, made: new Map() };
        if (u.stage) u.entry.list = u.list;
        made.set(u, []);
      }
      rules.forEach((r, k) => {
        const fs = runOneRule(sub, r, check, opts);
        if (!fs) {
          failed.add(r);
          return;
        }
        for (const f of fs) {
          const u = byLine(f.range.start.line);
          let ref: Kept['ref'] = 'none';
          let at: number | undefined;
          if (u && f.instruction) {
            const i = u.list.indexOf(f.instruction);
            if (i >= 0) [ref, at] = ['self', i];
            else {
              const t = u.list.findIndex((x) => x.trigger === f.instruction);
              if (t >= 0) [ref, at] = ['trigger', t];
              else ref = 'none';
            }
          }
          if (!u || (f.instruction && ref === 'none')) {
            // a finding outside its unit: this rule is not as local as it says; run it on the whole tree instead
            failed.add(r);
            return;
          }
          u.entry!.kept.push({ k, ref, ...(at !== undefined ? { at } : {}) });
          made.get(u)!.push(f);
        }
      });
      for (const u of dirty) {
        u.entry!.made.set(u.first, made.get(u)!);
        if (u.cacheable) entries.set(u.list[0]!, u.entry!);
      }
    }
    const perRule: Finding[][] = rules.map(() => []);
    for (const u of units) {
      const e = u.entry!;
      if (e.kept.length === 0) continue;
      let made = e.made.get(u.first);
      if (!made) {
        const base = e.made.get(e.line0)!;
        made = shiftLines(base, u.first - e.line0);
        if (e.made.size > 4) for (const line of [...e.made.keys()]) if (line !== e.line0) e.made.delete(line);
        e.made.set(u.first, made);
      }
      // point the findings at this tree's instructions
      for (let j = 0; j < made.length; j++) {
        const f = made[j]!;
        const kf = e.kept[j]!;
        const target = kf.at !== undefined ? u.list[kf.at] : undefined;
        if (kf.ref === 'self' && target) f.instruction = target;
        else if (kf.ref === 'trigger' && target?.trigger) f.instruction = target.trigger;
        else delete f.instruction;
        perRule[kf.k]!.push(f);
      }
    }
    rules.forEach((r, k) => {
      if (failed.has(r)) {
        const fs = runOneRule(file, r, check, opts);
        if (fs) raw.set(r, fs);
      } else raw.set(r, perRule[k]!);
    });
    return { raw, dirty: dirty.length };
  }
}

/** A tree like `file` with other instructions, stages and global ARGs, and no problems or comments. */
function treeWith(file: Dockerfile, instructions: Instruction[], stages: Stage[], globalArgs: Instruction[]): Dockerfile {
  return makeTree(file, [], instructions, globalArgs, stages, []);
}

/** A stage like `st` with other instructions. */
function stageWith(st: Stage, instructions: Instruction[]): Stage {
  return makeStage(st.index, st.name, st.nameToken, st.from, instructions, st.range, st.base);
}

/** A tree holding only `dirty` instruction units (stages keep their FROM, hold only their dirty instructions). */
function subFileOfInstructions(file: Dockerfile, dirty: Unit[]): Dockerfile {
  const instructions = dirty.map((u) => u.list[0]!);
  if (dirty.length === file.instructions.length) return treeWith(file, file.instructions, file.stages, file.globalArgs);
  const globals = new Set(file.globalArgs);
  const want = new Set(instructions);
  const stages: Stage[] = [];
  for (const st of file.stages) {
    const list = st.instructions.filter((i) => want.has(i));
    if (list.length) stages.push(stageWith(st, list));
  }
  return treeWith(file, instructions, stages, instructions.filter((i) => globals.has(i)));
}

/** A tree holding only the dirty stages, whole. */
function subFileOfStages(file: Dockerfile, dirty: Unit[]): Dockerfile {
  if (dirty.length === file.stages.length) return treeWith(file, file.instructions, file.stages, file.globalArgs);
  const stages = dirty.map((u) => u.stage!);
  const instructions = dirty.flatMap((u) => u.list);
  return treeWith(file, instructions, stages, []);
}
