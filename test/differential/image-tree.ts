/**
 * Images as comparable data for the differential tests: the merged root filesystem of an image's layers
 * (whiteouts and opaque dirs applied, in memory) rendered as one line per path, and the image config fields
 * that Docker and we both write. Both sides go through the same code: Docker's image from `docker save`, ours
 * from the store's blobs.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { Store } from '../../engine/store/store';

export interface Node {
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** sha256 of a file's content, link target of a symlink */
  data: string;
}

export type Tree = Map<string, Node>;

/** Paths the runtimes inject and that never count as image content. */
const INJECTED = new Set(['etc/hosts', 'etc/resolv.conf', 'etc/hostname', '.dockerenv']);

export async function readTar(buf: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tar.extract();
  const done = new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
  });
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (h.type === 'file' || h.type === 'contiguous-file') out.set(h.name.replace(/^\.\//, ''), Buffer.concat(chunks));
      next();
    });
    stream.resume();
  });
  Readable.from([buf]).pipe(ex);
  await done;
  return out;
}

interface Entry {
  name: string;
  node: Node;
  linkTarget?: string;
}

async function layerEntries(layer: Buffer): Promise<Entry[]> {
  const data = layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer;
  const out: Entry[] = [];
  const ex = tar.extract();
  const done = new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
  });
  ex.on('entry', (h, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (c: unknown) => hash.update(c as Buffer));
    stream.on('end', () => {
      const name = h.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      const type: Node['type'] =
        h.type === 'file' || h.type === 'contiguous-file'
          ? 'file'
          : h.type === 'directory'
            ? 'dir'
            : h.type === 'symlink'
              ? 'symlink'
              : h.type === 'link'
                ? 'hardlink'
                : 'other';
      const linkname = (h.linkname ?? '').replace(/^\.?\/+/, '');
      out.push({
        name,
        node: { type, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, data: type === 'file' ? hash.digest('hex') : type === 'symlink' ? (h.linkname ?? '') : '' },
        linkTarget: type === 'hardlink' ? linkname : undefined,
      });
      next();
    });
    stream.resume();
  });
  Readable.from([data]).pipe(ex);
  await done;
  return out;
}

function removeTree(tree: Tree, path: string, keepSelf: boolean): void {
  if (!keepSelf) tree.delete(path);
  const prefix = path === '' ? '' : path + '/';
  for (const k of [...tree.keys()]) if (k.startsWith(prefix) && k !== path) tree.delete(k);
}

/** Applies layers in order into an in-memory tree (OCI whiteouts: `.wh.name`, `.wh..wh..opq`). */
export async function mergeLayers(layers: Buffer[]): Promise<Tree> {
  const tree: Tree = new Map();
  for (const layer of layers) {
    const entries = await layerEntries(layer);
    // whiteouts hide lower content only: apply them before this layer's own entries
    for (const e of entries) {
      const slash = e.name.lastIndexOf('/');
      const dir = slash < 0 ? '' : e.name.slice(0, slash);
      const base = e.name.slice(slash + 1);
      if (base === '.wh..wh..opq') removeTree(tree, dir, true);
      else if (base.startsWith('.wh.')) removeTree(tree, (dir ? dir + '/' : '') + base.slice(4), false);
    }
    for (const e of entries) {
      const base = e.name.slice(e.name.lastIndexOf('/') + 1);
      if (base.startsWith('.wh.') || e.name === '') continue;
      const prev = tree.get(e.name);
      if (prev && prev.type === 'dir' && e.node.type !== 'dir') removeTree(tree, e.name, false);
      if (e.node.type === 'hardlink') {
        const target = tree.get(e.linkTarget ?? '');
        // a hard link is the same file: record it with its target's content, and note that it is a link
        tree.set(e.name, { ...(target ?? e.node), type: 'file', data: `${target?.data ?? '?'} (hardlink)` });
        if (target && !target.data.endsWith('(hardlink)')) tree.set(e.linkTarget!, { ...target, data: `${target.data} (hardlink)` });
      } else tree.set(e.name, e.node);
    }
  }
  for (const k of INJECTED) {
    const n = tree.get(k);
    // Docker and we create these as empty mount points at most; a non-empty one would be real content
    if (n && (n.type !== 'file' || n.data === createHash('sha256').digest('hex'))) tree.delete(k);
  }
  return tree;
}

/** One line per path, sorted: `path type mode uid:gid data`. */
export function renderTree(tree: Tree, only?: (path: string) => boolean): string[] {
  return [...tree.entries()]
    .filter(([p]) => !only || only(p))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([p, n]) => `/${p} ${n.type} ${n.mode.toString(8).padStart(4, '0')} ${n.uid}:${n.gid}${n.data ? ' ' + n.data : ''}`);
}

export interface ImageData {
  config: Record<string, unknown>;
  tree: Tree;
}

/** The config fields compared, as Docker's image config names them. */
export const CONFIG_FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'Labels',
  'ExposedPorts',
  'Volumes',
  'StopSignal',
  'Healthcheck',
  'OnBuild',
  'Shell',
  'ArgsEscaped',
] as const;

/** The compared part of an image config: absent, null and '' are the same ("not set"). */
export function configView(cfg: unknown): Record<string, unknown> {
  const c = ((cfg as { config?: Record<string, unknown> } | undefined)?.config ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of CONFIG_FIELDS) {
    const v = c[f];
    if (v === undefined || v === null || v === '' || v === false) continue;
    out[f] = v;
  }
  return out;
}

/** Each history entry as `created_by [empty]`. */
export function historyView(cfg: unknown): string[] {
  const h = (cfg as { history?: { created_by?: string; empty_layer?: boolean }[] }).history ?? [];
  return h.map((e) => `${e.created_by ?? ''}${e.empty_layer ? ' [empty]' : ''}`);
}

/** Images from one `docker save` archive of several tags: tag -> config + merged tree. */
export async function imagesFromDockerSave(archive: Buffer): Promise<Map<string, ImageData>> {
  const files = await readTar(archive);
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
  const out = new Map<string, ImageData>();
  for (const m of manifest) {
    const config = JSON.parse(files.get(m.Config)!.toString()) as Record<string, unknown>;
    const tree = await mergeLayers(m.Layers.map((l) => files.get(l)!));
    for (const t of m.RepoTags ?? []) out.set(t.replace(/^docker\.io\/library\//, ''), { config, tree });
  }
  return out;
}

export async function imageFromStore(store: Store, ref: string): Promise<ImageData> {
  const img = await store.images.resolve(ref);
  const layers: Buffer[] = [];
  for (const l of img.manifest.layers) layers.push(await store.content.readBlobBytes(l.digest));
  return { config: img.config as unknown as Record<string, unknown>, tree: await mergeLayers(layers) };
}
