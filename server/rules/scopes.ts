/** Variable scopes and expansions of a tree, computed once per tree and shared by the rules that need them. */
import { expandInstruction, resolveScopes, type Expanded, type Scopes } from '../../engine/dockerfile/index';
import type { Dockerfile, Instruction, Range } from '../../engine/dockerfile/types';

export interface FileScopes {
  scopes: Scopes;
  /** expansions of the stage instructions BuildKit expands (absent when the text has nothing to expand) */
  expanded: Map<Instruction, Expanded>;
  expansionErrors: { message: string; range: Range }[];
}

const cache = new WeakMap<Dockerfile, FileScopes>();

export function scopesOf(file: Dockerfile): FileScopes {
  const hit = cache.get(file);
  if (hit) return hit;
  const scopes = resolveScopes(file);
  const expanded = new Map<Instruction, Expanded>();
  const expansionErrors: FileScopes['expansionErrors'] = [];
  const seen = new Set<string>();
  for (const st of file.stages) {
    for (const ins of st.instructions) {
      const vars = scopes.before.get(ins);
      if (!vars) continue;
      // nothing to expand: no variable, no quote, no escape character (expansion would be the identity)
      if (!/[$"'\\`]/.test(ins.logical)) continue;
      const e = expandInstruction(ins, vars, file.escape);
      expanded.set(ins, e);
      for (const err of e.errors) {
        const key = `${err.range.start.line}:${err.range.start.character}`;
        if (seen.has(key)) continue;
        seen.add(key);
        expansionErrors.push(err);
      }
    }
  }
  const out = { scopes, expanded, expansionErrors };
  cache.set(file, out);
  return out;
}
