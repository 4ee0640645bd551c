/**
 * Build benchmark: a small app's context (requirements file + source tree, 2,000 files, 24 MB) built by our CLI
 * (bin/layerwise, as users start it) and by `docker build` (BuildKit, the shared test daemon of test/helpers/docker.ts) side by side:
 * cold build (each round starts with the build cache pruned, `builder prune -af` on both sides; the base image
 * stays), no-op rebuild, rebuild after one source file changed — medians of a few runs, and the ratios.
 * Then the peak RSS of our CLI (every process it starts, each reporting its own peak) building a big context.
 *
 *   npm run build && npx tsx bench/build/build.ts
 *
 * Env: BUILD_BENCH_RUNS (default 3), BUILD_BENCH_BIG_MB (default 1024; 0 skips), BUILD_BENCH_DIR (default tmp),
 * BUILD_BENCH_PROFILE=1 writes node --cpu-prof profiles of our runs into the bench dir.
 * Prints; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDocker, dockerUnavailableReason, type DockerPeer } from '../../test/helpers/docker';
import { busyboxImageTar } from '../../test/helpers/rootfs';
import { openStore } from '../../engine/store/store';
import { loadArchive } from '../../engine/store/load';
import { launchEnv } from '../../engine/cli/launch-env';

const RUNS = Number(process.env.BUILD_BENCH_RUNS ?? 3);
const BIG_MB = Number(process.env.BUILD_BENCH_BIG_MB ?? 1024);
const PROFILE = process.env.BUILD_BENCH_PROFILE === '1';
const CLI = resolve(__dirname, '../../dist/cli.js');
const BIN = resolve(__dirname, '../../bin/layerwise');
const WORK = mkdtempSync(join(process.env.BUILD_BENCH_DIR ?? tmpdir(), 'lw-build-bench-'));
const RSS_HOOK = join(WORK, 'rss-hook.js');

const DOCKERFILE = `FROM busybox
WORKDIR /app
COPY requirements.txt .
RUN sleep 1 && cp requirements.txt installed.txt
COPY src/ ./src/
RUN find src -type f | wc -l > count.txt && cat src/pkg0/mod0.py | wc -c > first.txt
CMD ["sh"]
`;

/** 1 requirements file + 1,999 source files in 40 packages, 24 MB in all. */
function makeApp(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(dir, 'requirements.txt'), Array.from({ length: 40 }, (_, i) => `package${i}==1.${i}.0`).join('\n') + '\n');
  const size = Math.floor((24 * 1024 * 1024) / 1999);
  for (let i = 0; i < 1999; i++) {
    const pkg = join(dir, 'src', `pkg${i % 40}`);
    mkdirSync(pkg, { recursive: true });
    const line = `def f${i}(x):\n    return x * ${i}  # ${randomBytes(8).toString('hex')}\n`;
    writeFileSync(join(pkg, `mod${Math.floor(i / 40)}.py`), line.repeat(Math.ceil(size / line.length)).slice(0, size));
  }
}

interface Timed {
  seconds: number;
  ok: boolean;
  rssMB?: number;
  note?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Timed {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env, maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = [...(r.stderr ?? '').matchAll(/@@RSS (\d+)/g)].map((m) => Number(m[1]) / 1024);
  return {
    seconds,
    ok: r.status === 0,
    rssMB: rss.length ? Math.max(...rss) : undefined,
    note: r.status === 0 ? undefined : `${r.stderr ?? ''}${r.stdout ?? ''}`.slice(-400),
  };
}

let profileN = 0;
function ours(root: string, args: string[]): Timed {
  // NODE_OPTIONS: the copy workers our CLI starts report their peak RSS too (--cpu-prof is not allowed there:
  // profiles cover the main process only)
  // as users start it: bin/layerwise (which starts node without NODE_EXTRA_CA_CERTS); profiles need node's flags
  const env = { ...process.env, NODE_OPTIONS: `--require=${RSS_HOOK}` };
  if (PROFILE) {
    const prof = ['--cpu-prof', `--cpu-prof-dir=${join(WORK, 'profiles')}`, `--cpu-prof-name=run-${++profileN}.cpuprofile`];
    return run(process.execPath, [...prof, CLI, '--root', root, ...args], launchEnv(env));
  }
  return run(BIN, ['--root', root, ...args], env);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

async function freshStore(): Promise<string> {
  const root = mkdtempSync(join(WORK, 'store-'));
  await loadArchive(await openStore(root), createReadStream((await busyboxImageTar())!.path));
  return root;
}

function touchOne(app: string, n: number): void {
  const f = join(app, 'src', 'pkg7', 'mod3.py');
  writeFileSync(f, readFileSync(f, 'utf8') + `# change ${n}\n`);
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build`);
  writeFileSync(RSS_HOOK, "process.on('exit', () => { try { require('fs').writeSync(2, '\\n@@RSS ' + process.resourceUsage().maxRSS + '\\n'); } catch {} });\n");
  const app = join(WORK, 'app');
  makeApp(app);
  console.log(`build bench: ${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${RUNS} runs, context 2,000 files / 24 MB`);
  // what starting node costs here (our CLI pays it once a build, docker's Go CLI does not): with this
  // environment, and without NODE_EXTRA_CA_CERTS, which node reads at start-up when it is set
  const nodeStart = (env: NodeJS.ProcessEnv) => median(Array.from({ length: 5 }, () => run(process.execPath, ['-e', '0'], env).seconds));
  const caEnv = { ...process.env };
  delete caEnv.NODE_EXTRA_CA_CERTS;
  console.log(
    `node start-up: ${(nodeStart(process.env) * 1000).toFixed(0)} ms` +
      (process.env.NODE_EXTRA_CA_CERTS !== undefined ? ` (NODE_EXTRA_CA_CERTS is set here; without it ${(nodeStart(caEnv) * 1000).toFixed(0)} ms)` : ''),
  );

  let docker: DockerPeer | undefined;
  try {
    docker = await startDocker();
  } catch (e) {
    console.log(`docker: failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!docker) console.log(`docker: not run (${dockerUnavailableReason() ?? 'failed'})`);

  const res: Record<string, { ours: number[]; docker: number[]; rss: number[] }> = {};
  const rec = (k: string, side: 'ours' | 'docker', t: Timed) => {
    res[k] ??= { ours: [], docker: [], rss: [] };
    if (!t.ok) {
      console.log(`  ${side} ${k} FAILED: ${t.note}`);
      return;
    }
    res[k][side].push(t.seconds);
    if (side === 'ours' && t.rssMB) res[k].rss.push(t.rssMB);
  };
  const tag = `lw-bench-${process.pid}`;
  // both sides keep their store (and the base image, unpacked) across rounds, and start each round with the build
  // cache pruned: `builder prune -af`, then a cold build, a no-op rebuild and a one-file rebuild
  const root = await freshStore();
  const oursRound = (i: number): void => {
    const pruned = ours(root, ['builder', 'prune', '-af']);
    if (!pruned.ok) console.log(`  ours builder prune FAILED: ${pruned.note}`);
    rec('cold', 'ours', ours(root, ['build', '-q', '-t', 'bench', app]));
    rec('no-op', 'ours', ours(root, ['build', '-q', '-t', 'bench', app]));
    touchOne(app, i * 2);
    rec('one file', 'ours', ours(root, ['build', '-q', '-t', 'bench', app]));
  };
  const dockerRound = async (i: number): Promise<void> => {
    if (!docker) return;
    await docker.run(['builder', 'prune', '-af']);
    const d = (args: string[]) => {
      const t0 = process.hrtime.bigint();
      return docker!.run(args).then((r) => ({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, ok: r.code === 0, note: r.stderr.slice(-400) }));
    };
    rec('cold', 'docker', await d(['build', '-q', '-t', tag, app]));
    rec('no-op', 'docker', await d(['build', '-q', '-t', tag, app]));
    touchOne(app, i * 2 + 1);
    rec('one file', 'docker', await d(['build', '-q', '-t', tag, app]));
  };
  for (let i = 0; i < RUNS; i++) {
    console.log(`  round ${i + 1}/${RUNS}: load ${loadavg().map((l) => l.toFixed(2)).join(' ')}${i % 2 ? ' (docker first)' : ''}`);
    // who goes first alternates: on this VM's disk, creating files runs at very different speeds depending on what
    // was written and freed just before, and a fixed order would hand one side the other's aftermath every round
    if (i % 2) {
      await dockerRound(i);
      oursRound(i);
    } else {
      oursRound(i);
      await dockerRound(i);
    }
  }
  rmSync(root, { recursive: true, force: true });
  if (docker) await docker.run(['rmi', tag]);
  console.log(`  done: load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const goals: Record<string, number> = { cold: 0.6, 'no-op': 0.25, 'one file': 0.5 };
  console.log('\nscenario     ours (median s)   docker (median s)   ratio   goal   ours peak RSS');
  for (const k of ['cold', 'no-op', 'one file']) {
    const r = res[k]!;
    const o = median(r.ours);
    const dk = median(r.docker);
    const ratio = o / dk;
    console.log(
      `${k.padEnd(12)} ${o.toFixed(2).padStart(8)} [${r.ours.map((x) => x.toFixed(2)).join(' ')}]`.padEnd(46) +
        `${Number.isNaN(dk) ? '   -' : dk.toFixed(2).padStart(6)} [${r.docker.map((x) => x.toFixed(2)).join(' ')}]`.padEnd(22) +
        `${Number.isNaN(ratio) ? '  -  ' : ratio.toFixed(2).padStart(5) + 'x'}  <=${goals[k]}x  ${r.rss.length ? Math.max(...r.rss).toFixed(0) + ' MB' : '-'}`,
    );
  }

  if (BIG_MB > 0) {
    const big = join(WORK, 'big');
    mkdirSync(join(big, 'data'), { recursive: true });
    writeFileSync(join(big, 'Dockerfile'), 'FROM busybox\nCOPY data/ /data/\nRUN du -s /data > /size\n');
    const chunk = randomBytes(1024 * 1024);
    const files = BIG_MB; // 1 MB files
    for (let i = 0; i < files; i++) {
      chunk.writeUInt32LE(i, 0);
      writeFileSync(join(big, 'data', `blob${i}.bin`), chunk);
    }
    const root = await freshStore();
    const t = ours(root, ['build', '-q', '-t', 'big', big]);
    console.log(`\nbig context: ${BIG_MB} MB in ${files} files: ${t.ok ? 'ok' : 'FAILED ' + t.note} in ${t.seconds.toFixed(1)} s, peak RSS of our processes ${t.rssMB?.toFixed(0) ?? '?'} MB (goal <= 200 MB)`);
    rmSync(root, { recursive: true, force: true });
    rmSync(big, { recursive: true, force: true });
  }
  if (PROFILE) console.log(`\nprofiles: ${join(WORK, 'profiles')} (${readdirSync(join(WORK, 'profiles')).length} files)`);
  else rmSync(WORK, { recursive: true, force: true });
  await docker?.stop();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exit(1);
});
