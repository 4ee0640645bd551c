// Folding ranges: stages, multi-line instructions, heredocs, comment blocks. LF and CRLF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldingRanges } from '../../server/features/folding';
import { variants } from '../helpers/cursor';

const text = ['# one', '# two', '# three', 'FROM alpine', 'RUN a \\', '  b', 'COPY <<EOF /x', 'body', 'EOF', 'RUN x <<A \\', '  && y', 'a', 'A', '', 'FROM b', 'RUN c', ''].join('\n');

for (const f of variants(text)) {
  test(`folding ranges (${f.eol})`, () => {
    const got = foldingRanges(f.parsed).map((r) => `${r.startLine}-${r.endLine}${r.kind ? ` ${r.kind}` : ''}`);
    assert.deepEqual(got, ['0-2 comment', '3-12', '4-5', '6-8', '9-12', '14-15']);
  });
}
