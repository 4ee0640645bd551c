// The extension's pure build-event handling: JSON-lines splitting, the folded build model, BuildKit-style plain
// log text and the inline decoration wording.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildEvent, StepEvent } from '../../engine/build/events';
import { JsonLineParser } from '../../client/build/jsonLines';
import { BuildRecord } from '../../client/build/model';
import { PlainLogRenderer } from '../../client/build/plainLog';
import { predictedDecoration, stepDecoration } from '../../client/build/stepText';
import { formatSize } from '../../client/build/format';

const FIXTURES = join(__dirname, '..', 'e2e', 'fixtures', 'recorded');
const recording = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

test('JsonLineParser: events split across chunks, CRLF, and stray text kept as log lines', () => {
  const p = new JsonLineParser();
  const line = '{"v":1,"type":"log","id":3,"stream":"stdout","text":"hello"}';
  assert.deepEqual(p.push(line.slice(0, 10)), []);
  const got = [...p.push(line.slice(10) + '\r\nnot json\n{"v":1,"type":"bogus"}\n'), ...p.end()];
  assert.deepEqual(
    got.map((e) => (e.type === 'log' ? `${e.id}:${e.text}` : e.type)),
    ['3:hello', '0:not json', '0:{"v":1,"type":"bogus"}'],
  );
});

function replay(name: string): { record: BuildRecord; events: BuildEvent[] } {
  const p = new JsonLineParser();
  const events = [...p.push(recording(name)), ...p.end()];
  const record = new BuildRecord('/w/Dockerfile', 0);
  for (const e of events) record.apply(e);
  return { record, events };
}

test('BuildRecord folds a recorded build: stages, steps, counts, summary', () => {
  const { record } = replay('build-built.jsonl');
  assert.deepEqual(
    record.stages().map((s) => `${s.name ?? s.index}: ${s.steps.map((x) => `${x.index}/${x.total} ${x.status}`).join(', ')}`),
    ['build: 1/4 cached, 2/4 cached, 3/4 done, 4/4 done', '1: 1/3 cached, 2/3 done, 3/3 done'],
  );
  const c = record.counts();
  assert.equal(c.cached, 3);
  assert.equal(c.built, 3); // the CMD step only changes the config
  assert.match(record.summary(), /^ok in \d+\.\ds \(3 cached, 3 built\)$/);
});

test('BuildRecord: a failed build reports the error', () => {
  const { record } = replay('build-error.jsonl');
  assert.equal(record.end?.ok, false);
  assert.match(record.summary(), /^failed: /);
  assert.equal(record.orderedSteps().find((s) => s.status === 'error')?.range.start.line, 3);
});

test('PlainLogRenderer prints BuildKit plain progress from events', () => {
  let now = 1000;
  const r = new PlainLogRenderer(() => now, () => ['FROM busybox', 'RUN make']);
  const step = (status: StepEvent['status'], extra: Partial<StepEvent> = {}): StepEvent => ({
    v: 1, type: 'step', id: 2, stage: 0, stageName: 'build', index: 2, total: 2, instruction: 'RUN make',
    range: { start: { line: 1, character: 0 }, end: { line: 1, character: 8 } }, status, ...extra,
  });
  let out = r.render(step('running'));
  now = 1412;
  out += r.render({ v: 1, type: 'log', id: 2, stream: 'stdout', text: 'cc main.c\n' });
  out += r.render(step('done', { duration: 1.23, layer: { digest: 'sha256:' + 'ab'.repeat(32), diffId: 'sha256:x', size: 42 } }));
  out += r.render(step('done')); // a repeated final event prints nothing
  assert.equal(out, `#2 [build 2/2] RUN make\n#2 0.412 cc main.c\n#2 layer ${'ab'.repeat(6)} 42 bytes\n#2 DONE 1.2s\n`);
  const err = r.render({ v: 1, type: 'build-end', time: 0, ok: false, duration: 1, error: { message: 'exit code: 2', range: { start: { line: 1, character: 0 }, end: { line: 1, character: 8 } } } });
  assert.equal(err, 'Dockerfile:2\n--------------------\n   1 |     FROM busybox\n   2 | >>> RUN make\n--------------------\nERROR: failed to solve: exit code: 2\n');
});

test('decoration text: cached, built with time and size, miss reason on hover, predictions', () => {
  const { record } = replay('build-built.jsonl');
  const steps = record.orderedSteps();
  const built = steps.find((s) => s.status === 'done' && s.miss?.kind === 'files-changed');
  assert.ok(built, 'the recording has a step that missed because files changed');
  const d = stepDecoration(built);
  assert.equal(d.kind, 'built');
  assert.equal(d.text, `built in ${built.duration!.toFixed(1)}s · ${formatSize(built.layer!.size)}`);
  assert.match(d.hover, /cache miss: files changed: /);
  const cached = stepDecoration(steps.find((s) => s.status === 'cached')!);
  assert.equal(cached.kind, 'cached');
  assert.match(cached.text, /^cached/);
  const config = stepDecoration(steps.find((s) => s.instruction.startsWith('CMD'))!);
  assert.deepEqual([config.kind, config.text], ['metadata', 'config only · no layer']);
  const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } };
  assert.equal(predictedDecoration({ range, stage: 0, keyword: 'RUN', status: 'miss', reason: 'ARG V changed' }).text, 'will rebuild: ARG V changed');
  assert.equal(predictedDecoration({ range, stage: 0, keyword: 'RUN', status: 'unknown', reason: 'no build yet' }).text, 'cache status unknown: no build yet');
});
