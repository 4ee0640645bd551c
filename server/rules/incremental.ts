/**
 * Incremental rule runs for one open document. A rule whose findings for an instruction (`scope: 'instruction'`)
 * or for a stage (`scope: 'stage'`) depend only on that instruction's or stage's own lines is run only on the units
 * an edit changed (a sub-tree holding just them); for the others its previous findings are reused, moved to where
 * the unit is now. Every other rule runs on the whole tree as before. The result is exactly `runRules`'s (same
 * findings, same order): test/unit/incremental.test.ts compares both over random edit sequences.
 *
 * A unit is keyed by its text (its whole lines), whether it sits in a stage, and the file's escape character and
 * line end (fixes insert line ends); a stage also by its first line (stage hints name the lines of other
 * instructions in their messages). A unit that ends the file is never reused: some fixes there reach into the
 * line before it.
 */
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { finishFindings, hadolintIgnores, parseCheckDirective, runOneRule, type RunOptions, type RunResult } from './run';
import type { Finding, Rule } from './types';
import { eolOf } from './util';

/** A finding kept for reuse: positions relative to the unit's first line. */
interface Kept {
  finding: Finding;
  /** what `finding.instruction` was: the unit's instruction, its ONBUILD trigger, another instruction, none */
  ref: 'self' | 'trigger' | 'none';
  /** the instruction the finding pointed at, for `ref: 'self' | 'trigger'` in a stage unit (index in the stage) */
  at?: number;
}

interface Entry {
  /** the unit's findings, each with its rule (index into the scoped rule list), in rule order then report order */
  kept: (Kept & { k: number })[];
  /** materialized findings by the unit's first line (identical units may sit on several lines) */
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
  key: string;
  first: number;
  last: number;
  /** instructions of the unit in order (one for an instruction unit; FROM + the stage's for a stage unit) */
  list: Instruction[];
  stage?: Stage;
  cacheable: boolean;
}

const insKeys = new WeakMap<Instruction, { tag: string; key: string }>();
const stageKeys = new WeakMap<Instruction, { tag: string; list: Instruction[]; key: string }>();

export class IncrementalRules {
  private readonly insRules: Rule[];
  private readonly stageRules: Rule[];
  private insEntries = new Map<string, Entry>();
  private stageEntries = new Map<string, Entry>();
  private sig = '';
  /** units made on the last run (for tests: how much was recomputed) */
  lastRecomputed = { instructions: 0, stages: 0 };

  constructor(private readonly rules: readonly Rule[]) {
    this.insRules = rules.filter((r) => r.scope === 'instruction');
    this.stageRules = rules.filter((r) => r.scope === 'stage');
  }

  run(file: Dockerfile, opts: RunOptions): RunResult {
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
      this.insEntries = new Map();
      this.stageEntries = new Map();
    }
    const suffix = `\u0000${file.escape}\u0000${eolOf(file)}`;
    const nLines = file.lineStarts.length;
    const text = file.text;
    const slice = (a: number, b: number): string => text.slice(file.lineStarts[a]!, file.lineStarts[b + 1] ?? text.length);

    // instruction units
    const inStage = new Set<Instruction>();
    for (const st of file.stages) for (const ins of st.instructions) inStage.add(ins);
    const insUnits: Unit[] = file.instructions.map((ins) => {
      // an instruction the edit kept is the same object: its key string too (hashed once)
      const tag = suffix + (inStage.has(ins) ? 's' : 'g');
      let k = insKeys.get(ins);
      if (!k || k.tag !== tag) {
        k = { tag, key: slice(ins.startLine, ins.endLine) + tag };
        insKeys.set(ins, k);
      }
      return { key: k.key, first: ins.startLine, last: ins.endLine, list: [ins], cacheable: ins.endLine + 1 < nLines };
    });
    const stageUnits: Unit[] = file.stages.map((st) => {
      const lastIns = st.instructions[st.instructions.length - 1] ?? st.from;
      const list = [st.from, ...st.instructions];
      let k = stageKeys.get(st.from);
      if (!k || k.tag !== suffix || k.list.length !== list.length || k.list.some((x, i) => x !== list[i])) {
        // stage hints name other lines in their messages ("the COPY at line 8"): a stage that moved is run again
        k = { tag: suffix, list, key: slice(st.from.startLine, lastIns.endLine) + suffix + st.from.startLine };
        stageKeys.set(st.from, k);
      }
      return { key: k.key, first: st.from.startLine, last: lastIns.endLine, list, stage: st, cacheable: lastIns.endLine + 1 < nLines };
    });

    const raw = new Map<Rule, Finding[]>();
    const failed = new Set<Rule>();
    const insOut = this.scoped(file, insRules, insUnits, this.insEntries, opts, failed, (dirty) => subFileOfInstructions(file, dirty, inStage));
    this.insEntries = insOut.entries;
    const stOut = this.scoped(file, stageRules, stageUnits, this.stageEntries, opts, failed, (dirty) => subFileOfStages(file, dirty));
    this.stageEntries = stOut.entries;
    this.lastRecomputed = { instructions: insOut.dirty, stages: stOut.dirty };
    for (const [r, fs] of [...insOut.raw, ...stOut.raw]) raw.set(r, fs);
    for (const r of this.rules) {
      if (r.scope === 'instruction' || r.scope === 'stage') continue;
      const fs = runOneRule(file, r, check, opts);
      if (fs) raw.set(r, fs);
    }
    return finishFindings(file, this.rules, raw, check, ignores);
  }

  /** Run `rules` (all of one scope) over the units: reuse clean units, run the rules on a sub-tree of the dirty ones. */
  private scoped(
    file: Dockerfile,
    rules: Rule[],
    units: Unit[],
    entries: Map<string, Entry>,
    opts: RunOptions,
    failed: Set<Rule>,
    subFile: (dirty: Unit[]) => Dockerfile,
  ): { raw: Map<Rule, Finding[]>; entries: Map<string, Entry>; dirty: number } {
    const raw = new Map<Rule, Finding[]>();
    const next = new Map<string, Entry>();
    if (rules.length === 0) return { raw, entries: next, dirty: 0 };
    const dirty: Unit[] = [];
    const found: (Entry | undefined)[] = units.map((u) => {
      const e = u.cacheable ? entries.get(u.key) : undefined;
      if (!e) dirty.push(u);
      return e;
    });
    // the dirty units: every scoped rule on a tree that holds only them
    const fresh = new Map<Unit, Entry>();
    if (dirty.length) {
      const sub = subFile(dirty);
      const byLine = (line: number): Unit | undefined => {
        let lo = 0;
        let hi = dirty.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const u = dirty[mid]!;
          if (line < u.first) hi = mid - 1;
          else if (line > u.last) lo = mid + 1;
          else return u;
        }
        return undefined;
      };
      for (const u of dirty) fresh.set(u, { kept: [], made: new Map() });
      rules.forEach((r, k) => {
        const fs = runOneRule(sub, r, parseCheckDirective(file), opts);
        if (!fs) {
          failed.add(r);
          return;
        }
        for (const f of fs) {
          const u = byLine(f.range.start.line);
          if (!u) {
            // a finding outside its unit: this rule is not as local as it says; run it on the whole tree instead
            failed.add(r);
            return;
          }
          const e = fresh.get(u)!;
          let ref: Kept['ref'] = 'none';
          let at: number | undefined;
          if (f.instruction) {
            const i = u.list.indexOf(f.instruction);
            const t = u.list.findIndex((x) => x.trigger === f.instruction);
            if (i >= 0) [ref, at] = ['self', i];
            else if (t >= 0) [ref, at] = ['trigger', t];
            else {
              failed.add(r);
              return;
            }
          }
          e.kept.push({ k, finding: shiftLines({ ...f, instruction: undefined }, -u.first), ref, ...(at !== undefined ? { at } : {}) });
        }
      });
    }
    // a rule that failed on the dirty units: whole-tree run (reported and skipped there if it throws again)
    const perRule: Finding[][] = rules.map(() => []);
    const usedLines = new Map<Entry, number[]>();
    units.forEach((u, n) => {
      const e = found[n] ?? fresh.get(u)!;
      if (u.cacheable && !failed.size) next.set(u.key, e);
      if (e.kept.length === 0) return;
      const ls = usedLines.get(e);
      if (ls) ls.push(u.first);
      else usedLines.set(e, [u.first]);
      let made = e.made.get(u.first);
      if (!made) {
        made = e.kept.map((kf) => shiftLines(kf.finding, u.first));
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
    });
    // identical units on several lines share an entry; keep at most the lines in use
    for (const [e, lines] of usedLines) {
      if (e.made.size <= lines.length + 4) continue;
      const live = new Set(lines);
      for (const line of [...e.made.keys()]) if (!live.has(line)) e.made.delete(line);
    }
    rules.forEach((r, k) => {
      if (failed.has(r)) {
        const fs = runOneRule(file, r, parseCheckDirective(file), opts);
        if (fs) raw.set(r, fs);
      } else raw.set(r, perRule[k]!);
    });
    return { raw, entries: failed.size ? new Map() : next, dirty: dirty.length };
  }
}

/** A tree holding only `dirty` instruction units (stages keep their FROM, hold only their dirty instructions). */
function subFileOfInstructions(file: Dockerfile, dirty: Unit[], inStage: Set<Instruction>): Dockerfile {
  const want = new Set(dirty.map((u) => u.list[0]!));
  const stages: Stage[] = [];
  for (const st of file.stages) {
    const instructions = st.instructions.filter((i) => want.has(i));
    if (instructions.length) stages.push({ ...st, instructions });
  }
  const instructions = dirty.map((u) => u.list[0]!);
  return { ...file, instructions, stages, globalArgs: instructions.filter((i) => !inStage.has(i) && i.keyword === 'ARG'), problems: [], comments: [] };
}

/** A tree holding only the dirty stages, whole. */
function subFileOfStages(file: Dockerfile, dirty: Unit[]): Dockerfile {
  const stages = dirty.map((u) => u.stage!);
  const instructions = dirty.flatMap((u) => u.list);
  return { ...file, instructions, stages, globalArgs: [], problems: [], comments: [] };
}

