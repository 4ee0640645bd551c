// Detached containers with real namespaces and overlayfs (busybox): run -d, ps, logs (-f), exec (user, env, workdir,
// exit status), stop (the image's stop signal, then SIGKILL), start again over the same upper dir, kill, rm (-f),
// run -d --rm, a name taken, an image in use, and a supervisor killed with -9.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { buildUnavailableReason, newKit, type Kit } from '../helpers/build';
import { cli } from '../helpers/store-cli';
import { pollUntil } from '../helpers/peer-process';

let kit: Kit | undefined;
let skip: string | undefined;
before(async () => {
  skip = await buildUnavailableReason();
  if (!skip) kit = await newKit();
});
after(async () => {
  if (kit) {
    const all = await cli(kit.root, ['ps', '-aq']);
    if (all.stdout.trim()) await cli(kit.root, ['rm', '-f', ...all.stdout.trim().split('\n')]);
    await kit.cleanup();
  }
});

const lw = (...args: string[]) => cli(kit!.root, args);

test('run -d, ps, logs, exec, stop, start, rm: a container\'s life', async (t) => {
  if (skip) return t.skip(skip);
  // a process 1 that ends on SIGTERM (a handler), prints, and writes into its own root
  const run = await lw('run', '-d', '--name', 'life', '-e', 'GREETING=hi', 'busybox:latest', 'sh', '-c', 'trap "echo bye; exit 0" TERM; echo "$GREETING" from $(hostname); echo oops >&2; echo kept > /state; while :; do sleep 0.1; done');
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await lw('ps');
  const lines = ps.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
  assert.match(lines[1]!, new RegExp(`^${id.slice(0, 12)} +busybox:latest +"sh -c trap "echo by…" +.* ago +Up .* +life$`));
  assert.equal((await lw('ps', '-q')).stdout, `${id.slice(0, 12)}\n`);

  // inspect: the container (before an image of the same name), as docker inspect shows one
  const ins = JSON.parse((await lw('inspect', 'life')).stdout) as { Id: string; Name: string; State: { Running: boolean; Pid: number }; Config: { Env: string[]; Image: string } }[];
  assert.equal(ins[0]!.Id, id);
  assert.equal(ins[0]!.Name, '/life');
  assert.equal(ins[0]!.State.Running, true);
  assert.ok(ins[0]!.State.Pid > 0);
  assert.ok(ins[0]!.Config.Env.includes('GREETING=hi'));
  assert.equal(ins[0]!.Config.Image, 'busybox:latest');
  assert.equal((await lw('inspect', '--format', '{{.State.Status}} {{.Name}}', id.slice(0, 10))).stdout, 'running /life\n');
  assert.equal((await lw('inspect', '--type', 'container', 'busybox:latest')).code, 1);

  // exec: its environment, its user unless -u, its working directory unless -w, the command's exit status
  const ex = await lw('exec', 'life', 'sh', '-c', 'echo $GREETING $(id -u) $(pwd); cat /state');
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(ex.stdout, 'hi 0 /\nkept\n');
  const as = await lw('exec', '-u', '1000:1000', '-w', '/tmp', '-e', 'GREETING=other', id.slice(0, 8), 'sh', '-c', 'echo $GREETING $(id -u):$(id -g) $(pwd)');
  assert.equal(as.stdout, 'other 1000:1000 /tmp\n', as.stderr);
  assert.equal((await lw('exec', 'life', 'sh', '-c', 'exit 3')).code, 3);
  // the exec'd process is in the container's pid namespace: process 1 is the container's command
  assert.match((await lw('exec', 'life', 'cat', '/proc/1/cmdline')).stdout, /^sh\0-c\0trap/);

  // the log has both streams (once the supervisor has written what the container wrote)
  const logs = await pollUntil('the log', async () => {
    const l = await lw('logs', 'life');
    return l.stderr ? l : undefined;
  }, { timeoutMs: 20_000 });
  assert.equal(logs.stdout, `hi from ${id.slice(0, 12)}\n`);
  assert.equal(logs.stderr, 'oops\n');
  // --tail counts the lines of both streams: the last one is stderr's
  const stamped = await lw('logs', '-t', '--tail', '1', 'life');
  assert.equal(stamped.stdout, '');
  assert.match(stamped.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z oops\n$/);

  // stop: SIGTERM reaches the handler, the container exits 0, and stop returns once it has
  const stop = await lw('stop', 'life');
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, 'life\n');
  assert.match((await lw('ps', '-a')).stdout, /Exited \(0\) .* ago +life\n/);
  assert.equal((await lw('container', 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}', 'life')).stdout, 'exited 0 false\n');
  assert.equal((await lw('logs', 'life')).stdout, `hi from ${id.slice(0, 12)}\nbye\n`);
  const notRunning = await lw('exec', 'life', 'true');
  assert.equal(notRunning.code, 1);
  assert.match(notRunning.stderr, new RegExp(`container ${id} is not running`));

  // start: the same container again, its upper dir kept
  assert.equal((await lw('start', 'life')).stdout, 'life\n');
  assert.equal((await lw('exec', 'life', 'cat', '/state')).stdout, 'kept\n');
  // rm refuses a running container, rm -f kills it first
  const rm = await lw('rm', 'life');
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /cannot remove container "\/life": container is running: stop the container before removing or force remove/);
  // the image is in use
  const rmi = await lw('rmi', 'busybox:latest');
  assert.notEqual(rmi.code, 0);
  assert.match(rmi.stderr, /container/);
  assert.equal((await lw('rm', '-f', 'life')).stdout, 'life\n');
  assert.equal((await lw('ps', '-aq')).stdout, '');
  const gone = await lw('logs', 'life');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No such container: life/);
});

test('stop without a handler: SIGKILL after the timeout (137); kill -s; a name in use; logs -f; run -d --rm', async (t) => {
  if (skip) return t.skip(skip);
  const a = await lw('run', '-d', '--name', 'stubborn', 'busybox:latest', 'sh', '-c', 'while :; do sleep 0.1; done');
  assert.equal(a.code, 0, a.stderr);
  const taken = await lw('run', '-d', '--name', 'stubborn', 'busybox:latest', 'true');
  assert.equal(taken.code, 125);
  assert.match(taken.stderr, /Conflict\. The container name "\/stubborn" is already in use/);
  assert.equal((await lw('stop', '-t', '1', 'stubborn')).code, 0);
  assert.match((await lw('ps', '-a', '--format', 'json')).stdout, /"Names":"stubborn".*"State":"exited","Status":"Exited \(137\)/);

  const k = await lw('run', '-d', '--name', 'signalled', 'busybox:latest', 'sh', '-c', 'trap "echo got USR1; exit 7" USR1; while :; do sleep 0.1; done');
  assert.equal(k.code, 0, k.stderr);
  assert.equal((await lw('kill', '-s', 'USR1', 'signalled')).code, 0);
  // logs -f returns when the container has ended, with everything it wrote
  const follow = await lw('logs', '-f', 'signalled');
  assert.equal(follow.stdout, 'got USR1\n');
  assert.match((await lw('ps', '-a')).stdout, /Exited \(7\) .* signalled\n/);
  const dead = await lw('kill', 'signalled');
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /is not running/);

  const r = await lw('run', '-d', '--rm', '--name', 'ephemeral', 'busybox:latest', 'sh', '-c', 'echo done');
  assert.equal(r.code, 0, r.stderr);
  await pollUntil('the --rm container removed', async () => ((await lw('ps', '-a')).stdout.includes('ephemeral') ? undefined : true), { timeoutMs: 20_000 });
  await lw('rm', 'stubborn', 'signalled');
});

test('a supervisor killed with -9: the container goes with it, ps says Exited (137), rm works', async (t) => {
  if (skip) return t.skip(skip);
  const r = await lw('run', '-d', '--name', 'orphan', 'busybox:latest', 'sleep', '1000');
  assert.equal(r.code, 0, r.stderr);
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const state = JSON.parse(readFileSync(join(kit!.root, 'containers', r.stdout.trim(), 'state.json'), 'utf8')) as { pid: number; initPid: number };
  process.kill(state.pid, 'SIGKILL');
  // the sandbox dies with its parent (PR_SET_PDEATHSIG): process 1 of the container is gone
  await pollUntil('the container process gone', async () => (existsSync(`/proc/${state.initPid}`) ? undefined : true), { timeoutMs: 20_000 });
  assert.match((await lw('ps', '-a')).stdout, /Exited \(137\) .* orphan\n/);
  assert.equal((await lw('rm', 'orphan')).code, 0);
});
