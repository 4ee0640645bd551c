// Semantic tokens decoded back to `line:col text type.modifiers`; full and delta. LF and CRLF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../engine/dockerfile/index';
import { renderTokens, semanticTokens, semanticTokensDelta, semanticTokensRange } from '../../server/features/semanticTokens';
import { variants } from '../helpers/cursor';

const text = [
  '# syntax=docker/dockerfile:1',
  'ARG V=1',
  '# note',
  'FROM --platform=$BUILDPLATFORM alpine:${V} AS build',
  'RUN --mount=type=cache,target=/c \\',
  '    echo $V',
  'ENV A=1 B="x $A"',
  'FROM alpine',
  'COPY --from=build ["a", "b"]',
  'RUN <<EOF',
  'echo $A',
  'EOF',
  'EXPOSE 80/tcp',
  'STOPSIGNAL SIGTERM',
  'MAINTAINER me',
  'HEALTHCHECK NONE',
  '',
].join('\n');

for (const f of variants(text)) {
  test(`tokens (${f.eol})`, () => {
    assert.deepEqual(renderTokens(f.parsed, semanticTokens(f.parsed).data), [
      '0:2 syntax macro',
      '0:9 docker/dockerfile:1 string',
      '1:0 ARG keyword',
      '1:4 V variable.declaration.readonly',
      '1:6 1 string',
      '2:0 # note comment',
      '3:0 FROM keyword',
      '3:5 --platform parameter',
      '3:16 $BUILDPLATFORM variable.readonly.defaultLibrary',
      '3:31 alpine: string',
      '3:38 ${V} variable.readonly',
      '3:43 AS keyword',
      '3:46 build class.declaration',
      '4:0 RUN keyword',
      '4:4 --mount parameter',
      '4:12 type property',
      '4:17 cache string',
      '4:23 target property',
      '4:30 /c string',
      '5:9 $V variable',
      '6:0 ENV keyword',
      '6:4 A variable.declaration',
      '6:6 1 string',
      '6:8 B variable.declaration',
      '6:10 "x  string',
      '6:13 $A variable',
      '6:15 " string',
      '7:0 FROM keyword',
      '7:5 alpine string',
      '8:0 COPY keyword',
      '8:5 --from parameter',
      '8:12 build class',
      '8:19 "a" string',
      '8:24 "b" string',
      '9:0 RUN keyword',
      '9:4 <<EOF operator',
      '10:5 $A variable',
      '11:0 EOF operator',
      '12:0 EXPOSE keyword',
      '12:7 80/tcp number',
      '13:0 STOPSIGNAL keyword',
      '13:11 SIGTERM enumMember',
      '14:0 MAINTAINER keyword.deprecated',
      '15:0 HEALTHCHECK keyword',
      '15:12 NONE keyword',
    ]);
  });
}

test('tokens are sorted, non-overlapping and single-line on a large generated file', () => {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(`FROM --platform=$BUILDPLATFORM img${i} AS s${i}`, `ENV X${i}="a $X${i} b" \\`, `    Y=$X${i}`, `COPY --from=s${i} ["/a", "/b"]`);
  const df = parse(lines.join('\n'));
  const data = semanticTokens(df).data;
  // decode absolutely and check ordering
  let l = 0;
  let c = 0;
  let prevEnd = -1;
  for (let i = 0; i < data.length; i += 5) {
    if (data[i]! > 0) {
      l += data[i]!;
      c = data[i + 1]!;
      prevEnd = -1;
    } else c += data[i + 1]!;
    assert.ok(c >= prevEnd, `overlap at ${l}:${c}`);
    assert.ok(data[i + 2]! > 0, 'positive length');
    prevEnd = c + data[i + 2]!;
  }
  assert.ok(l > 1000, `tokens reach line ${l}`);
});

test('delta: one edit covering only what changed', () => {
  const a = parse('FROM alpine\nRUN echo $A\nENV B=1\n');
  const b = parse('FROM alpine\nRUN echo $A $A\nENV B=1\n');
  const da = semanticTokens(a).data;
  const db = semanticTokens(b).data;
  const d = semanticTokensDelta(da, db, '2');
  assert.equal(d.edits.length, 1);
  const e = d.edits[0]!;
  const applied = [...da.slice(0, e.start), ...(e.data ?? []), ...da.slice(e.start + e.deleteCount)];
  assert.deepEqual(applied, db);
  assert.ok((e.data ?? []).length <= 10);
  assert.deepEqual(semanticTokensDelta(db, db, '3').edits, []);
});

for (const f of variants(text)) {
  test(`range: only the tokens of the lines asked for, positions absolute (${f.eol})`, () => {
    const all = renderTokens(f.parsed, semanticTokens(f.parsed).data);
    const part = renderTokens(f.parsed, semanticTokensRange(f.parsed, { start: { line: 6, character: 0 }, end: { line: 8, character: 3 } }).data);
    assert.deepEqual(part, all.filter((l) => /^[678]:/.test(l)));
    assert.ok(part.length > 5);
  });
}
