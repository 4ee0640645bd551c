/**
 * Fixture helpers for rule tests: `[[` and `]]` mark expected finding ranges in an inline Dockerfile. A rule runs
 * on the text without markers; its findings are drawn back into the text as markers, so a failure shows both
 * texts side by side. Every fixture runs with LF and with CRLF line ends.
 */
import assert from 'node:assert/strict';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parse } from '../../engine/dockerfile/index';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { ruleById } from '../../server/rules/index';
import { runRules } from '../../server/rules/run';
import type { BuildContextView, Finding, Fix } from '../../server/rules/types';

export function stripMarkers(marked: string): string {
  return marked.replace(/\[\[|\]\]/g, '');
}

export function toCRLF(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** Draw findings into LF text as `[[...]]` markers (positions are line/character, identical for CRLF). */
export function drawFindings(lfText: string, findings: { range: Finding['range'] }[]): string {
  const lines = lfText.split('\n');
  const inserts: { line: number; ch: number; s: string; order: number }[] = [];
  for (const f of findings) {
    if (f.range.start.line === f.range.end.line && f.range.start.character === f.range.end.character) {
      inserts.push({ line: f.range.start.line, ch: f.range.start.character, s: '[[]]', order: 0 });
      continue;
    }
    inserts.push({ line: f.range.start.line, ch: f.range.start.character, s: '[[', order: 1 });
    inserts.push({ line: f.range.end.line, ch: f.range.end.character, s: ']]', order: 0 });
  }
  // insert from the back so earlier positions stay valid; at one spot, `]]` before `[[`
  inserts.sort((a, b) => b.line - a.line || b.ch - a.ch || b.order - a.order);
  for (const ins of inserts) {
    const l = lines[ins.line] ?? '';
    lines[ins.line] = l.slice(0, ins.ch) + ins.s + l.slice(ins.ch);
  }
  return lines.join('\n');
}

export function runRule(code: string, text: string, context?: BuildContextView): { file: Dockerfile; findings: Finding[] } {
  const rule = ruleById(code);
  assert.ok(rule, `no rule ${code}`);
  const file = parse(text);
  const errors: unknown[] = [];
  const { findings } = runRules(file, [rule], { uri: 'file:///fixture/Dockerfile', context, onRuleError: (_r, e) => errors.push(e) });
  assert.deepEqual(errors, [], `rule ${code} threw`);
  return { file, findings: findings.filter((f) => f.code === code) };
}

/** The fixture's markers are exactly where the rule reports, with LF and with CRLF. */
export function expectMarked(code: string, marked: string, context?: BuildContextView): Finding[] {
  const lf = stripMarkers(marked);
  let lfFindings: Finding[] = [];
  for (const [eol, text] of [['LF', lf], ['CRLF', toCRLF(lf)]] as const) {
    const { findings } = runRule(code, text, context);
    assert.equal(drawFindings(lf, findings), marked, `${code} (${eol})`);
    if (eol === 'LF') lfFindings = findings;
  }
  return lfFindings;
}

export function applyEdits(text: string, edits: Fix['edits']): string {
  const doc = TextDocument.create('file:///x', 'dockerfile', 1, text);
  return TextDocument.applyEdits(doc, edits.map((e) => ({ range: e.range, newText: e.newText })));
}

/**
 * Apply the fix titled `title` (or the first/preferred fix) of the one finding of `code`, with LF and CRLF;
 * the result must be `expected` (in LF; CRLF expected is the same text with CRLF).
 */
export function expectFix(code: string, input: string, expected: string, title?: string | RegExp): void {
  for (const eol of ['LF', 'CRLF'] as const) {
    const text = eol === 'LF' ? input : toCRLF(input);
    const want = eol === 'LF' ? expected : toCRLF(expected);
    const { findings } = runRule(code, text);
    assert.ok(findings.length >= 1, `${code}: no finding in\n${input}`);
    const fixes = findings.flatMap((f) => f.fixes ?? []);
    const fix = title === undefined ? fixes.find((f) => f.preferred) ?? fixes[0] : fixes.find((f) => (typeof title === 'string' ? f.title === title : title.test(f.title)));
    assert.ok(fix, `${code}: no fix ${String(title ?? '')} among ${JSON.stringify(fixes.map((f) => f.title))}`);
    assert.equal(applyEdits(text, fix.edits), want, `${code} fix "${fix.title}" (${eol})`);
  }
}
