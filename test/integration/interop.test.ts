/**
 * Other tools read and write what we do: skopeo and umoci read our store as an OCI layout, skopeo's OCI
 * archives load into it, and a real Docker 26 (test/helpers/docker.ts) loads our `save` output while we load
 * its `docker save` output — image ids and diff ids are kept both ways.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, promises as fsp, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { cli } from '../helpers/store-cli';
import { busyboxAvailable, busyboxImageTar, busyboxRootfsTar, busyboxUnavailableReason, BUSYBOX } from '../helpers/rootfs';
import { dockerUnavailableReason, startDocker, type DockerPeer } from '../helpers/docker';

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function run(cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const noBusybox = busyboxAvailable() ? false : busyboxUnavailableReason();

describe('interop with skopeo and umoci', { skip: noBusybox }, () => {
  let dir: string;
  let root: string;
  let manifestDigest: string;
  let layerDigest: string;
  let id: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lw-interop-'));
    root = join(dir, 'store');
    const bb = (await busyboxImageTar())!;
    assert.equal((await cli(root, ['load', '-i', bb.path])).code, 0);
    assert.equal((await cli(root, ['tag', 'busybox', 'localhost:5000/team/bb:v1'])).code, 0);
    const ins = JSON.parse((await cli(root, ['inspect', 'busybox'])).stdout) as { Id: string; Descriptor: { digest: string } }[];
    id = ins[0]!.Id;
    manifestDigest = ins[0]!.Descriptor.digest;
    const m = JSON.parse(await fsp.readFile(join(root, 'blobs/sha256', manifestDigest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    layerDigest = m.layers[0]!.digest;
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('skopeo inspect oci:<root>:<full name> reads our store', (t) => {
    if (!have('skopeo')) return t.skip('skopeo is not installed (apt-get install skopeo; scripts/setup.sh)');
    for (const ref of ['docker.io/library/busybox:latest', 'localhost:5000/team/bb:v1']) {
      const r = run('skopeo', ['inspect', `oci:${root}:${ref}`]);
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.stdout) as { Digest: string; Layers: string[]; Os: string };
      assert.equal(o.Digest, manifestDigest);
      assert.deepEqual(o.Layers, [layerDigest]);
      assert.equal(o.Os, 'linux');
      const cfg = run('skopeo', ['inspect', '--config', `oci:${root}:${ref}`]);
      assert.equal(cfg.code, 0, cfg.stderr);
      assert.deepEqual((JSON.parse(cfg.stdout) as { config: { Cmd: string[] } }).config.Cmd, ['sh']);
    }
    const missing = run('skopeo', ['inspect', `oci:${root}:docker.io/library/nothere:latest`]);
    assert.notEqual(missing.code, 0);
  });

  it('skopeo copies our image out to an OCI archive, and we load that archive back', async (t) => {
    if (!have('skopeo')) return t.skip('skopeo is not installed (apt-get install skopeo; scripts/setup.sh)');
    const archive = join(dir, 'sk.tar');
    const r = run('skopeo', ['copy', `oci:${root}:docker.io/library/busybox:latest`, `oci-archive:${archive}:docker.io/library/skopeo-made:1`]);
    assert.equal(r.code, 0, r.stderr);
    const fresh = join(dir, 'fresh');
    const l = await cli(fresh, ['load', '-i', archive]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, 'Loaded image: skopeo-made:1\n');
    assert.equal((await cli(fresh, ['inspect', '-f', '{{.Id}}', 'skopeo-made:1'])).stdout.trim(), id);
    assert.equal((await cli(fresh, ['fsck'])).code, 0);
    // and skopeo's docker-archive (the legacy `docker save` layout, written by another implementation)
    const legacy = join(dir, 'sk-docker.tar');
    const d = run('skopeo', ['copy', `oci:${root}:docker.io/library/busybox:latest`, `docker-archive:${legacy}:skopeo/legacy:2`]);
    assert.equal(d.code, 0, d.stderr);
    const l2 = await cli(fresh, ['load', '-i', legacy]);
    assert.equal(l2.stdout, 'Loaded image: skopeo/legacy:2\n', l2.stderr);
    assert.equal((await cli(fresh, ['inspect', '-f', '{{.Id}}', 'skopeo/legacy:2'])).stdout.trim(), id);
  });

  it('umoci lists our names and unpacks an image into a runtime bundle', async (t) => {
    if (!have('umoci')) return t.skip('umoci is not installed (apt-get install umoci; scripts/setup.sh)');
    const ls = run('umoci', ['ls', '--layout', root]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['docker.io/library/busybox:latest', 'localhost:5000/team/bb:v1']);
    const bundle = join(dir, 'bundle');
    const u = run('umoci', ['unpack', '--rootless', '--image', `${root}:localhost:5000/team/bb:v1`, bundle]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(await fsp.readFile(join(bundle, 'rootfs/bin/busybox')), await fsp.readFile(BUSYBOX));
    assert.equal(await fsp.readlink(join(bundle, 'rootfs/bin/ls')), '../bin/busybox');
    const cfg = JSON.parse(await fsp.readFile(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[] } };
    assert.deepEqual(cfg.process.args, ['sh']);
  });
});

describe('interop with a real Docker daemon', { skip: noBusybox }, () => {
  let docker: DockerPeer | undefined;
  let dir: string;
  let root: string;
  const tag = `lw-interop-${process.pid}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lw-docker-'));
    root = join(dir, 'store');
    docker = await startDocker();
  });
  after(async () => {
    if (docker) {
      await docker.run(['rmi', '-f', `${tag}:ours`, `${tag}:theirs`]);
      await docker.stop();
    }
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('docker load accepts our save; docker save output loads back here; ids and diff ids are kept', async (t) => {
    if (!docker) return t.skip(`no Docker daemon: ${dockerUnavailableReason()}`);
    const bb = (await busyboxImageTar())!;
    assert.equal((await cli(root, ['load', '-i', bb.path])).code, 0);
    assert.equal((await cli(root, ['import', '-c', 'CMD ["echo","hi"]', '-c', 'ENV X=1', (await busyboxRootfsTar())!, `${tag}:ours`])).code, 0);
    const ours = JSON.parse((await cli(root, ['inspect', `${tag}:ours`])).stdout) as { Id: string; RootFS: { Layers: string[] }; Config: { Cmd: string[]; Env: string[] } }[];
    const out = join(dir, 'ours.tar');
    assert.equal((await cli(root, ['save', '-o', out, `${tag}:ours`])).code, 0);
    const l = await docker.run(['load', '-i', out]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, new RegExp(`Loaded image: ${tag}:ours`));
    const di = await docker.run(['image', 'inspect', `${tag}:ours`]);
    assert.equal(di.code, 0, di.stderr);
    const theirs = JSON.parse(di.stdout) as { Id: string; RootFS: { Layers: string[] }; Config: { Cmd: string[]; Env: string[] } }[];
    assert.equal(theirs[0]!.Id, ours[0]!.Id, 'docker keeps our image id');
    assert.deepEqual(theirs[0]!.RootFS.Layers, ours[0]!.RootFS.Layers);
    assert.deepEqual(theirs[0]!.Config.Cmd, ['echo', 'hi']);
    // docker runs what we made
    const runR = await docker.run(['run', '--rm', `${tag}:ours`]);
    assert.equal(runR.code, 0, runR.stderr);
    assert.equal(runR.stdout, 'hi\n');
    // and back: docker save -> our load, in a fresh store
    assert.equal((await docker.run(['tag', `${tag}:ours`, `${tag}:theirs`])).code, 0);
    const back = join(dir, 'theirs.tar');
    const s = await docker.run(['save', '-o', back, `${tag}:theirs`]);
    assert.equal(s.code, 0, s.stderr);
    const fresh = join(dir, 'fresh');
    const ld = await cli(fresh, ['load', '-i', back]);
    assert.equal(ld.code, 0, ld.stderr);
    assert.equal(ld.stdout, `Loaded image: ${tag}:theirs\n`);
    const again = JSON.parse((await cli(fresh, ['inspect', `${tag}:theirs`])).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    assert.equal(again[0]!.Id, ours[0]!.Id, 'the round trip keeps the image id');
    assert.deepEqual(again[0]!.RootFS.Layers, ours[0]!.RootFS.Layers, 'and the diff ids');
    assert.equal((await cli(fresh, ['fsck'])).code, 0);
  });

  it('we load docker\'s own base image (docker save busybox:latest)', async (t) => {
    if (!docker) return t.skip(`no Docker daemon: ${dockerUnavailableReason()}`);
    const file = join(dir, 'base.tar');
    const s = await docker.run(['save', '-o', file, 'busybox:latest']);
    assert.equal(s.code, 0, s.stderr);
    const did = JSON.parse((await docker.run(['image', 'inspect', 'busybox:latest'])).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    const fresh = join(dir, 'base');
    const l = await cli(fresh, ['load', '-i', file]);
    assert.equal(l.code, 0, l.stderr);
    const mine = JSON.parse((await cli(fresh, ['inspect', 'busybox'])).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    assert.equal(mine[0]!.Id, did[0]!.Id);
    assert.deepEqual(mine[0]!.RootFS.Layers, did[0]!.RootFS.Layers);
    assert.ok(existsSync(join(fresh, 'index.json')));
  });
  it('images SIZE and inspect Size are what docker shows for the same images (loaded, imported)', async (t) => {
    if (!docker) return t.skip(`no Docker daemon: ${dockerUnavailableReason()}`);
    // a two-layer image new to the daemon (its content names this process): regular files, a hard link,
    // symlinks (one with a long UTF-8 target, in PAX), an empty file, a long name, a fifo, then a whiteout and an
    // opaque directory; in the legacy `docker save` form that both load
    const built = `${tag}:size`;
    const imported = `${tag}:imported`;
    const layer = async (entries: Array<{ name: string; type?: 'file' | 'symlink' | 'link' | 'directory' | 'fifo'; data?: Buffer; linkname?: string }>) => {
      const p = tar.pack();
      const chunks: Buffer[] = [];
      p.on('data', (c: unknown) => chunks.push(c as Buffer));
      const ended = new Promise<void>((r) => p.on('end', () => r()));
      for (const e of entries) {
        const type = e.type ?? 'file';
        const h = { name: e.name, type, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(1_700_000_000_000), ...(e.linkname ? { linkname: e.linkname } : {}) };
        if (type === 'file') p.entry({ ...h, size: e.data?.length ?? 0 }, e.data ?? Buffer.alloc(0));
        else p.entry(h);
      }
      p.finalize();
      await ended;
      return Buffer.concat(chunks);
    };
    const uniq = Buffer.from(`${process.pid} ${Date.now()}\n`);
    const l1 = await layer([
      { name: 'd', type: 'directory' },
      { name: 'd/id', data: uniq },
      { name: 'd/big', data: Buffer.alloc(300_001, 7) },
      { name: 'd/hard', type: 'link', linkname: 'd/big' },
      { name: 'd/empty', data: Buffer.alloc(0) },
      { name: 'd/sym', type: 'symlink', linkname: '/d/big' },
      { name: 'd/long-sym', type: 'symlink', linkname: `/${'ü'.repeat(120)}/target` },
      { name: `d/${'n'.repeat(150)}`, data: Buffer.alloc(1234, 1) },
      { name: 'd/fifo', type: 'fifo' },
      { name: 'd/e', type: 'directory' },
      { name: 'd/e/old', data: Buffer.alloc(999, 2) },
    ]);
    const l2 = await layer([
      { name: 'd', type: 'directory' },
      { name: 'd/.wh.big' },
      { name: 'd/e', type: 'directory' },
      { name: 'd/e/.wh..wh..opq' },
      { name: 'd/e/new', data: Buffer.alloc(4321, 3) },
    ]);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z', config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha(l1)}`, `sha256:${sha(l2)}`] },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'l1' }, { created: '2026-01-01T00:00:00Z', created_by: 'l2' }],
    }));
    const archive = join(dir, 'size.tar');
    {
      const p = tar.pack();
      const out = createWriteStream(archive);
      const written = new Promise<void>((r, j) => {
        out.on('finish', () => r());
        out.on('error', j);
      });
      p.pipe(out);
      p.entry({ name: `${sha(config)}.json` }, config);
      p.entry({ name: `${sha(l1)}/layer.tar` }, l1);
      p.entry({ name: `${sha(l2)}/layer.tar` }, l2);
      p.entry({ name: 'manifest.json' }, JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: [built], Layers: [`${sha(l1)}/layer.tar`, `${sha(l2)}/layer.tar`] }]));
      p.finalize();
      await written;
    }
    const dl = await docker.run(['load', '-i', archive]);
    assert.equal(dl.code, 0, dl.stderr);
    const rootfs = (await busyboxRootfsTar())!;
    assert.equal((await docker.run(['import', rootfs, imported])).code, 0);
    const bbArchive = join(dir, 'size-bb.tar');
    assert.equal((await docker.run(['save', '-o', bbArchive, 'busybox:latest'])).code, 0);
    const fresh = join(dir, 'size-store');
    assert.equal((await cli(fresh, ['load', '-i', archive])).code, 0);
    assert.equal((await cli(fresh, ['load', '-i', bbArchive])).code, 0);
    assert.equal((await cli(fresh, ['import', rootfs, imported])).code, 0);
    try {
      for (const ref of [built, 'busybox:latest', imported]) {
        const dSize: number = Number((await docker.run(['image', 'inspect', '-f', '{{.Size}}', ref])).stdout.trim());
        const oSize = Number((await cli(fresh, ['inspect', '-f', '{{.Size}}', ref])).stdout.trim());
        assert.ok(dSize > 0, `docker reports a size for ${ref}`);
        assert.equal(oSize, dSize, `inspect Size of ${ref}`);
        const dText: string = (await docker.run(['images', '--format', '{{.Size}}', ref])).stdout.trim();
        const oText = (await cli(fresh, ['images', '--format', '{{.Size}}', ref])).stdout.trim();
        assert.match(dText, /^[0-9.]+[kMG]?B$/);
        assert.equal(oText, dText, `images SIZE of ${ref}`);
        const dHist: string = (await docker.run(['history', '--format', '{{.Size}}', ref])).stdout;
        assert.equal((await cli(fresh, ['history', '--format', '{{.Size}}', ref])).stdout, dHist, `history SIZE of ${ref}`);
      }
      // the records are a cache: without them the sizes are computed again from the blobs
      await fsp.rm(join(fresh, 'layerinfo'), { recursive: true, force: true });
      const again: number = Number((await docker.run(['image', 'inspect', '-f', '{{.Size}}', built])).stdout.trim());
      assert.equal(Number((await cli(fresh, ['inspect', '-f', '{{.Size}}', built])).stdout.trim()), again);
    } finally {
      await docker.run(['rmi', '-f', built, imported]);
    }
  });
});
