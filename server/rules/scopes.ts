/** Variable scopes and expansions of a tree, computed once per tree and shared by the rules that need them. */
import { expandInstruction, resolveScopes, type Expanded, type Scopes, type Vars } from '../../engine/dockerfile/index';
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
  carried?: boolean;
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
  const before = new Map(p.scopes.before);
  for (let i = 0; i < k; i++) {
    const v = before.get(o[i]!);
    before.delete(o[i]!);
    if (v) before.set(n[i]!, v);
  }
  // the changed instructions set nothing: each sees what the first one it replaced saw
  const vars = before.get(o[k]!);
  for (let i = k; i < o.length; i++) before.delete(o[i]!);
  if (vars) for (let i = k; i < n.length; i++) before.set(n[i]!, vars);
  cache.set(next, { ...expandAll(next, { ...p.scopes, before }), carried: true });
}

/** The stage instructions expandInstruction expands something in (RUN: its flags; FROM is a stage's `from`). */
const EXPANDS = new Set(['ENV', 'LABEL', 'COPY', 'ADD', 'WORKDIR', 'USER', 'STOPSIGNAL', 'VOLUME', 'EXPOSE']);

function expandAll(file: Dockerfile, scopes: Scopes): FileScopes {
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
  return { scopes, expanded, expansionErrors, unmatched };
}

export function scopesOf(file: Dockerfile): FileScopes {
  const hit = cache.get(file);
  if (hit) return hit;
  const out = expandAll(file, resolveScopes(file));
  cache.set(file, out);
  return out;
}
