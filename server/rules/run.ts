/**
 * Runs rules over a parse tree: catches rules that throw, applies `# check=skip=…|all`, `# check=error=true`
 * and `# hadolint ignore=…` (the comment line directly above an instruction), and returns the findings.
 */
import type { Dockerfile } from '../../engine/dockerfile/types';
import { instructionAt } from '../../engine/dockerfile';
import type { BaseImageView, BuildContextView, BuildHistoryView, Finding, Rule, RuleSeverity } from './types';

export interface CheckDirective {
  /** rule ids to skip (as written, compared case-insensitively) */
  skip: Set<string>;
  skipAll: boolean;
  /** `error=true`: build-check violations are errors */
  error: boolean;
  /** `experimental=…`: experimental checks to enable */
  experimental: Set<string>;
  experimentalAll: boolean;
}

/** Parses the `# check=` directive(s): `skip=A,B`, `skip=all`, `error=true`, `;`-separated. */
export function parseCheckDirective(file: Dockerfile): CheckDirective {
  const out: CheckDirective = { skip: new Set(), skipAll: false, error: false, experimental: new Set(), experimentalAll: false };
  for (const d of file.directives) {
    if (d.name !== 'check') continue;
    for (const part of d.value.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const key = part.slice(0, eq).trim().toLowerCase();
      const value = part.slice(eq + 1).trim();
      if (key === 'skip') {
        for (const n of value.split(',').map((s) => s.trim()).filter(Boolean)) {
          if (n.toLowerCase() === 'all') out.skipAll = true;
          else out.skip.add(n.toLowerCase());
        }
      } else if (key === 'error') {
        out.error = value.toLowerCase() === 'true';
      } else if (key === 'experimental') {
        for (const n of value.split(',').map((s) => s.trim()).filter(Boolean)) {
          if (n.toLowerCase() === 'all') out.experimentalAll = true;
          else out.experimental.add(n.toLowerCase());
        }
      }
    }
  }
  return out;
}

const HADOLINT_IGNORE = /^hadolint\s+ignore\s*=\s*([A-Za-z0-9_,\s]+)$/i;

/** line number of an instruction's first line -> codes ignored by a `# hadolint ignore=` comment above it */
export function hadolintIgnores(file: Dockerfile): Map<number, Set<string>> {
  const byCommentLine = new Map<number, Set<string>>();
  for (const c of file.comments) {
    const m = HADOLINT_IGNORE.exec(c.text.trim());
    if (!m) continue;
    const codes = new Set(m[1]!.split(/[\s,]+/).filter(Boolean).map((s) => s.toUpperCase()));
    byCommentLine.set(c.range.start.line, codes);
  }
  const out = new Map<number, Set<string>>();
  if (byCommentLine.size === 0) return out;
  const commentLines = new Set(file.comments.map((c) => c.range.start.line));
  for (const ins of file.instructions) {
    // hadolint: the pragma applies to the instruction that directly follows it (comment lines may stack).
    let line = ins.startLine - 1;
    const codes = new Set<string>();
    while (commentLines.has(line)) {
      for (const c of byCommentLine.get(line) ?? []) codes.add(c);
      line--;
    }
    if (codes.size) out.set(ins.startLine, codes);
  }
  return out;
}

export interface RunOptions {
  uri: string;
  context?: BuildContextView;
  images?: BaseImageView;
  history?: BuildHistoryView;
  /** called once per rule that throws (the rule is then skipped for this run) */
  onRuleError?: (rule: Rule, error: unknown) => void;
}

export interface RunResult {
  findings: (Finding & { severity: RuleSeverity })[];
  check: CheckDirective;
}


/**
 * One rule's raw findings (the rule's own, `code` filled in, before suppressions and severities); undefined when it
 * is skipped here (`# check=skip`, experimental, needs what is missing) or throws (reported through `onRuleError`).
 */
export function runOneRule(file: Dockerfile, rule: Rule, check: CheckDirective, opts: RunOptions): Finding[] | undefined {
  const id = rule.id.toLowerCase();
  if (rule.group !== 'syntax' && (check.skipAll || check.skip.has(id))) return undefined;
  if (rule.experimental && !(check.experimentalAll || check.experimental.has(id))) return undefined;
  if (rule.needsContext && !opts.context) return undefined;
  if (rule.needsImages && !opts.images) return undefined;
  if (rule.needsHistory && !opts.history) return undefined;
  const local: Finding[] = [];
  try {
    rule.check({
      file,
      uri: opts.uri,
      context: opts.context,
      images: opts.images,
      history: opts.history,
      // field by field (a spread of findings of several shapes takes V8's slow generic path)
      report: (f) => {
        const out: Finding = { code: f.code ?? rule.id, range: f.range, message: f.message };
        if (f.fixes !== undefined) out.fixes = f.fixes;
        if (f.instruction !== undefined) out.instruction = f.instruction;
        if (f.severity !== undefined) out.severity = f.severity;
        local.push(out);
      },
    });
  } catch (e) {
    opts.onRuleError?.(rule, e);
    return undefined;
  }
  return local;
}

/** Suppressions (`# check=skip`, `# hadolint ignore`), severities (`# check=error=true`) and the order, over the
 *  raw findings of each rule (in rule order). */
export function finishFindings(
  file: Dockerfile,
  rules: readonly Rule[],
  raw: ReadonlyMap<Rule, Finding[]>,
  check: CheckDirective,
  ignores: Map<number, Set<string>>,
): RunResult {
  const findings: RunResult['findings'] = [];
  for (const rule of rules) {
    const local = raw.get(rule);
    if (!local) continue;
    for (const f of local) {
      if (f.code !== rule.id && rule.group !== 'syntax' && (check.skip.has(f.code.toLowerCase()))) continue;
      if (ignores.size) {
        const ins = f.instruction ?? instructionAt(file, f.range.start.line);
        if (ins) {
          const ign = ignores.get(ins.startLine);
          if (ign && (ign.has(f.code.toUpperCase()) || rule.aliases?.some((a) => ign.has(a.toUpperCase())))) continue;
        }
      }
      let severity = f.severity ?? rule.severity;
      if (check.error && rule.group === 'buildkit') severity = 'error';
      // (built field by field: a spread of findings of several shapes goes through V8's slow generic path)
      const out: Finding & { severity: RuleSeverity } = { code: f.code, range: f.range, message: f.message, severity };
      if (f.fixes !== undefined) out.fixes = f.fixes;
      if (f.instruction !== undefined) out.instruction = f.instruction;
      findings.push(out);
    }
  }
  findings.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { findings, check };
}

export function runRules(file: Dockerfile, rules: readonly Rule[], opts: RunOptions): RunResult {
  const check = parseCheckDirective(file);
  const ignores = hadolintIgnores(file);
  const raw = new Map<Rule, Finding[]>();
  for (const rule of rules) {
    const fs = runOneRule(file, rule, check, opts);
    if (fs) raw.set(rule, fs);
  }
  return finishFindings(file, rules, raw, check, ignores);
}
