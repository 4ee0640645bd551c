/**
 * Why did a step miss the cache? Compares the step's inputs with the ones recorded by the last build of the same
 * Dockerfile, and names the first thing that differs: the instruction, the files it copies, a build arg, the
 * environment, or a step above it.
 */
import { describeFileSetDiff, diffFileSets } from '../context/hash';
import type { BuildHistory, StepInputs } from './cache';
import type { MissReason } from './events';

export function findPrevious(cur: StepInputs, prev: BuildHistory | undefined): StepInputs | undefined {
  if (!prev) return undefined;
  const same = prev.steps.find((s) => s.stage === cur.stage && s.index === cur.index);
  if (same && same.instruction === cur.instruction) return same;
  return prev.steps.find((s) => s.stage === cur.stage && s.instruction === cur.instruction) ?? same;
}

export function explainMiss(
  cur: StepInputs,
  prev: BuildHistory | undefined,
  opts: { noCache?: boolean; parent?: { instruction: string; line: number } } = {},
): MissReason {
  if (opts.noCache) return { kind: 'no-cache', detail: 'the cache is disabled for this step (--no-cache)' };
  if (!prev) return { kind: 'first-build', detail: 'no earlier build of this Dockerfile to reuse' };
  const p = findPrevious(cur, prev);
  if (!p) return { kind: 'instruction-changed', detail: 'a new step: it was not in the last build' };
  if (p.instruction !== cur.instruction) {
    return { kind: 'instruction-changed', detail: `the instruction changed (was: ${p.instruction})`, before: p.instruction };
  }
  if (cur.files && p.files) {
    const d = diffFileSets(p.files, cur.files);
    if (d.added.length || d.changed.length || d.removed.length) {
      return { kind: 'files-changed', detail: `files changed: ${describeFileSetDiff(d)}`, ...d };
    }
  }
  if (cur.remote && p.remote) {
    const before = new Map(p.remote.map((r) => [r.source, r.version]));
    const moved = cur.remote.filter((r) => before.has(r.source) && before.get(r.source) !== r.version);
    const copied = moved.filter((r) => r.source.startsWith('--from='));
    if (copied.length) {
      const names = copied.map((r) => r.source.slice('--from='.length)).join(', ');
      return { kind: 'files-changed', detail: `the files it copies from ${names} changed`, added: [], changed: copied.map((r) => r.source), removed: [] };
    }
    if (moved.length) {
      const show = moved.map((r) => `${r.source} is now ${r.version.slice(0, 19)} (was ${before.get(r.source)!.slice(0, 19)})`).join(', ');
      return { kind: 'files-changed', detail: `remote source changed: ${show}`, added: [], changed: moved.map((r) => r.source), removed: [] };
    }
  }
  const names = new Set([...Object.keys(p.args), ...Object.keys(cur.args)]);
  const changedArgs = [...names].filter((n) => p.args[n] !== cur.args[n]).sort();
  if (changedArgs.length) {
    const show = changedArgs.map((n) => `${n}=${cur.args[n] ?? '(unset)'} (was ${p.args[n] ?? '(unset)'})`).join(', ');
    return { kind: 'build-arg-changed', detail: `build arg changed: ${show}`, args: changedArgs };
  }
  if (p.envDigest !== cur.envDigest) return { kind: 'env-changed', detail: 'the environment, user, working directory or mounts changed' };
  if (p.parentKey !== cur.parentKey) {
    const where = opts.parent ? `: line ${opts.parent.line + 1}, ${opts.parent.instruction}` : '';
    return { kind: 'parent-changed', detail: `a step above it was rebuilt${where}` };
  }
  return { kind: 'unknown', detail: 'no cached result for the same inputs (the cache was pruned, or an engine update changed its keys)' };
}
