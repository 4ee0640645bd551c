/** Variable scopes and expansions of a tree, computed once per tree and shared by the rules that need them. */
import { copyMap, expandInstruction, resolveScopes, type Expanded, type Scopes, type Vars, type VarsByInstruction } from '../../engine/dockerfile/index';
import type { Dockerfile, Instruction, Range, Stage } from '../../engine/dockerfile/types';
import { movedFrom } from '../incrementalParse';

export interface FileScopes {
  scopes: Scopes;
  /** expansions of the stage instructions BuildKit expands (absent when the text has nothing to expand) */
  expanded: Map<Instruction, Expanded>;
  expansionErrors: { message: string; range: Range }[];
  /** the expanded instructions that reference a variable that is not set, with their stage, in file order */
  unmatched: { stage: Stage; ins: Instruction; e: Expanded }[];
  /** made by carryScopes from the previous tree's */
  carried: boolean;
}

const cache = new WeakMap<Dockerfile, FileScopes>();
/** the last expansion of an instruction (kept by an edit elsewhere) and the variable values it was made with */
const expansions = new WeakMap<Instruction, { vars: Vars; escape: string; e: Expanded }>();

function sameValues(a: Vars, b: Vars): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.value !== v.value) return false;
  }
  return true;
}

const SCOPE_KEYWORDS = new Set(['ARG', 'ENV', 'FROM']);

/**
 * After an edit that kept every other instruction object (same line count) and changed no ARG, ENV or FROM (before
 * or after; the unchanged ARG/ENV the re-parse starts with keep what they set), the variables in effect everywhere are what they were: the next tree's scopes are the previous tree's,
 * with the replaced instructions given the variables of the place they are in. Only when the previous tree's scopes
 * were computed; otherwise (or when the edit does not qualify) scopesOf resolves them from scratch.
 */
export function carryScopes(prev: Dockerfile, next: Dockerfile, region: { old: Instruction[]; new: Instruction[]; delta: number }): void {
  const p = cache.get(prev);
  if (!p || region.delta !== 0 || cache.has(next) || next.escape !== prev.escape) return;
  // the region starts with instructions the edit did not change (re-parsed, the very same lines): skip past them
  const { old: o, new: n } = region;
  let k = 0;
  while (k < o.length && k < n.length && movedFrom.get(n[k]!) === o[k]) k++;
  if (k >= o.length) return;
  for (let i = k; i < o.length; i++) if (SCOPE_KEYWORDS.has(o[i]!.keyword)) return;
  for (let i = k; i < n.length; i++) if (SCOPE_KEYWORDS.has(n[i]!.keyword)) return;
  const prevBefore = p.scopes.before;
  const own = new Map<Instruction, Vars>();
  for (let i = 0; i < k; i++) {
    const v = prevBefore.get(o[i]!);
    if (v) own.set(n[i]!, v);
  }
  // the changed instructions set nothing: each sees what the first one it replaced saw
  const vars = prevBefore.get(o[k]!);
  if (vars) for (let i = k; i < n.length; i++) own.set(n[i]!, vars);
  const view = CarriedVars.over(prevBefore, own);
  const before = view.added > CARRIED_MAX ? flatten(next, view) : view;
  // (literals in the order of resolveScopes' and expandAll's: spread copies would be objects of other hidden classes)
  const s = p.scopes;
  cache.set(next, expandAll(next, { global: s.global, before, stageEnd: s.stageEnd, stageBase: s.stageBase, usedBuildArgs: s.usedBuildArgs }, true));
}

/** Entries the edits may add on top of a base before the view is flattened into one Map again. */
const CARRIED_MAX = 256;

/**
 * The previous tree's variables with the edit's instructions added: a view instead of a copy of the whole map at each
 * edit. The replaced instructions stay in the base, unasked (they are not in the new tree). What successive edits add
 * is merged into one map on top of the same base, so a lookup is at most two; past CARRIED_MAX entries the view is
 * flattened into a Map of the new tree's instructions only, so old instructions do not pile up.
 */
class CarriedVars implements VarsByInstruction {
  private constructor(
    private readonly base: VarsByInstruction,
    private readonly own: Map<Instruction, Vars>,
  ) {}

  static over(prev: VarsByInstruction, add: Map<Instruction, Vars>): CarriedVars {
    if (!(prev instanceof CarriedVars)) return new CarriedVars(prev, add);
    const own = copyMap(prev.own);
    add.forEach((v, ins) => own.set(ins, v));
    return new CarriedVars(prev.base, own);
  }

  get added(): number {
    return this.own.size;
  }

  get(ins: Instruction): Vars | undefined {
    const v = this.own.get(ins);
    return v !== undefined ? v : this.base.get(ins);
  }
}

/** The entries of `view` for the instructions of `file` that have variables (resolveScopes gives them all one). */
function flatten(file: Dockerfile, view: VarsByInstruction): Map<Instruction, Vars> {
  const out = new Map<Instruction, Vars>();
  const put = (ins: Instruction): void => {
    const v = view.get(ins);
    if (v) out.set(ins, v);
  };
  for (const ins of file.globalArgs) put(ins);
  for (const st of file.stages) {
    put(st.from);
    for (const ins of st.instructions) put(ins);
  }
  return out;
}

/** The stage instructions expandInstruction expands something in (RUN: its flags; FROM is a stage's `from`). */
const EXPANDS = new Set(['ENV', 'LABEL', 'COPY', 'ADD', 'WORKDIR', 'USER', 'STOPSIGNAL', 'VOLUME', 'EXPOSE']);

function expandAll(file: Dockerfile, scopes: Scopes, carried: boolean): FileScopes {
  const expanded = new Map<Instruction, Expanded>();
  const expansionErrors: FileScopes['expansionErrors'] = [];
  const unmatched: FileScopes['unmatched'] = [];
  const seen = new Set<string>();
  for (const st of file.stages) {
    for (const ins of st.instructions) {
      // nothing to expand: an instruction BuildKit does not expand (RUN only its flags), or one with no variable,
      // no quote and no escape character (expansion would be the identity)
      if (!EXPANDS.has(ins.keyword) && !(ins.keyword === 'RUN' && ins.flags.length)) continue;
      if (!/[$"'\\`]/.test(ins.logical)) continue;
      const vars = scopes.before.get(ins);
      if (!vars) continue;
      const prev = expansions.get(ins);
      let e: Expanded;
      if (prev && prev.escape === file.escape && sameValues(prev.vars, vars)) e = prev.e;
      else {
        e = expandInstruction(ins, vars, file.escape);
        expansions.set(ins, { vars, escape: file.escape, e });
      }
      expanded.set(ins, e);
      if (e.unmatched.length) unmatched.push({ stage: st, ins, e });
      for (const err of e.errors) {
        const key = `${err.range.start.line}:${err.range.start.character}`;
        if (seen.has(key)) continue;
        seen.add(key);
        expansionErrors.push(err);
      }
    }
  }
  return { scopes, expanded, expansionErrors, unmatched, carried };
}

export function scopesOf(file: Dockerfile): FileScopes {
  const hit = cache.get(file);
  if (hit) return hit;
  const out = expandAll(file, resolveScopes(file), false);
  cache.set(file, out);
  return out;
}
