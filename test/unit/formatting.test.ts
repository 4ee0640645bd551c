// Formatting: fixtures in, formatted text out (LF and CRLF); idempotence; heredoc bodies byte for byte; and
// on every BuildKit corpus Dockerfile the parse tree before and after is the same apart from whitespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dumpBuildKit, parse } from '../../engine/dockerfile/index';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { applyEdits, formatDocument, formatOnType, formatRange, readFormatSettings, type FormatSettings } from '../../server/features/formatting';
import { fixture } from '../helpers/cursor';

const opts = { tabSize: 4, insertSpaces: true };

function fmt(text: string, settings?: FormatSettings): string {
  const df = parse(text);
  return applyEdits(text, df.lineStarts, formatDocument(df, opts, settings));
}

/** The tree as BuildKit dumps it plus every heredoc body, with runs of blanks folded. */
function shape(df: Dockerfile): string {
  const bodies = df.instructions.flatMap((i) => [...i.heredocs, ...(i.trigger?.heredocs ?? [])].map((h) => JSON.stringify(h.content)));
  return dumpBuildKit(df).replace(/\\t/g, ' ').replace(/[ \t]+/g, ' ').replace(/(\\\\|\s)+"/g, '"') + '\n' + bodies.join('\n');
}

function both(name: string, input: string, expected: string, settings?: FormatSettings): void {
  for (const eol of ['LF', 'CRLF'] as const) {
    test(`${name} (${eol})`, () => {
      const conv = (s: string) => (eol === 'CRLF' ? s.replace(/\n/g, '\r\n') : s);
      const out = fmt(conv(input), settings);
      assert.equal(out, conv(expected));
      assert.equal(fmt(out, settings), out, 'idempotent');
      assert.equal(shape(parse(out)), shape(parse(conv(input))), 'same tree apart from whitespace');
    });
  }
}

both('keyword case and spacing between keyword, flags and words', 'from  alpine   AS  build\n  copy   --from=build    --chown=1:1   a   b   /c/\n', 'FROM alpine AS build\nCOPY --from=build --chown=1:1 a b /c/\n');

both(
  'continuation lines get one indent unit; blanks after the escape go',
  'FROM alpine\nRUN apt-get update \\   \n  && apt-get install -y \\\n          curl   \n',
  'FROM alpine\nRUN apt-get update \\\n    && apt-get install -y \\\n    curl\n',
);

both(
  'heredoc bodies and terminators stay byte for byte',
  'FROM alpine\nrun  <<EOF   bash\n  set -e   \n\techo "$HOME"  \nEOF\ncopy <<-END /etc/motd\n\t  hi  \n\tEND\n',
  'FROM alpine\nRUN <<EOF   bash\n  set -e   \n\techo "$HOME"  \nEOF\nCOPY <<-END /etc/motd\n\t  hi  \n\tEND\n',
);

both(
  'whitespace inside quotes and in values that keep it is left alone',
  'FROM alpine\nRUN echo "a \\\n   b" \\\n  && true\nENV MSG hello \\\n   world\nWORKDIR /a \\\n  b\n',
  'FROM alpine\nRUN echo "a \\\n   b" \\\n    && true\nENV MSG hello \\\n   world\nWORKDIR /a \\\n  b\n',
);

both('comments outside instructions stay; comment lines inside are indented', '# keep   \n  # me\nFROM alpine\nRUN a \\\n# inner\n  b\n', '# keep   \n  # me\nFROM alpine\nRUN a \\\n    # inner\n    b\n');

both('ONBUILD trigger keyword', 'FROM a\nonbuild   run   make\n', 'FROM a\nONBUILD RUN make\n');

both('keepContinuationIndent keeps hand indentation', 'FROM a\nRUN a \\\n      && b \\\n  && c\n', 'FROM a\nRUN a \\\n      && b \\\n  && c\n', { keywordCase: 'upper', keepContinuationIndent: true });

both('lower-case keywords when configured', 'FROM a\nRun b\n', 'from a\nrun b\n', { keywordCase: 'lower', keepContinuationIndent: false });

test('settings are read from the layerwise section (nested and dotted keys)', () => {
  assert.deepEqual(readFormatSettings({ format: { keepContinuationIndent: true } }), { keywordCase: 'upper', keepContinuationIndent: true });
  assert.deepEqual(readFormatSettings({ 'format.keywordCase': 'lower' }), { keywordCase: 'lower', keepContinuationIndent: false });
  assert.deepEqual(readFormatSettings(undefined), { keywordCase: 'upper', keepContinuationIndent: false });
});

test('tabs when the editor inserts tabs', () => {
  const t = 'FROM a\nRUN a \\\n  b\n';
  const df = parse(t);
  assert.equal(applyEdits(t, df.lineStarts, formatDocument(df, { tabSize: 4, insertSpaces: false })), 'FROM a\nRUN a \\\n\tb\n');
});

for (const eol of ['LF', 'CRLF'] as const) {
  test(`range formatting edits only the lines in the range (${eol})`, () => {
    const conv = (s: string) => (eol === 'CRLF' ? s.replace(/\n/g, '\r\n') : s);
    const t = conv('from a\nrun  b\nrun  c\n');
    const df = parse(t);
    const out = applyEdits(t, df.lineStarts, formatRange(df, { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } }, opts));
    assert.equal(out, conv('from a\nRUN b\nrun  c\n'));
  });

  test(`on type: Enter after a continuation formats the line and indents the new one (${eol})`, () => {
    const f = fixture('FROM a\nrun  apt-get update \\\n|\n', eol);
    const out = applyEdits(f.text, f.parsed.lineStarts, formatOnType(f.parsed, f.position, '\n', opts));
    assert.equal(out, eol === 'CRLF' ? 'FROM a\r\nRUN apt-get update \\\r\n    \r\n' : 'FROM a\nRUN apt-get update \\\n    \n');
  });
}

test('BuildKit corpus: formatting keeps the tree (apart from whitespace) and is idempotent', (t) => {
  const dir = join(__dirname, '..', '..', '..', 'shared', 'conformance', 'buildkit-parser', 'testfiles');
  if (!existsSync(dir)) return t.skip('conformance corpus not present at ../shared/conformance');
  let n = 0;
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, 'Dockerfile');
    if (!existsSync(file)) continue;
    for (const text of [readFileSync(file, 'utf8'), readFileSync(file, 'utf8').replace(/\r?\n/g, '\r\n')]) {
      const before = parse(text);
      const out = fmt(text);
      const after = parse(out);
      assert.equal(shape(after), shape(before), `${name}: tree changed`);
      assert.equal(after.problems.length, before.problems.length, `${name}: problems changed`);
      assert.equal(fmt(out), out, `${name}: not idempotent`);
      n++;
    }
  }
  assert.ok(n >= 60, `${n} files formatted`);
});
