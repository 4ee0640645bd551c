/** Every rule the server runs, in one list. Groups live in their own files. */
import { buildkitRules } from './buildkit';
import { cacheRules } from './cache';
import { packageRules } from './packages';
import { structureRules } from './bestpractice';
import { storeRules } from './storeRules';
import { syntaxRules } from './syntax';
import type { Rule } from './types';

export const allRules: Rule[] = [...syntaxRules, ...buildkitRules, ...packageRules, ...structureRules, ...cacheRules, ...storeRules];

const index = new Map(allRules.map((r) => [r.id.toLowerCase(), r]));

export function ruleById(id: string): Rule | undefined {
  return index.get(id.toLowerCase());
}
