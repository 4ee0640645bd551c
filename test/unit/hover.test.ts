// Hover on inline fixtures (cursor marker `|`), LF and CRLF; the markdown is checked as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hover } from '../../server/features/hover';
import type { CompletionEnv } from '../../server/features/completion';
import { FLAGS, MOUNT_KEYS } from '../../server/docs/flags';
import { INSTRUCTIONS } from '../../server/docs/instructions';
import { showRange, variants } from '../helpers/cursor';

function check(name: string, marked: string, fn: (value: string | null, range: string | null) => void, env: CompletionEnv = {}): void {
  for (const f of variants(marked)) {
    test(`${name} (${f.eol})`, () => {
      const h = hover(f.parsed, f.doc, f.position, env);
      fn(h ? (h.contents as { value: string }).value : null, h?.range ? showRange(h.range) : null);
    });
  }
}

check('instruction keyword: summary, forms and example', 'FROM alpine\nCO|PY a b', (v, r) => {
  assert.match(v!, /^\*\*COPY\*\*\n\nCopies files/);
  assert.match(v!, /COPY \[--from=<stage>\]/);
  assert.match(v!, /Example:\n\n```dockerfile\nCOPY --from=build/);
  assert.equal(r, '1:0-1:4');
});

check('flag', 'FROM alpine\nCOPY --ch|mod=755 a b', (v, r) => {
  assert.match(v!, /^\*\*--chmod\*\*=… \*\(COPY, ADD\)\*/);
  assert.equal(r, '1:5-1:16');
});

check('mount key', 'FROM alpine\nRUN --mount=type=cache,sha|ring=locked,target=/c true', (v, r) => {
  assert.match(v!, /^\*\*sharing\*\* — mount key for type cache/);
  assert.match(v!, /- `locked`: Wait until/);
  assert.equal(r, '1:23-1:37');
});

check('variable use: value at that point and where it was set', 'ARG V=1\nFROM alpine\nARG V\nENV P=/opt/$V\nRUN echo $|P', (v, r) => {
  assert.equal(v, '**P** = `/opt/1`\n\nSet by ENV on line 4 in stage #0.');
  assert.equal(r, '4:9-4:11');
});

check('the latest definition wins', 'FROM alpine\nENV A=1\nENV A=2\nRUN echo ${|A}\nENV A=3', (v) => {
  assert.match(v!, /^\*\*A\*\* = `2`\n\nSet by ENV on line 3/);
});

check('variable declaration', 'FROM alpine\nARG VER|SION', (v) => {
  assert.match(v!, /^\*\*VERSION\*\* = \*\(no default: set with `--build-arg`\)\*/);
});

check('predefined ARG', 'FROM --platform=$BUILD|PLATFORM alpine', (v) => {
  assert.match(v!, /^\*\*BUILDPLATFORM\*\* \*\(predefined\)\*/);
});

check('undeclared variable in a stage (a global ARG is not visible without ARG)', 'ARG G=1\nFROM alpine\nRUN echo $|G', (v) => {
  assert.match(v!, /not declared before this line in this stage/);
});

check('stage reference shows its definition', 'FROM golang:1.22 AS build\nRUN go build\nFROM alpine\nCOPY --from=bu|ild /out /', (v, r) => {
  assert.match(v!, /^\*\*stage `build`\*\* \(index 0\), line 1\n\n```dockerfile\nFROM golang:1\.22 AS build\n```\n\n1 instruction after FROM\./);
  assert.equal(r, '3:12-3:17');
});

const env: CompletionEnv = { images: { images: () => [{ repository: 'alpine', tag: '3.19', id: 'sha256:' + 'f'.repeat(64), size: 3_400_000, layers: 1, created: '2024-01-27T00:00:00Z' }] } };
check('local image facts', 'FROM docker.io/library/alp|ine:3.19', (v) => {
  assert.equal(v, '**alpine:3.19** — in the local store\n\n- id: `ffffffffffff`\n- size: 3.4 MB\n- layers: 1\n- created: 2024-01-27T00:00:00Z');
}, env);
check('an image that is not local: no hover', 'FROM ubu|ntu', (v) => assert.equal(v, null), env);

check('directive', '# sy|ntax=docker/dockerfile:1\nFROM a', (v) => assert.match(v!, /^\*\*# syntax=\*\*/));
check('signal', 'FROM a\nSTOPSIGNAL SIGQ|UIT', (v) => assert.match(v!, /^\*\*SIGQUIT\*\* \(3\)/));
check('ONBUILD trigger keyword', 'FROM a\nONBUILD RU|N make', (v) => assert.match(v!, /^\*\*RUN\*\*/));
check('heredoc body text: no hover', 'FROM a\nRUN <<EOF\nec|ho\nEOF', (v) => assert.equal(v, null));

test('docs cover all 18 instructions, every flag and every mount key with an example', () => {
  assert.equal(INSTRUCTIONS.length, 18);
  for (const d of INSTRUCTIONS) assert.ok(d.example.startsWith(d.keyword), d.keyword);
  for (const [kw, names] of Object.entries({ FROM: ['platform'], RUN: ['mount', 'network', 'security', 'device'], COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'], ADD: ['chown', 'chmod', 'link', 'parents', 'exclude', 'checksum', 'keep-git-dir', 'unpack'], HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'] })) {
    for (const n of names) {
      const f = FLAGS.find((x) => x.name === n && x.instructions.includes(kw));
      assert.ok(f, `${kw} --${n}`);
      assert.ok(f.example.includes(`--${n}`), `${kw} --${n} example`);
    }
  }
  const keys = MOUNT_KEYS.flatMap((k) => [k.name, ...k.aliases]);
  for (const k of ['type', 'target', 'dst', 'destination', 'source', 'src', 'from', 'ro', 'readonly', 'rw', 'id', 'sharing', 'mode', 'uid', 'gid', 'required', 'env', 'size']) assert.ok(keys.includes(k), k);
});
