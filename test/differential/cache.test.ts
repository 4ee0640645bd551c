/**
 * Cache invalidation against Docker 26 (BuildKit): one context is changed step by step (mtime-only touch, source
 * edit, build arg, instruction edit, LABEL-only edit, ENV edit, edit of a .dockerignore'd file, a mode change, a
 * file added and removed again, a symlink added and retargeted, comments and keyword case, a RUN split over lines,
 * an unused build arg, a .dockerignore edit); after each change
 * both build it, and the filesystem steps each rebuilds must be the same: Docker's `#N CACHED` lines of
 * `--progress=plain` against our `cached` step events of `--progress=json` (through dist/cli.js).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kit } from '../helpers/build';
import type { DockerPeer } from '../helpers/docker';
import { runCommand } from '../helpers/peer-process';
import { CLI, startPeers } from './peers';


const dockerfile = (o: { label?: string; mode?: string; last?: string } = {}) => `FROM lwdiff-busybox
ARG V=1
COPY deps.txt /app/
RUN cat /app/deps.txt > /app/installed
LABEL stage=${o.label ?? 'one'}
COPY src/ /app/src/
ENV MODE=${o.mode ?? 'a'}
RUN ${o.last ?? 'echo "$V $MODE" > /app/v && ls /app/src > /app/list'}
COPY . /ctx/
`;

/** A second context, multi-stage: the final stage copies from a builder whose output may come out the same. */
const MULTI = `FROM lwdiff-busybox AS builder
ARG V=1
COPY src/ /src/
RUN cat /src/* | wc -l > /count
FROM lwdiff-busybox AS unused
COPY other.txt /other
RUN exit 1
FROM lwdiff-busybox
COPY --from=builder /count /count
RUN cat /count > /copied
COPY --from=lwdiff-busybox /bin/busybox /bb
`;

let skip: string | undefined;
let kit: Kit | undefined;
let docker: DockerPeer | undefined;
let ctx = '';
let multi = '';
const tag = `lwcache:t${process.pid}`;

before(async () => {
  const peers = await startPeers();
  if (peers.skip !== undefined) {
    skip = peers.skip;
    return;
  }
  ({ docker, kit } = peers);
  ctx = join(kit.dir, 'ctx');
  await mkdir(join(ctx, 'src'), { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), dockerfile());
  await writeFile(join(ctx, '.dockerignore'), '*.log\n');
  await writeFile(join(ctx, 'deps.txt'), 'dep1\n');
  await writeFile(join(ctx, 'src', 'a.txt'), 'a\n');
  await writeFile(join(ctx, 'src', 'b.txt'), 'b\n');
  await writeFile(join(ctx, 'ignored.log'), 'log 1\n');
  multi = join(kit.dir, 'multi');
  await mkdir(join(multi, 'src'), { recursive: true });
  await writeFile(join(multi, 'Dockerfile'), MULTI);
  await writeFile(join(multi, 'src', 'a.txt'), 'a\n');
  await writeFile(join(multi, 'other.txt'), 'o\n');
});

after(async () => {
  await docker?.run(['rmi', tag]);
  await kit?.cleanup();
  await docker?.stop();
});

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Filesystem steps as `INSTRUCTION -> cached|built`, in Dockerfile order, from Docker's plain progress. */
async function dockerSteps(args: string[], dir = ctx): Promise<string[]> {
  const r = await docker!.run(['build', '--progress=plain', '-t', tag, ...args, dir]);
  assert.equal(r.code, 0, r.stderr);
  const log = r.stderr + r.stdout;
  // `#7 [4/6] RUN …` (BuildKit shows RUN expanded: order by the [i/n] position, not by the text)
  const steps = new Map<string, { pos: number; ins: string }>();
  const cached = new Set<string>();
  for (const line of log.split('\n')) {
    const h = /^#(\d+) \[(?:[\w.-]+ )?\s*(\d+)\/\d+\] (.*)$/.exec(line);
    if (h && !/^FROM /.test(h[3]!)) steps.set(h[1]!, { pos: Number(h[2]), ins: norm(h[3]!) });
    const c = /^#(\d+) CACHED$/.exec(line);
    if (c) cached.add(c[1]!);
  }
  return [...steps.entries()].sort((a, b) => a[1].pos - b[1].pos).map(([id, s]) => `${s.ins} -> ${cached.has(id) ? 'cached' : 'built'}`);
}

async function ourSteps(args: string[], dir = ctx): Promise<{ steps: string[]; reasons: Record<string, string> }> {
  const r = await runCommand(process.execPath, [CLI, '--root', kit!.root, 'build', '--progress=json', '-t', tag, ...args, dir]);
  assert.equal(r.code, 0, r.stderr);
  const last = new Map<number, { instruction: string; status: string; miss?: { kind: string }; index: number }>();
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { type: string; id: number; instruction: string; status: string; miss?: { kind: string }; index: number; cacheKey?: string };
    if (e.type === 'step' && /^(RUN|COPY|ADD|WORKDIR)\b/.test(e.instruction)) last.set(e.id, e);
  }
  const steps = [...last.values()].sort((a, b) => a.index - b.index);
  const reasons: Record<string, string> = {};
  for (const s of steps) if (s.miss) reasons[norm(s.instruction)] = s.miss.kind;
  return { steps: steps.map((s) => `${norm(s.instruction)} -> ${s.status === 'cached' ? 'cached' : 'built'}`), reasons };
}

const scenarios: { name: string; change: () => Promise<void>; args?: string[]; reason?: [string, string]; multi?: true }[] = [
  { name: 'first build', change: async () => {} },
  { name: 'no change', change: async () => {} },
  { name: 'mtime-only touch of a source file', change: () => utimes(join(ctx, 'src', 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1)) },
  { name: 'edit of a source file', change: () => writeFile(join(ctx, 'src', 'a.txt'), 'a changed\n'), reason: ['COPY src/ /app/src/', 'files-changed'] },
  { name: 'edit of a .dockerignore\'d file', change: () => writeFile(join(ctx, 'ignored.log'), 'log 2\n') },
  { name: 'build arg', change: async () => {}, args: ['--build-arg', 'V=2'], reason: ['RUN cat /app/deps.txt > /app/installed', 'build-arg-changed'] },
  { name: 'LABEL-only edit', change: () => writeFile(join(ctx, 'Dockerfile'), dockerfile({ label: 'two' })) },
  { name: 'ENV edit', change: () => writeFile(join(ctx, 'Dockerfile'), dockerfile({ label: 'two', mode: 'b' })) },
  {
    name: 'instruction edit',
    change: () => writeFile(join(ctx, 'Dockerfile'), dockerfile({ label: 'two', mode: 'b', last: 'echo "$V $MODE" > /app/v' })),
    reason: ['RUN echo "$V $MODE" > /app/v', 'instruction-changed'],
  },
  { name: 'deps edit', change: () => writeFile(join(ctx, 'deps.txt'), 'dep1\ndep2\n'), reason: ['COPY deps.txt /app/', 'files-changed'] },
  { name: 'mode change of a source file', change: () => chmod(join(ctx, 'src', 'b.txt'), 0o755), reason: ['COPY src/ /app/src/', 'files-changed'] },
  { name: 'new file in src', change: () => writeFile(join(ctx, 'src', 'c.txt'), 'c\n'), reason: ['COPY src/ /app/src/', 'files-changed'] },
  { name: 'that file removed again (the state of two builds ago, still in both caches)', change: () => rm(join(ctx, 'src', 'c.txt')) },
  { name: 'symlink added', change: () => symlink('a.txt', join(ctx, 'src', 'l')), reason: ['COPY src/ /app/src/', 'files-changed'] },
  {
    name: 'symlink retargeted',
    change: async () => {
      await rm(join(ctx, 'src', 'l'));
      await symlink('b.txt', join(ctx, 'src', 'l'));
    },
    reason: ['COPY src/ /app/src/', 'files-changed'],
  },
  {
    name: 'comments, blank lines and keyword case only',
    change: async () => {
      const text = dockerfile({ label: 'two', mode: 'b', last: 'echo "$V $MODE" > /app/v' });
      await writeFile(join(ctx, 'Dockerfile'), '# a comment\n\n' + text.replace('COPY deps.txt', 'copy deps.txt').replace('RUN cat', '# between\nrun cat'));
    },
  },
  {
    name: 'a RUN split over two lines',
    change: () => writeFile(join(ctx, 'Dockerfile'), dockerfile({ label: 'two', mode: 'b', last: 'echo "$V $MODE" \\\n  > /app/v' })),
  },
  { name: 'a build arg no step uses', change: async () => {}, args: ['--build-arg', 'V=2', '--build-arg', 'UNUSED=x'] },
  { name: '.dockerignore now excludes a copied file', change: () => writeFile(join(ctx, '.dockerignore'), '*.log\nsrc/b.txt\n'), reason: ['COPY src/ /app/src/', 'files-changed'] },
  // multi-stage: COPY --from is keyed by the content it copies, not by the source stage's steps
  { name: 'multi-stage: first build', change: async () => {}, multi: true },
  { name: 'multi-stage: the builder rebuilt to the same output (COPY --from and what follows stay cached)', change: () => writeFile(join(multi, 'src', 'a.txt'), 'b\n'), multi: true },
  { name: 'multi-stage: the builder rebuilt to another output', change: () => writeFile(join(multi, 'src', 'b.txt'), 'b\n'), multi: true, reason: ['COPY --from=builder /count /count', 'files-changed'] },
  { name: 'multi-stage: an edit to a stage the target does not need', change: () => writeFile(join(multi, 'other.txt'), 'changed\n'), multi: true },
  {
    name: 'multi-stage: a build arg only the builder declares (its RUN reruns, to the same output)',
    change: async () => {},
    args: ['--build-arg', 'V=2'],
    multi: true,
    reason: ['RUN cat /src/* | wc -l > /count', 'build-arg-changed'],
  },
];

// The scenarios build on each other, in order; each is one test case.
let carryArgs: string[] = [];
for (const s of scenarios) {
  test(`cache vs Docker: ${s.name}`, async (t) => {
    if (skip) return t.skip(skip);
    await s.change();
    if (s.args && !s.multi) carryArgs = s.args;
    const args = s.multi ? (s.args ?? []) : carryArgs;
    const dir = s.multi ? multi : ctx;
    const [theirs, ours] = await Promise.all([dockerSteps(args, dir), ourSteps(args, dir)]);
    t.diagnostic(`docker: ${theirs.join(' | ')}`);
    if (s.multi) {
      // several stages: the same instructions (none has a variable to expand), each cached or rebuilt alike
      assert.deepEqual([...ours.steps].sort(), [...theirs].sort(), 'docker (-) vs ours (+)');
      if (s.reason) assert.equal(ours.reasons[s.reason[0]], s.reason[1], `reason reported for ${s.reason[0]}`);
      return;
    }
    // the same steps in the same order, each cached or rebuilt alike (Docker prints RUN expanded: compare statuses)
    const status = (l: string) => l.slice(l.lastIndexOf(' -> ') + 4);
    assert.equal(ours.steps.length, theirs.length, `ours: ${ours.steps.join(' | ')}`);
    assert.deepEqual(ours.steps.map((l, i) => `${l.slice(0, l.lastIndexOf(' -> '))} -> ${status(theirs[i]!)}`), ours.steps, 'docker (-) vs ours (+)');
    if (s.reason) assert.equal(ours.reasons[s.reason[0]], s.reason[1], `reason reported for ${s.reason[0]}`);
  });
}
