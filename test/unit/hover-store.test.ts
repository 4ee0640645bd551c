// Image facts for completion and hover come from a real engine store on disk (read-only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, writeImage } from '../../engine/store/index';
import { StoreImageCatalog } from '../../server/features/editing';
import { hover } from '../../server/features/hover';
import { completion } from '../../server/features/completion';
import { variants } from '../helpers/cursor';

test('the store catalog lists tagged images with size, layers and creation time; hover and completion use it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lw-catalog-'));
  try {
    const store = await openStore(root);
    const layer = await store.content.writeBlob(Buffer.alloc(2048, 1));
    const layerDesc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size };
    const { manifest } = await writeImage(store.content, {
      config: { created: '2024-05-01T10:00:00Z', architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } },
      layers: [layerDesc],
    });
    await store.images.put('docker.io/library/busybox:1.36', manifest);
    await store.images.put('localhost:5000/team/app:dev', manifest);

    const catalog = new StoreImageCatalog(root);
    assert.deepEqual(catalog.images(), [], 'nothing before the first load');
    await catalog.refresh();
    const facts = catalog.images().map((i) => `${i.repository}:${i.tag} ${i.layers} ${i.created}`);
    assert.deepEqual(facts.sort(), ['busybox:1.36 1 2024-05-01T10:00:00Z', 'localhost:5000/team/app:dev 1 2024-05-01T10:00:00Z']);

    for (const f of variants('FROM busy|box:1.36')) {
      const h = hover(f.parsed, f.doc, f.position, { images: catalog });
      assert.match((h!.contents as { value: string }).value, /^\*\*busybox:1\.36\*\* — in the local store\n\n- id: `[0-9a-f]{12}`\n- size: 2\.\d kB\n- layers: 1\n- created: 2024-05-01T10:00:00Z$/);
    }
    for (const f of variants('FROM |')) {
      const labels = completion(f.parsed, f.doc, f.position, { images: catalog }).map((i) => i.label);
      assert.deepEqual(labels.sort(), ['busybox:1.36', 'localhost:5000/team/app:dev', 'scratch']);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('no store at the root: an empty catalog, and nothing is created', async () => {
  const root = join(tmpdir(), `lw-none-${process.pid}`);
  const catalog = new StoreImageCatalog(root);
  await catalog.refresh();
  assert.deepEqual(catalog.images(), []);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(root), false);
});
