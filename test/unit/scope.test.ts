/** ARG/ENV scope and the instructions BuildKit expands. Every case also runs with CRLF line ends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandInstruction, parse, resolveScopes, type ScopeOptions } from '../../engine/dockerfile';

function forBoth(name: string, text: string, fn: (text: string) => void): void {
  test(name, () => fn(text));
  test(`${name} (CRLF)`, () => fn(text.replace(/\n/g, '\r\n')));
}

/** Expands every instruction and renders `LINE KEYWORD -> words | pairs | flags | unmatched` lines. */
function render(text: string, opts: ScopeOptions = {}): string {
  const df = parse(text);
  const sc = resolveScopes(df, opts);
  const lines: string[] = [];
  df.stages.forEach((st, i) => lines.push(`${st.from.startLine + 1} FROM -> ${sc.stageBase[i]!.image}${sc.stageBase[i]!.platform ? ' on ' + sc.stageBase[i]!.platform : ''}`));
  for (const st of df.stages)
    for (const ins of st.instructions) {
      const e = expandInstruction(ins, sc.before.get(ins)!, df.escape);
      const parts = [
        ...e.words.map((w) => w.value),
        ...e.pairs.map((p) => `${p.key}=${p.value}`),
        ...[...e.flags].map(([k, v]) => `--${k}=${v.join(',')}`),
        ...e.unmatched.map((u) => `?${u.name}`),
        ...e.errors.map((x) => `!${x.message}`),
      ];
      if (parts.length) lines.push(`${ins.startLine + 1} ${ins.keyword} -> ${parts.join(' ')}`);
    }
  return lines.join('\n');
}

forBoth(
  'global ARGs are seen by FROM only; a bare ARG in a stage inherits the global value',
  'ARG TAG=3.19\nARG BASE=alpine\nFROM ${BASE}:${TAG} AS a\nWORKDIR /v/${TAG}\nARG TAG\nWORKDIR /w/${TAG}\n',
  (t) => assert.equal(render(t), '3 FROM -> alpine:3.19\n4 WORKDIR -> /v/ ?TAG\n6 WORKDIR -> /w/3.19'),
);

forBoth(
  'a build arg overrides the default, globally and in stages',
  'ARG V=1\nFROM x:$V\nARG V\nARG W=def\nLABEL v=$V w=$W\n',
  (t) => assert.equal(render(t, { buildArgs: { V: '9', W: 'cli' } }), '2 FROM -> x:9\n5 LABEL -> v=9 w=cli'),
);

forBoth(
  'ENV after an ARG overrides it; an ARG with a value after an ENV overrides that (BuildKit adds it to the state)',
  'FROM x\nARG B=arg\nENV B=env\nWORKDIR /$B\nENV A=env\nARG A=arg\nARG C\nWORKDIR /$A/$C\n',
  (t) => assert.equal(render(t, { buildArgs: { B: 'cli' } }), '1 FROM -> x\n3 ENV -> B=env\n4 WORKDIR -> /env\n5 ENV -> A=env\n8 WORKDIR -> /arg/ ?C'),
);

forBoth(
  'one value per variable per instruction: ENV sees the values from before it',
  'FROM x\nENV a=1\nENV a=2 b=$a\nENV c=$a\n',
  (t) => assert.equal(render(t), '1 FROM -> x\n2 ENV -> a=1\n3 ENV -> a=2 b=1\n4 ENV -> c=2'),
);

forBoth(
  'quotes in ENV values are processed; EXPOSE splits words; COPY expands sources, dest and --chown, not --chmod (as Docker 26)',
  'FROM x\nARG U=app P="80 443/udp"\nENV MSG="hello world"\nEXPOSE $P\nCOPY --chown=$U:$U --chmod=$U src/$U /home/$U/\nRUN --mount=type=cache,target=/c/$U true\n',
  (t) =>
    assert.equal(
      render(t),
      '1 FROM -> x\n3 ENV -> MSG=hello world\n4 EXPOSE -> 80 443/udp\n5 COPY -> src/app /home/app/ --chown=app:app\n6 RUN -> --mount=type=cache,target=/c/app',
    ),
);

forBoth(
  'predefined platform ARGs: available to FROM, and in a stage only after ARG',
  'FROM --platform=$BUILDPLATFORM img-$TARGETARCH\nWORKDIR /$TARGETOS\nARG TARGETOS\nWORKDIR /$TARGETOS\n',
  (t) =>
    assert.equal(
      render(t, { targetPlatform: { os: 'linux', architecture: 'arm64' }, buildPlatform: { os: 'linux', architecture: 'amd64' } }),
      '1 FROM -> img-arm64 on linux/amd64\n2 WORKDIR -> / ?TARGETOS\n4 WORKDIR -> /linux',
    ),
);

forBoth(
  'a stage built on another inherits its ENV but not its ARGs',
  'FROM x AS base\nENV E=1\nARG A=2\nFROM base\nWORKDIR /$E/$A\n',
  (t) => assert.equal(render(t), '1 FROM -> x\n4 FROM -> base\n2 ENV -> E=1\n5 WORKDIR -> /1/ ?A'),
);

forBoth(
  'expansion errors come back with the range of the word',
  'FROM x\nWORKDIR ${NOPE:?must be set}\n',
  (t) => {
    const df = parse(t);
    const sc = resolveScopes(df);
    const w = df.stages[0]!.instructions[0]!;
    const e = expandInstruction(w, sc.before.get(w)!);
    assert.equal(e.errors.length, 1);
    assert.match(e.errors[0]!.message, /must be set/);
    assert.deepEqual(e.errors[0]!.range.start, { line: 1, character: 8 });
  },
);

forBoth('the escape directive applies to expansion', '# escape=`\nFROM x\nENV A=1\nWORKDIR /`$A/$A\n', (t) =>
  assert.equal(render(t), '2 FROM -> x\n3 ENV -> A=1\n4 WORKDIR -> /$A/1'),
);
