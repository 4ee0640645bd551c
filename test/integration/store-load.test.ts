/**
 * `load` on the archive shapes other tools write: legacy `docker save` (Docker ≤ 24) with a layer shared
 * through a symlink, OCI layouts holding a multi-platform index of which only this platform's blobs are
 * present, gzip-compressed archives; and archives that must be refused (entries escaping the archive, blobs
 * that do not match their names) without touching the store.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { cli } from '../helpers/store-cli';
import { makeLayerTar } from '../helpers/store-suite';
import { hostPlatform } from '../../engine/image/chain';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Entry {
  name: string;
  data?: Buffer | string;
  linkname?: string;
}

async function archive(entries: Entry[]): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    if (e.linkname) p.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else p.entry({ name: e.name, mode: 0o644 }, e.data ?? '');
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function config(diffIds: string[], cmd: string[]): string {
  return JSON.stringify({ architecture: hostPlatform().architecture, os: 'linux', config: { Cmd: cmd }, rootfs: { type: 'layers', diff_ids: diffIds } });
}

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lw-load-'));
  root = join(dir, 'store');
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('load: archive shapes', () => {
  it('legacy docker save with a layer shared through a symlink, two images, one untagged', async () => {
    const base = await makeLayerTar({ 'etc/os': 'base' });
    const top = await makeLayerTar({ 'app/x': 'y' });
    const c1 = config([`sha256:${sha(base)}`], ['one']);
    const c2 = config([`sha256:${sha(base)}`, `sha256:${sha(top)}`], ['two']);
    const buf = await archive([
      { name: 'l1/layer.tar', data: base },
      { name: 'l2/layer.tar', linkname: '../l1/layer.tar' },
      { name: 'l3/layer.tar', data: top },
      { name: `${sha(c1)}.json`, data: c1 },
      { name: `${sha(c2)}.json`, data: c2 },
      { name: 'manifest.json', data: JSON.stringify([
        { Config: `${sha(c1)}.json`, RepoTags: ['legacy/one:1'], Layers: ['l1/layer.tar'] },
        { Config: `${sha(c2)}.json`, RepoTags: null, Layers: ['l2/layer.tar', 'l3/layer.tar'] },
      ]) },
    ]);
    const r = await cli(root, ['load'], buf);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Loaded image: legacy/one:1\nLoaded image ID: sha256:${sha(c2)}\n`);
    const two = await cli(root, ['inspect', '-f', '{{json .Config.Cmd}} {{len .RootFS.Layers}}', sha(c2).slice(0, 12)]);
    assert.equal(two.stdout, '["two"] 2\n');
    assert.equal((await cli(root, ['fsck'])).code, 0);
  });

  it('an OCI layout with a multi-platform index (only this platform present), gzip-compressed', async () => {
    const layer = await makeLayerTar({ hello: 'world' });
    const gz = gzipSync(layer);
    const cfg = config([`sha256:${sha(layer)}`], ['oci']);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(cfg)}`, size: cfg.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha(gz)}`, size: gz.length }],
    });
    const p = hostPlatform();
    const other = p.architecture === 'amd64' ? 'arm64' : 'amd64';
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha('absent')}`, size: 100, platform: { os: 'linux', architecture: other } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, platform: { os: 'linux', architecture: p.architecture } },
      ],
    });
    const top = JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${sha(index)}`, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'example.com/multi:2' } }],
    });
    const buf = await archive([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: top },
      { name: `blobs/sha256/${sha(index)}`, data: index },
      { name: `blobs/sha256/${sha(manifest)}`, data: manifest },
      { name: `blobs/sha256/${sha(cfg)}`, data: cfg },
      { name: `blobs/sha256/${sha(gz)}`, data: gz },
    ]);
    const r = await cli(root, ['load'], gzipSync(buf));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Loaded image: example.com/multi:2\n');
    const i = await cli(root, ['inspect', '-f', '{{.Id}} {{json .Config.Cmd}}', 'example.com/multi:2']);
    assert.equal(i.stdout, `sha256:${sha(cfg)} ["oci"]\n`);
  });
});

describe('load: refused archives leave the store as it was', () => {
  it('an entry that climbs out of the archive', async () => {
    const buf = await archive([{ name: '../../etc/evil', data: 'x' }, { name: 'manifest.json', data: '[]' }]);
    const r = await cli(root, ['load'], buf);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: archive entry "\.\.\/\.\.\/etc\/evil" is outside the archive\n$/);
    const idx = JSON.parse(await fsp.readFile(join(root, 'index.json'), 'utf8')) as { manifests: unknown[] };
    assert.deepEqual(idx.manifests, []);
  });

  it('a blob that does not match its name', async () => {
    const buf = await archive([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: `blobs/sha256/${sha('right')}`, data: 'wrong' },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [] }) },
    ]);
    const r = await cli(root, ['load'], buf);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /digest mismatch/);
    const left = await fsp.readdir(join(root, 'blobs', 'sha256'));
    assert.ok(!left.includes(sha('right')));
  });

  it('a manifest.json naming a layer the archive lacks', async () => {
    const cfg = config([`sha256:${sha('x')}`], ['x']);
    const buf = await archive([
      { name: `${sha(cfg)}.json`, data: cfg },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha(cfg)}.json`, RepoTags: ['x:1'], Layers: ['nope/layer.tar'] }]) },
    ]);
    const r = await cli(root, ['load'], buf);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: the archive has no nope/layer.tar\n');
    assert.equal((await cli(root, ['images', '-q'])).stdout, '');
  });
});
