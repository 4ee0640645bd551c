/**
 * Image names in the OCI layout's `index.json`.
 *
 * Each named image is one entry of `manifests` whose annotation `org.opencontainers.image.ref.name` holds the
 * FULL normalized reference (`docker.io/library/busybox:latest`). We chose the full name over the bare tag
 * (`latest`, which the OCI spec suggests) because one store holds many repositories: with bare tags,
 * `busybox:latest` and `alpine:latest` would collide. Tools address an image as
 * `skopeo inspect oci:<root>:docker.io/library/busybox:latest` and `umoci ls --layout <root>` lists the names.
 * Entries without the annotation are dangling (`<none>:<none>`) images, as Docker keeps an image whose tag
 * moved to another. Every update is a read-modify-write of index.json under the `index` lock, written to a
 * temp file and renamed into place.
 */
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { parseReference, formatReference, repositoryName } from '../image/refs';
import { isDigest } from '../image/digest';
import { CREATED_ANNOTATION, REF_NAME_ANNOTATION, type Descriptor, type Index, type Platform } from '../image/types';
import { MediaType } from '../image/mediatypes';
import { readJsonFile, writeFileAtomic } from './fs-atomic';
import { readConfig, resolveManifest } from './manifests';
import type { ContentStore, ImageRecord, ImageStore, Locks, ResolvedImage } from './types';

export function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

function recordOf(d: Descriptor): ImageRecord {
  return { name: d.annotations?.[REF_NAME_ANNOTATION] ?? '', target: d };
}

function stripName(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d;
  const a = { ...(annotations ?? {}) };
  delete a[REF_NAME_ANNOTATION];
  return Object.keys(a).length ? { ...rest, annotations: a } : rest;
}

export class LayoutImageStore implements ImageStore {
  readonly indexPath: string;
  constructor(readonly root: string, readonly content: ContentStore, readonly locks: Locks, readonly tmpDir: string) {
    this.indexPath = join(root, 'index.json');
  }

  async readIndex(): Promise<Index> {
    let idx: Index | undefined;
    try {
      idx = await readJsonFile<Index>(this.indexPath);
    } catch {
      throw new LayerwiseError('corrupt', `${this.indexPath} is not valid JSON`);
    }
    if (!idx) return emptyIndex();
    if (!Array.isArray(idx.manifests)) throw new LayerwiseError('corrupt', `${this.indexPath} has no manifests array`);
    return idx;
  }

  /** read-modify-write index.json under the index lock */
  async update<T>(fn: (idx: Index) => T | Promise<T>): Promise<T> {
    return this.locks.withExclusive('index', async () => {
      const idx = await this.readIndex();
      const before = JSON.stringify(idx, null, 2) + '\n';
      const r = await fn(idx);
      const after = JSON.stringify(idx, null, 2) + '\n';
      if (after !== before) await writeFileAtomic(this.indexPath, after); // an update that changed nothing writes nothing
      return r;
    });
  }

  async list(): Promise<ImageRecord[]> {
    return (await this.readIndex()).manifests.map(recordOf);
  }

  async get(ref: string): Promise<ImageRecord | undefined> {
    const name = formatReference(parseReference(ref));
    return (await this.list()).find((r) => r.name === name);
  }

  async put(ref: string, target: Descriptor): Promise<void> {
    const name = formatReference(parseReference(ref));
    if (!isDigest(target.digest)) throw new LayerwiseError('invalid', `invalid digest: ${target.digest}`);
    if (!(await this.content.info(target.digest))) throw new LayerwiseError('not-found', `blob not found: ${target.digest}`);
    await this.update((idx) => {
      const i = idx.manifests.findIndex((d) => d.annotations?.[REF_NAME_ANNOTATION] === name);
      const old = i >= 0 ? idx.manifests[i] : undefined;
      const entry: Descriptor = {
        ...stripName(target),
        annotations: {
          ...(target.annotations ?? {}),
          [CREATED_ANNOTATION]: target.annotations?.[CREATED_ANNOTATION] ?? new Date().toISOString(),
          [REF_NAME_ANNOTATION]: name,
        },
      };
      if (i >= 0) idx.manifests.splice(i, 1);
      // the new target is no longer dangling
      idx.manifests = idx.manifests.filter((d) => !(d.digest === target.digest && !d.annotations?.[REF_NAME_ANNOTATION]));
      idx.manifests.push(entry);
      if (old && old.digest !== target.digest && !idx.manifests.some((d) => d.digest === old.digest)) {
        idx.manifests.push(stripName(old));
      }
    });
  }

  async putDangling(target: Descriptor): Promise<void> {
    if (!(await this.content.info(target.digest))) throw new LayerwiseError('not-found', `blob not found: ${target.digest}`);
    await this.update((idx) => {
      if (idx.manifests.some((d) => d.digest === target.digest)) return;
      const d = stripName(target);
      d.annotations = { ...(d.annotations ?? {}), [CREATED_ANNOTATION]: d.annotations?.[CREATED_ANNOTATION] ?? new Date().toISOString() };
      idx.manifests.push(d);
    });
  }

  async delete(ref: string): Promise<boolean> {
    const name = formatReference(parseReference(ref));
    return this.update((idx) => {
      const before = idx.manifests.length;
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name);
      return idx.manifests.length !== before;
    });
  }

  /** Remove a name; with keepDangling, the image stays as a dangling entry when nothing else names it (one
   *  atomic index update). */
  async untag(ref: string, opts: { keepDangling?: boolean } = {}): Promise<boolean> {
    const name = formatReference(parseReference(ref));
    return this.update((idx) => {
      const i = idx.manifests.findIndex((d) => d.annotations?.[REF_NAME_ANNOTATION] === name);
      if (i < 0) return false;
      const [old] = idx.manifests.splice(i, 1);
      if (opts.keepDangling && old && !idx.manifests.some((d) => d.digest === old.digest)) idx.manifests.push(stripName(old));
      return true;
    });
  }

  async deleteTarget(digest: string): Promise<number> {
    return this.update((idx) => {
      const before = idx.manifests.length;
      idx.manifests = idx.manifests.filter((d) => d.digest !== digest);
      return before - idx.manifests.length;
    });
  }

  /** The image id (config digest) of a record, or undefined when its blobs are missing/corrupt. */
  async idOf(target: Descriptor): Promise<string | undefined> {
    try {
      const { manifest } = await resolveManifest(this.content, target);
      return manifest.config.digest;
    } catch {
      return undefined;
    }
  }

  /** `platform`: the manifest of a multi-platform image to take (default: the host's) */
  async resolveRecord(rec: ImageRecord, all: ImageRecord[], platform?: Platform): Promise<ResolvedImage> {
    const { descriptor, manifest } = await resolveManifest(this.content, rec.target, platform);
    const config = await readConfig(this.content, manifest);
    const names = all.filter((r) => r.name && r.target.digest === rec.target.digest).map((r) => r.name);
    return { id: manifest.config.digest, target: rec.target, manifestDescriptor: descriptor, manifest, config, names };
  }

  async resolve(input: string, opts: { platform?: Platform } = {}): Promise<ResolvedImage> {
    const all = await this.list();
    const notFound = () => new LayerwiseError('not-found', `No such image: ${input}`);
    let parsed: ReturnType<typeof parseReference> | undefined;
    try {
      parsed = parseReference(input);
    } catch {
      parsed = undefined;
    }
    if (parsed) {
      if (parsed.digest) {
        const repo = repositoryName(parsed);
        const full = formatReference(parsed);
        const hit =
          all.find((r) => r.name === full) ??
          all.find((r) => r.target.digest === parsed!.digest && r.name && repositoryName(parseReference(r.name, { defaultTag: false })) === repo);
        if (hit) return this.resolveRecord(hit, all, opts.platform);
      } else {
        const full = formatReference(parsed);
        const hit = all.find((r) => r.name === full);
        if (hit) return this.resolveRecord(hit, all, opts.platform);
      }
    }
    // the full digest of a stored manifest (or index), as the containerd image store accepts it
    if (/^sha256:[a-f0-9]{64}$/.test(input)) {
      const byTarget = all.filter((r) => r.target.digest === input);
      const hit = byTarget.find((r) => r.name) ?? byTarget[0];
      if (hit) return this.resolveRecord(hit, all, opts.platform);
    }
    // an image id, a short id or an id prefix (with or without `sha256:`)
    const m = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(input);
    if (!m) {
      if (!parsed) throw new LayerwiseError('invalid', describeRefError(input));
      throw notFound();
    }
    const prefix = m[1]!;
    const byId = new Map<string, ImageRecord>();
    for (const r of all) {
      const id = await this.idOf(r.target);
      if (!id || !id.slice(7).startsWith(prefix)) continue;
      const cur = byId.get(id);
      if (!cur || (!cur.name && r.name)) byId.set(id, r);
    }
    if (byId.size === 0) throw notFound();
    if (byId.size > 1) throw new LayerwiseError('conflict', `multiple IDs found with provided prefix: ${input}`);
    return this.resolveRecord([...byId.values()][0]!, all, opts.platform);
  }
}

function describeRefError(input: string): string {
  try {
    parseReference(input);
    return 'invalid reference format';
  } catch (e) {
    return e instanceof Error ? e.message : 'invalid reference format';
  }
}
