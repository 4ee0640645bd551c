/**
 * Rootless sandboxes, for real: the test (as root) starts this same file again as `nobody`
 * (`setpriv --reuid=65534 --regid=65534 --clear-groups`), inside a private mount namespace where /etc/subuid and
 * /etc/subgid are replaced by test files, so the machine's configuration is neither needed nor changed:
 * - no subordinate ranges: only root is mapped (the user's own id);
 * - a range for nobody: root plus 65536 ids through newuidmap/newgidmap, so other users and chown work.
 * The child prints what it observed as JSON; the assertions are here.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { busyboxAvailable, busyboxUnavailableReason, makeBusyboxRootfs } from '../helpers/rootfs';
import { canSandbox, removeTree, runSandboxed, startSandbox, type SandboxSpec } from '../../engine/runtime/sandbox';

const CHILD_ENV = 'LW_RUNTIME_ROOTLESS_CHILD';
const NOBODY = 65534;
const SUB_START = 200000;

interface Observed {
  uid: number;
  capability: { ok: boolean; rootless: boolean; idmap: string; reason?: string; note?: string };
  idsDefault?: string;
  upperNewFile?: { uid: number; gid: number };
  whiteout?: { char: boolean; rdev: number };
  upperTree?: string[];
  nobody?: { ok: boolean; out?: string; error?: string; fileUid?: number };
  chown?: { exitCode: number; fileUid?: number; removed?: boolean; removeError?: string };
  netNone?: string;
  cancel?: { cancelled: boolean; leftover: number[] };
  /** state dir and a read-only bind source on a nosuid,nodev,noexec mount (flags locked in a user namespace) */
  lockedFlags?: { exitCode: number; out: string; error?: string };
  error?: string;
}

function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    out.push(prefix + name);
    if (lstatSync(join(dir, name)).isDirectory()) out.push(...tree(join(dir, name), prefix + name + '/'));
  }
  return out;
}

/** runs as nobody: observe and print JSON */
async function child(): Promise<void> {
  const obs: Observed = { uid: process.geteuid?.() ?? -1, capability: { ok: false, rootless: true, idmap: '' } };
  const base = mkdtempSync(join(tmpdir(), 'lw-rootless-'));
  try {
    obs.capability = { ...(await canSandbox()) };
    if (!obs.capability.ok) return;
    const rootfs = join(base, 'rootfs');
    await makeBusyboxRootfs(rootfs);
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nstaff:x:50:nobody\nnogroup:x:65534:\n');
    writeFileSync(join(rootfs, 'etc/delete-me'), 'x\n');
    for (const f of ['hosts', 'resolv.conf', 'hostname']) writeFileSync(join(rootfs, 'etc', f), '');
    let k = 0;
    const run = async (cmd: string, extra: Partial<SandboxSpec> = {}): Promise<{ exitCode: number; out: string; upper: string; cancelled: boolean }> => {
      const dir = join(base, `c${k++}`);
      mkdirSync(join(dir, 'upper'), { recursive: true });
      mkdirSync(join(dir, 'work'));
      const out = new PassThrough();
      let o = '';
      out.on('data', (d: Buffer) => (o += d.toString()));
      const res = await runSandboxed({
        lowerDirs: [rootfs], upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), args: ['/bin/sh', '-c', cmd], env: ['PATH=/usr/bin:/bin'],
        stdout: out, stderr: out, ...extra,
      });
      return { exitCode: res.exitCode, out: o, upper: join(dir, 'upper'), cancelled: res.cancelled };
    };

    const a = await run('echo $(id -u) $(id -g); echo new > /etc/new && rm /etc/delete-me && cat /etc/hosts >/dev/null');
    obs.idsDefault = a.out.trim();
    const nf = lstatSync(join(a.upper, 'etc/new'));
    obs.upperNewFile = { uid: nf.uid, gid: nf.gid };
    const wh = lstatSync(join(a.upper, 'etc/delete-me'));
    obs.whiteout = { char: wh.isCharacterDevice(), rdev: wh.rdev };
    obs.upperTree = tree(a.upper);

    try {
      const b = await run('echo $(id -u) $(id -g) $(id -G); echo hi > /tmp/by-nobody', { user: 'nobody' });
      const f = join(b.upper, 'tmp/by-nobody');
      obs.nobody = { ok: b.exitCode === 0, out: b.out.trim(), ...(existsSync(f) ? { fileUid: lstatSync(f).uid } : {}) };
    } catch (e) {
      obs.nobody = { ok: false, error: (e as Error).message };
    }
    const c = await run('echo x > /tmp/owned && chown 1000:1000 /tmp/owned');
    obs.chown = { exitCode: c.exitCode, ...(existsSync(join(c.upper, 'tmp/owned')) ? { fileUid: lstatSync(join(c.upper, 'tmp/owned')).uid } : {}) };
    // files owned by subordinate ids: removable only through a user namespace
    await removeTree(c.upper).then(
      () => (obs.chown = { ...obs.chown, exitCode: c.exitCode, removed: !existsSync(c.upper) }),
      (e: unknown) => (obs.chown = { ...obs.chown, exitCode: c.exitCode, removed: false, removeError: (e as Error).message }),
    );
    const d = await run("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", { network: 'none' });
    obs.netNone = d.out.trim();

    const locked = process.env.LW_LOCKED_DIR;
    if (locked) {
      const src = mkdtempSync(join(locked, 'src-'));
      writeFileSync(join(src, 'f'), 'from a locked mount\n');
      try {
        const l = await run('cat /mnt/src/f; touch /mnt/src/g 2>/dev/null || echo ro', {
          stateParent: locked,
          mounts: [{ type: 'bind', source: src, target: '/mnt/src', readonly: true }],
        });
        obs.lockedFlags = { exitCode: l.exitCode, out: l.out };
      } catch (e) {
        obs.lockedFlags = { exitCode: -1, out: '', error: (e as Error).message };
      }
    }

    const dir = join(base, 'cancel');
    mkdirSync(join(dir, 'upper'), { recursive: true });
    mkdirSync(join(dir, 'work'));
    const h = await startSandbox({ lowerDirs: [rootfs], upperDir: join(dir, 'upper'), workDir: join(dir, 'work'), args: ['sleep', '1000'], env: ['PATH=/usr/bin:/bin'], stdout: 'ignore', stderr: 'ignore' });
    await h.started;
    const procs = h.processes();
    const res = await h.cancel();
    const leftover = [...procs, h.pid].filter((p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    });
    obs.cancel = { cancelled: res.cancelled, leftover };
  } catch (e) {
    obs.error = e instanceof Error ? `${e.message}` : String(e);
  } finally {
    try {
      rmSync(base, { recursive: true, force: true });
    } catch (e) {
      obs.error ??= `cannot remove the test dirs: ${(e as Error).message}`;
    }
    process.stdout.write(JSON.stringify(obs) + '\n');
  }
}

/** runs this file as nobody with the given /etc/subuid and /etc/subgid text */
function runChild(subid: string, dir: string): Promise<{ code: number; obs?: Observed; stderr: string }> {
  const f = join(dir, `subid-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, subid, { mode: 0o644 });
  const locked = mkdtempSync(join(tmpdir(), 'lw-locked-')); // a tmpfs covers it (mode 1777) in the child's namespace
  // a tmpfs with the flags /tmp or /run/user often has, visible only in this private mount namespace
  const script =
    'mount --bind "$1" /etc/subuid && mount --bind "$1" /etc/subgid && ' +
    'mount -t tmpfs -o nosuid,nodev,noexec,mode=1777 lwlocked "$4" && ' +
    'exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$2" --import tsx "$3"';
  return new Promise((resolve) => {
    const p = spawn('unshare', ['--mount', '--', 'sh', '-c', script, 'sh', f, process.execPath, __filename, locked], {
      cwd: process.cwd(),
      env: { ...process.env, [CHILD_ENV]: '1', HOME: '/tmp', LW_LOCKED_DIR: locked },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      rmSync(locked, { recursive: true, force: true });
      const line = out.trim().split('\n').pop() ?? '';
      let obs: Observed | undefined;
      try {
        obs = JSON.parse(line) as Observed;
      } catch {
        obs = undefined;
      }
      resolve({ code: code ?? 1, ...(obs ? { obs } : {}), stderr: err });
    });
  });
}

function whyNotRootless(): string | undefined {
  if ((process.geteuid?.() ?? 0) !== 0) return 'needs root to start a child as nobody (as non-root, runtime-sandbox.test.ts itself runs rootless)';
  if (!busyboxAvailable()) return busyboxUnavailableReason();
  if (!existsSync('/etc/subuid') || !existsSync('/etc/subgid')) return '/etc/subuid or /etc/subgid is missing (package uidmap/passwd)';
  try {
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'unshare', '--user', '--map-root-user', 'true'], { stdio: 'ignore' });
  } catch {
    return 'the kernel does not allow unprivileged user namespaces (unshare -U as nobody failed)';
  }
  try {
    readlinkSync('/proc/self/ns/user');
  } catch {
    return 'no user namespaces';
  }
  return undefined;
}

if (process.env[CHILD_ENV]) {
  void child();
} else {
  describe('runtime sandbox, rootless (as nobody, real user namespaces)', () => {
    const reason = whyNotRootless();
    const dir = mkdtempSync(join(tmpdir(), 'lw-rootless-parent-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('without subordinate ids: root only is mapped; files, whiteouts and isolation work', async (t) => {
      if (reason) return t.skip(reason);
      const r = await runChild('', dir);
      const o = r.obs;
      assert.ok(o, `child printed no result (exit ${r.code}): ${r.stderr.slice(-2000)}`);
      if (!o.capability.ok) return t.skip(`rootless sandbox not possible here: ${o.capability.reason}`);
      assert.equal(o.error, undefined, o.error);
      assert.equal(o.uid, NOBODY);
      assert.deepEqual({ rootless: o.capability.rootless, idmap: o.capability.idmap }, { rootless: true, idmap: 'root-only' });
      assert.match(o.capability.note ?? '', /only root is mapped/);
      assert.equal(o.idsDefault, '0 0');
      assert.deepEqual(o.upperNewFile, { uid: NOBODY, gid: NOBODY }, 'container root is the user on the host');
      assert.deepEqual(o.whiteout, { char: true, rdev: 0 });
      assert.deepEqual(o.upperTree, ['etc', 'etc/delete-me', 'etc/new']);
      assert.equal(o.nobody?.ok, false);
      assert.match(o.nobody?.error ?? '', /uid 65534, which is not mapped in this rootless sandbox/);
      assert.notEqual(o.chown?.exitCode, 0, 'chown to an unmapped id fails');
      assert.equal(o.netNone, 'lo');
      assert.deepEqual(o.cancel, { cancelled: true, leftover: [] });
      assert.deepEqual(o.lockedFlags, { exitCode: 0, out: 'from a locked mount\nro\n' }, o.lockedFlags?.error);
    });

    test('with a subordinate range: other users, supplementary groups and chown work (newuidmap)', async (t) => {
      if (reason) return t.skip(reason);
      if (!existsSync('/usr/bin/newuidmap') && !existsSync('/bin/newuidmap')) return t.skip('newuidmap is not installed (Debian: uidmap)');
      const r = await runChild(`nobody:${SUB_START}:65536\n`, dir);
      const o = r.obs;
      assert.ok(o, `child printed no result (exit ${r.code}): ${r.stderr.slice(-2000)}`);
      if (!o.capability.ok) return t.skip(`rootless sandbox not possible here: ${o.capability.reason}`);
      assert.equal(o.error, undefined, o.error);
      assert.equal(o.capability.idmap, 'subid');
      assert.equal(o.idsDefault, '0 0');
      assert.deepEqual(o.upperNewFile, { uid: NOBODY, gid: NOBODY });
      assert.deepEqual(o.whiteout, { char: true, rdev: 0 });
      assert.equal(o.nobody?.ok, true, o.nobody?.error ?? o.nobody?.out);
      assert.equal(o.nobody?.out, '65534 65534 65534 50');
      assert.equal(o.nobody?.fileUid, SUB_START + NOBODY - 1, 'container uid n>0 is subuid start + n - 1 on the host');
      assert.equal(o.chown?.exitCode, 0);
      assert.equal(o.chown?.fileUid, SUB_START + 1000 - 1);
      assert.equal(o.chown?.removed, true, o.chown?.removeError);
      assert.deepEqual(o.cancel, { cancelled: true, leftover: [] });
    });

    test('the whole sandbox suite passes rootless (as nobody, with a subordinate range)', async (t) => {
      if (reason) return t.skip(reason);
      if (!existsSync('/usr/bin/newuidmap') && !existsSync('/bin/newuidmap')) return t.skip('newuidmap is not installed (Debian: uidmap)');
      const f = join(dir, 'subid-suite');
      writeFileSync(f, `nobody:${SUB_START}:65536\n`, { mode: 0o644 });
      const suite = join(__dirname, 'runtime-sandbox.test.ts');
      const script = 'mount --bind "$1" /etc/subuid && mount --bind "$1" /etc/subgid && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$2" --import tsx --test --test-reporter=tap "$3"';
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        const p = spawn('unshare', ['--mount', '--', 'sh', '-c', script, 'sh', f, process.execPath, suite], {
          cwd: process.cwd(),
          // without the runner's context variable, so that the child runs its own tests and reports in TAP
          env: Object.fromEntries(Object.entries({ ...process.env, HOME: '/tmp' }).filter(([k]) => k !== 'NODE_TEST_CONTEXT')),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (out += d.toString()));
        p.on('close', (code) => resolve({ code: code ?? 1, out }));
      });
      const count = (k: string): number => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(r.out)?.[1] ?? -1);
      if (count('pass') === 0 && count('skipped') > 0) return t.skip('the sandbox suite skipped itself as nobody');
      assert.equal(r.code, 0, r.out.slice(-3000));
      assert.equal(count('fail'), 0);
      assert.ok(count('pass') >= 25, `passed rootless: ${count('pass')}, skipped: ${count('skipped')}`);
      t.diagnostic(`rootless: ${count('pass')} passed, ${count('skipped')} skipped (they need real root)`);
    });
  });
}
