/**
 * Image import / save / load throughput and peak memory: ours (the built CLI, dist/cli.js) side by side with
 * `docker import` / `docker save` / `docker load` (a real dockerd from test/helpers/docker.ts, when it can run)
 * on the same root filesystem, plus a plain `cp` of the tar as the disk-speed reference.
 *
 *   npm run build && npx tsx bench/store/images.ts
 *
 * Env: STORE_BENCH_MB (default 500), STORE_BENCH_FILES (default 20000), STORE_BENCH_DIR (default the OS tmp dir).
 * Each of our steps is its own process, which reports its peak RSS at exit; docker's memory is the daemon's and
 * is not shown. Prints; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MB = Number(process.env.STORE_BENCH_MB ?? 500);
const FILES = Number(process.env.STORE_BENCH_FILES ?? 20000);
const CLI = resolve(__dirname, '../../dist/cli.js');

interface Step {
  seconds: number;
  maxRssMB: number | null;
  ok: boolean;
  note?: string;
}

/** Run a command (a peer tool), timing it; its memory is not ours to report. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Step {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, maxRssMB: null, ok: r.status === 0, note: r.status === 0 ? undefined : String(r.stderr ?? r.error).slice(-300) };
}

/** Our CLI under a node that reports its own peak RSS at exit. */
function ours(args: string[]): Step {
  const pre = join(tmpdir(), `lw-rss-${process.pid}.js`);
  writeFileSync(pre, "process.on('exit', () => { try { require('fs').writeSync(2, '\\n@@RSS ' + process.resourceUsage().maxRSS + '\\n'); } catch {} });\n");
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', pre, CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /@@RSS (\d+)/.exec(r.stderr);
  return { seconds, maxRssMB: m ? Number(m[1]) / 1024 : null, ok: r.status === 0, note: r.status === 0 ? undefined : r.stderr.slice(-300) };
}

function makeTree(dir: string): number {
  const per = Math.max(1, Math.floor((MB << 20) / FILES));
  let total = 0;
  // one shared random pool, sliced per file (incompressible enough, cheap to make)
  const pool = randomBytes(Math.min(per * 64, 64 << 20));
  for (let i = 0; i < FILES; i++) {
    const d = join(dir, `d${Math.floor(i / 200)}`);
    if (i % 200 === 0) mkdirSync(d, { recursive: true });
    const off = (i * 7919) % Math.max(1, pool.length - per);
    writeFileSync(join(d, `f${i}.bin`), pool.subarray(off, off + per));
    total += per;
  }
  return total;
}

function row(name: string, s: Step, bytes: number): string {
  const tput = s.ok ? `${(bytes / (1 << 20) / s.seconds).toFixed(0)} MB/s` : 'failed';
  const rss = s.maxRssMB === null ? 'n/a' : `${s.maxRssMB.toFixed(0)} MB`;
  return `${name.padEnd(34)} ${s.seconds.toFixed(2).padStart(8)} s ${tput.padStart(10)} ${rss.padStart(9)}${s.note ? '  ' + s.note.replace(/\s+/g, ' ') : ''}`;
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) {
    console.log(`${CLI} is missing: run \`npm run build\` first`);
    return;
  }
  const base = mkdtempSync(join(process.env.STORE_BENCH_DIR ?? tmpdir(), 'lw-store-bench-'));
  try {
    const tree = join(base, 'rootfs');
    mkdirSync(tree);
    const bytes = makeTree(tree);
    const tarFile = join(base, 'rootfs.tar');
    spawnSync('tar', ['-C', tree, '-cf', tarFile, '.']);
    const tarBytes = statSync(tarFile).size;
    console.log(`store bench: ${FILES} files, ${(bytes / (1 << 20)).toFixed(0)} MB (tar ${(tarBytes / (1 << 20)).toFixed(0)} MB); ${cpus().length} cpus, load ${loadavg()[0]!.toFixed(1)}`);
    console.log(`${'step'.padEnd(34)} ${'time'.padStart(10)} ${'throughput'.padStart(10)} ${'peak RSS'.padStart(9)}`);
    const cp = timed('cp', [tarFile, join(base, 'copy.tar')]);
    console.log(row('disk: cp rootfs.tar', cp, tarBytes));
    rmSync(join(base, 'copy.tar'), { force: true });
    const root = join(base, 'store');
    const imp = ours(['--root', root, 'import', tree, 'bench:dir']);
    console.log(row('ours: import DIR', imp, bytes));
    const impTar = ours(['--root', root, 'import', tarFile, 'bench:tar']);
    console.log(row('ours: import rootfs.tar', impTar, tarBytes));
    const saved = join(base, 'ours.tar');
    const save = ours(['--root', root, 'save', '-o', saved, 'bench:tar']);
    const savedBytes = existsSync(saved) ? statSync(saved).size : 0;
    console.log(row('ours: save -o (gzip layer as stored)', save, savedBytes));
    const load = ours(['--root', join(base, 'store2'), 'load', '-i', saved]);
    console.log(row('ours: load -i (fresh store)', load, savedBytes));
    const fsck = ours(['--root', root, 'fsck']);
    console.log(row('ours: fsck (hash every blob)', fsck, savedBytes * 2));

    let dockerEnv: NodeJS.ProcessEnv | undefined;
    try {
      const { startDocker, dockerUnavailableReason } = await import('../../test/helpers/docker');
      const d = await startDocker();
      if (!d) console.log(`docker: not run (${dockerUnavailableReason()})`);
      else dockerEnv = { ...process.env, ...d.env };
      if (d) {
        const dbin = 'docker';
        const di = timed(dbin, ['import', tarFile, `lw-bench-${process.pid}:tar`], dockerEnv);
        console.log(row('docker: import rootfs.tar', di, tarBytes));
        const dsaved = join(base, 'docker.tar');
        const ds = timed(dbin, ['save', '-o', dsaved, `lw-bench-${process.pid}:tar`], dockerEnv);
        const dBytes = existsSync(dsaved) ? statSync(dsaved).size : 0;
        console.log(row('docker: save -o', ds, dBytes));
        spawnSync(dbin, ['rmi', `lw-bench-${process.pid}:tar`], { env: dockerEnv });
        const dl = timed(dbin, ['load', '-i', dsaved], dockerEnv);
        console.log(row('docker: load -i', dl, dBytes));
        spawnSync(dbin, ['rmi', `lw-bench-${process.pid}:tar`], { env: dockerEnv });
        await d.stop();
      }
    } catch (e) {
      console.log(`docker: not run (${e instanceof Error ? e.message : String(e)})`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

void main();
