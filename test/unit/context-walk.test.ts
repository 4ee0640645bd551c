import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatternMatcher } from '../../engine/context/dockerignore';
import { listContext, walkContext, type ContextEntry } from '../../engine/context/walk';
import { compareUtf8 } from '../../engine/context/gostrings';
import { isLayerwiseError } from '../../engine/errors';

/** tmpfs when there is one: the bulk tests create thousands of files, which a busy disk makes slow */
function scratchDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** Builds a tree from `path -> content` ('/' suffix = directory, '-> target' = symlink). */
async function makeTree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lw-walk-'));
  for (const [path, content] of Object.entries(files)) {
    const abs = join(root, path);
    if (path.endsWith('/')) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(join(abs, '..'), { recursive: true });
    if (content.startsWith('-> ')) await symlink(content.slice(3), abs);
    else await writeFile(abs, content);
  }
  return root;
}

function show(entries: ContextEntry[]): string[] {
  return entries.map((e) => (e.type === 'symlink' ? `${e.path} -> ${e.linkTarget}` : e.type === 'dir' ? `${e.path}/` : e.path));
}

test('walk: byte order of forward-slash paths, not directory-first order', async (t) => {
  const root = await makeTree({ 'a/b': '1', 'a-c': '2', 'a.txt': '3', 'B': '4', 'é': '5', 'z/': '', 'a/0/x': '6' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const paths = (await listContext(root)).map((e) => e.path);
  assert.deepEqual(paths, ['B', 'a', 'a-c', 'a.txt', 'a/0', 'a/0/x', 'a/b', 'z', 'é']);
  assert.deepEqual([...paths].sort(compareUtf8), paths);
});

test('walk: entries carry type, mode, uid, gid, size, mtime from lstat', async (t) => {
  const root = await makeTree({ 'bin/run': '#!/bin/sh\necho hi\n', 'data.txt': 'hello', 'link': '-> data.txt' });
  t.after(() => rm(root, { recursive: true, force: true }));
  await chmod(join(root, 'bin/run'), 0o4755);
  const entries = await listContext(root);
  for (const e of entries) {
    const st = lstatSync(join(root, e.path));
    assert.equal(e.mode, st.mode, e.path);
    assert.equal(e.uid, st.uid);
    assert.equal(e.gid, st.gid);
    assert.equal(e.size, st.size);
    assert.equal(e.mtimeMs, st.mtimeMs);
    assert.equal(e.nlink, st.nlink);
  }
  const byPath = new Map(entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('bin')!.type, 'dir');
  assert.equal(byPath.get('bin/run')!.mode & 0o7777, 0o4755);
  assert.equal(byPath.get('data.txt')!.size, 5);
  assert.equal(byPath.get('link')!.type, 'symlink');
  assert.equal(byPath.get('link')!.linkTarget, 'data.txt');
});

test('walk: symlinks are never followed, even to directories or outside the context', async (t) => {
  const outside = await makeTree({ 'secret/key': 'k', 'other': 'o' });
  const root = await makeTree({ 'real/f': '1' });
  t.after(() => Promise.all([rm(root, { recursive: true, force: true }), rm(outside, { recursive: true, force: true })]));
  await symlink(join(outside, 'secret'), join(root, 'out'));
  await symlink('real', join(root, 'in'));
  await symlink('missing', join(root, 'dangling'));
  await symlink('loop', join(root, 'loop'));
  assert.deepEqual(show(await listContext(root)), [
    'dangling -> missing',
    `in -> real`,
    'loop -> loop',
    `out -> ${join(outside, 'secret')}`,
    'real/',
    'real/f',
  ]);
});

test('walk: .dockerignore exclusion skips excluded directories without listing them', async (t) => {
  const root = await makeTree({
    'node_modules/dep/index.js': 'x',
    'node_modules/dep/deep/a.js': 'x',
    'src/app.ts': 'x',
    'src/app.log': 'x',
    'debug.log': 'x',
    'Dockerfile': 'FROM x',
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const listed: string[] = [];
  const entries = await listContext(root, { exclude: ['node_modules', '**/*.log'], onDir: (d) => listed.push(d) });
  assert.deepEqual(show(entries), ['Dockerfile', 'src/', 'src/app.ts']);
  assert.deepEqual(listed.sort(), ['', 'src'], 'node_modules is never read');
});

test('walk: an exclusion pattern makes the walk enter an excluded directory, and lists its parents', async (t) => {
  const root = await makeTree({
    'node_modules/dep/index.js': 'x',
    'node_modules/keep/k.js': 'x',
    'node_modules-extra': 'x',
    'other/': '',
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const listed: string[] = [];
  const entries = await listContext(root, {
    exclude: new PatternMatcher(['node_modules', '!node_modules/keep']),
    onDir: (d) => listed.push(d),
  });
  // node_modules itself is excluded but is listed (before node_modules-extra, as byte order wants) because
  // something below it is re-included
  assert.deepEqual(show(entries), ['node_modules/', 'node_modules-extra', 'node_modules/keep/', 'node_modules/keep/k.js', 'other/']);
  assert.ok(listed.includes('node_modules'), 'the excluded directory was entered');
  assert.ok(!listed.includes('node_modules/dep'), 'but not a subdirectory that nothing can re-include');
});

test('walk: "**" with a re-include keeps only the re-included file and its parents', async (t) => {
  const root = await makeTree({ 'util/docker/web/foo': 'x', 'util/docker/other': 'x', 'util/x': 'x', 'top': 'x', 'empty/': '' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const entries = await listContext(root, { exclude: ['**', '!util/docker/web'] });
  assert.deepEqual(show(entries), ['util/', 'util/docker/', 'util/docker/web/', 'util/docker/web/foo']);
});

test('walk: a wildcard re-include forces the walk into every excluded directory', async (t) => {
  const root = await makeTree({ 'a/b/keep.md': 'x', 'a/b/drop.txt': 'x', 'c/d.txt': 'x' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const entries = await listContext(root, { exclude: ['*', '!**/*.md'] });
  assert.deepEqual(show(entries), ['a/', 'a/b/', 'a/b/keep.md']);
});

test('walk: include patterns select paths (with their parent directories)', async (t) => {
  const root = await makeTree({ 'src/a.go': 'x', 'src/b.txt': 'x', 'src/sub/c.go': 'x', 'docs/d.md': 'x', 'go.mod': 'x' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const listed: string[] = [];
  const entries = await listContext(root, { include: ['go.mod', 'src/sub'], onDir: (d) => listed.push(d) });
  assert.deepEqual(show(entries), ['go.mod', 'src/', 'src/sub/', 'src/sub/c.go']);
  assert.ok(!listed.includes('docs'), 'a directory no include pattern can reach is not read');
  const globbed = await listContext(root, { include: ['src/*.go'], exclude: ['src/b*'] });
  assert.deepEqual(show(globbed), ['src/', 'src/a.go']);
});

test('walk: streams, and stopping early is fine', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`d${i % 5}/f${i}`] = String(i);
  const root = await makeTree(files);
  t.after(() => rm(root, { recursive: true, force: true }));
  const got: string[] = [];
  for await (const e of walkContext(root)) {
    got.push(e.path);
    if (got.length === 3) break;
  }
  assert.deepEqual(got, ['d0', 'd0/f0', 'd0/f10']);
});

test('walk: errors are LayerwiseErrors: missing context, not a directory, bad pattern', async (t) => {
  const root = await makeTree({ 'f': 'x' });
  t.after(() => rm(root, { recursive: true, force: true }));
  await assert.rejects(listContext(join(root, 'nope')), (e: unknown) => isLayerwiseError(e) && e.kind === 'not-found');
  await assert.rejects(listContext(join(root, 'f')), (e: unknown) => isLayerwiseError(e) && e.kind === 'invalid');
  await assert.rejects(listContext(root, { exclude: ['['] }), (e: unknown) => isLayerwiseError(e) && e.kind === 'invalid');
});

test('walk: 3,000 files in 60 directories', async (t) => {
  const root = await mkdtemp(join(scratchDir(), 'lw-walk-big-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (let d = 0; d < 60; d++) {
    mkdirSync(join(root, `d${d}/sub`), { recursive: true });
    for (let f = 0; f < 25; f++) {
      writeFileSync(join(root, `d${d}/f${f}`), String(f));
      writeFileSync(join(root, `d${d}/sub/g${f}`), String(f));
    }
  }
  const started = process.hrtime.bigint();
  let count = 0;
  let last = '';
  for await (const e of walkContext(root, { exclude: ['d1*/sub'] })) {
    assert.ok(compareUtf8(last, e.path) < 0, `order: ${last} < ${e.path}`);
    last = e.path;
    count++;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // 60 dirs + 60 subs + 3000 files, minus d1 and d10..d19 subs (11 dirs with 25 files each)
  assert.equal(count, 60 + 60 + 3000 - 11 * 26);
  t.diagnostic(`walked ${count} entries in ${ms.toFixed(0)} ms`);
  assert.ok(ms < 10_000, `walk took ${ms} ms`);
});

test('walk: a file name that is not UTF-8 is an error, not a silently dropped file', async (t) => {
  const root = await makeTree({ 'ok': 'x' });
  t.after(() => rm(root, { recursive: true, force: true }));
  await writeFile(Buffer.concat([Buffer.from(root + '/bad-'), Buffer.from([0xff, 0xfe])]), 'x');
  await assert.rejects(listContext(root), (e: unknown) => isLayerwiseError(e) && e.kind === 'invalid' && /not valid UTF-8/.test(e.message));
});

test('walk: names with U+FFFD, astral and other non-ASCII characters are kept, in UTF-8 byte order (both walks)', async (t) => {
  // U+FFFD is what invalid bytes decode to: a real one must not be mistaken for them; an astral character (a
  // surrogate pair in JavaScript) sorts after U+E000-U+FFFF in UTF-8 but before them in UTF-16
  const names = ['a\ufffdb', 'z', '\u{1F600}', '\uE000', '\uFFFD', 'é', 'A', 'a-b', 'a/c', 'a.b'];
  const root = await makeTree(Object.fromEntries(names.map((n) => [n, 'x'])));
  t.after(() => rm(root, { recursive: true, force: true }));
  const sync = (await listContext(root)).map((e) => e.path);
  const streamed: string[] = [];
  for await (const e of walkContext(root)) streamed.push(e.path);
  const expected = ['A', 'a', 'a-b', 'a.b', 'a/c', 'a\ufffdb', 'z', 'é', '\uE000', '\uFFFD', '\u{1F600}'];
  assert.deepEqual(sync, expected);
  assert.deepEqual(streamed, expected);
  assert.deepEqual([...expected].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), expected);
});

test('walk: an aborted signal stops the walk', async (t) => {
  const root = await makeTree({ 'a/b/c': 'x', 'd/e': 'y' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const ac = new AbortController();
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const e of walkContext(root, { signal: ac.signal })) {
        seen.push(e.path);
        ac.abort();
      }
    })(),
    /cancelled/,
  );
  assert.deepEqual(seen, ['a']);
});

test('walk: same selection as BuildKit fsutil on 300 recorded random trees and pattern sets', async (t) => {
  // recorded from fsutil's filter (see test/fixtures/context/README.md); fsutil walks depth-first, we sort
  interface WalkCase { tree: string[]; exclude: string[]; include: string[]; error: boolean; expect: string[] }
  const cases = readFileSync(join(__dirname, '../fixtures/context/fsutil-walk-differential.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as WalkCase);
  assert.equal(cases.length, 300);
  const base = await mkdtemp(join(scratchDir(), 'lw-walk-fsutil-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const failures: string[] = [];
  let reincluded = 0;
  for (const [i, c] of cases.entries()) {
    const root = join(base, String(i));
    mkdirSync(root);
    for (const p of c.tree) {
      if (p.endsWith('/')) mkdirSync(join(root, p));
      else writeFileSync(join(root, p), 'x');
    }
    let got: string[] | undefined;
    try {
      got = (await listContext(root, { exclude: c.exclude, include: c.include })).map((e) => e.path);
    } catch (e) {
      if (!c.error) failures.push(`#${i} ${JSON.stringify(c.exclude)}: unexpected error ${String(e)}`);
      continue;
    }
    if (c.error) failures.push(`#${i} ${JSON.stringify(c.exclude)}: expected an error`);
    const want = [...c.expect].sort(compareUtf8);
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`#${i} exclude=${JSON.stringify(c.exclude)} include=${JSON.stringify(c.include)}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    if (c.exclude.some((p) => p.startsWith('!')) && c.expect.length > 0) reincluded++;
  }
  assert.deepEqual(failures, []);
  assert.ok(reincluded > 30, 'the corpus exercises re-includes');
});
