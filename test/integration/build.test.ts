/**
 * layerwise build on real namespaces and overlayfs: results, the cache (which steps a change invalidates and the
 * reason reported), multi-stage, failures, and safety. Skips with the reason when builds cannot run here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile, appendFile, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { buildUnavailableReason, newKit, runBuild, sh, writeContext, type Kit } from '../helpers/build';
import type { StepEvent } from '../../engine/build/events';

let kit: Kit;
let skip: string | undefined;
before(async () => {
  skip = await buildUnavailableReason();
  if (!skip) kit = await newKit();
});
after(async () => {
  await kit?.cleanup();
});

let n = 0;
async function ctx(files: Parameters<typeof writeContext>[1]): Promise<string> {
  const dir = join(kit.dir, `ctx-${++n}`);
  await writeContext(dir, files);
  return dir;
}

const APP = `FROM busybox
ARG VERSION=1
WORKDIR /app
COPY deps.txt ./
RUN cp deps.txt installed.txt
COPY src/ ./src/
RUN echo "v$VERSION $(cat src/main.txt)" > built.txt
CMD ["cat", "/app/built.txt"]
`;

test('a build runs every step; a rebuild takes every step from the cache and gives the same image', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: APP, 'deps.txt': 'a\nb\n', 'src/main.txt': 'main' });
  const first = await runBuild(kit, c, { tags: ['app:1'] });
  assert.equal(first.error, undefined, first.error?.message);
  assert.deepEqual(first.summary, [
    'WORKDIR /app -> built (first-build)',
    'COPY deps.txt ./ -> built (first-build)',
    'RUN cp deps.txt installed.txt -> built (first-build)',
    'COPY src/ ./src/ -> built (first-build)',
    'RUN echo "v$VERSION $(cat src/main.txt)" > built.txt -> built (first-build)',
  ]);
  const out = await sh(kit, 'app:1', 'cat /app/built.txt /app/installed.txt; pwd');
  assert.equal(out.out, 'v1 main\na\nb\n/app\n');
  const second = await runBuild(kit, c, { tags: ['app:1'] });
  assert.deepEqual(second.summary.map((s) => s.split(' -> ')[1]), ['cached', 'cached', 'cached', 'cached', 'cached']);
  assert.equal(second.result!.imageId, first.result!.imageId);
  // Another rebuild writes nothing to the store: no blob, no new index.json (its inode would change), no cache
  // record, no stat cache (the second build could remember the digests of files too new to trust at the first);
  // nor does one without a tag, whose image is already listed (by its tag).
  const before = storeFiles();
  assert.equal((await runBuild(kit, c, { tags: ['app:1'] })).result!.imageId, first.result!.imageId);
  assert.deepEqual(changedSince(before, storeFiles()), []);
  assert.equal((await runBuild(kit, c, {})).result!.imageId, first.result!.imageId);
  assert.deepEqual(changedSince(before, storeFiles()), []);
});

/** Every file under the store but its lock and temp dirs (which a build uses while it runs), with inode and mtime. */
function storeFiles(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(kit.root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (r === 'locks' || r === 'tmp' || r === 'snapshots') continue;
      if (d.isDirectory()) walk(r);
      else {
        const st = statSync(join(kit.root, r));
        out.set(r, `${st.ino}:${st.mtimeMs}:${st.size}`);
      }
    }
  };
  walk('');
  return out;
}

function changedSince(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

test('editing a source file rebuilds from its COPY on, and says which file changed', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: APP, 'deps.txt': 'a\n', 'src/main.txt': 'one', 'src/other.txt': 'x' });
  await runBuild(kit, c);
  await writeFile(join(c, 'src/main.txt'), 'two');
  await writeFile(join(c, 'src/new.txt'), 'new');
  const b = await runBuild(kit, c, { tags: ['app:2'] });
  assert.deepEqual(b.summary, [
    'WORKDIR /app -> cached',
    'COPY deps.txt ./ -> cached',
    'RUN cp deps.txt installed.txt -> cached',
    'COPY src/ ./src/ -> built (files-changed)',
    'RUN echo "v$VERSION $(cat src/main.txt)" > built.txt -> built (parent-changed)',
  ]);
  const copy = b.steps.find((s) => s.instruction.startsWith('COPY src'))!;
  assert.equal(copy.miss?.kind, 'files-changed');
  if (copy.miss?.kind === 'files-changed') {
    assert.deepEqual(copy.miss.changed, ['src/main.txt']);
    assert.deepEqual(copy.miss.added, ['src/new.txt']);
  }
  assert.match(b.steps.find((s) => s.instruction.startsWith('RUN echo'))!.miss!.detail, /line 6, COPY src\/ \.\/src\//);
  assert.equal((await sh(kit, 'app:2', 'cat /app/built.txt')).out, 'v1 two\n');
});

test('build - : a context tar (plain or gzip, -f inside it) or a Dockerfile from standard input, as docker build -', async (t) => {
  if (skip) return t.skip(skip);
  const { cli } = await import('../helpers/store-cli');
  const { execFileSync } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const spooled = () => readdirSync(tmpdir()).filter((n) => n.startsWith('layerwise-stdin-')).length;
  const before = spooled();
  // the Dockerfile itself: an empty context
  const df = await cli(kit.root, ['build', '-q', '-t', 'stdin:df', '-'], 'FROM busybox\nRUN echo from-stdin > /m\n');
  assert.equal(df.code, 0, df.stderr);
  assert.equal((await sh(kit, 'stdin:df', 'cat /m')).out, 'from-stdin\n');
  // a context archive, plain and gzip; -f names a Dockerfile inside it
  const c = await ctx({ 'Dockerfile.alt': 'FROM busybox\nCOPY data.txt /data.txt\n', 'data.txt': 'in the tar\n', Dockerfile: 'FROM busybox\nCOPY data.txt /d.txt\n' });
  for (const [name, flags] of [['plain', '-cf'], ['gzip', '-czf']] as const) {
    const tarball = execFileSync('tar', ['-C', c, flags, '-', '.']);
    const r = await cli(kit.root, ['build', '-q', '-f', 'Dockerfile.alt', '-t', `stdin:${name}`, '-'], tarball);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sh(kit, `stdin:${name}`, 'cat /data.txt')).out, 'in the tar\n');
  }
  const dflt = await cli(kit.root, ['build', '-q', '-t', 'stdin:default', '-'], execFileSync('tar', ['-C', c, '-cf', '-', '.']));
  assert.equal(dflt.code, 0, dflt.stderr);
  assert.equal((await sh(kit, 'stdin:default', 'cat /d.txt')).out, 'in the tar\n');
  // refused: stdin for both, a Dockerfile outside the tar, an archive that escapes
  const both = await cli(kit.root, ['build', '-f', '-', '-'], 'FROM busybox\n');
  assert.equal(both.code, 1);
  assert.match(both.stderr, /can't use stdin for both build context and dockerfile/);
  const outside = await cli(kit.root, ['build', '-f', '../x', '-'], execFileSync('tar', ['-C', c, '-cf', '-', '.']));
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /must be within the build context/);
  const evil = Buffer.alloc(1024 * 3);
  const h = Buffer.alloc(512);
  h.write('../escape.txt', 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write('00000000002\0', 124);
  h.write('00000000000\0', 136);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  h.copy(evil, 0);
  evil.write('hi', 512);
  const bad = await cli(kit.root, ['build', '-'], evil);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^Error: unable to prepare context: the build context from standard input: .*escape/);
  assert.equal(spooled(), before, 'nothing of standard input is left in the temp dir');
});

test('layerwise run: -v (made when missing, :ro), --mount bind|tmpfs, --tmpfs, --env-file, -e, --read-only, --cap-add/--cap-drop, --privileged; refusals as docker words them', async (t) => {
  if (skip) return t.skip(skip);
  const { cli } = await import('../helpers/store-cli');
  const { mkdirSync, readFileSync, writeFileSync, existsSync } = await import('node:fs');
  const host = join(kit.dir, 'run-host');
  mkdirSync(join(host, 'ro'), { recursive: true });
  writeFileSync(join(host, 'ro', 'f'), 'from-host\n');
  writeFileSync(join(host, 'envf'), 'A=1\n# a comment\n\nB=two words\nFROM_HOST\n');
  const base = await cli(kit.root, ['tag', 'busybox', 'runner:1']);
  assert.equal(base.code, 0, base.stderr);
  const r = await cli(kit.root, [
    'run', '--rm', '-v', `${host}/rw:/data`, '-v', `${host}/ro:/ro:ro`, '--mount', `type=bind,source=${host}/ro,target=/ro2,readonly`,
    '--tmpfs', '/scratch', '--mount', 'type=tmpfs,target=/t2', '--env-file', `${host}/envf`, '-e', 'C=3', 'runner:1',
    'sh', '-c', 'echo written > /data/out; cat /ro/f /ro2/f; (echo x > /ro/g) 2>/dev/null || echo ro-refused; touch /scratch/a /t2/b && echo tmpfs-ok; grep -c " /scratch tmpfs" /proc/mounts; echo "$A|$B|$C|$FROM_HOST"',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `from-host\nfrom-host\nro-refused\ntmpfs-ok\n1\n1|two words|3|${process.env.FROM_HOST ?? ''}\n`);
  assert.equal(readFileSync(join(host, 'rw', 'out'), 'utf8'), 'written\n', '-v made the missing host dir and the write landed there');
  assert.ok(!existsSync(join(host, 'ro', 'g')));
  // --read-only: the root and /etc/hosts refuse writes; volumes, tmpfs and /dev do not (as docker run --read-only)
  const ro = await cli(kit.root, [
    'run', '--rm', '--read-only', '-v', `${host}/rw:/data`, '--tmpfs', '/scratch', 'runner:1',
    'sh', '-c', 'touch /x 2>/dev/null || echo root-ro; (echo x >> /etc/hosts) 2>/dev/null || echo hosts-ro; touch /data/y /scratch/z && echo > /dev/null && echo mounts-rw',
  ]);
  assert.equal(ro.code, 0, ro.stderr);
  assert.equal(ro.stdout, 'root-ro\nhosts-ro\nmounts-rw\n');
  // the command is process 1, as in Docker: a signal it has no handler for does not end it; --init puts an init first
  const pid1 = await cli(kit.root, ['run', '--rm', 'runner:1', 'sh', '-c', 'echo $$; kill -TERM $$; echo survived; exit 4']);
  assert.equal(pid1.code, 4, pid1.stderr);
  assert.equal(pid1.stdout, '1\nsurvived\n');
  const withInit = await cli(kit.root, ['run', '--rm', '--init', 'runner:1', 'sh', '-c', 'kill -TERM $$; echo not-reached']);
  assert.equal(withInit.code, 143);
  assert.equal(withInit.stdout, '');
  // --cap-add/--cap-drop as docker run computes them (the same CapBnd as Docker 26 printed side by side), --privileged
  const capBnd = async (args: string[]) => {
    const x = await cli(kit.root, ['run', '--rm', ...args, 'runner:1', 'grep', 'CapBnd', '/proc/self/status']);
    assert.equal(x.code, 0, x.stderr);
    return { bnd: x.stdout.trim().split('\t')[1], stderr: x.stderr };
  };
  assert.equal((await capBnd(['--cap-drop', 'chown', '--cap-add', 'NET_ADMIN', '--cap-add', 'cap_sys_time'])).bnd, '00000000aa0435fa');
  const all = await capBnd(['--cap-drop', 'ALL', '--cap-add', 'KILL']);
  // KILL, and the two the sandbox needs to enter the container, which the user is told about
  assert.equal(all.bnd, '00000000000400a0');
  assert.match(all.stderr, /keeps CAP_SYS_CHROOT and CAP_SETUID/);
  const priv = await cli(kit.root, ['run', '--rm', '--privileged', 'runner:1', 'sh', '-c', 'mkdir /m && mount -t tmpfs none /m && echo mounted']);
  assert.equal(priv.stdout, 'mounted\n', priv.stderr);
  const refused = async (args: string[], code: number, re: RegExp) => {
    const x = await cli(kit.root, ['run', ...args, 'runner:1', 'true']);
    assert.equal(x.code, code, `${args.join(' ')}: ${x.stderr}`);
    assert.match(x.stderr, re);
  };
  await refused(['--mount', `type=bind,source=${host}/absent,target=/x`], 125, /bind source path does not exist/);
  await refused(['-v', 'named:/data'], 125, /named volumes are not supported here/);
  await refused(['-v', `${host}:relative`], 125, /the container path must be absolute/);
  await refused(['-p', '8080:80:90:1'], 125, /invalid port specification: "8080:80:90:1"/);
  await refused(['--cap-add', 'FOO'], 125, /invalid CapAdd: unknown capability: "CAP_FOO"/);
  await refused(['--name', 'bad name'], 125, /Invalid container name \(bad name\)/);
  await refused(['--mount', 'type=volume,target=/v'], 125, /mount type volume is not supported here/);
  await refused(['--env-file', `${host}/absent`], 125, /no such file or directory/);
  // docker run's environment and identity: PATH, HOSTNAME (the container's short ID, or -h), HOME from passwd, the
  // image's ENV over them and -e over that; a bare -e NAME this environment lacks unsets it; the primary group is
  // a supplementary one too; a missing image exits 125
  const envOut = await cli(kit.root, ['run', '--rm', '-e', 'ONLY_HERE=1', '-e', 'LW_SURELY_UNSET_VAR', 'runner:1', 'sh', '-c', 'env | sort; hostname; id -G']);
  assert.equal(envOut.code, 0, envOut.stderr);
  const lines = envOut.stdout.trim().split('\n');
  const hn = lines[lines.length - 2]!;
  assert.match(hn, /^[0-9a-f]{12}$/);
  // (PWD and SHLVL are the shell's own)
  assert.deepEqual(lines.slice(0, -2).filter((l) => !/^(PWD|SHLVL)=/.test(l)), ['HOME=/root', `HOSTNAME=${hn}`, 'ONLY_HERE=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.equal(lines[lines.length - 1]!.split(' ')[0], '0', 'the primary group first');
  const named = await cli(kit.root, ['run', '--rm', '-h', 'myhost', '--user', '1000:1000', '--add-host', 'db:10.0.0.5', 'runner:1', 'sh', '-c', 'hostname; echo $HOSTNAME; id -G; grep db /etc/hosts']);
  assert.equal(named.stdout, 'myhost\nmyhost\n1000\n10.0.0.5\tdb\n', named.stderr);
  // an image the store lacks is pulled first, as docker run does (nothing listens on port 1); --pull never does not
  const missing = await cli(kit.root, ['run', '--rm', '127.0.0.1:1/not-here:1']);
  assert.equal(missing.code, 125);
  assert.equal(missing.stderr, "Unable to find image '127.0.0.1:1/not-here:1' locally\n1: Pulling from not-here\nError: cannot reach the registry 127.0.0.1:1: connection refused\n");
  const never = await cli(kit.root, ['run', '--rm', '--pull', 'never', 'not-here:1']);
  assert.equal(never.code, 125);
  assert.equal(never.stderr, 'Error: No such image: not-here:1\n');
  const badPull = await cli(kit.root, ['run', '--pull', 'sometimes', 'runner:1']);
  assert.equal(badPull.code, 125);
  assert.match(badPull.stderr, /invalid pull option: 'sometimes': must be one of "always", "missing" or "never"/);
  const help = await cli(kit.root, ['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: {2}layerwise run \[OPTIONS\] IMAGE/);
});

test('without -f: PATH/Dockerfile, else PATH/dockerfile (as Docker 26 takes it)', async (t) => {
  if (skip) return t.skip(skip);
  const { cli } = await import('../helpers/store-cli');
  const c = await ctx({ dockerfile: 'FROM busybox\nLABEL which=lower\n' });
  const lower = await cli(kit.root, ['build', '-q', '-t', 'lower:1', c]);
  assert.equal(lower.code, 0, lower.stderr);
  assert.equal((await kit.store.images.resolve('lower:1')).config.config?.Labels?.which, 'lower');
  await writeFile(join(c, 'Dockerfile'), 'FROM busybox\nLABEL which=upper\n');
  assert.equal((await cli(kit.root, ['build', '-q', '-t', 'upper:1', c])).code, 0);
  assert.equal((await kit.store.images.resolve('upper:1')).config.config?.Labels?.which, 'upper');
});

test('build --add-host: the RUNs\' /etc/hosts maps the names; part of each RUN\'s key; a bad address is a usage error', async (t) => {
  if (skip) return t.skip(skip);
  const { cli } = await import('../helpers/store-cli');
  const c = await ctx({ Dockerfile: 'FROM busybox\nRUN grep -E "myhost|other" /etc/hosts | tr "\\t" " " > /h\n' });
  const one = await cli(kit.root, ['build', '-q', '--add-host', 'myhost:10.1.2.3', '--add-host', 'other=fd00::1', '-t', 'hosts:1', c]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal((await sh(kit, 'hosts:1', 'cat /h')).out, '10.1.2.3 myhost\nfd00::1 other\n');
  const same = await runBuild(kit, c, { tags: ['hosts:2'], extraHosts: [{ host: 'myhost', ip: '10.1.2.3' }, { host: 'other', ip: 'fd00::1' }] });
  assert.deepEqual(same.summary.map((x) => x.split(' -> ')[1]!.split(' ')[0]), ['cached']);
  const moved = await runBuild(kit, c, { tags: ['hosts:3'], extraHosts: [{ host: 'myhost', ip: '10.9.9.9' }] });
  assert.deepEqual(moved.summary.map((x) => x.split(' -> ')[1]!.split(' ')[0]), ['built']);
  const bad = await cli(kit.root, ['build', '--add-host', 'nohost', c]);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid argument "nohost" for "--add-host" flag/);
});

test('build --label sets image labels (over LABEL, not in any cache key), --network is the RUNs\' default, --platform only the host\'s', async (t) => {
  if (skip) return t.skip(skip);
  const { cli } = await import('../helpers/store-cli');
  const { hostPlatform, formatPlatform } = await import('../../engine/image/chain');
  const c = await ctx({ Dockerfile: 'FROM busybox\nLABEL a=from-dockerfile keep=yes\nRUN ls /sys/class/net | tr "\\n" " " > /nets\n' });
  const one = await cli(kit.root, ['build', '-q', '--label', 'a=from-cli', '--label', 'b=two words', '--network', 'none', '--platform', formatPlatform(hostPlatform()), '-t', 'lbl:1', c]);
  assert.equal(one.code, 0, one.stderr);
  const img = await kit.store.images.resolve('lbl:1');
  assert.deepEqual(img.config.config?.Labels, { a: 'from-cli', keep: 'yes', b: 'two words' });
  assert.equal((await sh(kit, 'lbl:1', 'cat /nets')).out, 'lo ', 'RUN had a network namespace of its own, with only lo');
  // other labels: every step from the cache, another image
  const two = await runBuild(kit, c, { tags: ['lbl:2'], labels: { a: 'other' }, network: 'none' });
  assert.deepEqual(two.summary.map((x) => x.split(' -> ')[1]!.split(' ')[0]), ['cached']);
  assert.notEqual(two.result!.imageId, img.id);
  // the default network: the RUN misses (its network is part of its key)
  const three = await runBuild(kit, c, { tags: ['lbl:3'] });
  assert.deepEqual(three.summary.map((x) => x.split(' -> ')[1]!.split(' ')[0]), ['built']);
  const other = hostPlatform().architecture === 'amd64' ? 'linux/arm64' : 'linux/amd64';
  const plat = await cli(kit.root, ['build', '--platform', other, c]);
  assert.equal(plat.code, 1);
  assert.match(plat.stderr, new RegExp(`cannot build for ${other}: this engine builds for the host platform`));
  const net = await cli(kit.root, ['build', '--network', 'bridge', c]);
  assert.equal(net.code, 125);
});

test('a rebuild after one file changed links the unchanged files from the last snapshot; its layer is what a fresh store builds', async (t) => {
  if (skip) return t.skip(skip);
  const files: Record<string, string> = { Dockerfile: 'FROM busybox\nWORKDIR /app\nCOPY src/ ./src/\n' };
  for (let i = 0; i < 12; i++) files[`src/d${i % 3}/f${i}.txt`] = `file ${i}\n`.repeat(i + 1);
  const c = await ctx(files);
  await runBuild(kit, c);
  await writeFile(join(c, 'src/d1/f4.txt'), 'changed\n');
  const b = await runBuild(kit, c, { tags: ['reuse:1'] });
  assert.deepEqual(b.summary, ['WORKDIR /app -> cached', 'COPY src/ ./src/ -> built (files-changed)']);
  const { listLayer } = await import('../../engine/layers');
  const { chainIds } = await import('../../engine/image/chain');
  const { createReadStream } = await import('node:fs');
  const { stat } = await import('node:fs/promises');
  const img = await kit.store.images.resolve('reuse:1');
  const diffIds = img.config.rootfs.diff_ids;
  // the new snapshot shares the unchanged files' inodes with the last build's; the changed one is new
  const snap = await kit.store.snapshots.get(chainIds(diffIds)[diffIds.length - 1]!);
  assert.ok(snap, 'the COPY step has a snapshot');
  assert.ok((await stat(join(snap.dir, 'app/src/d0/f3.txt'))).nlink >= 2, 'an unchanged file is linked');
  assert.equal((await stat(join(snap.dir, 'app/src/d1/f4.txt'))).nlink, 1, 'the changed file is copied');
  // the same layer entries as a fresh store's build of the same context (regular files, same modes, owners, times)
  const entries = async (k: Kit, ref: string) => {
    const r = await k.store.images.resolve(ref);
    const top = r.manifest.layers[r.manifest.layers.length - 1]!;
    const out: string[] = [];
    for await (const e of listLayer(createReadStream(k.store.content.blobPath(top.digest)))) {
      if (e.path.startsWith('app/src/')) out.push(`${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.size} ${e.mtime}${e.linkTarget ? ' -> ' + e.linkTarget : ''}`);
    }
    return out.sort();
  };
  const fresh = await newKit();
  try {
    const f = await runBuild(fresh, c, { tags: ['reuse:1'] });
    assert.equal(f.error, undefined, f.error?.message);
    assert.deepEqual(await entries(kit, 'reuse:1'), await entries(fresh, 'reuse:1'));
  } finally {
    await fresh.cleanup();
  }
  assert.equal((await sh(kit, 'reuse:1', 'cat /app/src/d1/f4.txt /app/src/d0/f3.txt')).out, 'changed\n' + 'file 3\n'.repeat(4));
});

test('a touched file (mtime only) keeps the cache; a chmod does not', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nCOPY f /f\n', f: 'x' });
  await runBuild(kit, c);
  const { utimes, chmod } = await import('node:fs/promises');
  await utimes(join(c, 'f'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.deepEqual((await runBuild(kit, c)).summary, ['COPY f /f -> cached']);
  await chmod(join(c, 'f'), 0o755);
  assert.deepEqual((await runBuild(kit, c)).summary, ['COPY f /f -> built (files-changed)']);
});

test('a changed build arg rebuilds the RUNs that see it, and names it', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: APP, 'deps.txt': 'a\n', 'src/main.txt': 'm' });
  await runBuild(kit, c);
  const b = await runBuild(kit, c, { buildArgs: { VERSION: '7' }, tags: ['app:3'] });
  assert.deepEqual(b.summary, [
    'WORKDIR /app -> cached',
    'COPY deps.txt ./ -> cached',
    'RUN cp deps.txt installed.txt -> built (build-arg-changed)',
    'COPY src/ ./src/ -> built (parent-changed)',
    'RUN echo "v$VERSION $(cat src/main.txt)" > built.txt -> built (build-arg-changed)',
  ]);
  const run = b.steps.find((s) => s.instruction.startsWith('RUN echo'))!;
  assert.match(run.miss!.detail, /VERSION=7 \(was 1\)/);
  assert.equal((await sh(kit, 'app:3', 'cat /app/built.txt')).out, 'v7 m\n');
});

test('a changed instruction is named with what it was; --no-cache rebuilds everything', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n' });
  await runBuild(kit, c);
  await writeFile(join(c, 'Dockerfile'), 'FROM busybox\nRUN echo a > /a\nRUN echo B > /b\n');
  const b = await runBuild(kit, c);
  assert.deepEqual(b.summary, ['RUN echo a > /a -> cached', 'RUN echo B > /b -> built (instruction-changed)']);
  assert.match(b.steps.at(-1)!.miss!.detail, /was: RUN echo b > \/b/);
  const nc = await runBuild(kit, c, { noCache: true });
  assert.deepEqual(nc.summary, ['RUN echo a > /a -> built (no-cache)', 'RUN echo B > /b -> built (no-cache)']);
});

test('a LABEL change does not invalidate the RUN below it; an ENV change does', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nLABEL v=1\nENV E=1\nRUN echo $E > /e\n' });
  await runBuild(kit, c);
  await writeFile(join(c, 'Dockerfile'), 'FROM busybox\nLABEL v=2\nENV E=1\nRUN echo $E > /e\n');
  assert.deepEqual((await runBuild(kit, c)).summary, ['RUN echo $E > /e -> cached']);
  await writeFile(join(c, 'Dockerfile'), 'FROM busybox\nLABEL v=2\nENV E=2\nRUN echo $E > /e\n');
  assert.deepEqual((await runBuild(kit, c)).summary, ['RUN echo $E > /e -> built (env-changed)']);
});

test('multi-stage: --target builds only the stages it needs; COPY --from copies out of a stage', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({
    Dockerfile: `FROM busybox AS builder
RUN mkdir -p /out && echo built > /out/artifact && chmod 600 /out/artifact
FROM busybox AS broken
RUN exit 1
FROM busybox AS final
COPY --from=builder /out/artifact /usr/local/share/artifact
FROM final AS extra
RUN echo extra
`,
  });
  const b = await runBuild(kit, c, { target: 'final', tags: ['ms:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  assert.ok(!b.steps.some((s) => s.instruction === 'RUN exit 1'), 'the broken stage must not run');
  assert.ok(!b.steps.some((s) => s.instruction === 'RUN echo extra'));
  assert.equal((await sh(kit, 'ms:1', 'cat /usr/local/share/artifact; stat -c %a /usr/local/share/artifact')).out, 'built\n600\n');
});

test('image config and history as Docker writes them', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({
    Dockerfile: `FROM busybox
ENV A=1 B="two words"
LABEL maintainer="me" version=1.0
EXPOSE 80 53/udp
WORKDIR /srv
USER nobody
VOLUME /data
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "echo hi"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- localhost || exit 1
`,
  });
  const b = await runBuild(kit, c, { tags: ['cfg:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  const img = await kit.store.images.resolve('cfg:1');
  const cfg = img.config.config!;
  assert.deepEqual(cfg.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=two words']);
  assert.deepEqual(cfg.Labels, { maintainer: 'me', version: '1.0' });
  assert.deepEqual(cfg.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(cfg.WorkingDir, '/srv');
  assert.equal(cfg.User, 'nobody');
  assert.deepEqual(cfg.Volumes, { '/data': {} });
  assert.deepEqual(cfg.Entrypoint, ['/bin/sh']);
  assert.deepEqual(cfg.Cmd, ['-c', 'echo hi']);
  assert.equal(cfg.StopSignal, 'SIGTERM');
  assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'wget -q -O- localhost || exit 1'], Interval: 5e9, Retries: 2 });
  const hist = img.config.history!.filter((h) => h.comment === 'buildkit.dockerfile.v0').map((h) => `${h.empty_layer ? 'empty' : 'layer'} ${h.created_by}`);
  assert.deepEqual(hist, [
    'empty ENV A=1 B=two words',
    'empty LABEL maintainer=me version=1.0',
    'empty EXPOSE map[53/udp:{} 80/tcp:{}]', // Go prints map keys sorted
    'layer WORKDIR /srv',
    'empty USER nobody',
    'empty VOLUME [/data]',
    'empty ENTRYPOINT ["/bin/sh"]',
    'empty CMD ["-c" "echo hi"]',
    'empty STOPSIGNAL SIGTERM',
    'empty HEALTHCHECK &{["CMD-SHELL" "wget -q -O- localhost || exit 1"] "5s" "0s" "0s" "0s" \'\\x02\'}', // Go's %q of the struct, as Docker 26 writes it
  ]);
  assert.equal(img.config.rootfs.diff_ids.length, 2);
});

test('heredocs: RUN runs the body in the shell; COPY writes it as a file, expanded unless quoted', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({
    Dockerfile: `FROM busybox
ARG WHO=world
RUN <<EOF
echo "hello $WHO" > /greeting
EOF
COPY <<A <<"B" /etc/notes/
expanded $WHO
A
literal $WHO
B
COPY --chmod=755 <<-EOT /usr/bin/tool
	#!/bin/sh
	echo tool
	EOT
`,
  });
  const b = await runBuild(kit, c, { tags: ['hd:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  const out = await sh(kit, 'hd:1', 'cat /greeting /etc/notes/A /etc/notes/B; tool; stat -c %a /usr/bin/tool');
  assert.equal(out.out, 'hello world\nexpanded world\nliteral $WHO\ntool\n755\n');
});

test('COPY follows Docker rules: directory contents, wildcards, .dockerignore, --chown by name, trailing slash', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({
    Dockerfile: `FROM busybox
COPY dir /d1
COPY *.txt /txt/
COPY --chown=nobody:nogroup one.txt /owned
COPY . /all/
`,
    'dir/a': 'a',
    'dir/sub/b': 'b',
    'one.txt': '1',
    'two.txt': '2',
    'secret.key': 'nope',
    '.dockerignore': '*.key\n',
  });
  const b = await runBuild(kit, c, { tags: ['cp:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  const out = await sh(kit, 'cp:1', 'ls /d1 /d1/sub /txt; stat -c "%u:%g" /owned; ls -a /all; test -e /all/secret.key && echo LEAK');
  assert.equal(out.out, '/d1:\na\nsub\n\n/d1/sub:\nb\n\n/txt:\none.txt\ntwo.txt\n65534:65534\n.\n..\n.dockerignore\nDockerfile\ndir\none.txt\ntwo.txt\n');
});

test('COPY of several sources to a path without a trailing slash copies them in turn (as BuildKit); a directory onto a file is an error with its line', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nCOPY a b /dest\nCOPY d a /dir\n', a: 'A', b: 'B', 'd/x': 'X' });
  const b = await runBuild(kit, c, { tags: ['many:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  assert.equal((await sh(kit, 'many:1', 'cat /dest; echo; ls /dir')).out, 'B\na\nx\n', 'the last file is /dest; a directory first makes /dir a folder');
  const c2 = await ctx({ Dockerfile: 'FROM busybox\nCOPY a d /dest\n', a: 'A', 'd/x': 'X' });
  const b2 = await runBuild(kit, c2);
  assert.match(b2.error!.message, /cannot copy to non-directory: \/dest/);
  assert.equal(b2.error!.range!.start.line, 1);
});

test('RUN --security=insecure: refused unless the build allows security.insecure; then every capability of the namespaces (Docker default set otherwise)', async (t) => {
  if (skip) return t.skip(skip);
  const df = 'FROM busybox\nRUN grep CapBnd /proc/self/status > /caps-default\nRUN --security=insecure grep CapBnd /proc/self/status > /caps-insecure && mkdir -p /m && mount -t tmpfs none /m && touch /m/x\n';
  const c = await ctx({ Dockerfile: df });
  const refused = await runBuild(kit, c);
  assert.match(refused.error!.message, /security\.insecure is not allowed/);
  assert.equal(refused.error!.range!.start.line, 2);
  const b = await runBuild(kit, c, { tags: ['insecure:1'], allow: ['security.insecure'] });
  assert.equal(b.error, undefined, b.error?.message);
  const out = (await sh(kit, 'insecure:1', 'cat /caps-default /caps-insecure')).out.split('\n');
  // Docker's 14 default capabilities, as moby grants them
  assert.equal(out[0], 'CapBnd:\t00000000a80425fb');
  const insecure = BigInt('0x' + out[1]!.split('\t')[1]);
  assert.ok((insecure & 0x200000n) !== 0n && insecure > 0xa80425fbn, `CAP_SYS_ADMIN and more when insecure: ${out[1]}`);
  // the same RUN without the flag cannot mount
  const c2 = await ctx({ Dockerfile: 'FROM busybox\nRUN mkdir -p /m && mount -t tmpfs none /m\n' });
  assert.ok((await runBuild(kit, c2, { allow: ['security.insecure'] })).error, 'mounting needs --security=insecure');
});

test('COPY and RUN --mount=type=bind never read through a symlink out of the context', async (t) => {
  if (skip) return t.skip(skip);
  const outside = await mkdtemp(join(kit.dir, 'outside-'));
  await writeFile(join(outside, 'host-secret'), 'HOST');
  const c = await ctx({ Dockerfile: 'FROM busybox\nCOPY link/host-secret /x\n', link: { symlink: outside } });
  const b = await runBuild(kit, c);
  assert.ok(b.error, 'the build must fail: the link points outside the context');
  // nor does RUN --mount=type=bind of one (it mounted the host's directory, read-only, before)
  const cb = await ctx({ Dockerfile: 'FROM busybox\nRUN --mount=type=bind,source=link,target=/x cat /x/host-secret\n', link: { symlink: outside } });
  const bb = await runBuild(kit, cb);
  assert.match(bb.error?.message ?? '', /leads outside the build context/);
  assert.equal(bb.error!.range!.start.line, 1);
  const c2 = await ctx({ Dockerfile: 'FROM busybox\nCOPY tree /t\n', 'tree/escape': { symlink: '/etc/passwd' } });
  const b2 = await runBuild(kit, c2, { tags: ['sym:1'] });
  assert.equal(b2.error, undefined, b2.error?.message);
  assert.equal((await sh(kit, 'sym:1', 'readlink /t/escape')).out, '/etc/passwd\n', 'a link inside a copied tree is copied as a link');
});

test('a failing RUN fails the build at its line and leaves nothing behind', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nRUN echo ok\nRUN echo bad >&2; exit 3\n' });
  const before = await kit.store.images.list();
  const b = await runBuild(kit, c, { tags: ['fail:1'] });
  assert.match(b.error!.message, /did not complete successfully: exit code: 3/);
  assert.equal(b.error!.range!.start.line, 2);
  const end = b.events.find((e) => e.type === 'build-end');
  assert.ok(end && end.type === 'build-end' && !end.ok && end.error?.range?.start.line === 2);
  assert.deepEqual((await kit.store.images.list()).length, before.length);
  const tmp = await readdir(join(kit.root, 'tmp')).catch(() => [] as string[]);
  assert.deepEqual(tmp.filter((x) => x.startsWith(`${process.pid}-`)), []);
});

test('a RUN runs while the layer of the step before it is written (over its upper dir): it sees it, removes from it, and every step still reports its layer in order', async (t) => {
  if (skip) return t.skip(skip);
  const df = 'FROM busybox\nCOPY a.txt b.txt /d/\nRUN rm /d/a.txt && cat /d/b.txt > /d/c.txt\nRUN ls /d > /list.txt\nRUN rm /list.txt\n';
  const c = await ctx({ Dockerfile: df, 'a.txt': 'A', 'b.txt': 'B' });
  const b = await runBuild(kit, c, { tags: ['overlap:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  const out = await sh(kit, 'overlap:1', 'ls /d; cat /d/c.txt; test -e /list.txt || echo no-list');
  assert.equal(out.out, 'b.txt\nc.txt\nBno-list\n');
  // the done events come in step order, each with its own layer, and the image lists those layers in that order
  const done = b.events.filter((e): e is StepEvent => e.type === 'step' && e.status === 'done');
  assert.deepEqual(done.map((e) => e.instruction.split(' ')[0]), ['COPY', 'RUN', 'RUN', 'RUN']);
  const img = await kit.store.images.resolve('overlap:1');
  assert.deepEqual(img.manifest.layers.slice(-4).map((l) => l.digest), done.map((e) => e.layer!.digest));
  // each layer holds its own step's changes (the RUN's removal as a whiteout over the COPY's layer)
  const { listLayer } = await import('../../engine/layers');
  const names: string[][] = [];
  for (const e of done) {
    const entries: string[] = [];
    for await (const x of listLayer(await kit.store.content.readBlob(e.layer!.digest))) if (x.type !== 'dir') entries.push(x.whiteout ? `-${x.path}` : x.path);
    names.push(entries.sort());
  }
  assert.deepEqual(names, [['d/a.txt', 'd/b.txt'], ['-d/a.txt', 'd/c.txt'], ['list.txt'], ['-list.txt']]);
  const { fsck } = await import('../../engine/store/fsck');
  const report = await fsck(kit.store, {});
  assert.deepEqual(report.problems, []);
  // nothing is left in the store's temp dir, and a rebuild takes every step from the cache
  const tmp = await readdir(join(kit.root, 'tmp')).catch(() => [] as string[]);
  assert.deepEqual(tmp.filter((x) => x.startsWith(`${process.pid}-`)), []);
  const again = await runBuild(kit, c, { tags: ['overlap:1'] });
  assert.deepEqual(again.summary.map((x) => x.split(' -> ')[1]), ['cached', 'cached', 'cached', 'cached']);
});

test('a RUN that fails after a step whose layer was still being written: that step is cached, nothing is left behind', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN exit 4\n', 'a.txt': 'A' });
  const b = await runBuild(kit, c, {});
  assert.match(b.error!.message, /exit code: 4/);
  assert.equal(b.error!.range!.start.line, 2);
  const tmp = await readdir(join(kit.root, 'tmp')).catch(() => [] as string[]);
  assert.deepEqual(tmp.filter((x) => x.startsWith(`${process.pid}-`)), []);
  await writeFile(join(c, 'Dockerfile'), 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt\n');
  const fixed = await runBuild(kit, c, {});
  assert.equal(fixed.error, undefined, fixed.error?.message);
  assert.deepEqual(fixed.summary.map((x) => x.split(' -> ')[1]?.split(' ')[0]), ['cached', 'built']);
});

test('parse errors and a missing base image point at the Dockerfile line', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nRUN ["a", 1]\n' });
  const b = await runBuild(kit, c);
  // (BuildKit words the line parser's errors without "dockerfile parse error on line N")
  assert.match(b.error!.message, /^when using JSON array syntax/);
  assert.equal(b.error!.range!.start.line, 1);
  const c2 = await ctx({ Dockerfile: 'FROM busybox\nFROM nosuchimage:1\n' });
  const b2 = await runBuild(kit, c2);
  assert.match(b2.error!.message, /nosuchimage:1/);
  assert.equal(b2.error!.range!.start.line, 1);
});

test('with SOURCE_DATE_EPOCH two builds on fresh stores give the same image digest', async (t) => {
  if (skip) return t.skip(skip);
  const files = { Dockerfile: 'FROM busybox\nCOPY a /a\nRUN echo x > /b && mkdir /c\nENV Z=1\n', a: 'a' };
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const k = await newKit();
    try {
      const dir = join(k.dir, 'ctx');
      await writeContext(dir, files);
      const b = await runBuild(k, dir, { sourceDateEpoch: 1700000000 });
      assert.equal(b.error, undefined, b.error?.message);
      ids.push(b.result!.manifest.digest);
    } finally {
      await k.cleanup();
    }
  }
  assert.equal(ids[0], ids[1]);
});

test('two builds at once on one store both succeed and share the cache', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM busybox\nCOPY a /a\nRUN cat /a > /b\n', a: 'shared' });
  const [x, y] = await Promise.all([runBuild(kit, c, { tags: ['par:1'] }), runBuild(kit, c, { tags: ['par:2'] })]);
  assert.equal(x.error, undefined, x.error?.message);
  assert.equal(y.error, undefined, y.error?.message);
  const third = await runBuild(kit, c);
  assert.deepEqual(third.summary, ['COPY a /a -> cached', 'RUN cat /a > /b -> cached']);
  await appendFile(join(c, 'a'), '!');
});

test('predict: the cache status of every step, from the same cache keys, without running anything', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: APP, 'deps.txt': 'predict\n', 'src/main.txt': 'p' });
  const none = await runBuild(kit, c, { predict: true });
  assert.deepEqual(none.result!.predictions!.map((p) => `${p.keyword} ${p.status}`), ['WORKDIR hit', 'COPY miss', 'RUN miss', 'COPY miss', 'RUN miss']);
  await runBuild(kit, c);
  await writeFile(join(c, 'src/main.txt'), 'q');
  const before = (await kit.store.images.list()).length;
  const p = await runBuild(kit, c, { predict: true, buildArgs: { VERSION: '1' } });
  assert.deepEqual(
    p.result!.predictions!.map((x) => `${x.range.start.line + 1} ${x.keyword} ${x.status}: ${x.reason.replace(/\(built in [\d.]+s\)/, '(built in Ns)')}`),
    [
      '3 WORKDIR hit: cached (built in Ns)',
      '4 COPY hit: cached (built in Ns)',
      '5 RUN hit: cached (built in Ns)',
      '6 COPY miss: files changed: 1 changed (src/main.txt)',
      '7 RUN miss: a step above it was rebuilt: line 6, COPY src/ ./src/',
    ],
  );
  assert.equal((await kit.store.images.list()).length, before, 'predict writes no image');
  const real = await runBuild(kit, c);
  assert.deepEqual(real.summary.map((s) => s.split(' -> ')[1]!.split(' ')[0]), ['cached', 'cached', 'cached', 'built', 'built']);
});

test('COPY --from is keyed by the content it copies: a source rebuilt to the same files leaves it (and what follows) cached; predict finds the digest', async (t) => {
  if (skip) return t.skip(skip);
  const df = `FROM busybox AS builder\nCOPY src/ /src/\nRUN cat /src/* | wc -l > /count\nFROM busybox\nCOPY --from=builder /count /count\nRUN cat /count > /copied\n`;
  const c = await ctx({ Dockerfile: df, 'src/a.txt': 'a\n' });
  const first = await runBuild(kit, c);
  assert.deepEqual(first.summary.map((s) => s.split(' -> ')[1]!.split(' ')[0]), ['built', 'built', 'built', 'built']);
  // the same number of lines: the builder rebuilds, its /count is the same
  await writeFile(join(c, 'src/a.txt'), 'b\n');
  const same = await runBuild(kit, c);
  assert.deepEqual(same.summary.map((s) => s.split(' -> ')[1]!.split(' ')[0]), ['built', 'built', 'cached', 'cached']);
  // nothing changed since: the prediction finds the content digest the build left (no mount, no worker)
  const p = await runBuild(kit, c, { predict: true });
  assert.deepEqual(p.result!.predictions!.map((x) => `${x.range.start.line + 1} ${x.keyword} ${x.status}`), ["2 COPY hit", "3 RUN hit", "5 COPY hit", "6 RUN hit"], JSON.stringify(p.result!.predictions!.map((x) => x.reason)));
  // one line more: a different /count
  await writeFile(join(c, 'src/b.txt'), 'b\n');
  const other = await runBuild(kit, c);
  assert.deepEqual(other.summary.map((s) => s.split(' -> ')[1]!.split(' ')[0]), ['built', 'built', 'built', 'built']);
});

test('ADD of a URL: downloaded (0600, Last-Modified), checked against --checksum, cached by content', async (t) => {
  if (skip) return t.skip(skip);
  const { createServer } = await import('node:http');
  const { createHash } = await import('node:crypto');
  let body = 'payload v1\n';
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url !== '/files/tool.txt') return void res.writeHead(404).end();
    res.writeHead(200, { 'last-modified': new Date('2020-02-03T04:05:06Z').toUTCString() }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/files/tool.txt`;
  const sum = 'sha256:' + createHash('sha256').update(body).digest('hex');
  const c = await ctx({ Dockerfile: `FROM busybox\nADD --checksum=${sum} ${url} /opt/\nRUN cat /opt/tool.txt > /copy\n` });
  const b = await runBuild(kit, c, { tags: ['url:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  assert.equal((await sh(kit, 'url:1', 'cat /copy; stat -c "%a %Y" /opt/tool.txt')).out, `payload v1\n600 ${Date.UTC(2020, 1, 3, 4, 5, 6) / 1000}\n`);
  assert.deepEqual((await runBuild(kit, c)).summary, [`ADD --checksum=${sum} ${url} /opt/ -> cached`, 'RUN cat /opt/tool.txt > /copy -> cached']);
  assert.ok(hits >= 2, 'the URL is fetched again to check its content');
  body = 'payload v2\n';
  const bad = await runBuild(kit, c);
  assert.match(bad.error!.message, /digest mismatch/);
  assert.equal(bad.error!.range!.start.line, 1);
});

test('ONBUILD triggers are recorded, then run in a child build right after its FROM', async (t) => {
  if (skip) return t.skip(skip);
  const parent = await ctx({ Dockerfile: 'FROM busybox\nONBUILD COPY marker.txt /from-child\nONBUILD RUN echo triggered > /triggered\n' });
  const p = await runBuild(kit, parent, { tags: ['onbuild-parent:1'] });
  assert.equal(p.error, undefined, p.error?.message);
  const img = await kit.store.images.resolve('onbuild-parent:1');
  assert.deepEqual(img.config.config?.OnBuild, ['COPY marker.txt /from-child', 'RUN echo triggered > /triggered']);
  const child = await ctx({ Dockerfile: 'FROM onbuild-parent:1\nRUN cat /from-child /triggered > /both\n', 'marker.txt': 'child context\n' });
  const c = await runBuild(kit, child, { tags: ['onbuild-child:1'] });
  assert.equal(c.error, undefined, c.error?.message);
  assert.equal((await sh(kit, 'onbuild-child:1', 'cat /both')).out, 'child context\ntriggered\n');
  const childImg = await kit.store.images.resolve('onbuild-child:1');
  assert.equal(childImg.config.config?.OnBuild, undefined, 'triggers are not inherited further');
});

test('rootless: an unprivileged user builds in its own user namespace, and the layers record container root', async (t) => {
  if (skip) return t.skip(skip);
  const { execFileSync, spawnSync } = await import('node:child_process');
  const { existsSync, chownSync, mkdtempSync } = await import('node:fs');
  const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
  if (!existsSync(cli)) return t.skip('dist/cli.js is missing: npm run build');
  if (spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '-Urm', 'true']).status !== 0)
    return t.skip('unprivileged user namespaces are not allowed here');
  const dir = mkdtempSync('/tmp/lw-rootless-');
  t.after(() => execFileSync('rm', ['-rf', dir]));
  await writeContext(join(dir, 'ctx'), { Dockerfile: 'FROM busybox\nCOPY f /f\nRUN id -u > /uid && echo made > /made\n', f: 'x' });
  const tar = (await import('../helpers/rootfs')).busyboxImageTar;
  const img = await tar();
  execFileSync('cp', [img!.path, join(dir, 'base.tar')]);
  execFileSync('chown', ['-R', '65534:65534', dir]);
  chownSync(dir, 65534, 65534);
  const env = { ...process.env, HOME: dir, LAYERWISE_ROOT: join(dir, 'store') };
  const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, ...args], { env, encoding: 'utf8', cwd: dir });
  const load = asNobody(['load', '-i', join(dir, 'base.tar')]);
  assert.equal(load.status, 0, load.stderr);
  const b = asNobody(['build', '-q', '-t', 'rootless:1', join(dir, 'ctx')]);
  assert.equal(b.status, 0, b.stderr);
  const r = asNobody(['run', '--rm', 'rootless:1', 'sh', '-c', 'cat /uid /made; stat -c "%u:%g" /f /made']);
  assert.equal(r.stdout, '0\nmade\n0:0\n0:0\n');
});

test('FROM --platform takes that platform\'s manifest out of a multi-platform image; a platform it lacks is named in the error', async (t) => {
  if (skip) return t.skip(skip);
  const { createHash } = await import('node:crypto');
  const { Readable } = await import('node:stream');
  const tar = await import('tar-stream');
  const { makeLayerTar } = await import('../helpers/store-suite');
  const { loadArchive } = await import('../../engine/store/load');
  const { hostPlatform } = await import('../../engine/image/chain');
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const host = hostPlatform().architecture;
  const other = host === 'amd64' ? 'arm64' : 'amd64';
  const blobs: { name: string; data: Buffer | string }[] = [];
  const manifestFor = async (arch: string) => {
    const layer = await makeLayerTar({ marker: `${arch}\n` });
    const cfg = JSON.stringify({ architecture: arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] } });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(cfg)}`, size: cfg.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(layer)}`, size: layer.length }],
    });
    blobs.push({ name: `blobs/sha256/${sha(layer)}`, data: layer }, { name: `blobs/sha256/${sha(cfg)}`, data: cfg }, { name: `blobs/sha256/${sha(manifest)}`, data: manifest });
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, platform: { os: 'linux', architecture: arch } };
  };
  const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [await manifestFor(host), await manifestFor(other)] });
  blobs.push({ name: `blobs/sha256/${sha(index)}`, data: index });
  const top = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${sha(index)}`, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'example.com/multi:1' } }] });
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of [{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: top }, ...blobs]) pack.entry({ name: e.name }, e.data);
  pack.finalize();
  await ended;
  await loadArchive(kit.store, Readable.from([Buffer.concat(chunks)]));
  const c = await ctx({
    Dockerfile: `FROM --platform=linux/${other} example.com/multi:1 AS foreign\nFROM busybox\nCOPY --from=foreign /marker /foreign\nCOPY --from=example.com/multi:1 /marker /native\n`,
  });
  const b = await runBuild(kit, c, { tags: ['multi-use:1'] });
  assert.equal(b.error, undefined, b.error?.message);
  assert.equal((await sh(kit, 'multi-use:1', 'cat /foreign /native')).out, `${other}\n${host}\n`);
  const c2 = await ctx({ Dockerfile: 'FROM --platform=linux/s390x example.com/multi:1\n' });
  const b2 = await runBuild(kit, c2);
  assert.match(b2.error!.message, /failed to resolve source metadata for example.com\/multi:1: no manifest for linux\/s390x .*has: linux\//);
  assert.equal(b2.error!.range!.start.line, 0);
});

test('FROM scratch with metadata before its first layer: an all-cached rebuild is the same image (the entries take the first layer\'s time)', async (t) => {
  if (skip) return t.skip(skip);
  const c = await ctx({ Dockerfile: 'FROM scratch\nENV A=1\nLABEL l=v\nCOPY f /f\nCMD ["/f"]\n', f: 'x' });
  const first = await runBuild(kit, c);
  assert.equal(first.error, undefined, first.error?.message);
  const again = await runBuild(kit, c);
  assert.equal(again.error, undefined, again.error?.message);
  assert.equal(again.result!.imageId, first.result!.imageId);
  const img = await kit.store.images.resolve(first.result!.manifest.digest);
  const times = new Set(img.config.history!.map((h) => h.created));
  assert.equal(times.size, 1, `one time, the COPY layer's: ${[...times].join(', ')}`);
});
