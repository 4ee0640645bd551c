/**
 * Every rule: fixtures that trigger it (`[[...]]` marks each expected finding) and near-misses that must not.
 * Each fixture runs with LF and CRLF (see rules-harness.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allRules } from '../../server/rules/index';
import { CASES } from './rules-cases';
import { expectMarked, runRule, toCRLF } from './rules-harness';

/** Rules tested elsewhere: with a build context on disk (diagnostics.test.ts, integration/server.test.ts), with a real engine store
 *  (rules-store.test.ts). */
const CONTEXT_RULES = ['CopyIgnoredFile', 'CopySourceNotFound', 'InvalidBaseImagePlatform', 'VolatileStepEarly'];
/** Parser codes with no reachable input in the current parser (documented, kept for future parser problems). */
const UNREACHABLE = new Set(['ParseError', 'HeredocDestination', 'InvalidArguments', 'InvalidJSON', 'InvalidHeredoc']);

describe('rules: fixtures per rule (LF and CRLF)', () => {
  for (const [code, c] of Object.entries(CASES)) {
    describe(code, () => {
      c.bad.forEach((marked, k) => it(`triggers #${k + 1}`, () => {
        const findings = expectMarked(code, marked);
        assert.ok(findings.length > 0);
      }));
      c.good.forEach((text, k) => it(`near-miss #${k + 1} stays quiet`, () => {
        for (const t of [text, toCRLF(text)]) assert.deepEqual(runRule(code, t).findings.map((f) => f.message), []);
      }));
    });
  }
});

describe('rules: catalogue', () => {
  it('every rule has fixtures (or is a context rule, tested with a real folder)', () => {
    const missing = allRules.map((r) => r.id).filter((id) => !CASES[id] && !CONTEXT_RULES.includes(id) && !UNREACHABLE.has(id));
    assert.deepEqual(missing, []);
  });
  it('ids are unique and every rule says what it checks', () => {
    const ids = allRules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const r of allRules) assert.ok(r.description.length > 10, r.id);
  });
  it('has all 22 BuildKit checks, and at least 30 hadolint rules', () => {
    const bk = allRules.filter((r) => r.group === 'buildkit').map((r) => r.id);
    assert.equal(bk.length, 22);
    assert.ok(bk.includes('InvalidBaseImagePlatform'));
    assert.ok(allRules.filter((r) => /^DL\d{4}$/.test(r.id)).length >= 30);
  });
});
