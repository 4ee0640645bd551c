/**
 * Rules that read the local engine store: BuildKit's InvalidBaseImagePlatform (the base image's platform from the
 * store) and the history-based cache hint VolatileStepEarly (the engine's build records).
 */
import { neededStages } from '../../engine/build/builder';
import { instructionText } from '../../engine/build/stage';
import { formatPlatform } from '../../engine/dockerfile/index';
import type { Instruction } from '../../engine/dockerfile/types';
import { normalizePlatform } from '../../engine/dockerfile/platform';
import { expectedPlatform } from './baseImages';
import { scopesOf } from './scopes';
import { rule, type HistoryBuild, type HistoryStep, type Rule } from './types';

const invalidBaseImagePlatform = rule({
  id: 'InvalidBaseImagePlatform',
  group: 'buildkit',
  severity: 'warning',
  description: 'Base image platform does not match expected target platform.',
  needsImages: true,
  notes:
    'The base image is looked up in the local Layerwise store (after ARG expansion of the FROM line), as the builder would use it; ' +
    "its config's os and architecture are compared with `FROM --platform=` (expanded) or, without the flag, the build's default target " +
    'platform (this machine). Nothing is reported for an image that is not in the store. The diagnostic updates when the store changes ' +
    '(build, pull, load, tag, rmi).',
  check(ctx) {
    const images = ctx.images!;
    const bases = scopesOf(ctx.file).scopes.stageBase;
    const stages = ctx.file.stages;
    if (!stages.length) return;
    // BuildKit checks the stages the build reaches (the default target: the last stage)
    const reached = neededStages(ctx.file, stages.length - 1);
    for (const st of stages) {
      if (st.base.kind !== 'image' || !reached.has(st.index)) continue;
      const ref = bases[st.index]?.image;
      const expected = expectedPlatform(ctx.file, st.index);
      if (!ref || ref.includes('$') || !expected) continue;
      const actual = images.platformOf(ref, expected);
      if (!actual) continue;
      const a = normalizePlatform(actual);
      if (a.os === expected.os && a.architecture === expected.architecture) continue;
      ctx.report({
        range: st.from.range,
        instruction: st.from,
        message: `Base image ${ref} was pulled with platform "${formatPlatform(a)}", expected "${formatPlatform(expected)}" for current build`,
      });
    }
  },
});

/** Miss reasons that belong to the step itself (not to a step above it, not to the first build). */
const OWN_REASONS = new Set(['files-changed', 'build-arg-changed', 'env-changed', 'base-image-changed']);
/** a hint is worth it when the steps rebuilt below cost at least this much in the recent builds */
export const MIN_COST_MS = 1000;
/** builds looked at */
export const RECENT_BUILDS = 10;

function seconds(ms: number): string {
  const s = ms / 1000;
  return s >= 100 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`;
}

function listSome(xs: string[], n = 3): string {
  const uniq = [...new Set(xs)];
  return uniq.length <= n ? uniq.join(', ') : `${uniq.slice(0, n).join(', ')} (+${uniq.length - n} more)`;
}

interface Volatile {
  stage: number;
  instruction: string;
  misses: number;
  files: string[];
  args: string[];
  env: boolean;
  /** ms of the steps below it rebuilt in the builds where it missed */
  cost: number;
  /** distinct steps below it that were rebuilt */
  below: Set<string>;
}

/** Steps that missed for their own reason in most of `builds` and made the steps below them miss. */
export function volatileSteps(builds: readonly HistoryBuild[]): Volatile[] {
  const recent = builds.slice(-RECENT_BUILDS);
  const byStep = new Map<string, Volatile>();
  for (const b of recent) {
    for (const s of b.steps) {
      if (s.cached || !s.miss || !OWN_REASONS.has(s.miss.kind)) continue;
      const key = `${s.stage}\u0000${s.instruction}`;
      let v = byStep.get(key);
      if (!v) {
        v = { stage: s.stage, instruction: s.instruction, misses: 0, files: [], args: [], env: false, cost: 0, below: new Set() };
        byStep.set(key, v);
      }
      v.misses++;
      if (s.miss.files) v.files.push(...s.miss.files);
      if (s.miss.args) v.args.push(...s.miss.args);
      if (s.miss.kind === 'env-changed') v.env = true;
      const below: HistoryStep[] = b.steps.filter((x) => x.stage === s.stage && x.index > s.index && !x.cached);
      for (const x of below) {
        v.cost += x.durationMs;
        v.below.add(x.instruction);
      }
    }
  }
  return [...byStep.values()].filter((v) => v.misses >= 2 && v.misses * 2 > recent.length && v.below.size > 0 && v.cost >= MIN_COST_MS);
}

const volatileStepEarly = rule({
  id: 'VolatileStepEarly',
  group: 'cache',
  severity: 'warning',
  description: 'A step that missed the cache in most recent builds made the expensive steps below it rebuild.',
  needsHistory: true,
  notes:
    'Read from the engine\'s build records for this Dockerfile (each `layerwise build` records every step\'s inputs; the language server ' +
    'compares each build with the one before it, with the builder\'s own explanation of a miss). A step is reported when, in most of the ' +
    `last ${RECENT_BUILDS} builds the server has seen (at least 2), it missed the cache because of its own inputs (files it copies, build args, ` +
    `the environment) and the steps below it in its stage were rebuilt because of it, costing at least ${MIN_COST_MS / 1000} s in all. ` +
    'The message names what changed and the time the rebuilt steps below took. Move the step below them, or split it so that what ' +
    'changes often is copied last.',
  check(ctx) {
    const h = ctx.history!;
    if (h.builds.length < 2) return;
    const recent = Math.min(h.builds.length, RECENT_BUILDS);
    for (const v of volatileSteps(h.builds)) {
      const ins = findInstruction(ctx.file.stages, v.stage, v.instruction);
      if (!ins) continue; // the line was edited or removed since: the history says nothing about it any more
      const what: string[] = [];
      if (v.files.length) what.push(`files changed: ${listSome(v.files)}`);
      if (v.args.length) what.push(`build args changed: ${listSome(v.args)}`);
      if (v.env) what.push('the environment changed');
      const n = v.below.size;
      ctx.report({
        range: ins.range,
        instruction: ins,
        message:
          `${v.instruction.length > 60 ? v.instruction.slice(0, 57) + '...' : v.instruction} missed the cache in ${v.misses} of the last ${recent} builds` +
          `${what.length ? ` (${what.join('; ')})` : ''}, and the ${n} step${n === 1 ? '' : 's'} below it rebuilt each time: ` +
          `${seconds(v.cost)} in all. Move it below them, or copy what changes often last.`,
      });
    }
  },
});

function findInstruction(stages: readonly { index: number; instructions: Instruction[] }[], stage: number, text: string): Instruction | undefined {
  const st = stages.find((s) => s.index === stage);
  return st?.instructions.find((i) => instructionText(i) === text);
}

export const storeRules: Rule[] = [invalidBaseImagePlatform, volatileStepEarly];
