/**
 * The incremental paths give exactly what a from-scratch run gives: `reparse` (server/incrementalParse.ts) the
 * same tree as `parse`, and the diagnostics of a document edited step by step the same diagnostics as a fresh
 * computation, over random edit sequences (seeded: INC_SEED replays one; INC_EDITS sets how many).
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { describe, it } from 'node:test';
import { parse } from '../../engine/dockerfile/index';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { generateDockerfile } from '../../bench/lsp/generate';
import { commonEnds, reparse, type ReparseStats } from '../../server/incrementalParse';
import { prng } from '../helpers/prng';
import { computeDiagnostics, type DiagnosticsResult } from '../../server/features/diagnostics';
import { IncrementalRules } from '../../server/rules/incremental';
import { carryScopes, scopesOf } from '../../server/rules/scopes';
import { allRules } from '../../server/rules/index';
import { commandsNamed } from '../../server/rules/runHelpers';
import { defaultSettings } from '../../server/settings';

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

/** Rule triggers, so that the instruction- and stage-scoped rules have findings to keep and move. */
const RULE_SNIPPETS = [
  'RUN apt-get install curl\n', 'RUN apt-get update\n', 'RUN apt install x\n', 'RUN pip install flask\n', 'RUN cd /x && make\n',
  'EXPOSE 80:80/TCP\n', 'MAINTAINER me\n', 'ENV A 1\n', 'LABEL build_date=2024-01-01\n', 'ARG BUILD_NUMBER\n', 'CMD a\n', 'CMD b\n',
  'COPY . .\n', 'RUN npm install\n', 'STOPSIGNAL FOO\n', 'ONBUILD RUN apt-get install x\n', 'RUN wget x\n', 'RUN useradd -u 123456 x\n',
  'ADD a /b\n', 'RUN yarn install\n', 'ENV A=1 B=$A\n', 'LABEL Bad_Key=1\n', 'ARG SECRET_TOKEN\n', '# hadolint ignore=DL3008\n',
  'RUN gem install x\n', 'RUN apk add y\n', 'HEALTHCHECK CMD a\n', 'HEALTHCHECK CMD b\n', 'FROM alpine AS s\n', 'RUN <<EOF\napt-get install z\nEOF\n',
];

/** Findings as comparable data: the instruction a finding points at by its first line. */
function comparable(r: DiagnosticsResult): unknown {
  return { diagnostics: r.diagnostics, findings: r.findings.map((f) => ({ ...f, instruction: f.instruction ? `${f.instruction.keyword}@${f.instruction.startLine}` : undefined })) };
}

describe(`incremental diagnostics equal a from-scratch run (${EDITS} random edits per seed text, seed ${SEED})`, () => {
  const texts = [...SEEDS, '# check=skip=DL3059\nFROM a\nRUN a\nRUN b\n', 'FROM a\r\nRUN apt-get install x\r\nRUN b\r\nMAINTAINER x\r\n'];
  texts.forEach((start, k) => {
    it(`seed text #${k + 1}`, () => {
      const random = prng(SEED + 100 + k);
      const inc = new IncrementalRules(allRules);
      let text = start;
      let tree = parse(text);
      let recomputed = 0;
      let sameLine = 0;
      let units = 0;
      let carried = 0;
      for (let i = 0; i < EDITS; i++) {
        const r = random();
        const next = r < 0.35 ? edit(text, random) : r < 0.7 ? editWith(text, random, RULE_SNIPPETS) : inLine(text, random);
        const stats: ReparseStats = { mode: 'full', parsed: 0 };
        const prevTree = tree;
        tree = reparse(tree, next, stats);
        if (stats.region) carryScopes(prevTree, tree, stats.region);
        if (scopesOf(prevTree) && stats.region?.delta === 0) sameLine++;
        const got = computeDiagnostics(tree, { uri: 'file:///x/Dockerfile', settings: defaultSettings, incremental: inc });
        const want = computeDiagnostics(parse(next), { uri: 'file:///x/Dockerfile', settings: defaultSettings });
        assert.deepEqual(comparable(got), comparable(want), `edit ${i + 1} (seed ${SEED + 100 + k}):\n--- before\n${text}\n--- after\n${next}`);
        recomputed += inc.lastRecomputed.instructions;
        units += tree.instructions.length;
        if (scopesOf(tree).carried) carried++;
        text = next;
      }
      // the point of it: most instructions are not recomputed
      // on the larger text most instructions must be reused (small texts often take the full-parse path)
      if (k === 0) assert.ok(recomputed < units / 2, `recomputed ${recomputed} of ${units}`);
      assert.ok(sameLine > EDITS / 10, `only ${sameLine} same-line edits`);
      assert.ok(carried > 0, 'no edit carried the scopes over');
    });
  });

  it('an edit in the middle of the 5,000-line file recomputes one instruction and one stage', () => {
    const text = generateDockerfile(5000);
    const inc = new IncrementalRules(allRules);
    let tree = parse(text);
    // as the server does after a document's first (plain) diagnostics
    inc.prime(tree, { uri: 'file:///x/Dockerfile' });
    assert.ok(inc.warm);
    const lines = text.split('\n');
    lines[2500] += ' ';
    tree = reparse(tree, lines.join('\n'));
    const got = computeDiagnostics(tree, { uri: 'file:///x/Dockerfile', settings: defaultSettings, incremental: inc });
    // the edited instruction (the one before it is parsed again too, but known to be the same)
    assert.deepEqual(inc.lastRecomputed, { instructions: 1, stages: 1 });
    assert.deepEqual(comparable(got), comparable(computeDiagnostics(parse(lines.join('\n')), { uri: 'file:///x/Dockerfile', settings: defaultSettings })));
  });
});

function editWith(text: string, random: () => number, snippets: string[]): string {
  // at a line start, so that whole instructions come and go
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const at = starts[Math.floor(random() * starts.length)]!;
  if (random() < 0.3) {
    const end = text.indexOf('\n', at);
    return text.slice(0, at) + (end < 0 ? '' : text.slice(end + 1));
  }
  return text.slice(0, at) + snippets[Math.floor(random() * snippets.length)]! + text.slice(at);
}

/** An edit inside one line (the line count stays): what typing mostly is. */
const IN_LINE = ['x', ' ', '$V', '${V}', '${A:-b}', '"', "'", ' && apt-get install y', ' | grep x', ' -y', '=1.2', '\\', '#', 'EOF', '<<EOF', 'é'];
function inLine(text: string, random: () => number): string {
  const at = Math.floor(random() * (text.length + 1));
  if (text[at] === '\n' || text[at - 1] === '\n' || random() < 0.5) return text.slice(0, at) + IN_LINE[Math.floor(random() * IN_LINE.length)]! + text.slice(at);
  const end = text.indexOf('\n', at);
  const len = Math.floor(random() * Math.max(0, (end < 0 ? text.length : end) - at));
  return text.slice(0, at) + text.slice(at + len);
}

describe('commonEnds: the common prefix and suffix, block-wise', () => {
  /** the plain character loop it replaces */
  function naive(a: string, b: string): [number, number] {
    const min = Math.min(a.length, b.length);
    let p = 0;
    while (p < min && a.charCodeAt(p) === b.charCodeAt(p)) p++;
    let s = 0;
    while (s < min - p && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
    return [p, s];
  }
  it('agrees with the character loop on edits at every distance from the block edges, and on repeats', () => {
    const random = prng(SEED);
    const base = generateDockerfile(60);
    let checked = 0;
    for (const len of [0, 1, 255, 256, 257, 511, 512, 513, 1024, base.length]) {
      const a = base.slice(0, len);
      for (let k = 0; k < 40; k++) {
        const at = Math.floor(random() * (a.length + 1));
        const cut = Math.floor(random() * 4);
        const ins = ['', 'x', 'ab', 'a'.repeat(300), '\n'][Math.floor(random() * 5)]!;
        const b = a.slice(0, at) + ins + a.slice(at + cut);
        assert.deepEqual(commonEnds(a, b), naive(a, b), `len ${len} at ${at} cut ${cut} insert ${JSON.stringify(ins)}`);
        assert.deepEqual(commonEnds(b, a), naive(b, a));
        checked++;
      }
    }
    // runs of one character, where prefix and suffix could overlap
    for (const [a, b] of [['a'.repeat(700), 'a'.repeat(701)], ['a'.repeat(512), 'a'.repeat(512)], ['', 'a'.repeat(300)], ['ab'.repeat(300), 'ab'.repeat(300) + 'a']]) {
      assert.deepEqual(commonEnds(a!, b!), naive(a!, b!));
      checked++;
    }
    assert.ok(checked > 400);
  });
});

describe('RUN commands shared between trees', () => {
  it("each tree's commands name that tree's stages, whichever tree was indexed last", () => {
    const text = 'FROM a AS one\nRUN apt-get update\nFROM b AS two\nRUN apt-get install -y x && apt-get clean\n';
    const a = parse(text);
    const lines = text.split('\n');
    lines[2] += ' ';
    const b = reparse(a, lines.join('\n'));
    // the edit kept the RUN instructions: both trees hold the same objects, in stage objects of their own
    assert.equal(b.stages[1]!.instructions[0], a.stages[1]!.instructions[0]);
    assert.notEqual(b.stages[1], a.stages[1]);
    // a sub-tree with copied stages, as the incremental rules make
    const sub: Dockerfile = { ...a, stages: a.stages.map((s) => ({ ...s, instructions: [...s.instructions] })) };
    const stagesOf = (f: Dockerfile): Set<unknown> => new Set(commandsNamed(f, ['apt-get']).map((c) => c.stage));
    for (const order of [[a, b, sub, a], [sub, b, a, b], [b, a, sub, b, sub]]) {
      for (const f of order) {
        const got = commandsNamed(f, ['apt-get']);
        assert.equal(got.length, 3);
        assert.deepEqual([...stagesOf(f)], [f.stages[0], f.stages[1]]);
        for (const c of got) assert.ok(f.stages.includes(c.stage) && c.stage.instructions.includes(c.ins));
      }
    }
  });
});

describe('scopes carried over many edits', () => {
  it('give every instruction the variables a fresh resolve gives, before and after the carried view is flattened', () => {
    const lines = ['ARG V=1', 'FROM a AS one', 'ENV E=2', 'RUN echo one', 'COPY $V /x', 'FROM one', 'ARG W=$V', 'RUN echo two', 'WORKDIR /$W', ''];
    let tree = parse(lines.join('\n'));
    scopesOf(tree);
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      // typing in a RUN line, then deleting it again: the line count stays, no ARG/ENV/FROM changes
      const at = i % 2 === 0 ? 3 : 7;
      lines[at] = i % 4 < 2 ? lines[at] + 'x' : lines[at]!.slice(0, -1);
      const text = lines.join('\n');
      const stats: ReparseStats = { mode: 'full', parsed: 0 };
      const prev = tree;
      tree = reparse(tree, text, stats);
      assert.ok(stats.region);
      carryScopes(prev, tree, stats.region);
      const got = scopesOf(tree);
      assert.ok(got.carried, `edit ${i + 1} did not carry`);
      kinds.add(got.scopes.before instanceof Map ? 'map' : 'view');
      const freshTree = parse(text);
      const fresh = scopesOf(freshTree);
      const vars = (s: typeof got, ins: Dockerfile['instructions'][number]): string =>
        JSON.stringify([...(s.scopes.before.get(ins) ?? new Map()).values()].map((v) => [v.name, v.value]));
      tree.instructions.forEach((ins, k) => assert.equal(vars(got, ins), vars(fresh, freshTree.instructions[k]!), `edit ${i + 1}, line ${ins.startLine + 1}`));
      assert.deepEqual(got.expansionErrors, fresh.expansionErrors);
      assert.equal(got.unmatched.length, fresh.unmatched.length);
    }
    // both forms were used: the view for most edits, a flattened Map once it grew
    assert.deepEqual([...kinds].sort(), ['map', 'view']);
  });
});

describe('trees keep the shapes of a full parse', () => {
  it('a re-parsed tree, the instructions the edit re-parsed and carried scopes have the hidden classes a full parse gives', () => {
    // V8's own check (the rules' optimised code is specialised to these classes: new ones send it back to the interpreter)
    setFlagsFromString('--allow-natives-syntax');
    const sameClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;
    const text = generateDockerfile(400);
    const lines = text.split('\n');
    const full0 = parse(text);
    scopesOf(full0);
    lines[200] += ' ';
    const edited = lines.join('\n');
    const stats: ReparseStats = { mode: 'full', parsed: 0 };
    const re = reparse(full0, edited, stats);
    assert.equal(stats.mode, 'incremental');
    assert.ok(stats.region);
    carryScopes(full0, re, stats.region);
    const full = parse(edited);
    assert.ok(sameClass(re, full), 'tree');
    const k = re.instructions.findIndex((ins, i) => ins !== full0.instructions[i]);
    assert.ok(k > 0);
    for (const i of [k, k + 1, k + 10]) assert.ok(sameClass(re.instructions[i], full.instructions[i]), `instruction ${i}`);
    assert.ok(sameClass(re.stages[5], full.stages[5]), 'stage');
    const carried = scopesOf(re);
    assert.ok(carried.carried);
    assert.ok(sameClass(carried, scopesOf(full)), 'file scopes');
    assert.ok(sameClass(carried.scopes, scopesOf(full).scopes), 'scopes');
  });
});
