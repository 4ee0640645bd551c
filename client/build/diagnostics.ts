/** Build failures as diagnostics on the failing Dockerfile line (the events carry the ranges). */
import * as vscode from 'vscode';
import type { Range } from '../../engine/dockerfile/types';
import type { LayerwiseHost } from '../host';

export function toRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

export function registerBuildDiagnostics(host: LayerwiseHost): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('layerwise-build');
  const sub = host.onBuildEvent(({ record, event }) => {
    const uri = vscode.Uri.file(record.dockerfile);
    if (event.type === 'build-start') {
      collection.delete(uri);
      return;
    }
    let diag: { file: vscode.Uri; range: Range; message: string } | undefined;
    if (event.type === 'step' && event.status === 'error') {
      diag = { file: uri, range: event.range, message: `${event.instruction}: ${event.error ?? 'this step failed'}` };
    } else if (event.type === 'build-end' && !event.ok && event.error?.range) {
      diag = { file: event.error.file ? vscode.Uri.file(event.error.file) : uri, range: event.error.range, message: event.error.message };
    }
    if (!diag) return;
    const existing = collection.get(diag.file) ?? [];
    const range = toRange(diag.range);
    if (existing.some((d) => d.range.isEqual(range))) return; // the step error already says it
    const d = new vscode.Diagnostic(range, `Build failed: ${diag.message}`, vscode.DiagnosticSeverity.Error);
    d.source = 'layerwise build';
    collection.set(diag.file, [...existing, d]);
  });
  return vscode.Disposable.from(collection, sub);
}
