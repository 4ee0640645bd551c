/**
 * The parser: ranges, directives, continuations, heredocs, flags, exec/shell form and errors. Each expected tree
 * shows every token with the source text its range covers. Every case also runs with CRLF line ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../engine/dockerfile';
import { renderTree } from '../helpers/render-tree';

function tree(name: string, text: string, expected: string): void {
  test(name, () => assert.equal(renderTree(parse(text)), expected));
  test(`${name} (CRLF)`, () => assert.equal(renderTree(parse(text.replace(/\n/g, '\r\n'))), expected));
}

tree(
  'flags and arguments have exact ranges; `--` ends the flags',
  'FROM --platform=linux/amd64 alpine:3 AS build\nCOPY --from=build --chmod=755 -- --weird /dst/\n',
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  flag platform="linux/amd64" "--platform=linux/amd64"@0:5-0:27
  arg "alpine:3" "alpine:3"@0:28-0:36
  arg "AS" "AS"@0:37-0:39
  arg "build" "build"@0:40-0:45
COPY lines 1-1 kw="COPY"@1:0-1:4
  flag from="build" "--from=build"@1:5-1:17
  flag chmod="755" "--chmod=755"@1:18-1:29
  arg "--weird" "--weird"@1:33-1:40
  arg "/dst/" "/dst/"@1:41-1:46`,
);

tree(
  'continuations join lines; comments and empty lines inside are dropped, the latter with a warning',
  'RUN apt-get update && \\\n    # refresh\n\n    apt-get install -y curl\n',
  `RUN lines 0-3 kw="RUN"@0:0-0:3
  arg "apt-get update &&     apt-get install -y curl" "apt-get update && \\\\\\n    # refresh\\n\\n    apt-get install -y curl"@0:4-3:27
  comment "refresh"@1
error InstructionBeforeFrom: RUN cannot appear before the first FROM: no build stage in current context "RUN"@0:0-0:3
warning NoEmptyContinuation: Empty continuation line found in: RUN apt-get update &&     apt-get install -y curl ""@2:0-2:0`,
);

test('the escape directive applies to every line of a continuation, not only the first', () => {
  const df = parse('# escape=`\nFROM a\nRUN a `\n b `\n c\nRUN x `\n y \\\n z\n');
  assert.deepEqual(
    df.instructions.map((i) => [i.logical, i.startLine, i.endLine]),
    [
      ['FROM a', 1, 1],
      ['RUN a  b  c', 2, 4],
      ['RUN x  y \\', 5, 6],
      ['z', 7, 7],
    ],
  );
});

tree(
  'the escape directive switches the continuation character; an escape at EOF is accepted',
  '# escape=`\nFROM x\nRUN dir c:\\ `\n  /s\nCMD echo `',
  `directive escape="\`" value="\`"@0:9-0:10
FROM lines 1-1 kw="FROM"@1:0-1:4
  arg "x" "x"@1:5-1:6
RUN lines 2-3 kw="RUN"@2:0-2:3
  arg "dir c:\\\\   /s" "dir c:\\\\ \`\\n  /s"@2:4-3:4
CMD lines 4-4 kw="CMD"@4:0-4:3
  arg "echo" "echo"@4:4-4:8`,
);

tree(
  'directives only before anything else; a repeated one is an error; unknown names end them',
  '# syntax=docker/dockerfile:1\n# check=skip=all\n# check=error=true\n# foo=bar\n# escape=`\nFROM x\n',
  `directive syntax="docker/dockerfile:1" value="docker/dockerfile:1"@0:9-0:28
directive check="skip=all" value="skip=all"@1:8-1:16
FROM lines 5-5 kw="FROM"@5:0-5:4
  arg "x" "x"@5:5-5:6
error DuplicateDirective: only one check parser directive can be used "# check=error=true"@2:0-2:18`,
);

tree(
  'a BOM before the first directive is skipped',
  '\ufeff# escape=`\nFROM x\n',
  `directive escape="\`" value="\`"@0:10-0:11
FROM lines 1-1 kw="FROM"@1:0-1:4
  arg "x" "x"@1:5-1:6`,
);

tree(
  'heredocs: plain, chomped, quoted (no expansion), fd prefix, several on one line, inside ONBUILD',
  'FROM x\nRUN <<EOF\necho $HOME\nEOF\nRUN <<-"END" 3<<\'B\' cat\n\techo one\n\tEND\ntwo\nB\nONBUILD COPY <<f /f\nbody\nf\n',
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  arg "x" "x"@0:5-0:6
RUN lines 1-3 kw="RUN"@1:0-1:3
  arg "<<EOF" "<<EOF"@1:4-1:9
  heredoc EOF fd=0 chomp=false expand=true content="echo $HOME\\n" word="<<EOF"@1:4-1:9 end=3:0-3:3
RUN lines 4-8 kw="RUN"@4:0-4:3
  arg "<<-\\"END\\" 3<<'B' cat" "<<-\\"END\\" 3<<'B' cat"@4:4-4:23
  heredoc END fd=0 chomp=true expand=false content="\\techo one\\n" word="<<-\\"END\\""@4:4-4:12 end=6:0-6:4
  heredoc B fd=3 chomp=false expand=false content="two\\n" word="3<<'B'"@4:13-4:19 end=8:0-8:1
ONBUILD lines 9-11 kw="ONBUILD"@9:0-9:7
  > COPY lines 9-11 kw="COPY"@9:8-9:12
  >   arg "<<f" "<<f"@9:13-9:16
  >   arg "/f" "/f"@9:17-9:19
  >   heredoc f fd=0 chomp=false expand=true content="body\\n" word="<<f"@9:13-9:16 end=11:0-11:1
  heredoc f fd=0 chomp=false expand=true content="body\\n" word="<<f"@9:13-9:16 end=11:0-11:1`,
);

tree(
  'an unterminated heredoc is an error at its word; JSON-form RUN has no heredocs',
  'FROM x\nRUN ["sh", "-c", "cat <<EOF"]\nRUN cat <<EOF\nno end\n',
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  arg "x" "x"@0:5-0:6
RUN (json) lines 1-1 kw="RUN"@1:0-1:3
  arg "sh" "\\"sh\\""@1:5-1:9
  arg "-c" "\\"-c\\""@1:11-1:15
  arg "cat <<EOF" "\\"cat <<EOF\\""@1:17-1:28
RUN lines 2-3 kw="RUN"@2:0-2:3
  arg "cat <<EOF" "cat <<EOF"@2:4-2:13
  heredoc EOF fd=0 chomp=false expand=true content="no end\\n" word="<<EOF"@2:8-2:13 end=none
error UnterminatedHeredoc: unterminated heredoc: no line "EOF" closes it "<<EOF"@2:8-2:13`,
);

tree(
  'exec form needs a JSON array of strings; single quotes fall back to shell form',
  "FROM x\nCMD ['a', 'b']\nENTRYPOINT [\"a\", 1]\nSHELL sh -c\n",
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  arg "x" "x"@0:5-0:6
CMD lines 1-1 kw="CMD"@1:0-1:3
  arg "['a', 'b']" "['a', 'b']"@1:4-1:14
ENTRYPOINT lines 2-2 kw="ENTRYPOINT"@2:0-2:10
  arg "[\\"a\\", 1]" "[\\"a\\", 1]"@2:11-2:19
SHELL lines 3-3 kw="SHELL"@3:0-3:5
  arg "sh -c" "sh -c"@3:6-3:11
error InvalidJSON: when using JSON array syntax, arrays must be comprised of strings only "[\\"a\\", 1]"@2:11-2:19
error ShellNotJSON: SHELL requires the arguments to be in JSON form "sh -c"@3:6-3:11`,
);

tree(
  'ENV and LABEL: key=value words with quotes kept, and the legacy form',
  'FROM x\nENV A="a b" B=c\\ d\nENV LEGACY value with spaces\nLABEL "k"=v\n',
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  arg "x" "x"@0:5-0:6
ENV lines 1-1 kw="ENV"@1:0-1:3
  arg "A" "A"@1:4-1:5
  arg "\\"a b\\"" "\\"a b\\""@1:6-1:11
  arg "=" "="@1:5-1:6
  arg "B" "B"@1:12-1:13
  arg "c\\\\ d" "c\\\\ d"@1:14-1:18
  arg "=" "="@1:13-1:14
ENV lines 2-2 kw="ENV"@2:0-2:3
  arg "LEGACY" "LEGACY"@2:4-2:10
  arg "value with spaces" "value with spaces"@2:11-2:28
  arg "" ""@2:10-2:10
LABEL lines 3-3 kw="LABEL"@3:0-3:5
  arg "\\"k\\"" "\\"k\\""@3:6-3:9
  arg "v" "v"@3:10-3:11
  arg "=" "="@3:9-3:10`,
);

tree(
  'flags: unknown (with a suggestion), duplicate, missing value, non-boolean, repeatable',
  'FROM x\nCOPY --form=a --link --link=maybe --exclude=a --exclude=b --chown . /\nRUN --mount=type=cach,target=/x --network=bogus true\n',
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  arg "x" "x"@0:5-0:6
COPY lines 1-1 kw="COPY"@1:0-1:4
  flag form="a" "--form=a"@1:5-1:13
  flag link=<none> "--link"@1:14-1:20
  flag link="maybe" "--link=maybe"@1:21-1:33
  flag exclude="a" "--exclude=a"@1:34-1:45
  flag exclude="b" "--exclude=b"@1:46-1:57
  flag chown=<none> "--chown"@1:58-1:65
  arg "." "."@1:66-1:67
  arg "/" "/"@1:68-1:69
RUN lines 2-2 kw="RUN"@2:0-2:3
  flag mount="type=cach,target=/x" "--mount=type=cach,target=/x"@2:4-2:31
  flag network="bogus" "--network=bogus"@2:32-2:47
  arg "true" "true"@2:48-2:52
error UnknownFlag: unknown flag: form (did you mean from?) "form"@1:7-1:11
error DuplicateFlag: duplicate flag specified: link "--link=maybe"@1:21-1:33
error FlagMissingValue: missing a value on flag: --chown "--chown"@1:58-1:65
error InvalidMount: unsupported mount type "cach" (did you mean cache?) "type=cach"@2:12-2:21
error FlagInvalidValue: invalid network mode "bogus" "bogus"@2:42-2:47`,
);

tree(
  'unknown instructions are kept with the nearest keyword; FROM and stage-name errors; ONBUILD triggers',
  'FROM x AS 1bad\nENDPOINT ["a"]\nONBUILD ONBUILD RUN x\nONBUILD FROM y\nHEALTHCHECK --interval=1x CMD true\nFROM a b\n',
  `FROM lines 0-0 kw="FROM"@0:0-0:4
  arg "x" "x"@0:5-0:6
  arg "AS" "AS"@0:7-0:9
  arg "1bad" "1bad"@0:10-0:14
ENDPOINT lines 1-1 kw="ENDPOINT"@1:0-1:8
ONBUILD lines 2-2 kw="ONBUILD"@2:0-2:7
  > ONBUILD lines 2-2 kw="ONBUILD"@2:8-2:15
  >   > RUN lines 2-2 kw="RUN"@2:16-2:19
  >   >   arg "x" "x"@2:20-2:21
ONBUILD lines 3-3 kw="ONBUILD"@3:0-3:7
  > FROM lines 3-3 kw="FROM"@3:8-3:12
  >   arg "y" "y"@3:13-3:14
HEALTHCHECK lines 4-4 kw="HEALTHCHECK"@4:0-4:11
  flag interval="1x" "--interval=1x"@4:12-4:25
  arg "CMD" "CMD"@4:26-4:29
  arg "true" "true"@4:30-4:34
FROM lines 5-5 kw="FROM"@5:0-5:4
  arg "a" "a"@5:5-5:6
  arg "b" "b"@5:7-5:8
error InvalidStageName: invalid name for build stage: "1bad", name can't start with a number or contain symbols "1bad"@0:10-0:14
error UnknownInstruction: unknown instruction: ENDPOINT (did you mean ENTRYPOINT?) "ENDPOINT"@1:0-1:8
error OnbuildChain: Chaining ONBUILD via \`ONBUILD ONBUILD\` isn't allowed "ONBUILD"@2:8-2:15
error OnbuildForbidden: FROM isn't allowed as an ONBUILD trigger "FROM"@3:8-3:12
error FlagInvalidValue: time: invalid duration "1x" "1x"@4:23-4:25
error InvalidFrom: FROM requires either one or three arguments "a b"@5:5-5:8`,
);

test('stages, global ARGs and stage references', () => {
  const df = parse('ARG V=1\nFROM alpine:$V AS Base\nRUN true\nFROM base AS second\nCOPY --from=base / /\nFROM scratch\n');
  assert.deepEqual(
    df.stages.map((s) => ({ index: s.index, name: s.name, base: s.base, n: s.instructions.length, lines: [s.range.start.line, s.range.end.line] })),
    [
      { index: 0, name: 'base', base: { kind: 'image', ref: 'alpine:$V' }, n: 1, lines: [1, 2] },
      { index: 1, name: 'second', base: { kind: 'stage', stage: 0 }, n: 1, lines: [3, 4] },
      { index: 2, name: undefined, base: { kind: 'scratch' }, n: 0, lines: [5, 5] },
    ],
  );
  assert.deepEqual(df.globalArgs.map((a) => a.argDeclarations!.map((d) => [d.name.value, d.defaultValue?.value])), [[['V', '1']]]);
});

test('RUN --mount options are typed with ranges; secret mounts need a source or target', () => {
  const df = parse('FROM x\nRUN --mount=type=secret,id=tok,required --mount=type=bind,uid=1 --mount=type=secret true\n');
  const run = df.instructions[1]!;
  assert.deepEqual(run.mounts!.map((m) => [m.type, m.options.map((o) => `${o.key}=${o.value ?? ''}`).join(',')]), [
    ['secret', 'type=secret,id=tok,required='],
    ['bind', 'type=bind,uid=1'],
    ['secret', 'type=secret'],
  ]);
  assert.deepEqual(
    df.problems.map((p) => p.message),
    ['uid not allowed for "bind" type mounts', 'invalid secret mount. one of source, target required'],
  );
});

test('a file with no instructions is an error; the parser never throws on odd input', () => {
  assert.deepEqual(parse('# only a comment\n\n').problems.map((p) => p.code), ['NoInstructions']);
  assert.deepEqual(parse('').problems.map((p) => p.code), ['NoInstructions']);
  for (const odd of ['\\', '`', '<<', 'RUN <<', 'RUN <<"', 'FROM\n\\\n', '\r\r\n', 'ONBUILD', 'HEALTHCHECK', 'ENV', 'ARG ='])
    assert.doesNotThrow(() => parse(odd));
  // keywords that are names of Object.prototype's properties are unknown instructions like any other
  for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    const df = parse(`FROM a\n${k} x\nONBUILD ${k} y\n`);
    assert.deepEqual(df.instructions.map((i) => i.known), [true, false, true], k);
    assert.deepEqual(df.problems.map((p) => p.code), ['UnknownInstruction', 'UnknownInstruction'], k);
  }
});

test('partitionPoint and instructionAt: binary search agrees with a scan, on every line of a Dockerfile with gaps', async () => {
  const { partitionPoint } = await import('../../engine/dockerfile/text');
  const { instructionAt, parse: parseDf } = await import('../../engine/dockerfile');
  for (let n = 0; n < 40; n++) {
    const xs = Array.from({ length: n }, (_, i) => (i * 7) % 5).sort((a, b) => a - b);
    for (let v = -1; v <= 5; v++) assert.equal(partitionPoint(xs.length, (i) => xs[i]! < v), xs.filter((x) => x < v).length);
  }
  const df = parseDf('# c\nFROM a\n\nRUN x \\\n  y\n# between\nCOPY . /\n\n');
  const lines = df.text.split('\n').length;
  for (let line = 0; line < lines; line++) {
    const scan = df.instructions.find((i) => i.startLine <= line && line <= i.endLine);
    assert.equal(instructionAt(df, line), scan, `line ${line}`);
  }
});

test('parseGoDuration: the digits-and-unit fast path agrees with the general parser', async () => {
  const { parseGoDuration } = await import('../../engine/dockerfile/instructions');
  const cases: [string, number | undefined][] = [
    ['30s', 30000], ['3s', 3000], ['007m', 420000], ['1h', 3600000], ['5ms', 5], ['2us', 0.002], ['4ns', 4e-6], ['0', 0], ['0s', 0],
    ['1m30s', 90000], ['1.5s', 1500], ['-2s', -2000], ['+2s', 2000], ['2µs', 0.002], ['10', undefined], ['s', undefined], ['1x', undefined], ['', undefined], ['1sm', undefined], ['.s', undefined],
  ];
  for (const [s, ms] of cases) assert.equal(parseGoDuration(s), ms, s);
});
