/**
 * Git sources for ADD (engine/build/git-source.ts): BuildKit's rules for which sources are git refs and how
 * fragments and queries read; refs resolved to commits and checked out from a real git server on loopback
 * (git http-backend, test/helpers/git-server.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkoutGit, gitCacheKey, parseGitRef, resolveGitCommit } from '../../engine/build/git-source';
import { gitAvailable, gitIn, startGitServer, type GitServer } from '../helpers/git-server';

describe('parseGitRef: which ADD sources are git repositories', () => {
  test('http(s) URLs only with a .git path; git://, ssh:// and scp-like always; local paths and other URLs never', () => {
    assert.equal(parseGitRef('https://example.com/app.tar.gz'), undefined);
    assert.equal(parseGitRef('https://example.com/repo'), undefined);
    assert.equal(parseGitRef('./repo.git'), undefined);
    assert.equal(parseGitRef('repo.git'), undefined);
    assert.equal(parseGitRef('ftp://example.com/repo.git'), undefined);
    assert.equal(parseGitRef('C:/x'), undefined);
    assert.equal(parseGitRef('https://example.com/org/repo.git')?.remote, 'https://example.com/org/repo.git');
    assert.equal(parseGitRef('git://example.com/org/repo')?.unencrypted, true);
    assert.equal(parseGitRef('ssh://git@example.com/org/repo')?.remote, 'ssh://git@example.com/org/repo');
    const scp = parseGitRef('git@github.com:moby/buildkit.git#v0.13.0:frontend');
    assert.deepEqual([scp?.remote, scp?.ref, scp?.subdir], ['git@github.com:moby/buildkit.git', 'v0.13.0', 'frontend']);
  });

  test('the fragment gives the ref and subdir (subdir cleaned, never above the root); queries as BuildKit reads them', () => {
    const r = parseGitRef('https://h/r.git#main:../a/./b/');
    assert.deepEqual([r?.ref, r?.subdir], ['main', 'a/b']);
    assert.deepEqual(parseGitRef('https://h/r.git#:docs')?.ref, undefined);
    const q = parseGitRef('https://h/r.git?tag=v1&subdir=sub&keep-git-dir=true&submodules=false&checksum=abc');
    assert.deepEqual([q?.ref, q?.subdir, q?.keepGitDir, q?.submodules, q?.checksum], ['refs/tags/v1', 'sub', true, false, 'abc']);
    assert.equal(parseGitRef('https://h/r.git?branch=dev')?.ref, 'refs/heads/dev');
    assert.equal(parseGitRef('https://h/r.git?keep-git-dir')?.keepGitDir, true);
    assert.throws(() => parseGitRef('https://h/r.git?tag=a&branch=b'), /mutually exclusive/);
    assert.throws(() => parseGitRef('https://h/r.git#main?ref=dev'.replace('#main', '') + '#main'), /ref conflicts/);
    assert.throws(() => parseGitRef('https://h/r.git?ref='), /has no value/);
    assert.throws(() => parseGitRef('https://h/r.git?bogus=1'), /unexpected query/);
    assert.throws(() => parseGitRef('https://h/r.git?keep-git-dir=maybe'), /invalid keep-git-dir/);
  });

  test('a password never reaches messages or cache keys', () => {
    const r = parseGitRef('https://user:hunter2@h/r.git#main')!;
    assert.equal(r.remote, 'https://user:hunter2@h/r.git');
    assert.ok(!r.displayRemote.includes('hunter2'));
    assert.ok(!JSON.stringify(gitCacheKey(r, 'a'.repeat(40))).includes('hunter2'));
  });
});

describe('resolve and check out from a real git server', { skip: gitAvailable() ? false : 'git is not installed' }, () => {
  let root = '';
  let server: GitServer;
  let c1 = '';
  let c2 = '';
  let tagCommit = '';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lw-git-'));
    const work = join(root, 'work');
    mkdirSync(join(work, 'sub'), { recursive: true });
    gitIn(work, 'init', '-q', '-b', 'main');
    writeFileSync(join(work, 'README'), 'one\n');
    writeFileSync(join(work, 'sub', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    symlinkSync('README', join(work, 'link'));
    gitIn(work, 'add', '-A');
    gitIn(work, 'commit', '-q', '-m', 'one');
    c1 = gitIn(work, 'rev-parse', 'HEAD');
    gitIn(work, 'tag', '-a', 'v1', '-m', 'annotated');
    tagCommit = c1;
    writeFileSync(join(work, 'README'), 'two\n');
    gitIn(work, 'commit', '-q', '-am', 'two');
    c2 = gitIn(work, 'rev-parse', 'HEAD');
    gitIn(work, 'branch', 'dev', c1);
    gitIn(root, 'clone', '-q', '--bare', work, 'repo.git');
    // the bare clone's HEAD is main
    server = await startGitServer(root);
  });
  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('HEAD, a branch, an annotated tag (its commit) and a full commit resolve; a missing ref is a clear error', async () => {
    const url = `${server.url}/repo.git`;
    assert.equal(await resolveGitCommit(parseGitRef(url)!), c2);
    assert.equal(await resolveGitCommit(parseGitRef(`${url}#dev`)!), c1);
    assert.equal(await resolveGitCommit(parseGitRef(`${url}#v1`)!), tagCommit);
    assert.equal(await resolveGitCommit(parseGitRef(`${url}?tag=v1`)!), tagCommit);
    assert.equal(await resolveGitCommit(parseGitRef(`${url}#${c1}`)!), c1);
    await assert.rejects(resolveGitCommit(parseGitRef(`${url}#nope`)!), /no ref "nope"/);
    await assert.rejects(resolveGitCommit(parseGitRef(`${url}#main`)!, {}).then(() => resolveGitCommit(parseGitRef(`${url}?commit=${c1}`)!)), /expected checksum to match/);
    await assert.rejects(resolveGitCommit(parseGitRef(`${server.url}/missing.git`)!), /failed to resolve/);
  });

  test('checkout gives the tree of that commit (modes, links), without .git unless kept, and the subdir', async () => {
    const url = `${server.url}/repo.git`;
    const parent = mkdtempSync(join(root, 'co-'));
    const main = parseGitRef(url)!;
    const a = await checkoutGit(main, c2, parent);
    assert.equal(readFileSync(join(a.source, 'README'), 'utf8'), 'two\n');
    assert.equal(lstatSync(join(a.source, 'sub', 'run.sh')).mode & 0o111, 0o111);
    assert.equal(readlinkSync(join(a.source, 'link')), 'README');
    assert.equal(existsSync(join(a.source, '.git')), false);

    const b = await checkoutGit(parseGitRef(`${url}#dev:sub`)!, c1, parent);
    assert.equal(b.source, join(b.dir, 'sub'));
    assert.equal(readFileSync(join(b.source, 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');

    const k = await checkoutGit(parseGitRef(`${url}?branch=dev&keep-git-dir=1`)!, c1, parent);
    assert.equal(existsSync(join(k.source, '.git')), true);
    assert.equal(gitIn(k.source, 'rev-parse', 'HEAD'), c1);

    // an old commit that no ref names any more at its tip is still fetched
    const old = await checkoutGit(parseGitRef(`${url}#${c1}`)!, c1, parent);
    assert.equal(readFileSync(join(old.source, 'README'), 'utf8'), 'one\n');
  });
});
