/**
 * engine/store: the image store (OCI image layout on disk), snapshots, locks, GC, fsck, and image transfer
 * (save/load/import). Start with `openStore(root)`.
 *
 * Contract for the other engine parts (build, runtime, registry):
 * - Writing an image: hold `store.writeSession()` (a shared `gc` lock, so GC cannot remove blobs nobody names
 *   yet) while you `content.ingest(...)` layers, `writeImage(content, {config, layers})`, and name it with
 *   `images.put(ref, manifest)` (or `putDangling`). Release the session afterwards.
 * - Build cache: files under `<root>/cache/` (any layout, JSON or text). Every `sha256:<64 hex>` in them is a GC
 *   root: a manifest/index keeps what it reaches, a config keeps its snapshots, any other blob is kept as is.
 * - Containers: files under `<root>/containers/<id>/` (the same rule; `rootfs`, `upper`, `work`, `merged`, `fs`,
 *   `diff` subdirectories are not read). An image whose id or manifest digest a container names is "in use":
 *   rmi refuses it, prune skips it.
 * - Snapshots: `snapshots.prepare(manifest.layers, config.rootfs.diff_ids)` unpacks each layer once (keyed by
 *   chain id) and `snapshots.lowerDirs(topChainId)` gives overlay lower dirs, top first.
 * - Names are stored as the full normalized reference (`docker.io/library/busybox:latest`); images whose
 *   manifests use Docker v2s2 media types are stored as they are (their digests must not change), but skopeo's
 *   and umoci's `oci:` readers only see entries with OCI media types.
 */
export * from './types';
export { openStore, Store, OCI_LAYOUT } from './store';
export { FileContentStore, VerifyStream } from './content';
export { LayoutImageStore } from './images';
export { DirSnapshotStore, treeDigest } from './snapshots';
export { FileLocks } from './locks';
export { collectGarbage, planGc, digestsInUse, digestsInRecords } from './gc';
export { writeImage, canonicalJson } from './commit';
export { readJsonBlob, resolveManifest, readConfig, reachableFrom } from './manifests';
