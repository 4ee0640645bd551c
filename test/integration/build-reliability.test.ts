/**
 * Build reliability through the built CLI (dist/cli.js), as separate processes on one store:
 *  - `layerwise build --progress=json` is killed with SIGKILL at a random progress event (>= 20 trials, the seed is
 *    printed); afterwards `layerwise fsck` finds nothing but temp dirs of the killed process (which the next build
 *    sweeps; fsck passes after it), nothing of the build is left mounted or running, and the next build succeeds
 *    and takes from the cache every step that had finished before the kill;
 *  - a RUN that fails, or a build interrupted (SIGINT) during a RUN, leaves no temp dirs, mounts or processes.
 * No sleeps: each kill waits for the event it aims at.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildUnavailableReason } from '../helpers/build';
import { busyboxImageTar } from '../helpers/rootfs';
import { openStore } from '../../engine/store/store';
import { loadArchive } from '../../engine/store/load';
import { prng } from '../helpers/prng';

const CLI = resolve(__dirname, '../../dist/cli.js');
const TRIALS = Number(process.env.LAYERWISE_CRASH_TRIALS ?? 20);
const TOKEN = `lwrel${randomBytes(4).toString('hex')}`;


interface StepEv {
  type: string;
  id?: number;
  instruction?: string;
  status?: string;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: StepEv[];
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `killAt(ev, n)` returning a signal sends it to the process (once). */
function runCli(args: string[], killAt?: (ev: StepEv, n: number) => NodeJS.Signals | undefined): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: StepEv[] = [];
    let buf = '';
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (stderr += s));
    child.stdout.on('data', (s: string) => {
      buf += s;
      stdout += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let ev: StepEv;
        try {
          ev = JSON.parse(line) as StepEv;
        } catch {
          continue;
        }
        events.push(ev);
        const sig = !sent && killAt ? killAt(ev, events.length) : undefined;
        if (sig === ('WAIT_FOR_SLEEP' as NodeJS.Signals)) {
          sent = true;
          const deadline = Date.now() + 30_000;
          const poll = (): void => {
            if (child.exitCode !== null) return;
            if (sleepRunning()) {
              child.kill('SIGINT');
              setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 30_000).unref(); // a guard, not synchronisation
            } else if (Date.now() < deadline) setImmediate(poll);
            else child.kill('SIGKILL');
          };
          poll();
        } else if (sig) {
          sent = true;
          child.kill(sig);
        }
      }
    });
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, events, stdout, stderr }));
  });
}

let root = '';
let dir = '';
let ctx = '';
let skip: string | false = false;

// Steps before `ARG N` are shared by every trial; the ones after it are new for each trial's N.
const DOCKERFILE = `FROM busybox
COPY a.txt /a.txt
RUN echo first-${TOKEN} > /first && cat /a.txt >> /first
ARG N=0
COPY src/ /src/
RUN echo "n=$N ${TOKEN}" > /n && ls /src > /list
RUN cat /n /list > /all && echo done-${TOKEN} >> /all
`;

before(async () => {
  skip = (await buildUnavailableReason()) ?? (existsSync(CLI) ? false : `${CLI} is missing: run \`npm run build\` first`);
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'lw-build-rel-'));
  root = join(dir, 'store');
  const store = await openStore(root);
  await loadArchive(store, createReadStream((await busyboxImageTar())!.path));
  ctx = join(dir, 'ctx');
  await mkdir(join(ctx, 'src'), { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(ctx, 'a.txt'), 'a\n');
  for (let i = 0; i < 20; i++) await writeFile(join(ctx, 'src', `f${i}.txt`), `file ${i}\n`.repeat(100));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Mount points under the store root, as this process's mount namespace sees them. */
function mountsUnderRoot(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p && (p === root || p.startsWith(root + '/') || p.startsWith(dir + '/')));
}

/** Processes whose command line carries this test's token (the RUN steps' shells) or that run our CLI on this root. */
/** The interrupted RUN sleeps this long: a number of seconds no other process here uses, so that its sleep is
 *  found by its command line alone (the shell may exec it, and then no line carries TOKEN). */
const SLEEP = `${600 + (process.pid % 997)}.${process.pid % 89}`;

function sleepRunning(): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${SLEEP}\0`) return true;
    } catch {
      // gone
    }
  }
  return false;
}

function leftoverProcesses(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmd.includes(TOKEN) || cmd.includes(root)) out.push(`${pid}: ${cmd.slice(0, 120)}`);
  }
  return out;
}

/** Leftovers of a dead process vanish from /proc once it is reaped; wait for that state change, bounded. */
async function settledLeftovers(): Promise<string[]> {
  const deadline = Date.now() + 5000;
  let left = leftoverProcesses();
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r));
    left = leftoverProcesses();
  }
  return left;
}

function storeTmp(): string[] {
  try {
    return readdirSync(join(root, 'tmp'));
  } catch {
    return [];
  }
}

const finished = (r: Run) => {
  const done = new Map<number, string>();
  for (const e of r.events) if (e.type === 'step' && (e.status === 'done' || e.status === 'cached') && e.id !== undefined) done.set(e.id, e.instruction ?? '');
  return [...done.values()];
};

test(`kill -9 at random progress events (${TRIALS} trials): fsck finds no damage, nothing stays mounted or running, the next build reuses the cache and sweeps the temp dirs`, async (t) => {
  if (skip) return t.skip(skip);
  const seed = Number(process.env.LAYERWISE_CRASH_SEED ?? Date.now() % 1e9);
  t.diagnostic(`seed ${seed}`);
  const rand = prng(seed);
  // a reference build counts the events of a build with a new N
  const ref = await runCli(['build', '--progress=json', '-t', 'rel:ref', '--build-arg', 'N=ref', ctx]);
  assert.equal(ref.code, 0, ref.stderr);
  const total = ref.events.length;
  assert.ok(total >= 8, `only ${total} events`);
  let killedDuringWork = 0;
  for (let i = 0; i < TRIALS; i++) {
    const at = 1 + Math.floor(rand() * total);
    const args = ['build', '--progress=json', '-t', `rel:${i}`, '--build-arg', `N=${i}`, ctx];
    const killed = await runCli(args, (_ev, n) => (n >= at ? 'SIGKILL' : undefined));
    const where = `trial ${i} (killed at event ${at}/${total})`;
    if (killed.signal === 'SIGKILL') killedDuringWork++;

    // a kill -9 runs no clean-up code: the temp dir of the step in flight stays, as a temp file of a dead process,
    // which fsck names and the next command sweeps (checked below). Anything else fsck finds is damage.
    const fsck = await runCli(['fsck', '--format', 'json']);
    const report = JSON.parse(fsck.stdout) as { problems: { kind: string; subject: string }[] };
    const damage = report.problems.filter((p) => !(p.kind === 'stale-temp' && p.subject.startsWith(join(root, 'tmp') + '/')));
    assert.deepEqual(damage, [], `${where}: fsck found damage:\n${fsck.stdout}${fsck.stderr}`);
    assert.equal(fsck.code === 0, report.problems.length === 0, `${where}: fsck's exit code does not match its report`);
    assert.deepEqual(mountsUnderRoot(), [], `${where}: mounts left`);
    assert.deepEqual(await settledLeftovers(), [], `${where}: processes left`);

    const next = await runCli(args);
    assert.equal(next.code, 0, `${where}: the next build failed: ${next.stderr}`);
    const cachedNow = new Set(next.events.filter((e) => e.type === 'step' && e.status === 'cached').map((e) => e.instruction));
    for (const ins of finished(killed)) {
      if (!/^(RUN|COPY|ADD|WORKDIR)\b/.test(ins)) continue; // metadata steps are never "cached"
      assert.ok(cachedNow.has(ins), `${where}: "${ins}" had finished before the kill but was not taken from the cache`);
    }
    // the steps before ARG N never change: from the second build on they are always cached
    for (const ins of ['COPY a.txt /a.txt']) assert.ok(cachedNow.has(ins), `${where}: ${ins} not cached`);
    assert.deepEqual(storeTmp(), [], `${where}: temp entries left in the store after the next build`);
    const after = await runCli(['fsck']);
    assert.equal(after.code, 0, `${where}: fsck after the next build:\n${after.stdout}${after.stderr}`);
  }
  t.diagnostic(`${killedDuringWork}/${TRIALS} builds were killed before they finished`);
  assert.ok(killedDuringWork >= TRIALS / 2, 'most kills land during the build');
});

test('a RUN that fails leaves no temp dirs, mounts or processes; the error names the line', async (t) => {
  if (skip) return t.skip(skip);
  const c = join(dir, 'ctx-fail');
  await mkdir(c, { recursive: true });
  await writeFile(join(c, 'Dockerfile'), `FROM busybox\nRUN echo partial-${TOKEN} > /p && exit 3\n`);
  const r = await runCli(['build', '--progress=plain', c]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + (r.events.length ? '' : ''), /:2\b|line 2/);
  assert.deepEqual(storeTmp(), []);
  assert.deepEqual(mountsUnderRoot(), []);
  assert.deepEqual(await settledLeftovers(), []);
  assert.equal((await runCli(['fsck'])).code, 0);
});

test('a build interrupted (SIGINT) during a long RUN stops it and leaves no temp dirs, mounts or processes', async (t) => {
  if (skip) return t.skip(skip);
  const c = join(dir, 'ctx-int');
  await mkdir(c, { recursive: true });
  await writeFile(join(c, 'Dockerfile'), `FROM busybox\nRUN echo started-${TOKEN} && sleep ${SLEEP} # ${TOKEN}\n`);
  // SIGINT once the RUN's sleep is running (its own process seen in /proc after the step's `running` event)
  let interrupted = false;
  const r = await runCli(['build', '--progress=json', c], (ev) => {
    if (interrupted || ev.type !== 'step' || ev.status !== 'running' || !ev.instruction?.startsWith('RUN')) return undefined;
    interrupted = true;
    return 'WAIT_FOR_SLEEP' as NodeJS.Signals;
  });
  assert.notEqual(r.code, 0, 'an interrupted build does not succeed');
  assert.equal(r.signal, null, 'the CLI handled SIGINT itself (it was not killed by the 30 s guard)');
  assert.deepEqual(await settledLeftovers(), []);
  assert.deepEqual(mountsUnderRoot(), []);
  assert.deepEqual(storeTmp(), []);
  assert.equal((await runCli(['fsck'])).code, 0);
});

test('a snapshot a build step adopted is checked by fsck (by writing it as its layer again): a changed file is found, --repair removes it, the next build unpacks it again', async (t) => {
  if (skip) return t.skip(skip);
  const c = join(dir, 'ctx-snap');
  await mkdir(c, { recursive: true });
  await writeFile(join(c, 'data.txt'), `original-${TOKEN}\n`);
  await writeFile(join(c, 'Dockerfile'), `FROM busybox\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy.txt # ${TOKEN}\n`);
  const first = await runCli(['build', '-q', '-t', `snap-${TOKEN}`, c]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal((await runCli(['fsck'])).code, 0);
  // the COPY step's snapshot: adopted from its upper dir, with the layer options fsck writes it with
  const snapDir = join(root, 'snapshots');
  const adopted = readdirSync(snapDir).filter((n) => {
    try {
      const m = JSON.parse(readFileSync(join(snapDir, n, 'meta.json'), 'utf8')) as { tree: string };
      return m.tree === 'layer' && existsSync(join(snapDir, n, 'fs', 'data.txt'));
    } catch {
      return false;
    }
  });
  assert.equal(adopted.length, 1, 'one adopted snapshot holds the copied file');
  await writeFile(join(snapDir, adopted[0]!, 'fs', 'data.txt'), `tampered-${TOKEN}\n`);
  const found = await runCli(['fsck', '--format', 'json']);
  assert.notEqual(found.code, 0);
  const report = JSON.parse(found.stdout) as { problems: { kind: string; subject: string }[] };
  assert.deepEqual(report.problems.map((p) => [p.kind, p.subject]), [['corrupt-snapshot', `sha256:${adopted[0]}`]]);
  assert.equal((await runCli(['fsck', '--repair'])).code, 0);
  assert.equal((await runCli(['fsck'])).code, 0);
  assert.equal(existsSync(join(snapDir, adopted[0]!)), false);
  // the image still has its layers: a build with a new last step unpacks the COPY's layer again, with the original
  await writeFile(join(c, 'Dockerfile'), `FROM busybox\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy.txt # ${TOKEN}\nRUN cat /data.txt /copy.txt > /both.txt\n`);
  const again = await runCli(['build', '-q', c]);
  assert.equal(again.code, 0, again.stderr);
  const both = readdirSync(snapDir).map((n) => join(snapDir, n, 'fs', 'both.txt')).find((p) => existsSync(p));
  assert.ok(both, 'the new step wrote both.txt');
  assert.equal(readFileSync(both, 'utf8'), `original-${TOKEN}\n`.repeat(2));
  assert.equal((await runCli(['fsck'])).code, 0);
});

test('builder prune: without -a the records of the last build stay (a rebuild is cached) and older ones go; -a removes every record and the cache mounts, GC frees what only they kept, and the next build says the cache was pruned', async (t) => {
  if (skip) return t.skip(skip);
  const c = join(dir, 'ctx-prune');
  await mkdir(c, { recursive: true });
  await writeFile(join(c, 'data.txt'), `v1-${TOKEN}\n`);
  const df = (n: string) => `FROM busybox\nCOPY data.txt /data.txt\nRUN --mount=type=cache,target=/cache cat /data.txt > /out.txt && echo ${n}-${TOKEN} > /cache/seen\n`;
  await writeFile(join(c, 'Dockerfile'), df('old'));
  assert.equal((await runCli(['build', '-q', '-t', `prune-${TOKEN}`, c])).code, 0);
  await writeFile(join(c, 'Dockerfile'), df('new')); // the RUN of the first build is now an old record
  assert.equal((await runCli(['build', '-q', '-t', `prune-${TOKEN}`, c])).code, 0);
  const keys = () => readdirSync(join(root, 'cache', 'keys')).sort();
  const before = keys();
  const dangling = await runCli(['builder', 'prune', '-f']);
  assert.equal(dangling.code, 0, dangling.stderr);
  assert.match(dangling.stdout, /^Deleted build cache objects:\n/);
  assert.match(dangling.stdout, /\nTotal:\t\S+\n$/);
  const afterDangling = keys();
  assert.ok(afterDangling.length < before.length && afterDangling.every((k) => before.includes(k)), `${before.length} -> ${afterDangling.length} records`);
  const cached = await runCli(['build', '--progress=json', c]);
  const steps = cached.events.filter((e) => e.type === 'step' && e.status !== 'running' && !e.instruction?.startsWith('FROM'));
  assert.deepEqual(steps.map((e) => e.status), ['cached', 'cached']);
  // every record and the cache mounts go; the layers only the old records named are freed
  await runCli(['rmi', `prune-${TOKEN}`]);
  const blobs = () => readdirSync(join(root, 'blobs', 'sha256')).length;
  const blobsBefore = blobs();
  const everything = await runCli(['builder', 'prune', '-af']);
  assert.equal(everything.code, 0, everything.stderr);
  assert.deepEqual(keys(), []);
  assert.deepEqual(existsSync(join(root, 'cache-mounts')) ? readdirSync(join(root, 'cache-mounts')) : [], []);
  assert.ok(blobs() <= blobsBefore);
  assert.equal((await runCli(['fsck'])).code, 0);
  const rebuilt = await runCli(['build', '--progress=json', c]);
  const misses = rebuilt.events.filter((e) => e.type === 'step' && e.status === 'done' && !e.instruction?.startsWith('FROM')) as (StepEv & { miss?: { kind: string; detail: string } })[];
  assert.equal(misses.length, 2);
  assert.match(misses[0]!.miss!.detail, /pruned/);
  // asked and answered no: nothing is removed
  const refused = await runCli(['builder', 'prune', '-a']);
  assert.equal(refused.code, 0);
  assert.match(refused.stdout, /WARNING! This will remove all build cache\./);
  assert.ok(keys().length > 0);
});
