/**
 * OCI layer tars: write a deterministic layer from a directory or an overlay upper dir, apply (safely extract)
 * a layer onto a directory, list a layer, and (de)compress layer blobs (plain, gzip, zstd).
 *
 * Everything streams: memory stays bounded whatever the layer size.
 *
 * Atomicity: `applyLayer` writes into `target` as it reads; if the stream is corrupt or unsafe it throws
 * (kind 'corrupt' / 'unsafe') but files already extracted stay. Callers that need all-or-nothing (snapshots)
 * use `extractLayerTo`, which extracts into a temporary sibling directory and renames it into place only on
 * success (and removes the temporary directory on failure).
 *
 * Safety policy of applyLayer (nothing is ever created, changed or removed outside the target):
 *  - rejected (LayerwiseError 'unsafe'): names or hard-link targets with `..` that climb out, whiteouts of
 *    `.`/`..`, hard links to paths not (yet) in the target or to directories, device nodes unless
 *    allowDevices, symlink loops, entries above maxEntrySize / layers above maxTotalSize;
 *  - neutralised: absolute names are taken relative to the target; symlinks met on the way to an entry are
 *    followed as if the target were `/` (like containerd), so `evil -> /` + `evil/etc/x` lands in
 *    `<target>/etc/x`; an existing symlink at an entry's own path is replaced, never written through;
 *    overlayfs-private xattrs in a layer are dropped;
 *  - malformed, truncated (no end-of-archive) or badly compressed input: LayerwiseError 'corrupt'; errors of
 *    the operating system or the input stream: 'io'.
 */

export type Compression = 'none' | 'gzip' | 'zstd';

/** One contiguous range of an id mapping, as in OCI `linux.uidMappings`: container ids
 *  [containerId, containerId+size) are host ids [hostId, hostId+size). */
export interface IdMapping {
  containerId: number;
  hostId: number;
  size: number;
}
/** uid and gid mappings of a user namespace. Ids outside every range map to 65534 (nobody). */
export interface IdMap {
  uids: IdMapping[];
  gids: IdMapping[];
}

export interface LayerWriteOptions {
  /** 'dir': a plain directory tree; 'overlay': an overlayfs upper dir: whiteouts (char 0/0 devices, or in the
   *  rootless `userxattr` form the `user.overlay.whiteout`/`user.overlay.opaque` xattrs, and
   *  `trusted.overlay.opaque=y`) become OCI `.wh.<name>` and `.wh..wh..opq` entries */
  source: 'dir' | 'overlay';
  /** clamp every mtime to this (SOURCE_DATE_EPOCH, seconds since the epoch) */
  sourceDateEpoch?: number;
  /** force uid/gid on every entry (e.g. 0/0), else keep the file's (after idMap) */
  owner?: { uid: number; gid: number };
  /** map host ids back to container ids (the upper dir was written from a rootless user namespace) */
  idMap?: IdMap;
  /** paths relative to the root (no leading '/') left out of the layer with everything under them,
   *  e.g. ['etc/hosts', 'etc/hostname', 'etc/resolv.conf'] */
  exclude?: string[];
  /** keep xattrs (default true; overlay-private ones are never kept) */
  xattrs?: boolean;
}

export interface LayerWriteResult {
  /** `sha256:<hex>` of the uncompressed tar */
  diffId: string;
  /** bytes of the uncompressed tar */
  size: number;
  /** tar entries written (whiteouts included) */
  entries: number;
  /** bytes of regular file content in the tree (hard links counted at each name, as `du --count-links`) */
  fileBytes: number;
}

export interface ApplyOptions {
  /** create device nodes (only possible as root) — default false: device entries are rejected with
   *  LayerwiseError('unsafe') (or skipped with `skipDevices`) */
  allowDevices?: boolean;
  /** when devices are not allowed: skip device entries instead of rejecting the layer */
  skipDevices?: boolean;
  /** chown entries to the tar's uid/gid (after idMap) — only when root or in a user namespace */
  preserveOwnership?: boolean;
  /** map container ids in the tar to host ids when chowning */
  idMap?: IdMap;
  /** 'delete' (default): whiteouts delete; 'overlay': whiteouts become char 0/0 devices and opaque dirs get
   *  `trusted.overlay.opaque=y` (root); 'overlay-userxattr': `user.overlay.whiteout` files and
   *  `user.overlay.opaque=y` (rootless overlay with the `userxattr` mount option). The overlay modes are for
   *  snapshots used as overlay lower dirs. */
  whiteoutMode?: 'delete' | 'overlay' | 'overlay-userxattr';
  /** apply xattrs from the tar (default true; errors setting them are ignored, e.g. security.* when not root) */
  xattrs?: boolean;
  /** refuse entries whose declared size is above this (default 1 TiB) */
  maxEntrySize?: number;
  /** stop with LayerwiseError('unsafe') once the uncompressed tar exceeds this many bytes (decompression
   *  bombs; default: no limit) */
  maxTotalSize?: number;
  /** entry names (and hard-link targets) with `..` are cleaned as if under `/`, so they stay inside the target, as
   *  containerd's Apply does for ADD's archives; default: such a layer is refused (LayerwiseError 'unsafe') */
  rootedNames?: boolean;
}

export interface ApplyResult {
  /** `sha256:<hex>` of the uncompressed tar */
  diffId: string;
  /** `sha256:<hex>` of the input as read, when it was compressed */
  compressedDigest?: string;
  compression: Compression;
  /** tar entries read */
  entries: number;
  /** bytes of the uncompressed tar */
  bytes: number;
}

export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /** normalized relative path, no leading './' or '/', no trailing '/' (for whiteouts: the path removed) */
  path: string;
  type: LayerEntryType;
  size: number;
  /** permission bits incl. setuid/setgid/sticky (& 0o7777) */
  mode: number;
  uid: number;
  gid: number;
  /** seconds since the epoch */
  mtime: number;
  /** symlink target, or hardlink target path (normalized like `path`) */
  linkTarget?: string;
  /** set when the entry is an OCI whiteout: 'file' = `.wh.<name>` (path is the removed path),
   *  'opaque' = `.wh..wh..opq` (path is the directory whose lower contents are hidden) */
  whiteout?: 'file' | 'opaque';
  devMajor?: number;
  devMinor?: number;
  /** extended attributes from the PAX `SCHILY.xattr.*` records, values as raw bytes */
  xattrs?: Record<string, Buffer>;
}

export { decompress, compress, detectCompression } from './compression';
export { writeLayer } from './write';
export { applyLayer, extractLayerTo } from './apply';
export { listLayer } from './list';
export { writeDiffLayer } from './diff';

// Signatures (for reference; the implementations live in the modules above):
//   decompress(input: NodeJS.ReadableStream): { stream: Readable; compression: Promise<Compression> }
//   compress(input: Readable, c: Compression, level?: number): Readable
//   detectCompression(head: Buffer): Compression
//   writeLayer(dir: string, opts: LayerWriteOptions): { stream: Readable; done: Promise<LayerWriteResult> }
//   applyLayer(input: NodeJS.ReadableStream, target: string, opts?: ApplyOptions): Promise<ApplyResult>
//   extractLayerTo(input: NodeJS.ReadableStream, dest: string, opts?: ApplyOptions): Promise<ApplyResult>
//   listLayer(input: NodeJS.ReadableStream): AsyncIterable<LayerEntry>
//   writeDiffLayer(lower: string, upper: string, opts: LayerWriteOptions): { stream: Readable; done: Promise<LayerWriteResult> }
