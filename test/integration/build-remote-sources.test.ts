/**
 * Builds that reach outside the context, on real namespaces: ADD of a git repository served by a real git server
 * on loopback (git http-backend), and RUN --mount=type=ssh with a real ssh-agent whose key the step lists with the
 * host's own ssh-add (copied into the image with its libraries). Skips with the reason when builds, git or the
 * ssh tools cannot run here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sshToolsAvailable, startAgentProcess } from '../../engine/build/ssh';
import { buildUnavailableReason, newKit, runBuild, sh, writeContext, type Kit } from '../helpers/build';
import { gitAvailable, gitIn, startGitServer, type GitServer } from '../helpers/git-server';
import { copyHostProgram } from '../helpers/host-binary';

let kit: Kit;
let skip: string | undefined;
let root = '';
let server: GitServer | undefined;
let work = '';

before(async () => {
  skip = await buildUnavailableReason();
  if (!skip) kit = await newKit();
  root = mkdtempSync(join(tmpdir(), 'lw-remote-'));
});
after(async () => {
  await server?.close();
  await kit?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
async function ctx(files: Parameters<typeof writeContext>[1]): Promise<string> {
  const dir = join(kit.dir, `remote-ctx-${++n}`);
  await writeContext(dir, files);
  return dir;
}

/** A repository with a main and a dev branch, served over smart HTTP; returns its URL. */
async function repo(): Promise<string> {
  if (!server) {
    work = join(root, 'work');
    mkdirSync(join(work, 'sub'), { recursive: true });
    gitIn(work, 'init', '-q', '-b', 'main');
    writeFileSync(join(work, 'README'), 'one\n');
    writeFileSync(join(work, 'sub', 'tool.sh'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    gitIn(work, 'add', '-A');
    gitIn(work, 'commit', '-q', '-m', 'one');
    gitIn(work, 'branch', 'dev');
    gitIn(root, 'clone', '-q', '--bare', work, 'repo.git');
    gitIn(work, 'remote', 'add', 'origin', join(root, 'repo.git'));
    server = await startGitServer(root);
  }
  return `${server.url}/repo.git`;
}

const gitSkip = (): string | undefined => skip ?? (gitAvailable() ? undefined : 'git is not installed');

test('ADD of a git repository: the tree of the ref (no .git), a subdir, cached while the ref stays, rebuilt with the reason when it moves', async (t) => {
  const why = gitSkip();
  if (why) return t.skip(why);
  const url = await repo();
  const c = await ctx({ Dockerfile: `FROM busybox\nADD ${url}#main /src\nADD ${url}#dev:sub /tools\nRUN cat /src/README; ls -a /src; /tools/tool.sh\n` });
  const first = await runBuild(kit, c, { tags: ['git:1'] });
  assert.equal(first.error, undefined, first.error?.message);
  const out = await sh(kit, 'git:1', 'cat /src/README; ls -a /src; stat -c "%a %u:%g" /tools/tool.sh; /tools/tool.sh');
  assert.equal(out.out, 'one\n.\n..\nREADME\nsub\n755 0:0\ntool\n');

  const again = await runBuild(kit, c, { tags: ['git:1'] });
  assert.deepEqual(again.summary.map((s) => s.split(' -> ')[1]), ['cached', 'cached', 'cached']);

  // main moves on: its ADD and what follows rebuild; dev has not moved, its ADD stays cached below? no: it is
  // below the changed step, so it rebuilds for its parent, as Docker does
  writeFileSync(join(work, 'README'), 'two\n');
  gitIn(work, 'commit', '-q', '-am', 'two');
  gitIn(work, 'push', '-q', 'origin', 'main');
  const moved = await runBuild(kit, c, { tags: ['git:2'] });
  assert.equal(moved.error, undefined, moved.error?.message);
  assert.deepEqual(moved.summary.map((s) => s.split(' -> ')[1]), ['built (files-changed)', 'built (parent-changed)', 'built (parent-changed)']);
  const step = moved.steps.find((s) => s.instruction.includes('#main'))!;
  assert.match(step.miss!.detail, /remote source changed: .*repo\.git#main is now [0-9a-f]{19} \(was [0-9a-f]{19}\)/);
  assert.equal((await sh(kit, 'git:2', 'cat /src/README')).out, 'two\n');
});

test('ADD --keep-git-dir keeps .git at the commit; COPY of a git ref, a missing ref and a missing subdir are errors at their line', async (t) => {
  const why = gitSkip();
  if (why) return t.skip(why);
  const url = await repo();
  const c = await ctx({ Dockerfile: `FROM busybox\nADD --keep-git-dir ${url}#dev /r\n` });
  const b = await runBuild(kit, c, { tags: ['git:keep'] });
  assert.equal(b.error, undefined, b.error?.message);
  assert.equal((await sh(kit, 'git:keep', 'test -d /r/.git && echo kept')).out, 'kept\n');

  for (const [df, msg] of [
    [`FROM busybox\nCOPY ${url} /r\n`, /source can't be a git ref for COPY/],
    [`FROM busybox\nADD ${url}#nope /r\n`, /no ref "nope"/],
    [`FROM busybox\nADD ${url}#main:missing /r\n`, /no directory "missing"/],
  ] as const) {
    const e = await runBuild(kit, await ctx({ Dockerfile: df }));
    assert.match(e.error?.message ?? '', msg);
    assert.equal(e.error?.range?.start.line, 1);
  }
});

const sshSkip = (): string | undefined => skip ?? (sshToolsAvailable() ? undefined : 'ssh-agent and ssh-add are needed (Debian: openssh-client)');

test('RUN --mount=type=ssh: the step talks to the forwarded agent; owner and mode as asked; nothing of it lands in the image', async (t) => {
  const why = sshSkip();
  if (why) return t.skip(why);
  const key = join(root, 'id_ed25519');
  assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0);
  const fingerprint = spawnSync('ssh-keygen', ['-l', '-f', key], { encoding: 'utf8' }).stdout.split(' ')[1]!;
  const c = await ctx({
    Dockerfile: [
      'FROM busybox',
      'COPY bin/ /',
      'RUN --mount=type=ssh ssh-add -l > /keys; echo "sock=$SSH_AUTH_SOCK" >> /keys',
      'RUN --mount=type=ssh,id=other,target=/tmp/agent,mode=0640,uid=1,gid=2 stat -c "%a %u:%g %F" /tmp/agent > /other',
      'RUN --mount=type=ssh,id=absent ls /run/buildkit > /absent 2>&1 || echo none > /absent',
      '',
    ].join('\n'),
  });
  const sshAdd = copyHostProgram('ssh-add', join(c, 'bin'));
  if (!sshAdd) return t.skip('ssh-add is not installed');
  const agentSock = join(root, 'agent.sock');
  const started = startAgentProcess(agentSock);
  assert.equal(started.status, 0, started.output);
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.output)![1]);
  try {
    assert.equal(spawnSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } }).status, 0);
    const b = await runBuild(kit, c, { tags: ['ssh:1'], ssh: [{ id: 'default', paths: [agentSock] }, { id: 'other', paths: [key] }] });
    assert.equal(b.error, undefined, b.error?.message);
    const out = await sh(kit, 'ssh:1', 'cat /keys /other /absent; ls -a /run/buildkit 2>&1; ls /tmp');
    const lines = out.out.split('\n');
    assert.ok(lines[0]!.includes(fingerprint), out.out);
    assert.equal(lines[1], 'sock=/run/buildkit/ssh_agent.0');
    if (process.getuid?.() === 0) assert.equal(lines[2], '640 1:2 socket');
    else assert.match(lines[2]!, /^6[46]6? \d+:\d+ socket$|^666 /);
    assert.equal(lines[3], 'none');
    // the mount points and the directories made for them are gone (as BuildKit's recursive stub cleaner)
    assert.match(lines[4]!, /No such file or directory/);
    assert.ok(!lines.slice(5).some((l) => l.includes('agent')), out.out);

    // the cache key holds the id and target, not the agent: a rebuild with another agent is cached
    const again = await runBuild(kit, c, { ssh: [{ id: 'default', paths: [key] }, { id: 'other', paths: [key] }] });
    assert.deepEqual(again.summary.map((s) => s.split(' -> ')[1]), ['cached', 'cached', 'cached', 'cached']);

    const req = await runBuild(kit, await ctx({ Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,required=true true\n' }));
    assert.match(req.error?.message ?? '', /no SSH key "default" forwarded from the client/);
    assert.equal(req.error?.range?.start.line, 1);
  } finally {
    process.kill(pid, 'SIGTERM');
  }
});
