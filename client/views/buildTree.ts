/**
 * The Build view: the last build of each Dockerfile -> its stages -> their steps, with status, duration, size
 * and layer digest; clicking a step reveals its line. Refreshed from build events.
 */
import * as vscode from 'vscode';
import type { StepEvent } from '../../engine/build/events';
import { formatDuration, formatSize, shortDigest } from '../build/format';
import type { BuildRecord, StageView } from '../build/model';
import { toRange } from '../build/diagnostics';
import { describeMiss } from '../build/stepText';
import type { LayerwiseHost } from '../host';

export type BuildNode =
  | { kind: 'build'; record: BuildRecord }
  | { kind: 'stage'; record: BuildRecord; stage: StageView }
  | { kind: 'step'; record: BuildRecord; step: StepEvent };

const STATUS_ICON: Record<StepEvent['status'], [string, string]> = {
  cached: ['pass', 'testing.iconPassed'],
  done: ['circle-filled', 'editorWarning.foreground'],
  running: ['sync~spin', 'editorInfo.foreground'],
  error: ['error', 'editorError.foreground'],
};

export function stepDescription(s: StepEvent): string {
  const parts: string[] = [];
  if (s.status === 'cached') parts.push('cached');
  else if (s.status === 'done') parts.push(s.emptyLayer ? 'config only' : formatDuration(s.duration ?? 0));
  else if (s.status === 'running') parts.push('running');
  else parts.push('failed');
  if (s.layer) parts.push(formatSize(s.layer.size), shortDigest(s.layer.digest));
  return parts.join(' · ');
}

export class BuildTreeProvider implements vscode.TreeDataProvider<BuildNode> {
  private readonly emitter = new vscode.EventEmitter<BuildNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly host: LayerwiseHost) {
    host.onBuildsChanged(() => this.emitter.fire(undefined));
  }

  getChildren(node?: BuildNode): BuildNode[] {
    if (this.host.whyNoEngine()) return []; // the view's welcome text explains why
    if (!node) return [...this.host.builds.values()].sort((a, b) => b.startedAt - a.startedAt).map((record) => ({ kind: 'build', record }));
    if (node.kind === 'build') return node.record.stages().map((stage) => ({ kind: 'stage', record: node.record, stage }));
    if (node.kind === 'stage') return node.stage.steps.map((step) => ({ kind: 'step', record: node.record, step }));
    return [];
  }

  getTreeItem(node: BuildNode): vscode.TreeItem {
    if (node.kind === 'build') {
      const r = node.record;
      const item = new vscode.TreeItem(vscode.workspace.asRelativePath(r.dockerfile), vscode.TreeItemCollapsibleState.Expanded);
      item.description = r.summary();
      item.resourceUri = vscode.Uri.file(r.dockerfile);
      item.contextValue = 'layerwise.build';
      const ok = r.end?.ok;
      item.iconPath = r.running
        ? new vscode.ThemeIcon('sync~spin')
        : ok
          ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
          : new vscode.ThemeIcon('error', new vscode.ThemeColor('editorError.foreground'));
      item.tooltip = `${r.dockerfile}\n${r.start?.tags.join(', ') ?? ''}\n${r.summary()}${r.end?.imageId ? `\nimage ${r.end.imageId}` : ''}`;
      item.id = `build:${r.dockerfile}:${r.startedAt}`;
      return item;
    }
    if (node.kind === 'stage') {
      const st = node.stage;
      const named = st.name !== undefined && !/^stage-\d+$/.test(st.name); // the engine calls unnamed stages `stage-N`
      const item = new vscode.TreeItem(named ? `stage ${st.name}` : `stage ${st.index}`, vscode.TreeItemCollapsibleState.Expanded);
      const cached = st.steps.filter((s) => s.status === 'cached').length;
      item.description = `${st.steps.length} steps, ${cached} cached`;
      item.iconPath = new vscode.ThemeIcon('layers');
      item.contextValue = 'layerwise.stage';
      item.id = `stage:${node.record.dockerfile}:${node.record.startedAt}:${st.index}`;
      return item;
    }
    const s = node.step;
    const item = new vscode.TreeItem(`[${s.index}/${s.total}] ${s.instruction}`, vscode.TreeItemCollapsibleState.None);
    item.description = stepDescription(s);
    const [icon, color] = s.status === 'done' && s.emptyLayer ? ['circle-outline', 'editorCodeLens.foreground'] : STATUS_ICON[s.status];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    const md = new vscode.MarkdownString();
    md.appendCodeblock(s.instruction, 'dockerfile');
    md.appendMarkdown(`\n${stepDescription(s)}`);
    if (s.miss) md.appendMarkdown(`\n\ncache miss: ${describeMiss(s.miss)}`);
    if (s.layer) md.appendMarkdown(`\n\nlayer \`${s.layer.digest}\``);
    if (s.error) md.appendMarkdown(`\n\nerror: ${s.error}`);
    item.tooltip = md;
    item.contextValue = 'layerwise.step';
    item.id = `step:${node.record.dockerfile}:${node.record.startedAt}:${s.id}`;
    item.command = {
      command: 'vscode.open',
      title: 'Reveal line',
      arguments: [vscode.Uri.file(node.record.dockerfile), { selection: toRange(s.range) } satisfies vscode.TextDocumentShowOptions],
    };
    return item;
  }

  /** The tree as text (for tests and for people reading a log). */
  async render(): Promise<string> {
    const lines: string[] = [];
    const walk = async (n: BuildNode | undefined, depth: number) => {
      for (const c of this.getChildren(n)) {
        const it = this.getTreeItem(c);
        const label = typeof it.label === 'string' ? it.label : it.label?.label ?? '';
        lines.push(`${'  '.repeat(depth)}${label}${it.description ? ` — ${String(it.description)}` : ''}`);
        await walk(c, depth + 1);
      }
    };
    await walk(undefined, 0);
    return lines.join('\n');
  }
}

