/**
 * The Images view: tags -> layers (the instruction that made each, size, files added/changed/removed, wasted
 * bytes) -> the files of a layer, like dive. Data comes from the CLI on demand and is refreshed when the store
 * changes (build, tag, remove, prune), never by polling.
 */
import * as vscode from 'vscode';
import type { LayerFile } from '../../engine/cli/commands/layers';
import { formatSize, shortDigest } from '../build/format';
import type { LayerwiseHost } from '../host';
import { imageLayers, listImages, type ImageItem, type LayerInfo, type LayersOutput } from '../images';

export type ImageNode =
  | { kind: 'image'; image: ImageItem }
  | { kind: 'layer'; image: ImageItem; layer: LayerInfo }
  | { kind: 'file'; file: LayerFile }
  | { kind: 'message'; text: string; detail?: string };

const CHANGE_ICON: Record<LayerFile['change'], [string, string]> = {
  added: ['diff-added', 'gitDecoration.addedResourceForeground'],
  changed: ['diff-modified', 'gitDecoration.modifiedResourceForeground'],
  removed: ['diff-removed', 'gitDecoration.deletedResourceForeground'],
};

export function createdByLabel(createdBy: string): string {
  // `/bin/sh -c #(nop) COPY …` and `RUN /bin/sh -c …` as Docker records them
  const s = createdBy.replace(/^\/bin\/sh -c #\(nop\)\s+/, '').replace(/^\|\d+ \S+=\S+\s+/, '').trim();
  return s || '(base layer)';
}

export class ImagesTreeProvider implements vscode.TreeDataProvider<ImageNode> {
  private readonly emitter = new vscode.EventEmitter<ImageNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly layersCache = new Map<string, Promise<LayersOutput>>();

  constructor(private readonly host: LayerwiseHost) {
    host.onImagesChanged(() => this.refresh());
  }

  refresh(): void {
    this.layersCache.clear();
    this.emitter.fire(undefined);
  }

  private layers(image: ImageItem): Promise<LayersOutput> {
    const key = `${image.ref}@${image.id}`;
    let p = this.layersCache.get(key);
    if (!p) {
      p = imageLayers(this.host.cli(), image.ref, true);
      p.catch(() => this.layersCache.delete(key));
      this.layersCache.set(key, p);
    }
    return p;
  }

  async getChildren(node?: ImageNode): Promise<ImageNode[]> {
    if (this.host.whyNoEngine()) return [];
    try {
      if (!node) {
        const images = await listImages(this.host.cli());
        return images.map((image) => ({ kind: 'image', image }));
      }
      if (node.kind === 'image') return (await this.layers(node.image)).layers.map((layer) => ({ kind: 'layer', image: node.image, layer }));
      if (node.kind === 'layer') {
        const files = node.layer.files ?? [];
        if (!files.length) return [{ kind: 'message', text: 'no file changes' }];
        return files.map((file) => ({ kind: 'file', file }));
      }
    } catch (e) {
      return [{ kind: 'message', text: `Cannot read the image store: ${(e as Error).message}`, detail: (e as Error).message }];
    }
    return [];
  }

  getTreeItem(node: ImageNode): vscode.TreeItem {
    switch (node.kind) {
      case 'image': {
        const i = node.image;
        const item = new vscode.TreeItem(i.ref === i.id ? `<none> ${shortDigest(i.id)}` : i.ref, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = [shortDigest(i.id), i.size, i.created].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon('package');
        item.contextValue = 'layerwise.image';
        item.tooltip = `${i.ref}\n${i.id}`;
        item.id = `image:${i.ref}:${i.id}`;
        return item;
      }
      case 'layer': {
        const l = node.layer;
        const item = new vscode.TreeItem(createdByLabel(l.createdBy), l.files?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        const counts = `+${l.added} ~${l.changed} -${l.removed}`;
        item.description = [formatSize(l.size), counts, l.wasted ? `${formatSize(l.wasted)} wasted` : ''].filter(Boolean).join(' · ');
        item.tooltip = `${l.createdBy || '(base layer)'}\n\nlayer ${l.index}: ${l.digest}\ndiff id ${l.diffId}\n${formatSize(l.size)}; ${l.added} added, ${l.changed} changed, ${l.removed} removed${l.wasted ? `; ${formatSize(l.wasted)} of earlier versions wasted` : ''}`;
        item.iconPath = new vscode.ThemeIcon('layers');
        item.contextValue = 'layerwise.layer';
        item.id = `layer:${node.image.ref}:${node.image.id}:${l.index}`;
        return item;
      }
      case 'file': {
        const f = node.file;
        const item = new vscode.TreeItem(f.path, vscode.TreeItemCollapsibleState.None);
        item.description = `${f.change}${f.type === 'file' ? ` · ${formatSize(f.size)}` : f.type === 'dir' ? '' : ` · ${f.type}`}`;
        const [icon, color] = CHANGE_ICON[f.change];
        item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
        item.contextValue = 'layerwise.file';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('info');
        if (node.detail) item.tooltip = node.detail;
        return item;
      }
    }
  }

  /** The tree as text, expanded to `depth` levels (for tests). */
  async render(depth = 3): Promise<string> {
    const lines: string[] = [];
    const walk = async (n: ImageNode | undefined, d: number) => {
      if (d >= depth) return;
      for (const c of await this.getChildren(n)) {
        const it = this.getTreeItem(c);
        const label = typeof it.label === 'string' ? it.label : it.label?.label ?? '';
        lines.push(`${'  '.repeat(d)}${label}${it.description ? ` — ${String(it.description)}` : ''}`);
        await walk(c, d + 1);
      }
    };
    await walk(undefined, 0);
    return lines.join('\n');
  }
}
