// Definition, references, highlights and rename for stages and ARG/ENV, on fixtures with a cursor marker;
// results are rendered as `line:col text` so a failure reads like the Dockerfile. LF and CRLF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definition, highlights, prepareRename, references, rename } from '../../server/features/navigation';
import { applyEdits } from '../../server/features/formatting';
import { textIn, variants, type Fixture } from '../helpers/cursor';
import type { Range } from '../../engine/dockerfile/types';

const show = (f: Fixture, rs: Range[]) => rs.map((r) => `${r.start.line}:${r.start.character} ${textIn(f, r)}`);

function each(name: string, marked: string, fn: (f: Fixture) => void): void {
  for (const f of variants(marked)) test(`${name} (${f.eol})`, () => fn(f));
}

const STAGES = 'FROM golang AS build\nRUN go build\nFROM build AS test\nFROM alpine\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nRUN --mount=from=build,target=/x true\n';

each('stage: definition from COPY --from', STAGES.replace('--from=build /a', '--from=bu|ild /a'), (f) => {
  assert.deepEqual(show(f, definition(f.parsed, f.position)), ['0:15 build']);
});

each('stage: references from the AS name (FROM x, COPY --from, --mount from, index)', STAGES.replace('AS build', 'AS bu|ild'), (f) => {
  assert.deepEqual(show(f, references(f.parsed, f.position, true)), ['0:15 build', '2:5 build', '4:12 build', '5:12 0', '6:17 build']);
  assert.deepEqual(show(f, references(f.parsed, f.position, false)), ['2:5 build', '4:12 build', '5:12 0', '6:17 build']);
});

each('stage: rename leaves index references alone and is valid after applying', STAGES.replace('AS build', 'AS bu|ild'), (f) => {
  const r = rename(f.parsed, f.position, 'compile');
  assert.ok(r && 'edits' in r);
  const out = applyEdits(f.text, f.parsed.lineStarts, r.edits).replace(/\r\n/g, '\n');
  assert.equal(out, STAGES.replace(/build/g, 'compile').replace('go compile', 'go build'));
  const bad = rename(f.parsed, f.position, 'has space');
  assert.ok(bad && 'error' in bad);
});

// two stages of one name: a name means the later one defined by then, as BuildKit resolves it
const DUP = 'FROM alpine AS dup\nFROM dup AS mid\nFROM debian AS dup\nFROM busybox\nCOPY --from=dup /a /a\n';
each('stage named twice: COPY --from means the later one', DUP.replace('--from=dup', '--from=d|up'), (f) => {
  assert.deepEqual(show(f, definition(f.parsed, f.position)), ['2:15 dup']);
});
each('stage named twice: FROM between them means the one before it', DUP.replace('FROM dup AS mid', 'FROM d|up AS mid'), (f) => {
  assert.deepEqual(show(f, definition(f.parsed, f.position)), ['0:15 dup']);
});

each('stage referenced by index cannot start a rename', STAGES.replace('--from=0', '--from=|0'), (f) => {
  assert.equal(prepareRename(f.parsed, f.position), null);
});

const VARS = 'ARG VERSION=1\nFROM alpine:${VERSION} AS a\nARG VERSION\nRUN echo $VERSION\nENV VERSION=2\nRUN echo $VERSION\nFROM alpine\nARG VERSION=3\nRUN echo ${VERSION}\n';

each('global ARG: references include re-declarations in stages and their uses', VARS.replace('ARG VERSION=1', 'ARG VER|SION=1'), (f) => {
  assert.deepEqual(show(f, references(f.parsed, f.position, true)), ['0:4 VERSION', '1:14 VERSION', '2:4 VERSION', '3:10 VERSION', '7:4 VERSION', '8:11 VERSION']);
});

each('ENV shadows the ARG after it: its uses belong to the ENV', VARS.replace('ENV VERSION=2\nRUN echo $VERSION', 'ENV VERSION=2\nRUN echo $VER|SION'), (f) => {
  assert.deepEqual(show(f, definition(f.parsed, f.position)), ['4:4 VERSION']);
  assert.deepEqual(show(f, references(f.parsed, f.position, true)), ['4:4 VERSION', '5:10 VERSION']);
  const hl = highlights(f.parsed, f.position).map((h) => `${h.range.start.line}:${h.kind === 3 ? 'write' : 'read'}`);
  assert.deepEqual(hl, ['4:write', '5:read']);
});

each('rename a variable everywhere it is the same build argument', VARS.replace('RUN echo ${VERSION}', 'RUN echo ${VERS|ION}'), (f) => {
  const r = rename(f.parsed, f.position, 'APP_VERSION');
  assert.ok(r && 'edits' in r);
  const out = applyEdits(f.text, f.parsed.lineStarts, r.edits).replace(/\r\n/g, '\n');
  assert.equal(out, 'ARG APP_VERSION=1\nFROM alpine:${APP_VERSION} AS a\nARG APP_VERSION\nRUN echo $APP_VERSION\nENV VERSION=2\nRUN echo $VERSION\nFROM alpine\nARG APP_VERSION=3\nRUN echo ${APP_VERSION}\n');
});

each('ENV is inherited by a stage built FROM it', 'FROM alpine AS base\nENV HOME_DIR=/h\nFROM base\nWORKDIR $HOME_|DIR', (f) => {
  assert.deepEqual(show(f, definition(f.parsed, f.position)), ['1:4 HOME_DIR']);
});

each('uses in heredoc bodies and flags count; single quotes and escaped dollars do not', "FROM alpine\nARG D=/d\nRUN --mount=type=cache,target=$D <<EOF\necho $D '$D' \\$D\nEOF\nCOPY <<'EOT' /f\n$D\nEOT\nWORKDIR $|D", (f) => {
  assert.deepEqual(show(f, references(f.parsed, f.position, true)), ['1:4 D', '2:31 D', '3:6 D', '8:9 D']);
});

each('nothing at a plain word', 'FROM alpine\nRUN ec|ho', (f) => {
  assert.deepEqual(definition(f.parsed, f.position), []);
  assert.equal(rename(f.parsed, f.position, 'x'), null);
});
