#!/usr/bin/env node
// The main job: builds examples/hello-app with the bundled engine twice (the second time every step is
// cached), changes a source file and shows which steps rebuild and why, then runs the image.
// Needs no Docker: the base image busybox:latest is pulled from Docker Hub when it is reachable (`layerwise pull`),
// and otherwise made locally from Debian's busybox-static (/bin/busybox and a link per applet), imported into the
// store with `layerwise import`.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, appendFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli.js');
if (!existsSync(cli) || !existsSync(join(repo, 'node_modules'))) {
  console.log('== set-up: installing what the engine needs (scripts/setup.sh)');
  execFileSync('bash', [join(repo, 'scripts', 'setup.sh')], { stdio: 'inherit' });
}
const work = mkdtempSync(join(tmpdir(), 'layerwise-demo-'));
const root = process.env.LAYERWISE_ROOT ?? join(work, 'store');
const env = { ...process.env, LAYERWISE_ROOT: root };
const lw = (args, opts = {}) => {
  console.log(`\n$ layerwise ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', env, ...opts });
  if (r.status !== 0) {
    console.error(`demo: layerwise ${args[0]} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
};

// 1. the base image: from Docker Hub when it answers (within 30 s), else made here
let have = spawnSync(process.execPath, [cli, 'inspect', 'busybox:latest'], { env, stdio: 'ignore' }).status === 0;
if (!have && process.env.LAYERWISE_DEMO_OFFLINE !== '1') {
  console.log('\n$ layerwise pull busybox:latest');
  const r = spawnSync(process.execPath, [cli, 'pull', 'busybox:latest'], { env, encoding: 'utf8', timeout: 30_000 });
  process.stdout.write(r.stdout ?? '');
  have = r.status === 0;
  if (!have) console.log(`== Docker Hub cannot be reached from here (${(r.stderr || 'no answer in 30 s').trim().replace(/^Error: /, '')})`);
}
if (!have) {
  const busybox = '/bin/busybox';
  if (!existsSync(busybox)) {
    console.error('demo: /bin/busybox is missing: install Debian\'s busybox-static (scripts/setup.sh does)');
    process.exit(1);
  }
  console.log('== making the base image busybox:latest from /bin/busybox (Debian busybox-static)');
  const rootfs = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  cpSync(busybox, join(rootfs, 'bin', 'busybox'));
  for (const applet of execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    mkdirSync(join(rootfs, dirname(applet)), { recursive: true });
    const depth = applet.split('/').length - 1;
    try {
      symlinkSync('../'.repeat(depth - 1) + (depth > 1 ? 'bin/busybox' : 'busybox'), join(rootfs, applet));
    } catch {}
  }
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  lw(['import', '--change', 'CMD ["sh"]', rootfs, 'busybox:latest']);
}

// 2. the app, copied so that the demo can edit it
const app = join(work, 'hello-app');
cpSync(join(repo, 'examples', 'hello-app'), app, { recursive: true });
console.log('\n== first build: every step runs');
lw(['build', '--progress=plain', '-t', 'hello-app:demo', app]);
console.log('\n== second build, nothing changed: every step comes from the cache');
lw(['build', '--progress=plain', '-t', 'hello-app:demo', app]);
console.log('\n== editing src/main.sh: only the steps from `COPY src/` on rebuild, and the output says why');
appendFileSync(join(app, 'src', 'main.sh'), 'echo "(edited by the demo)"\n');
lw(['build', '--progress=plain', '-t', 'hello-app:demo', app]);
console.log('\n== and a build arg: only the RUN that uses it rebuilds');
lw(['build', '--progress=plain', '--build-arg', 'VERSION=2.0', '-t', 'hello-app:demo', app]);
console.log('\n== running the image');
lw(['run', '--rm', 'hello-app:demo']);
lw(['images']);
if (!process.env.LAYERWISE_ROOT) rmSync(work, { recursive: true, force: true });
console.log('\ndemo: done');
