/**
 * Inline build annotations: after a build, each instruction line shows `cached` or `built in N s` and the layer
 * size after its text, the miss reason on hover, and a gutter mark per status. While the Dockerfile is being
 * edited (its text differs from what was built), the language server's predicted cache status shows instead.
 * Updated from build events and document/editor changes; never by polling.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { PredictedCacheResult } from '../../server/protocol';
import type { LayerwiseHost } from '../host';
import type { BuildRecord } from './model';
import { predictedDecoration, stepDecoration, type StepDecoration, type StepDecorationKind } from './stepText';

export interface LineDecoration extends StepDecoration {
  /** 0-based line the text is shown after */
  line: number;
  source: 'build' | 'predicted';
}

export interface PredictionSource {
  request(uri: vscode.Uri): Promise<PredictedCacheResult | null>;
  readonly onDidChange: vscode.Event<vscode.Uri>;
}

const COLORS: Record<StepDecorationKind, string> = {
  cached: 'testing.iconPassed',
  built: 'editorWarning.foreground',
  metadata: 'editorCodeLens.foreground',
  running: 'editorInfo.foreground',
  error: 'editorError.foreground',
  'predicted-hit': 'editorCodeLens.foreground',
  'predicted-miss': 'editorWarning.foreground',
  'predicted-unknown': 'editorCodeLens.foreground',
};

type Style = 'inline-and-gutter' | 'inline' | 'gutter';

export class BuildDecorations implements vscode.Disposable {
  private types = new Map<StepDecorationKind, vscode.TextEditorDecorationType>();
  private readonly disposables: vscode.Disposable[] = [];
  /** the Dockerfile text each build was made from, by Dockerfile path */
  private readonly builtText = new Map<string, string>();
  private readonly predicted = new Map<string, PredictedCacheResult>();
  private readonly current = new Map<string, LineDecoration[]>();
  private predictionSource?: PredictionSource;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly changedEmitter = new vscode.EventEmitter<vscode.Uri>();
  /** fires after decorations of a document were (re)applied */
  readonly onDidApply = this.changedEmitter.event;

  constructor(private readonly host: LayerwiseHost) {
    this.createTypes();
    this.disposables.push(
      host.onBuildEvent(({ record, event }) => {
        if (event.type === 'build-start') this.builtText.set(record.dockerfile, this.textOf(record.dockerfile) ?? '');
        if (event.type === 'step' || event.type === 'build-end') this.refreshPath(record.dockerfile);
      }),
      host.onBuildsChanged((r) => this.refreshPath(r.dockerfile)),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll(true)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.languageId !== 'dockerfile' || e.contentChanges.length === 0) return;
        this.refreshPath(e.document.uri.fsPath);
        this.schedulePrediction(e.document.uri);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('layerwise.decorations') || e.affectsConfiguration('layerwise.predictedCache')) {
          this.createTypes();
          this.refreshAll(true);
        }
      }),
      this.changedEmitter,
    );
  }

  setPredictionSource(src: PredictionSource): void {
    this.predictionSource = src;
    this.disposables.push(src.onDidChange((uri) => this.schedulePrediction(uri, 0)));
    this.refreshAll(true);
  }

  /** What is shown (or would be, when decorations are off) for a document now. */
  decorationsFor(uri: vscode.Uri): LineDecoration[] {
    return this.current.get(uri.fsPath) ?? [];
  }

  private style(): Style {
    const s = this.host.config().get<string>('decorations.style');
    return s === 'inline' || s === 'gutter' ? s : 'inline-and-gutter';
  }

  private createTypes(): void {
    for (const t of this.types.values()) t.dispose();
    this.types.clear();
    const style = this.style();
    for (const kind of Object.keys(COLORS) as StepDecorationKind[]) {
      const opts: vscode.DecorationRenderOptions = {
        after: { margin: '0 0 0 2em', color: new vscode.ThemeColor(COLORS[kind]), fontStyle: 'italic' },
        isWholeLine: false,
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      };
      if (style !== 'inline') {
        opts.gutterIconPath = vscode.Uri.joinPath(this.host.context.extensionUri, 'media', `${kind}.svg`);
        opts.gutterIconSize = '80%';
      }
      this.types.set(kind, vscode.window.createTextEditorDecorationType(opts));
    }
  }

  private textOf(file: string): string | undefined {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    if (doc) return doc.getText();
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  }

  private schedulePrediction(uri: vscode.Uri, delayMs = 300): void {
    if (!this.predictionSource || this.host.config(uri).get<boolean>('predictedCache.enabled') === false) return;
    const key = uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        void this.predictionSource?.request(uri).then(
          (r) => {
            if (r) this.predicted.set(uri.fsPath, r);
            else this.predicted.delete(uri.fsPath);
            this.refreshPath(uri.fsPath);
          },
          () => undefined, // the server restarted or the document closed: the next change asks again
        );
      }, delayMs),
    );
  }

  private compute(doc: vscode.TextDocument): LineDecoration[] {
    const record: BuildRecord | undefined = this.host.builds.get(doc.uri.fsPath);
    const built = this.builtText.get(doc.uri.fsPath);
    if (record && record.steps.size > 0 && built !== undefined && built === doc.getText()) {
      return record.orderedSteps().map((s) => ({ ...stepDecoration(s), line: s.range.end.line, source: 'build' as const }));
    }
    const p = this.predicted.get(doc.uri.fsPath);
    if (p && p.version === doc.version) {
      return p.entries.map((e) => ({ ...predictedDecoration(e), line: e.range.end.line, source: 'predicted' as const }));
    }
    return [];
  }

  private refreshPath(file: string): void {
    for (const ed of vscode.window.visibleTextEditors) if (ed.document.uri.fsPath === file) this.apply(ed);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    if (doc && !vscode.window.visibleTextEditors.some((e) => e.document === doc)) this.current.set(file, this.compute(doc));
  }

  private refreshAll(predict: boolean): void {
    for (const ed of vscode.window.visibleTextEditors) {
      if (ed.document.languageId !== 'dockerfile') continue;
      this.apply(ed);
      if (predict && !this.predicted.has(ed.document.uri.fsPath)) this.schedulePrediction(ed.document.uri, 0);
    }
  }

  private apply(editor: vscode.TextEditor): void {
    const decos = this.compute(editor.document);
    this.current.set(editor.document.uri.fsPath, decos);
    const enabled = this.host.config(editor.document.uri).get<boolean>('decorations.enabled') !== false;
    const inline = this.style() !== 'gutter';
    const byKind = new Map<StepDecorationKind, vscode.DecorationOptions[]>();
    if (enabled) {
      for (const d of decos) {
        if (d.line >= editor.document.lineCount) continue;
        const line = editor.document.lineAt(d.line);
        const opt: vscode.DecorationOptions = { range: new vscode.Range(d.line, line.text.length, d.line, line.text.length), hoverMessage: new vscode.MarkdownString(d.hover) };
        if (inline) opt.renderOptions = { after: { contentText: d.text } };
        const l = byKind.get(d.kind) ?? [];
        l.push(opt);
        byKind.set(d.kind, l);
      }
    }
    for (const [kind, type] of this.types) editor.setDecorations(type, byKind.get(kind) ?? []);
    this.changedEmitter.fire(editor.document.uri);
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    for (const t of this.types.values()) t.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
