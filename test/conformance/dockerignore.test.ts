// moby/patternmatcher's test tables (../shared/conformance/dockerignore), every case as its own test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { legacyMatches, NO_MATCH_INFO, PatternMatcher, type MatchInfo } from '../../engine/context/dockerignore';
import { conformanceDir } from '../helpers/conformance';

interface SingleCase { pattern: string; path: string; match: boolean }
interface MultiCase { patterns: string[]; path: string; match: boolean }
interface LegacyCase { pattern: string; path: string; match: boolean; error: string | null }
interface Cases {
  singlePattern: SingleCase[];
  singlePatternNonWindows: SingleCase[];
  multiPattern: MultiCase[];
  legacyMatches: LegacyCase[];
}

let cases: Cases = { singlePattern: [], singlePatternNonWindows: [], multiPattern: [], legacyMatches: [] };
let missing: string | undefined;
try {
  cases = JSON.parse(readFileSync(join(conformanceDir(), 'dockerignore/patternmatcher-cases.json'), 'utf8')) as Cases;
} catch (e) {
  missing = e instanceof Error ? e.message : String(e);
}
if (missing !== undefined) {
  const reason = `moby/patternmatcher tables not available: ${missing}`;
  test('moby/patternmatcher tables', (t) => t.skip(reason));
}

/** MatchesUsingParentResults fed with the results of every parent directory, as a walk would. */
function viaParents(pm: PatternMatcher, path: string): boolean {
  const parentPath = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
  let info: MatchInfo = NO_MATCH_INFO;
  if (parentPath !== '.' && parentPath !== '') {
    const dirs = parentPath.split('/');
    for (let i = 0; i < dirs.length; i++) info = pm.matchesUsingParentResults(dirs.slice(0, i + 1).join('/'), info).info;
  }
  return pm.matchesUsingParentResults(path, info).excluded;
}

function checkAllWays(patterns: string[], path: string, expected: boolean): void {
  const pm = new PatternMatcher(patterns);
  assert.equal(pm.matchesOrParentMatches(path), expected, 'MatchesOrParentMatches');
  assert.equal(viaParents(pm, path), expected, 'MatchesUsingParentResults (with parents)');
  assert.equal(pm.matchesUsingParentResults(path, NO_MATCH_INFO).excluded, expected, 'MatchesUsingParentResults (no context)');
}

const singles = [
  ...cases.singlePattern.map((c) => ({ table: 'singlePattern', c })),
  ...cases.singlePatternNonWindows.map((c) => ({ table: 'singlePatternNonWindows', c })),
];
singles.forEach(({ table, c }, i) => {
  test(`${table} #${i}: ${JSON.stringify(c.pattern)} vs ${JSON.stringify(c.path)} -> ${c.match}`, () => {
    checkAllWays([c.pattern], c.path, c.match);
  });
});

cases.multiPattern.forEach((c, i) => {
  test(`multiPattern #${i}: ${JSON.stringify(c.patterns)} vs ${JSON.stringify(c.path)} -> ${c.match}`, () => {
    checkAllWays(c.patterns, c.path, c.match);
  });
});

cases.legacyMatches.forEach((c, i) => {
  const want = c.error ? `error ${c.error}` : String(c.match);
  test(`legacyMatches #${i}: ${JSON.stringify(c.pattern)} vs ${JSON.stringify(c.path)} -> ${want}`, () => {
    const created = PatternMatcher.tryCreate([c.pattern]);
    if (c.error) {
      assert.ok(created.error, 'New() must reject the pattern');
      assert.match(created.error, /syntax error in pattern/);
      assert.throws(() => legacyMatches(c.path, [c.pattern]), /syntax error in pattern/);
    } else {
      assert.equal(created.error, undefined);
      assert.equal(legacyMatches(c.path, [c.pattern]), c.match);
    }
  });
});

test('the tables are all present (a renamed table must not silently run zero cases)', { skip: missing }, () => {
  assert.ok(cases.singlePattern.length > 50);
  assert.ok(cases.singlePatternNonWindows.length >= 1);
  assert.ok(cases.multiPattern.length >= 4);
  assert.ok(cases.legacyMatches.length > 50);
});

// Differential cases: answers recorded from moby's own matcher (see test/fixtures/context/README.md).
interface DiffCase { patterns: string[]; paths: string[]; newError: boolean; or: string[]; legacy: string[]; walk: string[] }
const diffFile = join(__dirname, '../fixtures/context/patternmatcher-differential.jsonl');
const diffCases = readFileSync(diffFile, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as DiffCase);

function outcome(f: () => boolean): string {
  try {
    return f() ? '1' : '0';
  } catch {
    return 'err';
  }
}

const BLOCK = 50;
for (let start = 0; start < diffCases.length; start += BLOCK) {
  const block = diffCases.slice(start, start + BLOCK);
  test(`differential vs moby: cases ${start + 1}-${start + block.length}`, () => {
    const failures: string[] = [];
    for (const c of block) {
      const created = PatternMatcher.tryCreate(c.patterns);
      if (Boolean(created.error) !== c.newError) {
        failures.push(`${JSON.stringify(c.patterns)}: New() error expected ${c.newError}, got ${created.error}`);
        continue;
      }
      if (!created.matcher) continue;
      const pm = created.matcher;
      c.paths.forEach((p, i) => {
        const got = {
          or: outcome(() => pm.matchesOrParentMatches(p)),
          legacy: outcome(() => pm.matches(p)),
          walk: outcome(() => {
            const parts = p.split('/');
            let info: MatchInfo = NO_MATCH_INFO;
            let excluded = false;
            for (let k = 0; k < parts.length; k++) {
              const r = pm.matchesUsingParentResults(parts.slice(0, k + 1).join('/'), info);
              info = r.info;
              excluded = r.excluded;
            }
            return excluded;
          }),
        };
        for (const way of ['or', 'legacy', 'walk'] as const) {
          if (got[way] !== c[way][i]) failures.push(`${JSON.stringify(c.patterns)} ${JSON.stringify(p)} ${way}: want ${c[way][i]}, got ${got[way]}`);
        }
      });
    }
    assert.deepEqual(failures, []);
  });
}

test('differential corpus is present and exercises matches, non-matches and errors', () => {
  assert.equal(diffCases.length, 1000);
  const all = diffCases.flatMap((c) => c.or);
  for (const v of ['0', '1', 'err']) assert.ok(all.filter((x) => x === v).length > 100, `enough "${v}" answers`);
  assert.ok(diffCases.filter((c) => c.newError).length > 100);
});
