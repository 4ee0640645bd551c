/**
 * The build context as rules see it: the Dockerfile's folder (or `layerwise.buildContext`), its .dockerignore,
 * and the files in it. Cached per context root; dropped when watched files change.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildContextView } from './types';

export class BuildContextCache {
  private readonly views = new Map<string, BuildContextView>();

  /** The context for a document URI; undefined for non-file documents. */
  viewFor(uri: string, configured: string): BuildContextView | undefined {
    if (!uri.startsWith('file:')) return undefined;
    const file = fileURLToPath(uri);
    const dir = dirname(file);
    const root = configured ? (isAbsolute(configured) ? configured : resolve(dir, configured)) : dir;
    const key = `${root}\u0000${file}`;
    const hit = this.views.get(key);
    if (hit) return hit;
    const view = createView(root, file);
    if (view) this.views.set(key, view);
    return view;
  }

  forget(_uri: string): void {
    // views are per context root, shared by documents; nothing per-document to drop
  }

  filesChanged(_uris: string[]): void {
    this.views.clear();
  }
}

function createView(_root: string, _dockerfile: string): BuildContextView | undefined {
  // filled in when engine/context/dockerignore.ts lands
  return undefined;
}
