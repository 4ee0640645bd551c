/** The formatting helpers of the image commands: docker's sizes and durations, tables, flags, Go templates. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ellipsis, goRfc3339Local, goRfc3339Nano, humanDuration, humanSize, parseFlags, table, timeAgo } from '../../engine/cli/commands/image-cli';
import { compileTemplate } from '../../engine/cli/commands/go-template';
import { applyChanges } from '../../engine/image/changes';

describe('docker units', () => {
  it('humanSize is units.HumanSizeWithPrecision(n, 3)', () => {
    const cases: [number, string][] = [
      [0, '0B'], [1, '1B'], [999, '999B'], [1000, '1kB'], [1234, '1.23kB'], [4_261_000, '4.26MB'],
      [12_345_678, '12.3MB'], [999_999, '1e+03kB'], [1_500_000_000, '1.5GB'], [100_000, '100kB'],
    ];
    for (const [n, s] of cases) assert.equal(humanSize(n), s, String(n));
  });
  it('humanDuration is units.HumanDuration', () => {
    const s = 1000;
    const h = 3600 * s;
    const cases: [number, string][] = [
      [500, 'Less than a second'], [s, '1 second'], [45 * s, '45 seconds'], [60 * s, 'About a minute'], [5 * 60 * s, '5 minutes'],
      [h, 'About an hour'], [3 * h, '3 hours'], [47 * h, '47 hours'], [72 * h, '3 days'], [15 * 24 * h, '2 weeks'],
      [90 * 24 * h, '3 months'], [800 * 24 * h, '2 years'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
    assert.equal(timeAgo(undefined), 'N/A');
    assert.equal(timeAgo('2024-01-01T00:00:00Z', Date.parse('2024-01-01T00:00:30Z')), '30 seconds ago');
  });
  it('ellipsis cuts at n runes with …', () => {
    assert.equal(ellipsis('abcdef', 4), 'abc…');
    assert.equal(ellipsis('abcd', 4), 'abcd');
  });
});

describe('table (tabwriter: minwidth 10, padding 3)', () => {
  it('pads every column but the last', () => {
    assert.equal(table([['REPOSITORY', 'TAG', 'X'], ['a', 'latest', 'y']]), 'REPOSITORY   TAG       X\na            latest    y\n');
  });
});

describe('times as Go prints them', () => {
  it('RFC3339Nano: no trailing zeros in the fraction, no fraction when zero, the zone kept', () => {
    assert.equal(goRfc3339Nano('2024-01-01T00:00:00.000Z'), '2024-01-01T00:00:00Z');
    assert.equal(goRfc3339Nano('2024-01-01T00:00:00.120Z'), '2024-01-01T00:00:00.12Z');
    assert.equal(goRfc3339Nano('2024-01-01T00:00:00.123456789Z'), '2024-01-01T00:00:00.123456789Z');
    assert.equal(goRfc3339Nano('2024-01-01T02:00:00+02:00'), '2024-01-01T02:00:00+02:00');
    assert.equal(goRfc3339Nano(undefined), '0001-01-01T00:00:00Z');
  });
  it('RFC3339 in whole seconds, in the local zone', () => {
    const r = goRfc3339Local('2024-01-01T00:00:00.900Z');
    assert.match(r, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.equal(new Date(r).getTime(), Date.parse('2024-01-01T00:00:00Z'), 'the same instant, the fraction dropped');
  });
});

describe('flags', () => {
  const spec = { quiet: { type: 'bool' as const, short: 'q' }, all: { type: 'bool' as const, short: 'a' }, output: { type: 'string' as const, short: 'o' }, change: { type: 'strings' as const, short: 'c' } };
  it('parses long, short, combined and repeated flags', () => {
    const f = parseFlags(['-aq', '--output=x', '-c', 'A', '--change', 'B', 'arg', '--', '-not-a-flag'], spec, 't');
    assert.deepEqual([...f.bools].sort(), ['all', 'quiet']);
    assert.equal(f.strings.get('output'), 'x');
    assert.deepEqual(f.lists.get('change'), ['A', 'B']);
    assert.deepEqual(f.args, ['arg', '-not-a-flag']);
    assert.equal(parseFlags(['-ofile'], spec, 't').strings.get('output'), 'file');
  });
  it('takes bool values as Go does, for a shorthand too (-H=false), and remembers an explicit false', () => {
    const h = { human: { type: 'bool' as const, short: 'H' } };
    for (const v of ['false', '0', 'f', 'F', 'FALSE', 'False']) {
      const f = parseFlags([`-H=${v}`], h, 't');
      assert.ok(!f.bools.has('human') && f.negated.has('human'), v);
    }
    for (const a of ['-H', '-H=true', '--human=1', '--human=T']) assert.ok(parseFlags([a], h, 't').bools.has('human'), a);
    assert.ok(!parseFlags([], h, 't').negated.has('human'));
    assert.throws(() => parseFlags(['-H=maybe'], h, 't'), /strconv.ParseBool: parsing "maybe": invalid syntax/);
  });
  it('rejects unknown flags and missing values with exit 125', () => {
    assert.throws(() => parseFlags(['--nope'], spec, 't'), (e: { message: string; exitCode: number }) => /unknown flag: --nope/.test(e.message) && e.exitCode === 125);
    assert.throws(() => parseFlags(['-z'], spec, 't'), /unknown shorthand flag: 'z' in -z/);
    assert.throws(() => parseFlags(['-o'], spec, 't'), /flag needs an argument: -o/);
  });
});

describe('Go template subset', () => {
  const data = {
    Id: 'sha256:abc',
    RepoTags: ['a:1', 'b:2'],
    Config: { Cmd: ['sh', '-c', 'echo hi'], Env: ['A=1'], Labels: { 'org.x': 'y', a: 'b' }, Entrypoint: null, WorkingDir: '' },
    Size: 1234,
  };
  const cases: [string, string][] = [
    ['{{.Id}}', 'sha256:abc'],
    ['{{.Config.Cmd}}', '[sh -c echo hi]'],
    ['{{json .Config.Cmd}}', '["sh","-c","echo hi"]'],
    ['{{json .Config.Entrypoint}}', 'null'],
    ['{{.Config.Entrypoint}}', '<no value>'],
    ['{{index .RepoTags 1}}', 'b:2'],
    ['{{index .Config.Labels "org.x"}}', 'y'],
    ['{{.Config.Labels}}', 'map[a:b org.x:y]'],
    ['{{join .RepoTags ","}}', 'a:1,b:2'],
    ['{{len .RepoTags}}', '2'],
    ['{{range .RepoTags}}[{{.}}]{{end}}', '[a:1][b:2]'],
    ['{{if .Config.WorkingDir}}w{{else}}no{{end}}', 'no'],
    ['{{.Size}} {{upper "x"}}', '1234 X'],
    ['{{.Config.Cmd | json}}', '["sh","-c","echo hi"]'],
    ['a {{- " b" -}} c', 'a bc'],
  ];
  for (const [src, want] of cases) {
    it(src, () => assert.equal(compileTemplate(src).render(data), want));
  }
  it('reports template errors', () => {
    assert.throws(() => compileTemplate('{{.Id').render(data), /unclosed action/);
    assert.throws(() => compileTemplate('{{range .RepoTags}}').render(data), /unexpected EOF/);
    assert.throws(() => compileTemplate('{{nosuch .Id}}').render(data), /not defined|non-function/);
  });
});

describe('import changes (docker import -c)', () => {
  it('applies CMD/ENTRYPOINT/ENV/LABEL/EXPOSE/VOLUME/USER/WORKDIR/STOPSIGNAL/ONBUILD', () => {
    const c = applyChanges({}, [
      'CMD echo hi', 'ENTRYPOINT ["/bin/tini","--"]', 'ENV A=1 B="two words"', 'ENV C=${A}x', 'LABEL "k"="v"',
      'EXPOSE 80 53/udp', 'VOLUME /data', 'USER nobody', 'WORKDIR /a', 'WORKDIR b', 'STOPSIGNAL SIGINT', 'ONBUILD RUN make',
    ]);
    assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(c.Entrypoint, ['/bin/tini', '--']);
    assert.deepEqual(c.Env, ['A=1', 'B=two words', 'C=1x']);
    assert.deepEqual(c.Labels, { k: 'v' });
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    // in Go's order (sorted keys), as the config Docker writes them (its digest depends on it)
    assert.deepEqual(Object.keys(c.ExposedPorts!), ['53/udp', '80/tcp']);
    assert.deepEqual(c.Volumes, { '/data': {} });
    assert.equal(c.User, 'nobody');
    assert.equal(c.WorkingDir, '/a/b');
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.OnBuild, ['RUN make']);
  });
  it('rejects instructions docker does not allow', () => {
    assert.throws(() => applyChanges({}, ['RUN x']), /\bRUN is not a valid change command/);
    assert.throws(() => applyChanges({}, ['run x']), /run is not a valid change command/);
    assert.throws(() => applyChanges({}, ['COPY a b']), /COPY is not a valid change command/);
  });
});
