import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ignoreMatcherFor, parseDockerignore, PatternMatcher, readDockerignoreFor } from '../../engine/context/dockerignore';
import { describeError, isLayerwiseError } from '../../engine/errors';

/** Patterns rendered as `line:[!]cleaned`, for readable assertions. */
function render(text: string): string {
  return parseDockerignore(text)
    .patterns.map((p) => `${p.line}:${p.exclusion ? '!' : ''}${p.cleaned}`)
    .join(' ');
}

test('parse: comments, blank lines, trimming, exclusions and cleaning', () => {
  const text = [
    '# a comment',
    '',
    '   ',
    '  node_modules  ',
    '/abs/path',
    './rel/../other/',
    '! keep.txt',
    '  # indented hash is a pattern, not a comment',
    '**/*.log',
    'a//b/./c',
  ].join('\n');
  assert.equal(
    render(text),
    '3:node_modules 4:abs/path 5:other 6:!keep.txt 7:# indented hash is a pattern, not a comment 8:**/*.log 9:a/b/c',
  );
});

test('parse: the same with CRLF line ends and a UTF-8 BOM', () => {
  const lf = '# c\nfoo/\n!foo/bar\n*.tmp';
  const crlf = '\ufeff' + lf.replace(/\n/g, '\r\n') + '\r\n';
  assert.equal(render(crlf), render(lf));
  assert.equal(render(lf), '1:foo 2:!foo/bar 3:*.tmp');
});

test('parse: the BOM only counts on the first line; a "#" after it is still a comment', () => {
  assert.equal(render('\ufeff# comment\nx'), '1:x');
});

test('parse: text keeps the line as written, line numbers are 0-based', () => {
  const f = parseDockerignore('\n\n  !./dist/  \n');
  assert.deepEqual(f.patterns, [{ text: '!./dist/', exclusion: true, line: 2, cleaned: 'dist' }]);
  assert.deepEqual(f.errors, []);
});

test('parse: malformed patterns are reported with their line', () => {
  const f = parseDockerignore(['ok', '[', '!', 'a[', '[x-]', 'fine/**', '!/'].join('\n'));
  assert.deepEqual(
    f.errors.map((e) => `${e.line}:${e.message}`),
    [
      '1:syntax error in pattern',
      '2:illegal exclusion pattern: "!"',
      '3:syntax error in pattern',
      '4:syntax error in pattern',
      '6:illegal exclusion pattern: "!"',
    ],
  );
  // the matcher refuses the same file, naming the first bad line
  const r = PatternMatcher.tryCreate(f.patterns);
  assert.match(r.error ?? '', /"\[" \(line 2\)/);
});

test('parse: a pattern the regex engine rejects is reported too (moby fails when it is first used)', () => {
  const f = parseDockerignore('ok\n[z-a]x\n');
  assert.equal(f.errors.length, 1);
  assert.equal(f.errors[0]!.line, 1);
  assert.match(f.errors[0]!.message, /syntax error in pattern/);
});

test('matcher: construction errors are LayerwiseError(invalid)', () => {
  assert.throws(
    () => new PatternMatcher(['a', '[']),
    (e: unknown) => isLayerwiseError(e) && e.kind === 'invalid' && /syntax error in pattern/.test(e.message),
  );
});

test('matcher: a regex-invalid pattern fails only when evaluated, as in moby', () => {
  // "[z-a]" passes Go's filepath.Match check but RE2 rejects the reversed range
  const pm = new PatternMatcher(['[z-a]']);
  assert.throws(() => pm.matchesOrParentMatches('x'), /syntax error in pattern/);
  assert.throws(() => pm.matchesOrParentMatches('x'), /syntax error in pattern/, 'and again on the next call');
  // an exclusion pattern is not evaluated while nothing is excluded
  const lazy = new PatternMatcher(['foo', '![z-a]']);
  assert.equal(lazy.matchesOrParentMatches('bar'), false);
  assert.throws(() => lazy.matchesOrParentMatches('foo'), /syntax error in pattern/);
});

test('matcher: exclusions, parents and the deciding pattern', () => {
  const f = parseDockerignore('# deps\nnode_modules\n*.md\n!README.md\ndocs/**\n!docs/keep/**\n');
  const pm = new PatternMatcher(f.patterns);
  assert.equal(pm.exclusions, true);
  const cases: [string, boolean, string | undefined][] = [
    ['node_modules', true, 'node_modules'],
    ['node_modules/x/y.js', true, 'node_modules'],
    ['CHANGES.md', true, '*.md'],
    ['README.md', false, '!README.md'],
    ['sub/README.md', false, undefined], // "*.md" does not cross directories
    ['docs/a.txt', true, 'docs/**'],
    ['docs/keep/a.txt', false, '!docs/keep/**'],
    ['src/main.ts', false, undefined],
  ];
  for (const [path, excluded, deciding] of cases) {
    assert.equal(pm.matchesOrParentMatches(path), excluded, path);
    assert.equal(pm.decidingPattern(path)?.text, deciding, path);
  }
  assert.equal(pm.decidingPattern('README.md')?.line, 3);
  assert.equal(new PatternMatcher(['a']).exclusions, false);
});

test('matcher: RE2 meaning of escapes and classes is kept', () => {
  const m = (pattern: string, path: string): boolean => new PatternMatcher([pattern]).matchesOrParentMatches(path);
  assert.equal(m('f\\d', 'f7'), true, '\\d is a digit class in RE2');
  assert.equal(m('f\\d', 'fd'), false);
  assert.equal(m('[[:alpha:]]x', 'qx'), true);
  assert.equal(m('[[:alpha:]]x', '1x'), false);
  assert.equal(m('a?b', 'a😀b'), true, '? is one code point, even outside the BMP');
  assert.equal(m('[*]', '^]'), true, '[*] becomes the RE2 class [[^/] followed by *]');
  assert.equal(m('[*]', '*'), false);
  assert.equal(m('a.b', 'axb'), false, '. is literal');
  assert.equal(m('a*', 'a\nb'), true, '[^/] matches a newline in RE2');
  assert.equal(m('**/x', 'x'), true);
  assert.equal(m('dir/**', 'dir'), false);
  assert.equal(m('dir', 'dir/sub/file'), true, 'a parent match excludes the child');
});

test('matcher: moby passes "|", "{" and "}" to the regex engine unescaped (its escape bitmap drops them)', () => {
  const m = (pattern: string, path: string): boolean => new PatternMatcher([pattern]).matchesOrParentMatches(path);
  // "a*|b" becomes ^a[^/]*|b$ : either "starts with a" or "ends with b"
  assert.equal(m('a*|b', 'xb'), true);
  assert.equal(m('a*|b', 'a/deep/path'), true);
  assert.equal(m('a*|b', 'c'), false);
  assert.equal(m('a|b', 'a|b'), true, 'without a wildcard the pattern is compared as a string');
  assert.throws(() => m('x*{2}', 'x'), /nested repetition/, '[^/]*{2} is a nested repetition: an error when used');
  assert.equal(m('?{2}', 'ab'), true, '{2} repeats the single-character class');
  assert.equal(m('?{2}', 'abc'), false);
});

test('matcher: walk-style matching agrees with matchesOrParentMatches on a mixed set', () => {
  const pm = new PatternMatcher(['**/*.o', '!keep/**', 'keep/tmp', 'b*', '!b/x']);
  const paths = ['a.o', 'x/y/z.o', 'keep/a.o', 'keep/tmp/f', 'b', 'b/x', 'b/y', 'bx/x', 'c'];
  for (const p of paths) {
    const parts = p.split('/');
    let info = pm.matchesUsingParentResults(parts[0]!, { parentMatched: [] });
    for (let i = 1; i < parts.length; i++) info = pm.matchesUsingParentResults(parts.slice(0, i + 1).join('/'), info.info);
    assert.equal(info.excluded, pm.matchesOrParentMatches(p), p);
  }
});

test('readDockerignoreFor: <Dockerfile>.dockerignore wins over <context>/.dockerignore', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lw-ignore-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'build'), { recursive: true });
  const none = await readDockerignoreFor(ctx);
  assert.equal(none.path, undefined);
  assert.deepEqual(none.file, { patterns: [], errors: [] });

  await writeFile(join(ctx, '.dockerignore'), 'from-context\n');
  const generic = await readDockerignoreFor(ctx, join(ctx, 'build', 'app.Dockerfile'));
  assert.equal(generic.path, join(ctx, '.dockerignore'));
  assert.equal(generic.file.patterns[0]!.cleaned, 'from-context');

  await writeFile(join(ctx, 'build', 'app.Dockerfile.dockerignore'), 'from-dockerfile\n');
  const specific = await readDockerignoreFor(ctx, join(ctx, 'build', 'app.Dockerfile'));
  assert.equal(specific.path, join(ctx, 'build', 'app.Dockerfile.dockerignore'));
  assert.deepEqual(specific.file.patterns.map((p) => p.cleaned), ['from-dockerfile']);

  // another Dockerfile in the same folder does not pick it up
  const other = await readDockerignoreFor(ctx, join(ctx, 'build', 'Dockerfile'));
  assert.equal(other.path, join(ctx, '.dockerignore'));
});

test('ignoreMatcherFor: a ready matcher, or an error naming the file and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lw-ignore-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const none = await ignoreMatcherFor(dir);
  assert.equal(none.path, undefined);
  assert.equal(none.matcher.matchesOrParentMatches('anything'), false);

  await writeFile(join(dir, '.dockerignore'), '*.log\n!keep.log\n');
  const ok = await ignoreMatcherFor(dir);
  assert.equal(ok.matcher.matchesOrParentMatches('a.log'), true);
  assert.equal(ok.matcher.matchesOrParentMatches('keep.log'), false);

  await writeFile(join(dir, '.dockerignore'), '# fine\nok\nbad[\n');
  await assert.rejects(ignoreMatcherFor(dir), (e: unknown) => {
    assert.ok(isLayerwiseError(e) && e.kind === 'invalid');
    assert.equal(describeError(e), `${join(dir, '.dockerignore')}:3:1: invalid .dockerignore pattern: syntax error in pattern`);
    return true;
  });
});
