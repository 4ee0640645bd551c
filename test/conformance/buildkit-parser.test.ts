/**
 * BuildKit's parser corpus: every positive case must dump byte-identically (also with CRLF line ends), every
 * negative case must be rejected with an equivalent message, and the line-range case must match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dumpBuildKit, parse } from '../../engine/dockerfile';
import { conformanceDir } from '../helpers/conformance';

interface Case {
  name: string;
  dockerfile: string;
  expect: string;
  result?: string;
  error_message_in_source?: string;
}
const dir = join(conformanceDir(), 'buildkit-parser');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { cases: Case[] };

/** BuildKit reads bytes; we read UTF-8 text, the same way the editor and the CLI do. */
function read(p: string): string {
  return readFileSync(join(dir, p)).toString('utf8');
}

function errors(text: string): string[] {
  return parse(text)
    .problems.filter((p) => p.severity === 'error')
    .map((p) => p.message);
}

const positives = manifest.cases.filter((c) => c.expect === 'ok' && c.result);
const negatives = manifest.cases.filter((c) => c.expect === 'error');

test('the manifest lists 33 positive and 4 negative cases', () => {
  assert.equal(positives.length, 33);
  assert.equal(negatives.length, 4);
});

for (const c of positives) {
  const text = read(c.dockerfile);
  const expected = read(c.result!);
  test(`dump: ${c.name}`, () => {
    assert.equal(dumpBuildKit(parse(text)), expected);
  });
  test(`dump with CRLF: ${c.name}`, () => {
    const crlf = text.replace(/\r?\n/g, '\r\n');
    assert.equal(dumpBuildKit(parse(crlf)), expected);
  });
  test(`no parse errors: ${c.name}`, () => {
    const p = parse(text).problems.filter((x) => ['NoInstructions', 'InvalidJSON', 'EnvMissingValue', 'EnvMissingEquals', 'UnterminatedHeredoc', 'DuplicateDirective', 'InvalidDirective'].includes(x.code));
    assert.deepEqual(p, []);
  });
}

for (const c of negatives) {
  test(`rejected: ${c.name}`, () => {
    const errs = errors(read(c.dockerfile));
    assert.ok(errs.length > 0, 'expected an error');
    const want = c.error_message_in_source!;
    assert.ok(errs.some((e) => e.includes(want)), `expected "${want}", got ${JSON.stringify(errs)}`);
  });
}

test('line ranges: (5,5), (11,12), (17,31), 1-based', () => {
  const df = parse(read('testfile-line/Dockerfile'));
  assert.deepEqual(
    df.instructions.map((i) => [i.startLine + 1, i.endLine + 1]),
    [
      [5, 5],
      [11, 12],
      [17, 31],
    ],
  );
});
