/**
 * The flags each instruction accepts, with BuildKit's types (bool, string, repeatable strings), and their
 * validation with BuildKit's messages: unknown, duplicate, missing value, non-boolean value.
 */
import type { Flag, ParseProblem } from './types';

export type FlagType = 'bool' | 'string' | 'strings';

export const FLAG_SPECS: Record<string, Record<string, FlagType>> = {
  FROM: { platform: 'string' },
  COPY: { chown: 'string', from: 'string', chmod: 'string', link: 'bool', exclude: 'strings', parents: 'bool' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
    exclude: 'strings',
  },
  RUN: { mount: 'strings', network: 'string', security: 'string', device: 'strings' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** Instructions whose flags BuildKit never looks at (it accepts and ignores any). */
const IGNORES_FLAGS = new Set(['ARG', 'STOPSIGNAL']);

/**
 * The candidate closest to `word` (case-insensitive edit distance) when it is within `maxDistance(word.length)`
 * (default `max(2, ⌊0.4 × len⌋)`); `differentOnly` refuses an exact (distance 0) match.
 */
export function nearest(
  word: string,
  candidates: Iterable<string>,
  opts: { maxDistance?: (len: number) => number; differentOnly?: boolean } = {},
): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined || (opts.differentOnly && bestD === 0)) return undefined;
  const max = opts.maxDistance ? opts.maxDistance(word.length) : Math.max(2, Math.floor(word.length * 0.4));
  return bestD <= max ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n]!;
}

/** Checks `flags` for `keyword` (HEALTHCHECK NONE takes none; pass its type). */
const NONE: readonly ParseProblem[] = Object.freeze([]);

export function validateFlags(keyword: string, flags: Flag[], healthType?: string): readonly ParseProblem[] {
  if (flags.length === 0) return NONE;
  const problems: ParseProblem[] = [];
  if (IGNORES_FLAGS.has(keyword)) {
    for (const f of flags)
      problems.push({
        code: 'UnknownFlag',
        message: `${keyword} does not take flags: ${f.raw.split('=')[0]} is ignored`,
        severity: 'warning',
        range: f.range,
      });
    return problems;
  }
  let spec = FLAG_SPECS[keyword] ?? {};
  if (keyword === 'HEALTHCHECK' && healthType?.toUpperCase() !== 'CMD') spec = {};
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    const type = spec[f.name];
    if (!type) {
      const s = nearest(f.name, Object.keys(spec));
      problems.push({
        code: 'UnknownFlag',
        message: `unknown flag: ${f.name}` + (s ? ` (did you mean ${s}?)` : ''),
        severity: 'error',
        range: f.nameRange,
        ...(s ? { suggestion: s } : {}),
      });
      continue;
    }
    if (type !== 'strings' && seenBefore(flags, i, spec)) {
      problems.push({ code: 'DuplicateFlag', message: `duplicate flag specified: ${f.name}`, severity: 'error', range: f.range });
      continue;
    }
    if (type === 'bool') {
      if (f.value === '') {
        problems.push({ code: 'FlagMissingValue', message: `missing a value on flag: --${f.name}`, severity: 'error', range: f.range });
      } else if (f.value !== undefined && f.value !== 'true' && f.value !== 'false' && !['true', 'false'].includes(f.value.toLowerCase())) {
        problems.push({
          code: 'FlagInvalidValue',
          message: `expecting boolean value for flag --${f.name}, not: ${f.value}`,
          severity: 'error',
          range: f.valueRange ?? f.range,
        });
      }
    } else if (f.value === undefined) {
      problems.push({ code: 'FlagMissingValue', message: `missing a value on flag: --${f.name}`, severity: 'error', range: f.range });
    }
  }
  return problems.length ? problems : NONE;
}

/** Whether a known flag of the same name came before flags[i] and was counted (not itself a duplicate). */
function seenBefore(flags: Flag[], i: number, spec: Record<string, string>): boolean {
  const name = flags[i]!.name;
  for (let j = 0; j < i; j++) if (flags[j]!.name === name && spec[name]) return true;
  return false;
}


/**
 * COPY/ADD `--chmod` as Docker 26's frontend reads it: the value as written (no variables), an octal number that fits
 * 32 bits (`strconv.ParseUint(v, 8, 32)`), whose low twelve bits are the mode (`77777` gives 7777). Undefined for
 * anything else, which Docker ignores: the files keep their own modes.
 */
export function chmodMode(written: string | undefined): number | undefined {
  if (written === undefined || !/^[0-7]+$/.test(written)) return undefined;
  const n = Number.parseInt(written, 8);
  return n <= 0xffffffff ? n & 0o7777 : undefined;
}
