/**
 * The store's interfaces. Implementations: engine/store/content.ts (blobs), images.ts (refs in index.json),
 * snapshots.ts (unpacked layers), locks.ts. One conformance suite (test/helpers/store-suite.ts) runs against
 * every implementation.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, Manifest } from '../image/types';

export interface BlobInfo {
  /** `sha256:<hex>` */
  digest: string;
  size: number;
}

/** What the writer of a blob says it is; the blob is committed only if what arrived matches. */
export interface Expected {
  digest?: string;
  size?: number;
}

export interface IngestOptions {
  expected?: Expected;
  /** called with the running byte count as data arrives */
  onProgress?: (bytes: number) => void;
  /** sees every chunk before it is written (e.g. to scan a layer on the way in); throwing aborts the ingest */
  onChunk?: (chunk: Buffer) => void;
  /** called after the last chunk, before the blob is committed; throwing aborts the ingest */
  onEnd?: () => void;
  /** The digest of the stream's bytes as their producer computed it (in this process, e.g. a layer writer, which
   *  hashes what it yields): the store takes it instead of hashing every byte a second time. It resolves once the
   *  producer has yielded its last byte. */
  producerDigest?: Promise<string>;
  /** called with each chunk once it has been written to the blob file, when the store no longer refers to it (a
   *  producer may then reuse its memory) */
  release?: (chunk: Buffer) => void;
  /** hash on a worker thread (HashThread) instead of this one: for big blobs (hundreds of MB), whose hashing
   *  would otherwise hold up the reading and writing */
  hashThread?: boolean;
}

/** Content-addressed blobs. Writes are atomic: a blob is visible only once complete and verified. */
export interface ContentStore {
  /** digest and size of a present blob, or undefined */
  info(digest: string): Promise<BlobInfo | undefined>;
  /** A stream of the blob. With `verify`, the stream fails (kind 'corrupt') at its end if the bytes read do
   *  not hash to `digest` or have the wrong length. Throws 'not-found' when absent. */
  readBlob(digest: string, opts?: { verify?: boolean }): Promise<Readable>;
  /** The whole blob, always verified; `maxSize` guards against reading a huge blob as JSON. */
  readBlobBytes(digest: string, opts?: { maxSize?: number }): Promise<Buffer>;
  /** Store bytes; returns their digest. With `expected`, throws 'corrupt' (and stores nothing) on mismatch. */
  writeBlob(data: Buffer | string, expected?: Expected): Promise<BlobInfo>;
  /** Store a stream; committed only when it ends and matches `expected` (when given). */
  ingest(input: NodeJS.ReadableStream, opts?: IngestOptions): Promise<BlobInfo>;
  /** Remove a blob; false when it was not there. */
  delete(digest: string): Promise<boolean>;
  /** Every committed blob (order unspecified). */
  walk(): AsyncIterable<BlobInfo>;
}

/** One named (or dangling) image in the store. */
export interface ImageRecord {
  /** the full normalized reference (`docker.io/library/busybox:latest`, or `…@sha256:…`), '' when dangling */
  name: string;
  /** the manifest (or index) descriptor */
  target: Descriptor;
}

/** An image resolved down to one platform manifest and its config. */
export interface ResolvedImage {
  /** image id: the config digest */
  id: string;
  /** the descriptor the ref points at (manifest or index) */
  target: Descriptor;
  /** the platform manifest (== target unless target is an index) */
  manifestDescriptor: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  /** every name pointing at `target` (full normalized form) */
  names: string[];
}

/** Named references to manifests, kept in the OCI layout's index.json. */
export interface ImageStore {
  /** every entry: named ones and dangling ones */
  list(): Promise<ImageRecord[]>;
  /** by full or familiar reference (normalized first) */
  get(ref: string): Promise<ImageRecord | undefined>;
  /** Point `ref` at `target` (the blobs must already be in the content store). A target the ref pointed at
   *  before stays as a dangling entry when nothing else names it, as Docker keeps `<none>` images. */
  put(ref: string, target: Descriptor): Promise<void>;
  /** Add a dangling (unnamed) entry for `target` unless some entry already points at it. */
  putDangling(target: Descriptor): Promise<void>;
  /** Remove a name; false when absent. */
  delete(ref: string): Promise<boolean>;
  /** Remove every entry (named or not) whose target has this digest. Returns how many were removed. */
  deleteTarget(digest: string): Promise<number>;
  /** A reference, an image id (`sha256:…`), a 12-hex short id, an unambiguous id prefix, or the full digest of
   *  a stored manifest/index.
   *  Throws LayerwiseError('not-found', 'No such image: <input>'). */
  /** `platform`: which manifest of a multi-platform image (default: the host's) */
  resolve(input: string, opts?: { platform?: import('../image/types').Platform }): Promise<ResolvedImage>;
}

export interface SnapshotInfo {
  /** chain id of the layer stack ending with this layer */
  chainId: string;
  /** diff id of this layer */
  diffId: string;
  /** chain id of the snapshot below, undefined for the bottom layer */
  parent?: string;
  /** the directory holding this layer's unpacked contents (an overlay lower dir) */
  dir: string;
  /** bytes of file contents in `dir` */
  size: number;
  /** whiteout representation used in `dir` */
  whiteoutMode: 'overlay' | 'overlay-userxattr' | 'delete';
}

/** Layers unpacked once each, keyed by chain id. */
export interface SnapshotStore {
  get(chainId: string): Promise<SnapshotInfo | undefined>;
  /** Unpack every layer of `diffIds` (in order) not yet unpacked, reading the blobs from `layers`
   *  (descriptors aligned with `diffIds`). Returns the snapshots bottom to top. */
  prepare(layers: readonly Descriptor[], diffIds: readonly string[]): Promise<SnapshotInfo[]>;
  /** lower dirs for overlayfs, top first (as `lowerdir=` wants them) */
  lowerDirs(chainId: string): Promise<string[]>;
  list(): Promise<SnapshotInfo[]>;
  remove(chainId: string): Promise<boolean>;
  /** total bytes of all snapshots */
  usage(): Promise<number>;
}

export interface LockHandle {
  release(): Promise<void>;
}

/** Cross-process locks (lock files under `locks/`, created O_EXCL with the holder's pid; a lock whose pid is
 *  dead is stale and broken). */
export interface Locks {
  /** wait until the exclusive lock `name` is ours */
  exclusive(name: string, opts?: { timeoutMs?: number }): Promise<LockHandle>;
  /** take it only if free now */
  tryExclusive(name: string): Promise<LockHandle | undefined>;
  /** shared holders exclude an exclusive holder of the same name (readers/writer) */
  shared(name: string, opts?: { timeoutMs?: number }): Promise<LockHandle>;
  /** run `fn` holding the exclusive lock */
  withExclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
