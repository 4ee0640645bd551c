/**
 * Differential tests: every fixture in test/differential/fixtures/<name>/ is built by Docker 26 (BuildKit, the
 * shared test daemon) and by our builder, from the very same base image (the deterministic busybox archive of
 * test/helpers/rootfs.ts, loaded into both as `lwdiff-busybox:latest`). Then the image configs, the history and
 * the merged root filesystems (path, type, mode, uid:gid, content hash, link target; not mtimes) must be equal.
 *
 * A fixture folder holds its Dockerfile and context files, and optionally
 *   setup.sh   run with sh in a copy of the folder before building (hard links, tars, modes git cannot keep)
 *   meta.json  { buildArgs?: {..}, target?: string, parent?: { dockerfile, tag }, dockerRejects?: string,
 *              gitRepo?: string, httpDir?: string, knownDifference?: string } — `parent` is built first by each tool into its own store under `tag` (ONBUILD
 *              fixtures FROM it); `gitRepo` names a folder of the fixture that becomes a git repository (one
 *              commit on `main`, taken out of the context), served over HTTP on loopback to both builders, whose
 *              URL comes in as the build arg GIT_URL; `httpDir` a folder served over HTTP (build arg HTTP_URL); `knownDifference` runs the fixture as `todo`, with its cause.
 * All Docker builds run up front, a few at a time, and the images come back in one `docker save`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../helpers/peer-process';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Kit } from '../helpers/build';
import { gitIn, startGitServer, type GitServer } from '../helpers/git-server';
import type { DockerPeer } from '../helpers/docker';
import { CLI, startPeers, type FixtureMeta as Meta } from './peers';
import { configView, historyView, imageFromStore, imagesFromDockerSave, renderTree, type ImageData } from './image-tree';

const FIXTURES = join(__dirname, 'fixtures');


interface Fixture {
  name: string;
  dir: string;
  meta: Meta;
  tag: string;
  docker?: { code: number; log: string };
  ours?: { error?: string };
}

const names = (() => {
  // synchronous listing so that each fixture is its own test case
  const r = spawnSync('ls', [FIXTURES], { encoding: 'utf8' });
  const only = process.env.LWDIFF_ONLY?.split(',');
  return r.stdout.split('\n').filter((n) => n && (!only || only.includes(n))).sort();
})();

/** Lines only in ours (`+ `) and only in Docker's (`- `). */
function diffLines(ours: string[], theirs: string[]): string[] {
  const a = new Set(ours);
  const b = new Set(theirs);
  return [...ours.filter((l) => !b.has(l)).map((l) => '+ ' + l), ...theirs.filter((l) => !a.has(l)).map((l) => '- ' + l)];
}

function configLines(cfg: Record<string, unknown>): string[] {
  return Object.entries(cfg).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

const timings: string[] = [];
let t0 = Date.now();
function mark(what: string): void {
  timings.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

let skip: string | undefined;
let kit: Kit | undefined;
let docker: DockerPeer | undefined;
const fixtures = new Map<string, Fixture>();
let dockerImages = new Map<string, ImageData>();
let gitServer: GitServer | undefined;
const httpServers: Server[] = [];

/** A static file server for one folder on 127.0.0.1 (GET and HEAD; Last-Modified and Content-Length). */
async function serveFolder(dir: string): Promise<string> {
  const server = createServer((req, res) => {
    const path = join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    stat(path).then(
      async (st) => {
        if (!st.isFile() || !path.startsWith(dir + '/')) throw new Error('not a file');
        res.writeHead(200, { 'Content-Length': st.size, 'Last-Modified': st.mtime.toUTCString(), 'Content-Type': 'application/octet-stream' });
        res.end(req.method === 'HEAD' ? undefined : await readFile(path));
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  httpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await f(x);
    }),
  );
}

function dockerArgs(fx: Fixture, dockerfile: string, tag: string, withMeta: boolean): string[] {
  const args = ['build', '--progress=plain', '-t', tag, '-f', join(fx.dir, dockerfile)];
  if (withMeta) {
    for (const [k, v] of Object.entries(fx.meta.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    if (fx.meta.target) args.push('--target', fx.meta.target);
  }
  args.push(fx.dir);
  return args;
}

function ourCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(process.execPath, [CLI, '--root', kit!.root, ...args]);
}

before(async () => {
  const peers = await startPeers();
  if (peers.skip !== undefined) {
    skip = peers.skip;
    return;
  }
  ({ docker, kit } = peers);

  mark('start docker, load base');
  t0 = Date.now();
  const work = join(kit.dir, 'contexts');
  for (const name of names) {
    const dir = join(work, name);
    await cp(join(FIXTURES, name), dir, { recursive: true, verbatimSymlinks: true });
    const setup = join(dir, 'setup.sh');
    if (await stat(setup).catch(() => undefined)) {
      const r = spawnSync('sh', ['-e', setup], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `${name}/setup.sh: ${r.stderr}`);
      await rm(setup);
    }
    let meta: Meta = {};
    const metaFile = join(dir, 'meta.json');
    if (await stat(metaFile).catch(() => undefined)) {
      meta = JSON.parse(await readFile(metaFile, 'utf8')) as Meta;
      await rm(metaFile);
    }
    if (meta.httpDir) {
      const served = join(kit.dir, 'http', name);
      await mkdir(join(kit.dir, 'http'), { recursive: true });
      await rename(join(dir, meta.httpDir), served);
      meta.buildArgs = { ...meta.buildArgs, HTTP_URL: await serveFolder(served) };
    }
    if (meta.gitRepo) {
      const src = join(dir, meta.gitRepo);
      gitIn(src, 'init', '-q', '-b', 'main');
      gitIn(src, 'add', '-A');
      gitIn(src, 'commit', '-q', '-m', name);
      await mkdir(join(kit.dir, 'git'), { recursive: true });
      gitIn(join(kit.dir, 'git'), 'clone', '-q', '--bare', src, `${name}.git`);
      await rm(src, { recursive: true });
      gitServer ??= await startGitServer(join(kit.dir, 'git'));
      meta.buildArgs = { ...meta.buildArgs, GIT_URL: `${gitServer.url}/${name}.git` };
    }
    fixtures.set(name, { name, dir, meta, tag: `lwdiff-${name}:t${process.pid}` });
  }

  // Docker and ours run at the same time (independent daemons, independent stores)
  const all = [...fixtures.values()];
  const dk = docker;
  const k = kit;
  const dockerSide = async (): Promise<void> => {
    // Docker: parents first, then every fixture, a few at a time
    for (const fx of all) {
      if (!fx.meta.parent) continue;
      const r = await dk.run(dockerArgs(fx, fx.meta.parent.dockerfile, fx.meta.parent.tag, false));
      assert.equal(r.code, 0, `docker build of ${fx.name}'s parent: ${r.stderr}`);
    }
    await pool(all, 3, async (fx) => {
      const r = await dk.run(dockerArgs(fx, 'Dockerfile', fx.tag, true));
      fx.docker = { code: r.code, log: r.stderr + r.stdout };
    });
    const ok = all.filter((fx) => fx.docker?.code === 0).map((fx) => fx.tag);
    const saveFile = join(k.dir, 'docker-save.tar');
    const saved = await dk.run(['save', '-o', saveFile, ...ok]);
    assert.equal(saved.code, 0, saved.stderr);
    dockerImages = await imagesFromDockerSave(await readFile(saveFile));
    await rm(saveFile);
    await dk.run(['rmi', ...ok]);
    mark('docker builds + save');
  };
  const ourSide = async (): Promise<void> => {
    // ours, through the CLI bundle (as users run it): parents into our store, then the fixtures
    for (const fx of all) {
      if (!fx.meta.parent) continue;
      const r = await ourCli(['build', '--progress=plain', '-t', fx.meta.parent.tag, '-f', join(fx.dir, fx.meta.parent.dockerfile), fx.dir]);
      assert.equal(r.code, 0, `our build of ${fx.name}'s parent: ${r.stderr}`);
    }
    await pool(all, 2, async (fx) => {
      const args = ['build', '--progress=plain', '-t', fx.tag];
      for (const [k, v] of Object.entries(fx.meta.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
      if (fx.meta.target) args.push('--target', fx.meta.target);
      const r = await ourCli([...args, fx.dir]);
      fx.ours = { error: r.code === 0 ? undefined : (r.stderr + r.stdout).split('\n').slice(-15).join('\n') };
    });
    mark('our builds');
  };
  await Promise.all([dockerSide(), ourSide()]);
});

after(async () => {
  if (timings.length) process.stderr.write(`differential timings: ${timings.join(', ')}\n`);
  await gitServer?.close();
  await Promise.all(httpServers.map((h) => new Promise((resolve) => h.close(resolve))));
  await kit?.cleanup();
  await docker?.stop();
});

/** Differences found and not fixed yet (a fixture's meta.json `knownDifference`): such a fixture runs as `todo`,
 *  with its cause. */
function knownDifference(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(FIXTURES, name, 'meta.json'), 'utf8')) as Meta).knownDifference;
  } catch {
    return undefined;
  }
}

for (const name of names) {
  test(name, { todo: knownDifference(name) }, async (t) => {
    if (skip) return t.skip(skip);
    const fx = fixtures.get(name)!;
    if (fx.meta.dockerRejects) {
      assert.notEqual(fx.docker?.code, 0, 'docker was expected to reject this fixture');
      assert.ok(fx.docker?.log.includes(fx.meta.dockerRejects), fx.docker?.log);
      assert.equal(fx.ours?.error, undefined, `our build failed: ${fx.ours?.error}`);
      t.diagnostic(`Docker 26 rejects it (${fx.meta.dockerRejects}); only our build is checked`);
      return;
    }
    assert.equal(fx.docker?.code, 0, `docker build failed:\n${fx.docker?.log.split('\n').slice(-15).join('\n')}`);
    assert.equal(fx.ours?.error, undefined, `our build failed: ${fx.ours?.error}`);
    const theirs = dockerImages.get(fx.tag);
    assert.ok(theirs, `docker save has no ${fx.tag}`);
    const ours = await imageFromStore(kit!.store, fx.tag);
    const problems = [
      ...diffLines(configLines(configView(ours.config)), configLines(configView(theirs.config))).map((l) => `config ${l}`),
      ...diffLines(renderTree(ours.tree), renderTree(theirs.tree)).map((l) => `rootfs ${l}`),
    ];
    assert.deepEqual(problems, [], `ours (+) vs Docker (-):\n${problems.join('\n')}`);
    // history: the same entries, in the same order
    assert.deepEqual(historyView(ours.config), historyView(theirs.config), 'history (created_by, empty_layer)');
  });
}

test('there are at least 40 fixtures, each with a Dockerfile', async () => {
  assert.ok(names.length >= 40, `${names.length} fixtures`);
  for (const n of names) assert.ok((await readdir(join(FIXTURES, n))).includes('Dockerfile'), n);
});
