/**
 * The Linux sandbox on real namespaces and overlayfs, over a busybox rootfs (Debian busybox-static).
 * Runs as whoever runs the tests (root in CI); the rootless path is covered by runtime-rootless.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test, type TestContext } from 'node:test';
import { isLayerwiseError } from '../../engine/errors';
import { BUSYBOX, busyboxAvailable, busyboxUnavailableReason, makeBusyboxRootfs } from '../helpers/rootfs';
import { canSandbox, removeTree, runSandboxed, startSandbox, type SandboxSpec } from '../../engine/runtime/sandbox';

/** The shared busybox rootfs plus users, groups and files these tests use; optionally without /proc, /sys, /dev. */
async function makeRootfs(dir: string, opts: { systemDirs: boolean }): Promise<void> {
  await makeBusyboxRootfs(dir);
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nstaff:x:50:nobody,app\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n');
  writeFileSync(join(dir, 'etc/keep'), 'keep me\n');
  writeFileSync(join(dir, 'etc/delete-me'), 'bye\n');
  if (opts.systemDirs) {
    for (const f of ['hosts', 'resolv.conf', 'hostname']) writeFileSync(join(dir, 'etc', f), '');
  } else {
    for (const d of ['proc', 'sys', 'dev']) rmSync(join(dir, d), { recursive: true, force: true });
  }
}

let base = '';
let full = ''; // rootfs with /proc, /dev, /sys, /etc/hosts...
let bare = ''; // rootfs without them
let skipReason: string | undefined;
let n = 0;

before(async () => {
  const cap = await canSandbox();
  if (!cap.ok) skipReason = `sandbox not available here: ${cap.reason}`;
  else if (!busyboxAvailable()) skipReason = busyboxUnavailableReason();
  base = mkdtempSync(join(tmpdir(), 'lw-runtime-test-'));
  if (!skipReason) {
    full = join(base, 'full');
    bare = join(base, 'bare');
    await makeRootfs(full, { systemDirs: true });
    await makeRootfs(bare, { systemDirs: false });
  }
});

after(async () => {
  // rootless, a test may leave files owned by subordinate ids, which only a user namespace can remove
  if (base) await removeTree(base);
});

interface Run {
  spec: SandboxSpec;
  upper: string;
  out: () => string;
  err: () => string;
}

function prep(args: string[], extra: Partial<SandboxSpec> = {}): Run {
  const dir = join(base, `c${n++}`);
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  mkdirSync(upper, { recursive: true });
  mkdirSync(work);
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => (o += d.toString()));
  err.on('data', (d: Buffer) => (e += d.toString()));
  return {
    spec: { lowerDirs: [full], upperDir: upper, workDir: work, args, env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], stdout: out, stderr: err, ...extra },
    upper,
    out: () => o,
    err: () => e,
  };
}

function sh(cmd: string, extra: Partial<SandboxSpec> = {}): Run {
  return prep(['/bin/sh', '-c', cmd], extra);
}

function skipIfNeeded(t: TestContext): boolean {
  if (skipReason) {
    t.skip(skipReason);
    return true;
  }
  return false;
}

/** every path in a dir, relative, sorted */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = prefix + name;
    out.push(rel);
    const st = lstatSync(join(dir, name));
    if (st.isDirectory()) out.push(...tree(join(dir, name), rel + '/'));
  }
  return out;
}

describe('runtime sandbox (real namespaces + overlayfs)', () => {
  test('stdout and stderr are separate streams, exit 0', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('echo to-out; echo to-err >&2');
    const res = await runSandboxed(r.spec);
    assert.equal(res.exitCode, 0);
    assert.equal(r.out(), 'to-out\n');
    assert.equal(r.err(), 'to-err\n');
  });

  test('a failing command reports its exit code', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('exit 3');
    assert.equal((await runSandboxed(r.spec)).exitCode, 3);
  });

  test('a missing binary reports 127 with a clear message; a non-executable file 126', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = prep(['/bin/no-such-binary', 'x']);
    const res = await runSandboxed(r.spec);
    assert.equal(res.exitCode, 127);
    assert.match(r.err(), /failed to execute \/bin\/no-such-binary: No such file or directory/);
    const r2 = prep(['/etc/keep']);
    assert.equal((await runSandboxed(r2.spec)).exitCode, 126);
    assert.match(r2.err(), /Permission denied/);
    const r3 = prep(['no-such-cmd']);
    assert.equal((await runSandboxed(r3.spec)).exitCode, 127);
  });

  test('the environment is exactly the one given', async (t) => {
    if (skipIfNeeded(t)) return;
    const env = ['PATH=/usr/bin:/bin', 'A=1', 'WITH_SPACE=a b  c', 'EMPTY=', 'MULTI=line1\nline2'];
    const r = prep(['env', '-0'], { env }); // found through the given PATH
    assert.equal((await runSandboxed(r.spec)).exitCode, 0);
    assert.deepEqual(r.out().split('\0').filter((x) => x !== '').sort(), [...env].sort());
  });

  test('the working directory is created (owned by the user) and used', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('pwd', { cwd: '/srv/app/deep', user: 'app' });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0);
    assert.equal(r.out(), '/srv/app/deep\n');
    const st = lstatSync(join(r.upper, 'srv/app/deep'));
    assert.ok(st.isDirectory());
    assert.equal(st.uid, (process.geteuid?.() ?? 0) === 0 ? 1000 : st.uid);
  });

  test('user by name gets uid, gid and supplementary groups from the rootfs; by uid and uid:gid too', async (t) => {
    if (skipIfNeeded(t)) return;
    const ids = async (user: string | undefined): Promise<string> => {
      const r = sh('echo $(id -u) $(id -g) $(id -G)', user === undefined ? {} : { user });
      const res = await runSandboxed(r.spec);
      assert.equal(res.exitCode, 0, r.err());
      return r.out().trim();
    };
    if ((process.geteuid?.() ?? 0) !== 0) {
      t.skip('switching to arbitrary users needs root or subuid ranges; see runtime-rootless.test.ts');
      return;
    }
    assert.equal(await ids('app'), '1000 1000 1000 50 2000');
    assert.equal(await ids('nobody'), '65534 65534 65534 50');
    assert.equal(await ids('1000'), '1000 1000 1000 50 2000'); // a known uid behaves like its name
    assert.equal(await ids('4321'), '4321 0 0'); // an unknown uid gets gid 0
    assert.equal(await ids('app:staff'), '1000 50 50'); // an explicit group: no supplementary groups
    assert.equal(await ids('77:88'), '77 88 88');
    assert.equal(await ids(undefined), '0 0 0');
    await assert.rejects(runSandboxed(sh('true', { user: 'ghost' }).spec), (e: unknown) => isLayerwiseError(e) && /unable to find user ghost/.test(e.message));
  });

  test('a command killed by a signal: 128+signal, and nothing but its own output on its stderr', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('echo before >&2; kill -TERM $$');
    const res = await runSandboxed(r.spec);
    assert.equal(res.exitCode, 143);
    assert.equal(res.signal, 'SIGTERM');
    // (the init's shell reports the signal as "Terminated": on the engine's diagnostics, never the container's stderr)
    assert.equal(r.err(), 'before\n');
  });

  test('writes land in the upper dir, deletions of lower files become whiteouts, nothing else does', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('echo new > /etc/new-file && rm /etc/delete-me && mkdir -p /tmp/x && echo hi > /tmp/x/f && cat /etc/hosts /etc/resolv.conf /etc/hostname > /dev/null && ls /proc/self /dev/pts /sys > /dev/null');
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(readFileSync(join(r.upper, 'etc/new-file'), 'utf8'), 'new\n');
    const wh = lstatSync(join(r.upper, 'etc/delete-me'));
    assert.ok(wh.isCharacterDevice(), 'a deleted lower file is a character-device whiteout');
    assert.equal(wh.rdev, 0);
    assert.deepEqual(tree(r.upper), ['etc', 'etc/delete-me', 'etc/new-file', 'tmp', 'tmp/x', 'tmp/x/f']);
    // the lower dir is untouched
    assert.ok(existsSync(join(full, 'etc/delete-me')));
  });

  test('/etc/hosts, /etc/resolv.conf, /etc/hostname, /proc, /dev never land in the upper dir (run profile, writable files)', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('echo 10.0.0.1 extra >> /etc/hosts && echo nameserver 1.1.1.1 >> /etc/resolv.conf && echo other > /etc/hostname && cat /etc/hostname && hostname && touch /dev/shm/x /dev/made', {
      profile: 'run',
      hostname: 'box1',
    });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), 'other\nbox1\n');
    assert.deepEqual(tree(r.upper), []);
  });

  test('build profile: /etc/hosts and /etc/resolv.conf are generated and read-only; stubs in a bare rootfs are removed', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('cat /etc/hosts; hostname; echo x >> /etc/hosts || echo ro; test -e /etc/hostname || echo no-hostname-file', { lowerDirs: [bare] });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\nbuildkitsandbox\nro\nno-hostname-file\n');
    // like runc/BuildKit: missing mountpoints for /proc, /sys, /dev stay; the /etc file stubs are removed (/etc
    // itself existed: only its mtime is put back, which copies it up)
    assert.deepEqual(tree(r.upper), ['dev', 'etc', 'proc', 'sys']);
    const etc = lstatSync(join(r.upper, 'etc'));
    assert.equal(etc.mtimeMs, lstatSync(join(bare, 'etc')).mtimeMs, 'the parent of a removed stub keeps its mtime');
  });

  test('network none: only the loopback interface', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", { network: 'none' });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), 'lo\n');
    const hostIfs = readFileSync('/proc/net/dev', 'utf8').trim().split('\n').length - 2;
    const r2 = sh('cat /proc/net/dev | tail -n +3 | wc -l');
    assert.equal((await runSandboxed(r2.spec)).exitCode, 0);
    assert.equal(Number(r2.out().trim()), hostIfs, 'the default network is the host network namespace');
  });

  test('pid namespace: the sandbox sees only its own processes, with low pids', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('echo $$; ls /proc | grep -c "^[0-9]*$"; cat /proc/1/cmdline | tr "\\0" " "');
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    const [pid, count] = r.out().split('\n');
    const init = r.out();
    assert.ok(Number(pid) < 100, `low pid, got ${pid}`);
    assert.ok(Number(count) <= 4, `only the sandbox's processes are visible, got ${count}`);
    assert.match(init ?? '', /layerwise-init/);
  });

  test('/sys is read-only, /dev has the usual nodes, /proc works, hostname is set', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('touch /sys/x 2>/dev/null || echo sys-ro; head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; ls /dev | tr "\\n" " "; echo; hostname', { hostname: 'myhost' });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    const lines = r.out().split('\n');
    assert.equal(lines[0], 'sys-ro');
    assert.equal(lines[1]?.trim(), '4');
    assert.equal(lines[2], 'null-ok');
    for (const d of ['full', 'null', 'ptmx', 'pts', 'random', 'shm', 'tty', 'urandom', 'zero']) assert.ok(lines[3]?.split(' ').includes(d), `/dev/${d}`);
    assert.equal(lines[4], 'myhost');
  });

  test('bind (read-only and read-write), tmpfs and cache mounts; their stubs do not stay in the upper dir', async (t) => {
    if (skipIfNeeded(t)) return;
    const src = join(base, `src${n++}`);
    const cache = join(base, `cache${n++}`);
    mkdirSync(src);
    writeFileSync(join(src, 'in.txt'), 'from host\n');
    const r = sh('cat /mnt/ro/in.txt; touch /mnt/ro/x 2>/dev/null || echo ro-denied; echo w > /mnt/rw/out.txt; echo t > /scratch/t; echo c >> /var/cache/thing/c; cat /var/cache/thing/c | wc -l', {
      mounts: [
        { type: 'bind', source: src, target: '/mnt/ro', readonly: true },
        { type: 'bind', source: src, target: '/mnt/rw' },
        { type: 'tmpfs', target: '/scratch' },
        { type: 'cache', source: cache, target: '/var/cache/thing' },
      ],
    });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), 'from host\nro-denied\n1\n');
    assert.equal(readFileSync(join(src, 'out.txt'), 'utf8'), 'w\n');
    assert.equal(readFileSync(join(cache, 'c'), 'utf8'), 'c\n');
    // the stubs and the directories made for them are gone (BuildKit's recursive stub cleaner; the run-mounts
    // differential fixture checks this against Docker); /var existed and only its mtime was put back
    assert.deepEqual(tree(r.upper), ['var']);
  });

  test('mounts under /dev (a directory, a file, a tmpfs) land in the sandbox own /dev and leave nothing in the upper dir', async (t) => {
    if (skipIfNeeded(t)) return;
    const src = join(base, `devsrc${n++}`);
    mkdirSync(src);
    writeFileSync(join(src, 'script'), '#!/bin/sh\necho from-pipes "$0"\n', { mode: 0o755 });
    const r = sh('/dev/pipes/script; cat /dev/one/script | head -1; echo t > /dev/deep/er/t && cat /dev/deep/er/t; ls /dev/null >/dev/null && echo null-ok', {
      mounts: [
        { type: 'bind', source: src, target: '/dev/pipes', readonly: true },
        { type: 'bind', source: join(src, 'script'), target: '/dev/one/script', readonly: true },
        { type: 'tmpfs', target: '/dev/deep/er' },
      ],
    });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), 'from-pipes /dev/pipes/script\n#!/bin/sh\nt\nnull-ok\n');
    assert.deepEqual(tree(r.upper), []);
  });

  test('one signal for many sandboxes (a build\'s RUNs): each removes its abort listener when it is done', async (t) => {
    if (skipIfNeeded(t)) return;
    const { EventEmitter } = await import('node:events');
    const ac = new AbortController();
    for (let i = 0; i < 3; i++) {
      const r = sh('true', { signal: ac.signal });
      assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    }
    assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 0);
  });

  test('stdin is passed through', async (t) => {
    if (skipIfNeeded(t)) return;
    const input = new PassThrough();
    const r = prep(['tr', 'a-z', 'A-Z'], { stdin: input });
    const p = runSandboxed(r.spec);
    input.end('hello sandbox\n');
    assert.equal((await p).exitCode, 0);
    assert.equal(r.out(), 'HELLO SANDBOX\n');
  });

  test('tty: the command runs on a pty of the container devpts', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; exit 5', { tty: true, stdin: 'pipe' });
    const h = await startSandbox(r.spec);
    h.stdin?.end();
    const res = await h.done;
    assert.equal(res.exitCode, 5);
    assert.match(r.out(), /^\/dev\/pts\/0\r?\nis-a-tty\r?\n$/);
  });

  test('a command killed by a signal reports 128+n and the signal', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('kill -TERM $$');
    const res = await runSandboxed(r.spec);
    assert.equal(res.exitCode, 143);
    assert.equal(res.signal, 'SIGTERM');
  });

  test('processes left in the background are killed when the command ends', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('sleep 1234321 & exit 0');
    const res = await runSandboxed(r.spec);
    assert.equal(res.exitCode, 0);
    // no such sleep runs on the host any more
    const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x001234321\x00';
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, []);
  });

  test('cancel kills the whole process tree and leaves no mount and no namespace behind', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('sleep 1000 & sleep 1001 & sleep 1002');
    const h = await startSandbox(r.spec);
    await h.started;
    // the command and its children are there (wait for the two background sleeps to be forked)
    let procs = h.processes();
    while (procs.length < 3) {
      await new Promise<void>((res) => setImmediate(res));
      procs = h.processes();
    }
    const mntNs = readlinkSync(`/proc/${procs[0]}/ns/mnt`);
    const pidNs = readlinkSync(`/proc/${procs[0]}/ns/pid_for_children`);
    assert.notEqual(mntNs, readlinkSync('/proc/self/ns/mnt'));
    const res = await h.cancel();
    assert.equal(res.cancelled, true);
    assert.equal(res.exitCode, 137);
    for (const p of [...procs, h.pid]) assert.throws(() => process.kill(p, 0), /ESRCH/, `process ${p} is gone`);
    const users = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/mnt`) === mntNs || readlinkSync(`/proc/${p}/ns/pid`) === pidNs;
      } catch {
        return false;
      }
    });
    assert.deepEqual(users, [], 'no process is left in the sandbox namespaces');
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mountinfo.includes(r.upper) && !mountinfo.includes('layerwise-sbx-'), 'no mount refers to the sandbox');
    rmSync(join(r.upper, '..'), { recursive: true }); // nothing is busy
  });

  test('the host is not in the sandbox mount namespace: only read-only system dirs besides the container', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('sleep 1000');
    const h = await startSandbox(r.spec);
    try {
      await h.started;
      const [cmd] = h.processes();
      assert.ok(cmd !== undefined);
      const st = readFileSync(`/proc/${cmd}/stat`, 'utf8');
      const init = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      // process 1 sits in the staging root; its mountinfo lists every mount of the namespace
      const mounts = readFileSync(`/proc/${init}/mountinfo`, 'utf8').trim().split('\n').map((l) => {
        const f = l.split(' ');
        return { point: f[4] as string, opts: f[5] as string };
      });
      const writable = mounts.filter((m) => !m.opts.split(',').includes('ro')).map((m) => m.point);
      for (const p of writable) assert.match(p, /^\/(dev|proc|rootfs)?(\/|$)/, `writable mount ${p} outside the container`);
      const points = mounts.map((m) => m.point);
      for (const hostDir of ['/etc', '/home', '/root', '/tmp', '/var', '/work']) assert.ok(!points.includes(hostDir), `${hostDir} is not there`);
      assert.ok(points.includes('/rootfs') && points.includes('/usr'));
      assert.ok(!points.some((p) => p.includes(base)), 'no host path of the test is a mount point');
    } finally {
      await h.cancel();
    }
  });

  test('hardening: /proc/sys read-only, masked /proc files, Docker capabilities, no device nodes outside /dev', async (t) => {
    if (skipIfNeeded(t)) return;
    if ((process.geteuid?.() ?? 0) !== 0) return t.skip('checks what root in a sandbox may do; runs as root');
    // writing the current value back would change nothing even if the protection failed
    const masked = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug'].filter((p) => existsSync(p));
    assert.ok(masked.length > 0, 'the host has files to mask');
    const r = sh(
      'cat /proc/sys/kernel/printk_ratelimit > /tmp/v; cat /tmp/v > /proc/sys/kernel/printk_ratelimit 2>/dev/null && echo sys-written || echo sys-ro; ' +
        `cat ${masked.join(' ')} | wc -c; echo ${masked.length}; grep CapBnd /proc/self/status; ` +
        'mknod /tmp/nul c 1 3 && { echo x > /tmp/nul 2>/dev/null && echo dev-opened || echo dev-denied; }; echo x > /dev/null && echo dev-null-ok',
    );
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    const lines = r.out().split('\n').map((l) => l.trim());
    assert.deepEqual(lines.slice(0, 3), ['sys-ro', '0', String(masked.length)]);
    assert.equal(lines[3], 'CapBnd:\t00000000a80425fb', 'Docker default capabilities');
    assert.deepEqual(lines.slice(4, 6), ['dev-denied', 'dev-null-ok']);
  });

  test('kill() signals the command, which can exit gracefully', async (t) => {
    if (skipIfNeeded(t)) return;
    const out = new PassThrough();
    const r = sh("trap 'echo got-term; exit 7' TERM; echo ready; sleep 1000 & wait", { stdout: out });
    const h = await startSandbox(r.spec);
    await new Promise<void>((res) => out.once('data', () => res()));
    assert.equal(h.kill('SIGTERM'), true);
    const res = await h.done;
    assert.equal(res.exitCode, 7);
    assert.equal(res.cancelled, false);
  });

  test('with stdout and stderr ignored the command runs normally', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = sh('echo out; echo err >&2; exit 4', { stdout: 'ignore', stderr: 'ignore' });
    assert.equal((await runSandboxed(r.spec)).exitCode, 4);
    const r2 = sh('exit 0', {});
    delete r2.spec.stdout;
    delete r2.spec.stderr;
    assert.equal((await runSandboxed(r2.spec)).exitCode, 0);
  });

  test('an AbortSignal cancels a running sandbox', async (t) => {
    if (skipIfNeeded(t)) return;
    const ac = new AbortController();
    const out = new PassThrough();
    out.on('data', () => ac.abort());
    const r = sh('echo started; sleep 1000', { signal: ac.signal, stdout: out });
    const res = await runSandboxed(r.spec);
    assert.equal(res.cancelled, true);
  });

  test('scratch: no lower dirs, a bind-mounted static binary runs', async (t) => {
    if (skipIfNeeded(t)) return;
    const r = prep(['/busybox', 'echo', 'from scratch'], { lowerDirs: [], mounts: [{ type: 'bind', source: BUSYBOX, target: '/busybox', readonly: true }] });
    const res = await runSandboxed(r.spec);
    assert.equal(res.exitCode, 0, r.err());
    assert.equal(r.out(), 'from scratch\n');
    // /etc was made only for the /etc/hosts and /etc/resolv.conf stubs: it goes with them, as in BuildKit
    assert.deepEqual(tree(r.upper), ['dev', 'proc', 'sys']);
  });

  test('several lower dirs are stacked top first, with whiteouts in a lower layer honoured', async (t) => {
    if (skipIfNeeded(t)) return;
    const top = join(base, `top${n++}`);
    mkdirSync(join(top, 'etc'), { recursive: true });
    writeFileSync(join(top, 'etc/keep'), 'overridden\n');
    execFileSync('mknod', [join(top, 'etc/delete-me'), 'c', '0', '0']);
    const r = sh('cat /etc/keep; test -e /etc/delete-me || echo deleted', { lowerDirs: [top, full] });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), 'overridden\ndeleted\n');
  });

  test('a long layer list (past the one-page mount option limit) mounts with relative paths', async (t) => {
    if (skipIfNeeded(t)) return;
    const layers: string[] = [];
    for (let i = 0; i < 45; i++) {
      const l = join(base, `layer-${'x'.repeat(60)}-${String(i).padStart(3, '0')}`);
      mkdirSync(join(l, 'layers'), { recursive: true });
      writeFileSync(join(l, 'layers', `f${i}`), `${i}`);
      layers.unshift(l);
    }
    assert.ok(layers.join(':').length > 4096);
    const r = sh('ls /layers | wc -l; cat /layers/f44', { lowerDirs: [...layers, full] });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), '45\n44');
  });

  test('a hostile image cannot make the sandbox write or mount outside its root', async (t) => {
    if (skipIfNeeded(t)) return;
    const evil = join(base, `evil${n++}`);
    const outside = `/tmp/lw-evil-${process.pid}-${n}`;
    mkdirSync(join(evil, 'etc'), { recursive: true });
    symlinkSync(`/../../../../..${outside}/hosts`, join(evil, 'etc/hosts'));
    symlinkSync('../../../../../../tmp', join(evil, 'work'));
    const r = sh(`cat /etc/hosts | head -1; pwd`, { lowerDirs: [evil, full], cwd: '/work/sub' });
    assert.equal((await runSandboxed(r.spec)).exitCode, 0, r.err());
    assert.equal(r.out(), '127.0.0.1\tlocalhost buildkitsandbox\n/tmp/sub\n');
    assert.equal(existsSync(outside), false, 'nothing was created on the host');
    assert.equal(existsSync('/tmp/sub'), false);
    // the working directory was made inside the container's /tmp; the hosts stub was removed again
    assert.ok(lstatSync(join(r.upper, 'tmp/sub')).isDirectory());
    assert.equal(existsSync(join(r.upper, outside.slice(1), 'hosts')), false);
  });

  test('sandboxes run side by side', async (t) => {
    if (skipIfNeeded(t)) return;
    const runs = [0, 1, 2, 3].map((i) => sh(`echo run-${i} > /tmp/id; hostname`, { hostname: `box${i}` }));
    const results = await Promise.all(runs.map((r) => runSandboxed(r.spec)));
    results.forEach((res, i) => {
      assert.equal(res.exitCode, 0);
      assert.equal(runs[i]?.out(), `box${i}\n`);
      assert.equal(readFileSync(join(runs[i]?.upper ?? '', 'tmp/id'), 'utf8'), `run-${i}\n`);
    });
  });

  test('bad specs are refused before anything starts', async (t) => {
    if (skipIfNeeded(t)) return;
    await assert.rejects(runSandboxed(sh('true', { env: ['NOEQUALS'] }).spec), /not K=V/);
    await assert.rejects(runSandboxed(sh('true', { cwd: 'relative' }).spec), /absolute/);
    await assert.rejects(runSandboxed(prep([]).spec), /no command/);
    await assert.rejects(runSandboxed(sh('true', { lowerDirs: ['/tmp/a:b'] }).spec), /overlayfs cannot take/);
  });
});
