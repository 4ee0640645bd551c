/**
 * engine/store: the image store (OCI image layout on disk), snapshots, locks, GC, fsck, and image transfer
 * (save/load/import). Start with `openStore(root)`.
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
