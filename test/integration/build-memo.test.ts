/**
 * The build memo (engine/build/memo.ts): a rebuild in which nothing changed is answered without planning a step.
 * Differential against the full path: for every differential fixture, a rebuild answered from the memo must print
 * the same events (`--progress=json`, times aside), name the same image and leave the store as a full all-cached
 * rebuild (LAYERWISE_BUILD_MEMO=off) does. Then every kind of change must send the next build down the full path.
 * Real namespaces and overlayfs, through the CLI in-process; skips with the reason when builds cannot run here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, cp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli } from '../helpers/store-cli';
import { type FixtureMeta } from '../differential/peers';
import { memoSettings } from '../../engine/build/memo';
import { loadArchive } from '../../engine/store/load';
import { buildUnavailableReason, newKit, writeContext, type Kit } from '../helpers/build';
import { busyboxImageTar } from '../helpers/rootfs';

const FIXTURES = join(__dirname, '..', 'differential', 'fixtures');
const BASE = 'lwdiff-busybox:latest';

let kit: Kit;
let skip: string | undefined;
before(async () => {
  skip = await buildUnavailableReason();
  if (skip) return;
  kit = await newKit();
  await loadArchive(kit.store, createReadStream((await busyboxImageTar(BASE))!.path));
  // the contexts here are always just written: with the real window no build could leave a memo (its own test
  // below puts the window back)
  memoSettings.racyWindowMs = 0;
});
after(async () => {
  await kit?.cleanup();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  hit: boolean;
}

async function build(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const hits = memoSettings.hits;
  const r = await cli(kit.root, ['build', ...args], undefined, { LAYERWISE_BUILD_MEMO: '', ...env });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, hit: memoSettings.hits > hits };
}

/** `--progress=json` events without what differs between any two runs (times, durations, the build-wide step
 *  number, which parallel stages may take in another order), sorted for the same reason. */
function normalized(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const { time: _t, duration: _d, id: _i, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(rest);
    })
    .sort();
}

/** Every file of the store (snapshots by name) but the lock and temp dirs (a build takes a lock file and gives it back), with what
 *  changes when it is rewritten. */
function storeState(): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const n of readdirSync(dir).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === 'locks' || r === 'tmp') continue;
      const st = lstatSync(join(dir, n), { bigint: true });
      // a snapshot is listed, not walked (an image's file system, dangling links and all)
      if (st.isDirectory() && rel !== 'snapshots') walk(join(dir, n), r);
      else out.push(`${r} ${st.ino} ${st.mtimeNs} ${st.size}`);
    }
  };
  walk(kit.root, '');
  return out;
}

test('every differential fixture: a rebuild from the memo prints, names and leaves what a full rebuild does', async (t) => {
  if (skip) return t.skip(skip);
  const names = readdirSync(FIXTURES).sort();
  let compared = 0;
  for (const name of names) {
    const dir = join(kit.dir, 'fixtures', name);
    await cp(join(FIXTURES, name), dir, { recursive: true, verbatimSymlinks: true });
    if (await stat(join(dir, 'setup.sh')).catch(() => undefined)) {
      const r = spawnSync('sh', ['-e', join(dir, 'setup.sh')], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `${name}/setup.sh: ${r.stderr}`);
      await rm(join(dir, 'setup.sh'));
    }
    let meta: FixtureMeta = {};
    if (await stat(join(dir, 'meta.json')).catch(() => undefined)) {
      meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as FixtureMeta;
      await rm(join(dir, 'meta.json'));
    }
    // a git or HTTP source needs the test's servers (the differential test has them); a rejected fixture builds nothing
    if (meta.gitRepo || meta.httpDir || meta.dockerRejects || meta.knownDifference) continue;
    if (meta.parent) {
      const p = await build(['-q', '-t', meta.parent.tag, '-f', join(dir, meta.parent.dockerfile), dir]);
      assert.equal(p.code, 0, `${name}'s parent: ${p.stderr}`);
    }
    const args = ['--progress=json', '-t', `memo-${name}`, '--iidfile', join(kit.dir, `${name}.iid`)];
    for (const [k, v] of Object.entries(meta.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    if (meta.target) args.push('--target', meta.target);
    args.push(dir);

    const first = await build(args);
    assert.equal(first.code, 0, `${name}: ${first.stderr}${first.stdout.slice(-2000)}`);
    const full = await build(args, { LAYERWISE_BUILD_MEMO: 'off' });
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.hit, false, `${name}: LAYERWISE_BUILD_MEMO=off plans every step`);
    const state = storeState();
    await rm(join(kit.dir, `${name}.iid`));
    const memo = await build(args);
    assert.equal(memo.code, 0, memo.stderr);
    assert.equal(memo.hit, true, `${name}: nothing changed, yet the rebuild was not answered from the memo`);
    assert.deepEqual(normalized(memo.stdout), normalized(full.stdout), `${name}: events`);
    assert.deepEqual(storeState(), state, `${name}: the memo rebuild wrote to the store`);
    const end = JSON.parse(memo.stdout.trim().split('\n').at(-1)!) as { imageId: string };
    assert.equal(readFileSync(join(kit.dir, `${name}.iid`), 'utf8'), end.imageId, `${name}: --iidfile`);
    compared++;
  }
  assert.ok(compared >= 40, `${compared} fixtures compared`);
});

const APP = `FROM ${BASE}
ARG V=1
WORKDIR /app
COPY deps.txt ./
RUN cp deps.txt installed.txt && echo "$V" > v.txt
COPY src/ ./src/
CMD ["cat", "/app/v.txt"]
`;

test('every change the build could see sends it down the full path; what it cannot see does not', async (t) => {
  if (skip) return t.skip(skip);
  const dir = join(kit.dir, 'app');
  await writeContext(dir, { Dockerfile: APP, 'deps.txt': 'a\n', 'src/main.txt': 'main', 'src/util.txt': 'util', '.dockerignore': 'logs\n' });
  const q = (...extra: string[]) => build(['-q', '-t', 'app:memo', ...extra, dir]);
  const id = (r: Run) => r.stdout.trim();

  const first = await q();
  assert.equal(first.code, 0, first.stderr);
  const again = await q();
  assert.ok(again.hit, 'nothing changed');
  assert.equal(id(again), id(first));

  // a file's content, same size
  await writeFile(join(dir, 'src/main.txt'), 'MAIN');
  const changed = await q();
  assert.ok(!changed.hit, 'a changed file');
  assert.notEqual(id(changed), id(first));
  assert.ok((await q()).hit, 'and then nothing changed');

  // only the times of a file: the full path runs, finds every step cached, and gives the same image
  const now = new Date();
  await utimes(join(dir, 'src/util.txt'), now, now);
  const touched = await q();
  assert.ok(!touched.hit, 'a touched file');
  assert.equal(id(touched), id(changed));

  // an ignored file is not part of the context; a new file that is, is
  await writeContext(dir, { 'logs/today.log': 'x' });
  assert.ok((await q()).hit, 'a file the .dockerignore excludes');
  await writeContext(dir, { 'src/new.txt': 'new' });
  const added = await q();
  assert.ok(!added.hit, 'a new file');
  assert.notEqual(id(added), id(changed));
  await rm(join(dir, 'src/new.txt'));
  const removed = await q();
  assert.ok(!removed.hit, 'a removed file');
  assert.equal(id(removed), id(changed));

  // the ignore file, the Dockerfile, a build arg
  await appendFile(join(dir, '.dockerignore'), 'src/util.txt\n');
  const ignored = await q();
  assert.ok(!ignored.hit, 'a changed .dockerignore');
  assert.notEqual(id(ignored), id(changed));
  await writeFile(join(dir, '.dockerignore'), 'logs\n');
  assert.ok(!(await q()).hit);
  await writeFile(join(dir, 'Dockerfile'), APP.replace('CMD', 'LABEL x=1\nCMD'));
  const edited = await q();
  assert.ok(!edited.hit, 'a changed Dockerfile');
  assert.notEqual(id(edited), id(changed));
  await writeFile(join(dir, 'Dockerfile'), APP);
  const back = await q();
  assert.equal(id(back), id(changed));
  const arg = await q('--build-arg', 'V=2');
  assert.ok(!arg.hit, 'another build arg');
  assert.notEqual(id(arg), id(changed));
  assert.ok((await q('--build-arg', 'V=2')).hit, 'each set of options has its memo');
  assert.ok((await q()).hit, 'and the first one kept its own');

  // a new tag on a hit: tagged as a full build tags
  const tagged = await build(['-q', '-t', 'app:other', dir]);
  assert.ok(tagged.hit);
  assert.equal((await kit.store.images.resolve('app:other')).id, id(changed));

  // the base image now names another image
  const baseBefore = (await kit.store.images.resolve(BASE)).manifestDescriptor;
  const rebased = join(kit.dir, 'rebased');
  await writeContext(rebased, { Dockerfile: `FROM ${BASE}\nLABEL rebased=yes\n` });
  assert.equal((await build(['-q', '-t', BASE, rebased])).code, 0);
  const fromNew = await q();
  assert.ok(!fromNew.hit, 'a retagged base image');
  assert.notEqual(id(fromNew), id(changed));
  await kit.store.images.put(BASE, baseBefore);
  assert.equal(id(await q()), id(changed));
  assert.ok((await q()).hit);

  // the build cache pruned: the steps run again
  assert.equal((await cli(kit.root, ['builder', 'prune', '-af'])).code, 0);
  const afterPrune = await build(['--progress=json', '-t', 'app:memo', dir]);
  assert.ok(!afterPrune.hit, 'a pruned cache');
  assert.match(afterPrune.stdout, /"status":"done","duration":[^,]+,"cacheKey":"sha256:[0-9a-f]+","layer"/, 'the steps ran again');

  // --no-cache rewrites the records of the same keys: the next build names the image those records make
  const noCache = await q('--no-cache');
  assert.ok(!noCache.hit, '--no-cache never uses the memo');
  const next = await q();
  assert.equal(id(next), id(noCache));
});

test('a build whose context changed just before it leaves no memo (a second change within the same tick would keep the stat)', async (t) => {
  if (skip) return t.skip(skip);
  const dir = join(kit.dir, 'racy');
  await writeContext(dir, { Dockerfile: `FROM ${BASE}\nCOPY f /f\n`, f: 'one' });
  memoSettings.racyWindowMs = 3_600_000;
  try {
    const written = memoSettings.written;
    assert.equal((await build(['-q', dir])).code, 0);
    assert.equal(memoSettings.written, written, 'no memo from a context changed within the window');
    assert.ok(!(await build(['-q', dir])).hit);
  } finally {
    memoSettings.racyWindowMs = 0;
  }
  const w = memoSettings.written;
  assert.equal((await build(['-q', dir])).code, 0);
  assert.equal(memoSettings.written, w + 1, 'outside the window it leaves one');
  assert.ok((await build(['-q', dir])).hit);
});

test('a damaged memo file is not trusted: the build runs in full and writes a good one', async (t) => {
  if (skip) return t.skip(skip);
  const dir = join(kit.dir, 'damaged');
  await writeContext(dir, { Dockerfile: `FROM ${BASE}\nCOPY f /f\n`, f: 'x' });
  const first = await build(['-q', dir]);
  assert.equal(first.code, 0);
  const memoDir = join(kit.root, 'cache', 'memo');
  for (const n of readdirSync(memoDir)) await writeFile(join(memoDir, n), '{"v":1,"truncated');
  const after = await build(['-q', dir]);
  assert.equal(after.code, 0, after.stderr);
  assert.ok(!after.hit);
  assert.equal(after.stdout, first.stdout);
  assert.ok((await build(['-q', dir])).hit);
});

test('a build that reads from outside (ADD of a URL) leaves no memo: its source is checked again every time', async (t) => {
  if (skip) return t.skip(skip);
  const { createServer } = await import('node:http');
  let body = 'one\n';
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const dir = join(kit.dir, 'url');
    await writeContext(dir, { Dockerfile: `FROM ${BASE}\nADD http://127.0.0.1:${port}/f /f\n` });
    const written = memoSettings.written;
    const first = await build(['-q', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(memoSettings.written, written);
    const same = await build(['-q', dir]);
    assert.ok(!same.hit);
    assert.equal(same.stdout, first.stdout);
    body = 'two\n';
    const changed = await build(['-q', dir]);
    assert.ok(!changed.hit);
    assert.notEqual(changed.stdout, first.stdout, 'the new content is in the image');
  } finally {
    server.close();
  }
});
