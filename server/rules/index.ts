/** Every rule the server runs, in one list. Groups live in their own files. */
import type { Rule } from './types';

export const allRules: Rule[] = [];

export function ruleById(id: string): Rule | undefined {
  return byId().get(id.toLowerCase());
}

let index: Map<string, Rule> | undefined;
function byId(): Map<string, Rule> {
  if (!index || index.size !== allRules.length) index = new Map(allRules.map((r) => [r.id.toLowerCase(), r]));
  return index;
}
