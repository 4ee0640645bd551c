import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lchown, mkdir, mkdtemp, readFile, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describeFileSetDiff, diffFileSets, hashPaths, type HashOptions } from '../../engine/context/hash';
import { isLayerwiseError } from '../../engine/errors';
import { COARSE_WINDOW_MS, FINE_WINDOW_MS } from '../../engine/context/racy';

async function makeTree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lw-hash-'));
  for (const [path, content] of Object.entries(files)) {
    const abs = join(root, path);
    await mkdir(join(abs, '..'), { recursive: true });
    if (content.startsWith('-> ')) await symlink(content.slice(3), abs);
    else await writeFile(abs, content);
  }
  return root;
}

/** A clock far enough ahead that files written by the test are not "racily" new for the stat cache. */
const later: HashOptions = { now: () => Date.now() + 60_000 };

test('hash: mtime changes keep the digest; content, mode, link target and ownership change it', async (t) => {
  const root = await makeTree({ 'src/a.txt': 'alpha', 'src/b.txt': 'beta', 'src/link': '-> a.txt', 'other': 'o' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const base = await hashPaths(root, ['src']);
  assert.match(base.digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(base.files.map((f) => f.path), ['src', 'src/a.txt', 'src/b.txt', 'src/link']);

  await utimes(join(root, 'src/a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.equal((await hashPaths(root, ['src'])).digest, base.digest, 'mtime is not part of the digest');

  await writeFile(join(root, 'other'), 'changed');
  assert.equal((await hashPaths(root, ['src'])).digest, base.digest, 'files outside the selection do not count');

  await writeFile(join(root, 'src/a.txt'), 'ALPHA');
  const edited = await hashPaths(root, ['src']);
  assert.notEqual(edited.digest, base.digest, 'content');
  await writeFile(join(root, 'src/a.txt'), 'alpha');
  assert.equal((await hashPaths(root, ['src'])).digest, base.digest, 'same content again, same digest');

  await chmod(join(root, 'src/b.txt'), 0o600);
  const chmodded = await hashPaths(root, ['src']);
  assert.notEqual(chmodded.digest, base.digest, 'mode');
  await chmod(join(root, 'src/b.txt'), base.files[2]!.mode & 0o7777);
  assert.equal((await hashPaths(root, ['src'])).digest, base.digest);

  await unlink(join(root, 'src/link'));
  await symlink('b.txt', join(root, 'src/link'));
  assert.notEqual((await hashPaths(root, ['src'])).digest, base.digest, 'symlink target');
  await unlink(join(root, 'src/link'));
  await symlink('a.txt', join(root, 'src/link'));
  assert.equal((await hashPaths(root, ['src'])).digest, base.digest);

  if (process.getuid?.() === 0) {
    await lchown(join(root, 'src/a.txt'), 1234, 1234);
    assert.notEqual((await hashPaths(root, ['src'])).digest, base.digest, 'uid/gid');
  } else {
    t.diagnostic('uid/gid change not checked: chown needs root');
  }
});

test('hash: a symlink is hashed as a link, never followed', async (t) => {
  const root = await makeTree({ 'target.txt': 'one', 'l': '-> target.txt' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const before = await hashPaths(root, ['l']);
  assert.deepEqual(before.files.map((f) => [f.path, f.type, f.linkTarget, f.contentDigest]), [['l', 'symlink', 'target.txt', undefined]]);
  await writeFile(join(root, 'target.txt'), 'two');
  assert.equal((await hashPaths(root, ['l'])).digest, before.digest, 'the target content is not part of the link');
  assert.equal(before.stats.filesRead, 0);
});

test('hash: the same path with different content in another place hashes differently (paths count)', async (t) => {
  const root = await makeTree({ 'a/f': 'same', 'b/f': 'same' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const a = await hashPaths(root, ['a']);
  const b = await hashPaths(root, ['b']);
  assert.equal(a.files[1]!.digest, b.files[1]!.digest, 'per-file digests exclude the path');
  assert.notEqual(a.digest, b.digest, 'the selection digest includes paths');
});

test('hash: the stat cache avoids reading unchanged files, across calls, and notices changes', async (t) => {
  const root = await makeTree({ 'a': 'A'.repeat(1000), 'b': 'B', 'd/c': 'C' });
  const cacheDir = await mkdtemp(join(tmpdir(), 'lw-hash-cache-'));
  t.after(() => Promise.all([rm(root, { recursive: true, force: true }), rm(cacheDir, { recursive: true, force: true })]));
  const reads: string[] = [];
  const opts: HashOptions = { ...later, cacheDir, onRead: (p) => reads.push(p) };

  const first = await hashPaths(root, ['.'], opts);
  assert.deepEqual(first.stats, { files: 4, filesRead: 3, bytesRead: 1002, cacheHits: 0 });
  assert.equal(reads.length, 3);
  const saved = JSON.parse(await readFile(join(cacheDir, 'context-stat-cache.json'), 'utf8')) as { entries: object };
  assert.equal(Object.keys(saved.entries).length, 3, 'the cache is persisted');

  reads.length = 0;
  const second = await hashPaths(root, ['.'], opts);
  assert.equal(second.digest, first.digest);
  assert.deepEqual(second.stats, { files: 4, filesRead: 0, bytesRead: 0, cacheHits: 3 });
  assert.deepEqual(reads, [], 'no file was read');

  await writeFile(join(root, 'b'), 'b!');
  const third = await hashPaths(root, ['.'], opts);
  assert.deepEqual(reads, [join(root, 'b')], 'only the changed file is read again');
  assert.equal(third.stats.cacheHits, 2);
  assert.notEqual(third.digest, first.digest);
});

test('hash: a file changed within a timestamp tick of the hash is not trusted to the cache (racy timestamps)', async (t) => {
  const root = await makeTree({ 'fresh': 'x' });
  const cacheDir = await mkdtemp(join(tmpdir(), 'lw-hash-cache-'));
  t.after(() => Promise.all([rm(root, { recursive: true, force: true }), rm(cacheDir, { recursive: true, force: true })]));
  const file = join(root, 'fresh');
  // the first hash and the stat cache see the file at `now`; the second is read again unless the first trusted it
  const readAgain = async (now: number): Promise<boolean> => {
    await rm(join(cacheDir, 'context-stat-cache.json'), { force: true });
    await hashPaths(root, ['fresh'], { cacheDir, now: () => now });
    return (await hashPaths(root, ['fresh'], { cacheDir, now: () => now })).stats.filesRead === 1;
  };
  // a sub-second mtime (a fine-grained filesystem): trusted once FINE_WINDOW_MS has passed since the last change
  const fine = (await stat(file)).ctimeMs - 5000.25;
  await utimes(file, fine / 1000, fine / 1000);
  const ctime = (await stat(file)).ctimeMs;
  assert.notEqual((await stat(file)).mtimeMs % 1000, 0);
  assert.equal(await readAgain(ctime + FINE_WINDOW_MS - 10), true, 'changed less than a tick ago: read again');
  assert.equal(await readAgain(ctime + FINE_WINDOW_MS + 10), false, 'a tick later: trusted');
  // whole-second mtimes (ext3, HFS+, FAT): the coarse window
  const whole = Math.floor(((await stat(file)).ctimeMs - 5000) / 1000);
  await utimes(file, whole, whole);
  const c2 = (await stat(file)).ctimeMs;
  assert.equal((await stat(file)).mtimeMs % 1000, 0);
  assert.equal(await readAgain(c2 + FINE_WINDOW_MS + 10), true, 'whole-second timestamps: not trusted after a fine tick');
  assert.equal(await readAgain(c2 + COARSE_WINDOW_MS - 10), true);
  assert.equal(await readAgain(c2 + COARSE_WINDOW_MS + 10), false);
});

test('hash: .dockerignore exclusions apply; globs and multiple sources select a union', async (t) => {
  const root = await makeTree({ 'src/a.go': 'a', 'src/a_test.go': 't', 'src/x.txt': 'x', 'go.mod': 'm', 'go.sum': 's' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const r = await hashPaths(root, ['go.*', 'src/*.go'], { exclude: ['**/*_test.go'] });
  assert.deepEqual(r.files.map((f) => f.path), ['go.mod', 'go.sum', 'src/a.go']);
  await writeFile(join(root, 'src/a_test.go'), 'changed');
  assert.equal((await hashPaths(root, ['go.*', 'src/*.go'], { exclude: ['**/*_test.go'] })).digest, r.digest);
});

test('hash: sources outside the context or missing are errors; `..` stays inside', async (t) => {
  const outside = await makeTree({ 'secret': 's' });
  const root = await makeTree({ 'in/f': 'x' });
  t.after(() => Promise.all([rm(root, { recursive: true, force: true }), rm(outside, { recursive: true, force: true })]));
  await symlink(outside, join(root, 'escape'));
  await symlink('in', join(root, 'inside'));
  const isKind = (kind: string) => (e: unknown) => isLayerwiseError(e) && e.kind === kind;
  // `..` never leaves the context's root (as BuildKit resolves it): `../x` is the context's x, missing here
  await assert.rejects(hashPaths(root, ['../x']), isKind('not-found'));
  await assert.rejects(hashPaths(root, ['in/../../x']), isKind('not-found'));
  assert.deepEqual((await hashPaths(root, ['../in/f'])).files.map((f) => f.path), ['in/f']);
  await assert.rejects(hashPaths(root, ['escape/secret']), (e: unknown) => isKind('invalid')(e) && /outside the build context/.test((e as Error).message));
  await assert.rejects(hashPaths(root, ['nope']), isKind('not-found'));
  await assert.rejects(hashPaths(root, ['in/f'], { exclude: ['in'] }), isKind('not-found'));
  assert.deepEqual((await hashPaths(root, ['nope'], { allowEmpty: true })).files, []);
  // a symlinked directory inside the context is followed for the source's directory part
  const viaLink = await hashPaths(root, ['inside/f']);
  assert.deepEqual(viaLink.files.map((f) => f.path), ['in/f']);
  // "/in/f" is context-relative, like COPY /in/f
  assert.equal((await hashPaths(root, ['/in/f'])).digest, (await hashPaths(root, ['in/f'])).digest);
  // the escaping link itself, as an entry, is fine: it is hashed as a link
  assert.equal((await hashPaths(root, ['escape'])).files[0]!.type, 'symlink');
});

test('diffFileSets: added, changed and removed, sorted', () => {
  const prev = [
    { path: 'b', digest: '1' },
    { path: 'a', digest: '1' },
    { path: 'gone', digest: '1' },
    { path: 'z', digest: '1' },
  ];
  const next = [
    { path: 'z', digest: '2' },
    { path: 'a', digest: '1' },
    { path: 'new2', digest: '1' },
    { path: 'b', digest: '2' },
    { path: 'new1', digest: '1' },
  ];
  const diff = diffFileSets(prev, next);
  assert.deepEqual(diff, { added: ['new1', 'new2'], changed: ['b', 'z'], removed: ['gone'] });
  assert.equal(describeFileSetDiff(diff, 1), '2 changed (b, …), 2 added (new1, …), 1 removed (gone)');
  assert.deepEqual(diffFileSets(next, next), { added: [], changed: [], removed: [] });
  assert.equal(describeFileSetDiff(diffFileSets(next, next)), 'no file changed');
});

test('diffFileSets explains a real COPY cache miss', async (t) => {
  const root = await makeTree({ 'app/main.js': 'v1', 'app/util.js': 'u', 'app/old.js': 'o' });
  t.after(() => rm(root, { recursive: true, force: true }));
  const before = await hashPaths(root, ['app']);
  await writeFile(join(root, 'app/main.js'), 'v2');
  await unlink(join(root, 'app/old.js'));
  await writeFile(join(root, 'app/new.js'), 'n');
  const after = await hashPaths(root, ['app']);
  assert.deepEqual(diffFileSets(before.files, after.files), { added: ['app/new.js'], changed: ['app/main.js'], removed: ['app/old.js'] });
});

test('hash: content digests are the sha256 of the bytes, for small (sync) and large (streamed) files', async (t) => {
  const root = await makeTree({});
  t.after(() => rm(root, { recursive: true, force: true }));
  const big = randomBytes(1024 * 1024 + 17);
  const small = randomBytes(1000);
  await writeFile(join(root, 'big.bin'), big);
  await writeFile(join(root, 'small.bin'), small);
  await writeFile(join(root, 'empty'), '');
  const r = await hashPaths(root, ['.']);
  const want = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
  assert.deepEqual(
    r.files.map((f) => [f.path, f.contentDigest]),
    [
      ['big.bin', want(big)],
      ['empty', want(Buffer.alloc(0))],
      ['small.bin', want(small)],
    ],
  );
  assert.equal(r.stats.bytesRead, big.length + small.length);
});
