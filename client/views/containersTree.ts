/**
 * The Containers view: every container (`layerwise ps -a`), running first, with its status, image and ports; a
 * running one offers a shell in a terminal (exec -it), its logs (logs -f in a terminal) and stop; a stopped one
 * start and remove. Refreshed by the commands that change containers and when a container's state file changes
 * (a container that ends on its own), never by polling.
 */
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { defaultRoot } from '../../engine/cli/context';
import { listContainers, type ContainerItem } from '../containers';
import type { LayerwiseHost } from '../host';

export type ContainerNode = { kind: 'container'; container: ContainerItem } | { kind: 'message'; text: string };

export class ContainersTreeProvider implements vscode.TreeDataProvider<ContainerNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ContainerNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private watchers: FSWatcher[] = [];
  private watchedRoot = '';
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly host: LayerwiseHost) {
    host.onContainersChanged(() => this.refresh());
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  /** The store's containers folder and each container's folder, watched (re-armed at every listing). */
  private watch(): void {
    const root = this.host.cli().root ?? defaultRoot(process.env);
    const dir = join(root, 'containers');
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.watchedRoot = root;
    const changed = () => {
      // a burst of writes (a container starting writes its record, state and log): one refresh
      if (this.pending) clearTimeout(this.pending);
      this.pending = setTimeout(() => this.refresh(), 100);
    };
    try {
      this.watchers.push(watch(dir, changed));
    } catch {
      return; // no containers folder yet: the commands that make one refresh the view
    }
  }

  private watchEach(items: ContainerItem[]): void {
    const dir = join(this.watchedRoot, 'containers');
    for (const c of items) {
      if (c.state !== 'running') continue;
      try {
        this.watchers.push(watch(join(dir, c.id), (_e, f) => (f === 'state.json' ? this.refresh() : undefined)));
      } catch {
        /* gone meanwhile */
      }
    }
  }

  async getChildren(node?: ContainerNode): Promise<ContainerNode[]> {
    if (node || this.host.whyNoEngine()) return [];
    try {
      const items = await listContainers(this.host.cli());
      this.watch();
      this.watchEach(items);
      items.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running'));
      return items.map((container) => ({ kind: 'container', container }));
    } catch (e) {
      return [{ kind: 'message', text: `Cannot list containers: ${(e as Error).message}` }];
    }
  }

  getTreeItem(node: ContainerNode): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text);
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    const c = node.container;
    const running = c.state === 'running';
    const item = new vscode.TreeItem(c.name, vscode.TreeItemCollapsibleState.None);
    item.description = [c.status, c.image, c.ports].filter(Boolean).join(' · ');
    item.tooltip = `${c.name}\n${c.id}\n${c.image}: ${c.command}\n${c.status}${c.ports ? `\n${c.ports}` : ''}`;
    item.iconPath = running ? new vscode.ThemeIcon('vm-running', new vscode.ThemeColor('testing.iconPassed')) : new vscode.ThemeIcon('vm-outline');
    item.contextValue = running ? 'layerwise.container.running' : 'layerwise.container.stopped';
    item.id = `container:${c.id}`;
    return item;
  }

  /** The tree as text (for tests). */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const n of await this.getChildren()) {
      const it = this.getTreeItem(n);
      out.push(`${typeof it.label === 'string' ? it.label : it.label?.label ?? ''}${it.description ? ` — ${String(it.description)}` : ''}`);
    }
    return out.join('\n');
  }

  dispose(): void {
    for (const w of this.watchers) w.close();
    if (this.pending) clearTimeout(this.pending);
    this.emitter.dispose();
  }
}
