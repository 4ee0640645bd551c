/**
 * Code actions: the fixes rules attach to their findings, plus, for every finding, "ignore" (`# hadolint
 * ignore=DLxxxx` on the line above for hadolint codes; `# check=skip=<name>` for the file otherwise) and
 * "turn off in settings" (the client's `layerwise.setRuleSeverity` command).
 */
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic, type TextEdit } from 'vscode-languageserver';
import type { Dockerfile, Range } from '../../engine/dockerfile/types';
import type { ServerContext } from '../context';
import { DIAGNOSTIC_SOURCE, SetRuleSeverityCommand, type SetRuleSeverityArgs } from '../protocol';
import { ruleById } from '../rules/index';
import { indentOf } from '../rules/fixes';
import type { Finding } from '../rules/types';
import { eolOf, pos } from '../rules/util';
import type { DiagnosticsService } from './diagnostics';

function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** The "ignore" edit for a finding, or undefined when the rule cannot be ignored (syntax errors). */
export function ignoreAction(file: Dockerfile, finding: Finding): { title: string; edits: TextEdit[] } | undefined {
  const rule = ruleById(finding.code);
  if (rule?.group === 'syntax') return undefined;
  const code = finding.code;
  const eol = eolOf(file);
  if (/^DL\d{4}$/.test(code)) {
    const ins = finding.instruction ?? file.instructions.find((i) => finding.range.start.line >= i.startLine && finding.range.start.line <= i.endLine);
    if (!ins) return undefined;
    // extend an existing pragma directly above
    const above = file.comments.find((c) => c.range.start.line === ins.startLine - 1 && /^hadolint\s+ignore\s*=/i.test(c.text));
    if (above) {
      return { title: `Ignore ${code} for this instruction (# hadolint ignore)`, edits: [{ range: { start: above.range.end, end: above.range.end }, newText: `,${code}` }] };
    }
    return {
      title: `Ignore ${code} for this instruction (# hadolint ignore)`,
      edits: [{ range: { start: pos(ins.startLine, 0), end: pos(ins.startLine, 0) }, newText: `${indentOf(file, ins)}# hadolint ignore=${code}${eol}` }],
    };
  }
  const check = file.directives.find((d) => d.name === 'check');
  if (check) {
    const m = /(^|;)\s*skip\s*=\s*([^;]*)/i.exec(check.value);
    if (m) {
      // append to the skip list: find where it ends in the directive's value
      const skipEnd = m.index + m[0].length;
      const at = { line: check.valueRange.start.line, character: check.valueRange.start.character + skipEnd };
      return { title: `Ignore ${code} in this file (# check=skip)`, edits: [{ range: { start: at, end: at }, newText: `,${code}` }] };
    }
    const at = check.valueRange.end;
    return { title: `Ignore ${code} in this file (# check=skip)`, edits: [{ range: { start: at, end: at }, newText: `;skip=${code}` }] };
  }
  // a new directive after the existing ones (directives must come first)
  const lastDirective = file.directives[file.directives.length - 1];
  const line = lastDirective ? lastDirective.range.end.line + 1 : 0;
  return { title: `Ignore ${code} in this file (# check=skip)`, edits: [{ range: { start: pos(line, 0), end: pos(line, 0) }, newText: `# check=skip=${code}${eol}` }] };
}

/** All code actions for the given diagnostics of a document (pure: used by the handler and by tests). */
export function codeActionsFor(file: Dockerfile, uri: string, findings: Finding[], diagnostics: Diagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  const fixes: CodeAction[] = [];
  const ignores: CodeAction[] = [];
  const settings: CodeAction[] = [];
  const seenCodes = new Set<string>();
  for (const d of diagnostics) {
    if (d.source !== DIAGNOSTIC_SOURCE || d.code === undefined) continue;
    const code = String(d.code);
    const f = findings.find((x) => x.code === code && sameRange(x.range, d.range));
    if (!f) continue;
    for (const fix of f.fixes ?? []) {
      fixes.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: fix.preferred === true,
        edit: { changes: { [uri]: fix.edits.map((e) => ({ range: e.range, newText: e.newText })) } },
      });
    }
    const ign = ignoreAction(file, f);
    if (ign) ignores.push({ title: ign.title, kind: CodeActionKind.QuickFix, diagnostics: [d], edit: { changes: { [uri]: ign.edits } } });
    if (!seenCodes.has(code)) {
      seenCodes.add(code);
      const args: SetRuleSeverityArgs = { code, severity: 'off', uri };
      settings.push({
        title: `Turn off ${code} in settings (layerwise.rules.${code})`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        command: { title: `Turn off ${code}`, command: SetRuleSeverityCommand, arguments: [args] },
      });
    }
  }
  out.push(...fixes, ...ignores, ...settings);
  return out;
}

export function registerCodeActions(ctx: ServerContext, diagnostics: DiagnosticsService): void {
  ctx.addCapabilities({ codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] } });
  ctx.connection.onCodeAction(async (params: CodeActionParams): Promise<CodeAction[]> => {
    const uri = params.textDocument.uri;
    if (params.context.only && !params.context.only.some((k) => k === CodeActionKind.QuickFix || k.startsWith(`${CodeActionKind.QuickFix}.`))) return [];
    let entry = ctx.documents.getDocument(uri);
    if (!entry) return [];
    let published = diagnostics.findings(uri);
    if (!published || published.version !== entry.doc.version) {
      await diagnostics.validate(uri);
      entry = ctx.documents.getDocument(uri);
      published = diagnostics.findings(uri);
      if (!entry || !published) return [];
    }
    try {
      return codeActionsFor(entry.parsed, uri, published.findings, params.context.diagnostics);
    } catch (e) {
      ctx.logOnce('codeActions', `layerwise: code actions failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return [];
    }
  });
}
