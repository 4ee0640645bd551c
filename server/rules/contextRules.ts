/** Rules that read the build context on disk: CopyIgnoredFile (BuildKit) and CopySourceNotFound. */
import type { Dockerfile, Instruction, Token } from '../../engine/dockerfile/types';
import { scopesOf } from './scopes';
import { rule, type Rule } from './types';

/**
 * The sources COPY/ADD take from the build context, with their expanded value: not `--from`, not heredocs, not
 * URLs or git remotes, and not values still holding an unexpanded variable.
 */
function* contextSources(file: Dockerfile): Generator<{ ins: Instruction; src: Token; value: string }> {
  const s = scopesOf(file);
  for (const ins of file.instructions) {
    if ((ins.keyword !== 'COPY' && ins.keyword !== 'ADD') || !ins.copy) continue;
    if (ins.flags.some((f) => f.name === 'from')) continue;
    const e = s.expanded.get(ins);
    for (const [k, src] of ins.copy.sources.entries()) {
      if (src.value.startsWith('<<') || /^[a-z][a-z0-9+.-]*:\/\//i.test(src.value) || /^git@/.test(src.value)) continue;
      const value = e?.words[k]?.value ?? src.value;
      if (!value.includes('$')) yield { ins, src, value };
    }
  }
}

const copyIgnoredFile = rule({
  id: 'CopyIgnoredFile',
  group: 'buildkit',
  severity: 'warning',
  description: 'COPY/ADD of a path that .dockerignore excludes copies nothing.',
  needsContext: true,
  check(ctx) {
    const view = ctx.context!;
    if (!view.hasDockerignore) return;
    for (const { ins, src, value } of contextSources(ctx.file)) {
      if (view.isIgnored(value)) {
        ctx.report({ range: src.range, message: `Attempting to ${ins.keyword} file "${value}" that is excluded by .dockerignore` });
      }
    }
  },
});

/** Not a BuildKit check but the build error it would hit: a COPY/ADD source that is not in the context. */
const copySourceNotFound = rule({
  id: 'CopySourceNotFound',
  group: 'syntax',
  severity: 'warning',
  description: 'A COPY/ADD source does not exist in the build context (the build would fail).',
  needsContext: true,
  check(ctx) {
    const view = ctx.context!;
    for (const { src, value } of contextSources(ctx.file)) {
      if (value.startsWith('..')) continue;
      if (view.isIgnored(value)) continue; // CopyIgnoredFile says why
      if (view.match(value).length === 0) {
        ctx.report({ range: src.range, message: `"${value}" is not in the build context (${view.root})` });
      }
    }
  },
});

export const contextRules: Rule[] = [copyIgnoredFile, copySourceNotFound];
