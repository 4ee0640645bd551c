/**
 * The real server (dist/server.js over stdio) follows the engine store named by `layerwise.storeRoot`: a base image
 * of another platform is reported and the report goes when the store changes (index.json rewritten by the store's
 * own API), and build records written by the builder's recording API turn into the VolatileStepEarly hint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BuildCache, type BuildHistory, type StepInputs } from '../../engine/build/cache';
import { hostPlatform } from '../../engine/dockerfile/index';
import { openStore, writeImage, type Store } from '../../engine/store';
import type { LspClient, LspDiagnostic } from '../helpers/lsp';
import { spawnServer } from './server-harness';

const codes = (ds: LspDiagnostic[]): string[] => ds.map((d) => `${d.range.start.line + 1} ${String(d.code)}`);
const host = hostPlatform();
const OTHER = host.architecture === 'arm64' ? 'amd64' : 'arm64';

async function putImage(store: Store, ref: string, architecture: string): Promise<void> {
  const { manifest } = await writeImage(store.content, {
    config: { os: 'linux', architecture, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
    layers: [],
  });
  await store.images.put(ref, manifest);
}

describe('language server and the engine store', () => {
  let client: LspClient;
  let dir = '';
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lw-srv-store-'));
    store = await openStore(join(dir, 'store'));
    client = spawnServer();
    client.settings = { layerwise: { rules: {}, storeRoot: store.root } };
    await client.initialize({ rootUri: pathToFileURL(dir).href });
  });
  after(async () => {
    await client.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('InvalidBaseImagePlatform appears with the image and goes when the store holds the right platform', async () => {
    await putImage(store, 'example.com/app-base:1', OTHER);
    const uri = pathToFileURL(join(dir, 'plat', 'Dockerfile')).href;
    const d = await client.open(uri, 'ARG BASE=example.com/app-base:1\nFROM $BASE\nRUN true\n');
    assert.deepEqual(codes(d.diagnostics), ['2 InvalidBaseImagePlatform']);
    assert.match(d.diagnostics[0]!.message, new RegExp(`pulled with platform "linux/${OTHER}", expected "linux/${host.architecture}`));
    const next = client.nextDiagnostics(uri);
    await putImage(store, 'example.com/app-base:1', host.architecture); // as a pull or load of the right image would
    assert.deepEqual(codes((await next).diagnostics), []);
    client.close(uri);
  });

  it('VolatileStepEarly appears once the builds recorded show a step that keeps missing', async () => {
    const path = join(dir, 'hist', 'Dockerfile');
    const uri = pathToFileURL(path).href;
    const text = 'FROM busybox:1\nCOPY . /app\nRUN make -C /app\n';
    const d = await client.open(uri, text);
    assert.deepEqual(codes(d.diagnostics), []);
    const cache = new BuildCache(store.cacheDir, store.tmpDir);
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 11 } };
    const rec = (n: number): BuildHistory => {
      const key = `sha256:copy${n}`;
      const steps: StepInputs[] = [
        { stage: 0, index: 2, instruction: 'COPY . /app', key, parentKey: 'sha256:b', args: {}, envDigest: 'e', files: [{ path: 'main.c', digest: `sha256:${n}` }], duration: 0.1, range },
        { stage: 0, index: 3, instruction: 'RUN make -C /app', key: `${key}-make`, parentKey: key, args: {}, envDigest: 'e', duration: 20, range: { ...range, start: { line: 2, character: 0 } } },
      ];
      return { v: 1, dockerfile: path, time: new Date(Date.UTC(2024, 1, 1, 0, n)).toISOString(), steps };
    };
    let last = d;
    for (let n = 0; n < 3; n++) {
      const next = client.nextDiagnostics(uri);
      await cache.saveHistory(rec(n)); // what `layerwise build` records at its end
      last = await next;
    }
    assert.deepEqual(codes(last.diagnostics), ['2 VolatileStepEarly']);
    assert.match(last.diagnostics[0]!.message, /missed the cache in 2 of the last 2 builds \(files changed: main\.c\).*40\.0 s in all/);
    client.close(uri);
  });
});
