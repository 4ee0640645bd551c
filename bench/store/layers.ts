/**
 * Layer write/apply throughput and memory, ours (engine/layers) side by side with GNU tar on the same tree.
 *
 *   npx tsx bench/store/layers.ts
 *
 * Env: LAYERS_BENCH_MB (default 200), LAYERS_BENCH_FILES (default 20000), LAYERS_BENCH_DIR (default the OS tmp
 * dir), LAYERS_BENCH_GZIP=0 to skip the gzip rows. Page cache is warm (the tree was just written); `sync`
 * runs before each step. Each measured step runs in its own process so that peak RSS is the step's own;
 * ours includes the node+tsx baseline printed first (the bundled CLI has no tsx). CPU = user+system seconds,
 * which is the steadier figure on a busy machine. Prints; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { applyLayer, compress, writeLayer } from '../../engine/layers';

interface StepResult {
  seconds: number;
  /** user + system CPU seconds */
  cpu: number | null;
  maxRssMB: number | null;
  note?: string;
}

async function child(mode: string, a: string, b: string): Promise<void> {
  if (mode === 'baseline') {
    process.stdout.write(JSON.stringify({ seconds: 0, cpu: 0, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
    return;
  }
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let note = '';
  if (mode === 'write' || mode === 'write-gzip') {
    const w = writeLayer(a, { source: 'dir' });
    const out = mode === 'write' ? w.stream : compress(w.stream, 'gzip');
    await pipeline(out, createWriteStream(b));
    note = (await w.done).diffId.slice(0, 19);
  } else if (mode === 'apply') {
    mkdirSync(b);
    const r = await applyLayer(createReadStream(a, { highWaterMark: 1 << 20 }), b, { preserveOwnership: process.getuid?.() === 0 });
    note = r.diffId.slice(0, 19);
  } else throw new Error(`unknown child mode ${mode}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const res: StepResult = { seconds, cpu: (c.user + c.system) / 1e6, maxRssMB: process.resourceUsage().maxRSS / 1024, note };
  process.stdout.write(JSON.stringify(res) + '\n');
}

function runOurs(mode: string, a: string, b: string): StepResult {
  spawnSync('sync'); // no step pays for the previous one's dirty pages
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, 'child', mode, a, b], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as StepResult;
}

function runTool(cmd: string[]): StepResult {
  spawnSync('sync');
  const timed = existsSync('/usr/bin/time');
  const argv = timed ? ['/usr/bin/time', '-f', '%M %U %S', ...cmd] : cmd;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const [kb, user, sys] = timed ? (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number) : [];
  return { seconds, cpu: user !== undefined && sys !== undefined && Number.isFinite(user + sys) ? user + sys : null, maxRssMB: kb !== undefined && Number.isFinite(kb) ? kb / 1024 : null };
}

/** A deterministic-shaped rootfs: mostly small files, some large, nested dirs, a few symlinks. */
function generate(root: string, totalMB: number, files: number): { bytes: number; files: number } {
  const pool = randomBytes(4 << 20);
  const total = totalMB * 1024 * 1024;
  const small = Math.floor(files * 0.95);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let written = 0;
  const sizes: number[] = [];
  for (let i = 0; i < small; i++) sizes.push(Math.floor(rnd() * 8192));
  const smallBytes = sizes.reduce((x, y) => x + y, 0);
  const large = files - small;
  const perLarge = Math.max(0, Math.floor((total - smallBytes) / Math.max(1, large)));
  for (let i = 0; i < large; i++) sizes.push(Math.floor(perLarge * (0.5 + rnd())));
  for (let i = 0; i < files; i++) {
    const dir = join(root, `usr${Math.floor(i / 2000)}`, `lib${Math.floor(i / 40) % 50}`);
    if (i % 40 === 0) mkdirSync(dir, { recursive: true });
    let size = sizes[i]!;
    const parts: Buffer[] = [];
    while (size > 0) {
      const n = Math.min(size, pool.length);
      const off = Math.floor(rnd() * (pool.length - n));
      parts.push(pool.subarray(off, off + n));
      size -= n;
    }
    const buf = Buffer.concat(parts);
    writeFileSync(join(dir, `file-${i}.so`), buf);
    written += buf.length;
    if (i % 100 === 0) symlinkSync(`file-${i}.so`, join(dir, `link-${i}.so`));
  }
  return { bytes: written, files };
}

function row(name: string, r: StepResult, mb: number): string {
  const rss = r.maxRssMB === null ? 'n/a' : `${r.maxRssMB.toFixed(0)} MB`;
  const cpu = r.cpu === null ? 'n/a' : `${r.cpu.toFixed(2)} s`;
  return `${name.padEnd(34)} ${r.seconds.toFixed(2).padStart(7)} s ${(mb / r.seconds).toFixed(0).padStart(6)} MB/s   cpu ${cpu.padStart(8)}   peak RSS ${rss.padStart(7)}${r.note ? `   ${r.note}` : ''}`;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  const totalMB = Number(process.env.LAYERS_BENCH_MB ?? 200);
  const files = Number(process.env.LAYERS_BENCH_FILES ?? 20000);
  const gzip = process.env.LAYERS_BENCH_GZIP !== '0';
  const work = mkdtempSync(join(process.env.LAYERS_BENCH_DIR ?? tmpdir(), 'layers-bench-'));
  try {
    const tree = join(work, 'tree');
    const g0 = Date.now();
    const gen = generate(tree, totalMB, files);
    const mb = gen.bytes / 1024 / 1024;
    console.log(`layers bench: ${gen.files} files, ${mb.toFixed(0)} MB of data in ${work} (generated in ${((Date.now() - g0) / 1000).toFixed(1)} s)`);
    const base = runOurs('baseline', '', '');
    console.log(`node ${process.version}; throughput = data MB / wall time; warm page cache; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs`);
    console.log(`peak RSS of an idle node+tsx child (included in ours): ${base.maxRssMB?.toFixed(0)} MB\n`);

    const oursTar = join(work, 'ours.tar');
    const gnuTar = join(work, 'gnu.tar');
    const lines: string[] = [];
    const w = runOurs('write', tree, oursTar);
    lines.push(row('write  ours  writeLayer -> file', w, mb));
    lines.push(row('write  GNU   tar -cf', runTool(['tar', '--numeric-owner', '-cf', gnuTar, '-C', tree, '.']), mb));
    const a = runOurs('apply', oursTar, join(work, 'x-ours'));
    lines.push(row('apply  ours  applyLayer', a, mb));
    lines.push(row('apply  GNU   tar -xf', runTool(['sh', '-c', `mkdir ${work}/x-gnu && tar -xpf ${gnuTar} -C ${work}/x-gnu`]), mb));
    if (gzip) {
      const oursGz = join(work, 'ours.tar.gz');
      lines.push(row('write  ours  writeLayer + gzip', runOurs('write-gzip', tree, oursGz), mb));
      lines.push(row('write  GNU   tar -czf', runTool(['tar', '--numeric-owner', '-czf', `${gnuTar}.gz`, '-C', tree, '.']), mb));
      lines.push(row('apply  ours  applyLayer (gzip)', runOurs('apply', oursGz, join(work, 'x-ours-gz')), mb));
      lines.push(row('apply  GNU   tar -xzf', runTool(['sh', '-c', `mkdir ${work}/x-gnu-gz && tar -xzpf ${gnuTar}.gz -C ${work}/x-gnu-gz`]), mb));
    }
    for (const l of lines) console.log(l);
    console.log(`\ntar sizes: ours ${(statSync(oursTar).size / 1048576).toFixed(1)} MB, GNU ${(statSync(gnuTar).size / 1048576).toFixed(1)} MB`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
