/**
 * The end of a failed build in plain progress, as BuildKit prints it (engine/build/progress.ts): `Dockerfile:N`, the
 * failing instruction's lines marked `>>>` with context (four lines for a one-line instruction, two for a longer one,
 * taken before and after in turn), then `ERROR: failed to solve: …`. The expected texts are Docker 26's own output
 * for the same files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ProgressPrinter, sourceSnippet } from '../../engine/build/progress';

const dir = mkdtempSync(join(tmpdir(), 'snippet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('a one-line instruction near the top: the lines there are', () => {
  const f = file('Dockerfile', 'FROM lwdiff-busybox\nRUN echo start && exit 3\n');
  assert.equal(sourceSnippet(f, 1, 1), 'Dockerfile:2\n--------------------\n   1 |     FROM lwdiff-busybox\n   2 | >>> RUN echo start && exit 3\n   3 |     \n--------------------\n');
});

test('a one-line instruction in the middle: two lines either side', () => {
  const f = file('Dockerfile.mid', '# escape=`\nFROM lwdiff-busybox\nRUN echo one `\n    two > /joined\nCOPY a\\b.txt /back\\slash/\nENV W=C:\\path\\to\nRUN echo "$W" > /w\n');
  assert.equal(
    sourceSnippet(f, 4, 4),
    'Dockerfile.mid:5\n--------------------\n   3 |     RUN echo one `\n   4 |         two > /joined\n   5 | >>> COPY a\\b.txt /back\\slash/\n   6 |     ENV W=C:\\path\\to\n   7 |     RUN echo "$W" > /w\n--------------------\n',
  );
});

test('an instruction over two lines: every line marked, one line of context either side', () => {
  const f = file('Dockerfile.multi', 'FROM lwdiff-busybox\nRUN echo a \\\n  && exit 4\n# after\n');
  assert.equal(sourceSnippet(f, 1, 2), 'Dockerfile.multi:2\n--------------------\n   1 |     FROM lwdiff-busybox\n   2 | >>> RUN echo a \\\n   3 | >>>   && exit 4\n   4 |     # after\n--------------------\n');
});

test('the printer ends a failed build with the snippet and "failed to solve"; without the file, the location in brackets', () => {
  const f = file('Dockerfile.p', 'FROM x\nRUN false\n');
  const out: string[] = [];
  const sink = { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream;
  const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 9 } };
  new ProgressPrinter(sink, 'plain').handle({ v: 1, type: 'build-end', ok: false, duration: 0, error: { message: 'boom', file: f, range } } as never);
  assert.equal(out.join(''), '\nDockerfile.p:2\n--------------------\n   1 |     FROM x\n   2 | >>> RUN false\n   3 |     \n--------------------\nERROR: failed to solve: boom\n');
  out.length = 0;
  new ProgressPrinter(sink, 'plain').handle({ v: 1, type: 'build-end', ok: false, duration: 0, error: { message: 'boom', file: join(dir, 'gone'), range } } as never);
  assert.equal(out.join(''), `\nERROR: failed to solve: boom (${join(dir, 'gone')}:2)\n`);
});
