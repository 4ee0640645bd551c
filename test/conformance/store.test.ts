/** The store conformance suite against the on-disk store (engine/store/store.ts). */
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openStore } from '../../engine/store/store';
import { storeConformance } from '../helpers/store-suite';

storeConformance('on-disk OCI layout', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lw-store-'));
  const store = await openStore(root);
  return {
    content: store.content,
    images: store.images,
    snapshots: store.snapshots,
    locks: store.locks,
    async corruptBlob(digest) {
      const p = store.content.blobPath(digest);
      const buf = await fsp.readFile(p);
      buf[buf.length >> 1] ^= 0xff;
      await fsp.writeFile(p, buf);
    },
    async makeStaleLock(name) {
      // a pid that certainly exited: a child we ran to completion
      const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      const pid = Number(r.stdout);
      await fsp.writeFile(join(root, 'locks', `${name}.lock`), JSON.stringify({ pid, host: (await import('node:os')).hostname() }));
    },
    async cleanup() {
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
});
