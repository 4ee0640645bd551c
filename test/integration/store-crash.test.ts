/**
 * Crash safety and concurrency through the built CLI (dist/cli.js, `npm run build`), as separate processes:
 *  - `load` and `import` are killed with SIGKILL when their `--progress=json` output reaches a random byte;
 *    afterwards fsck finds no corrupt blob or broken image, and the next load/import works (≥ 20 trials each);
 *  - two processes importing into one store at once both succeed and both images are listed.
 * No sleeps: each kill waits for the progress event it aims at.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tar from 'tar-stream';
import { openStore } from '../../engine/store/store';
import { fsck } from '../../engine/store/fsck';
import { cli } from '../helpers/store-cli';
import { prng } from '../helpers/prng';

const CLI = process.env.LAYERWISE_TEST_CLI ?? resolve(__dirname, '../../dist/cli.js');
const noCli = existsSync(CLI) ? false : `${CLI} is missing: run \`npm run build\` first`;
const TRIALS = Number(process.env.LAYERWISE_CRASH_TRIALS ?? 20);


interface Outcome {
  killed: boolean;
  code: number | null;
  lastBytes: number;
}

/** Run the CLI; SIGKILL it once a progress event reports >= killAt bytes. */
function runAndKill(args: string[], killAt: number): Promise<Outcome> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buf = '';
    let killed = false;
    let lastBytes = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const ev = JSON.parse(line) as { event?: string; bytes?: number };
          if (ev.event === 'progress' && typeof ev.bytes === 'number') {
            lastBytes = ev.bytes;
            if (!killed && ev.bytes >= killAt) {
              killed = true;
              child.kill('SIGKILL');
            }
          }
        } catch {
          /* an error line */
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolveP({ killed, code, lastBytes }));
  });
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolveP({ code, stdout, stderr }));
  });
}

async function pack(entries: { name: string; data: Buffer | string }[]): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) p.entry({ name: e.name, mode: 0o644, mtime: new Date(0) }, e.data);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** the problems fsck must never find after a crash (stale temp files are expected and harmless) */
async function damage(root: string): Promise<string[]> {
  const store = await openStore(root, { clean: false });
  const r = await fsck(store);
  return r.problems.filter((p) => p.kind !== 'stale-temp').map((p) => `${p.kind} ${p.subject}: ${p.detail}`);
}

describe('crash safety and concurrency (dist/cli.js child processes)', { skip: noCli }, () => {
  let dir: string;
  let legacyArchive: string;
  let ociArchive: string;
  let rootfsTar: string;
  let rootfsTar2: string;
  const seed = Number(process.env.LAYERWISE_CRASH_SEED ?? Date.now() % 1e9);
  const rand = prng(seed);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lw-crash-'));
    // a root filesystem with 4 MB of incompressible data, so that writes take many progress events
    const big = randomBytes(4 << 20);
    const layer = await pack([
      { name: 'data/big.bin', data: big },
      { name: 'etc/hostname', data: 'crash\n' },
    ]);
    rootfsTar = join(dir, 'rootfs.tar');
    await fsp.writeFile(rootfsTar, layer);
    rootfsTar2 = join(dir, 'rootfs2.tar');
    await fsp.writeFile(rootfsTar2, await pack([{ name: 'data/other.bin', data: randomBytes(1 << 20) }]));
    // a legacy `docker save` archive of it
    const diffId = 'sha256:' + createHash('sha256').update(layer).digest('hex');
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffId] } });
    const cfgHex = createHash('sha256').update(config).digest('hex');
    legacyArchive = join(dir, 'legacy.tar');
    await fsp.writeFile(legacyArchive, await pack([
      { name: `${cfgHex}.json`, data: config },
      { name: 'abc/layer.tar', data: layer },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: ['crash:legacy'], Layers: ['abc/layer.tar'] }]) },
    ]));
    // the same image saved by us (Docker 25+ layout, gzip layer)
    const seedStore = join(dir, 'seed');
    assert.equal((await cli(seedStore, ['load', '-i', legacyArchive])).code, 0);
    assert.equal((await cli(seedStore, ['import', rootfsTar, 'crash:imported'])).code, 0);
    ociArchive = join(dir, 'ours.tar');
    assert.equal((await cli(seedStore, ['save', '-o', ociArchive, 'crash:imported'])).code, 0);
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it(`kill -9 during load at ${TRIALS} random points: fsck finds no damage, the next load works`, async (t) => {
    t.diagnostic(`seed ${seed} (LAYERWISE_CRASH_SEED)`);
    let killed = 0;
    for (let i = 0; i < TRIALS; i++) {
      const archive = i % 2 === 0 ? legacyArchive : ociArchive;
      const size = (await fsp.stat(archive)).size;
      const root = join(dir, `load-${i}`);
      const killAt = Math.floor(rand() * size);
      const o = await runAndKill(['--root', root, 'load', '--progress=json', '-i', archive], killAt);
      if (o.killed) killed++;
      else assert.equal(o.code, 0, `trial ${i}: an unkilled load succeeds`);
      if (!existsSync(root)) continue; // killed before the store was created
      assert.deepEqual(await damage(root), [], `trial ${i} (kill at ${killAt}/${size})`);
      const next = await cli(root, ['load', '-i', archive]);
      assert.equal(next.code, 0, `trial ${i}: next load: ${next.stderr}`);
      assert.deepEqual(await damage(root), []);
      assert.match((await cli(root, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /^crash:(legacy|imported)\n$/);
    }
    t.diagnostic(`${killed} of ${TRIALS} loads killed mid-way`);
    assert.ok(killed >= TRIALS * 0.75, `most trials must kill the load mid-way (${killed}/${TRIALS})`);
  });

  it(`kill -9 during import at ${TRIALS} random points: fsck finds no damage, the next import works`, async (t) => {
    const root = join(dir, 'import');
    const size = (await fsp.stat(rootfsTar)).size;
    let killed = 0;
    for (let i = 0; i < TRIALS; i++) {
      const killAt = Math.floor(rand() * size);
      const o = await runAndKill(['--root', root, 'import', '--progress=json', rootfsTar, `crash:t${i}`], killAt);
      if (o.killed) killed++;
      if (!existsSync(root)) continue;
      assert.deepEqual(await damage(root), [], `trial ${i} (kill at ${killAt}/${size})`);
      const next = await cli(root, ['import', rootfsTar2, `crash:after${i}`]);
      assert.equal(next.code, 0, `trial ${i}: next import: ${next.stderr}`);
    }
    const f = await runCli(['--root', root, 'fsck']);
    assert.equal(f.code, 0, f.stdout);
    assert.match(f.stdout, /no problems found/);
    t.diagnostic(`${killed} of ${TRIALS} imports killed mid-way`);
    assert.ok(killed >= TRIALS * 0.75, `most trials must kill the import mid-way (${killed}/${TRIALS})`);
  });

  it('two processes import into one store at once: both succeed, both images are listed', async () => {
    const root = join(dir, 'concurrent');
    const [a, b, c] = await Promise.all([
      runCli(['--root', root, 'import', rootfsTar, 'both:a']),
      runCli(['--root', root, 'import', rootfsTar2, 'both:b']),
      runCli(['--root', root, 'load', '-i', legacyArchive]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(c.code, 0, c.stderr);
    const list = await runCli(['--root', root, 'images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n').sort();
    assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['both:a', 'both:b', 'crash:legacy']);
    assert.ok(lines.some((l) => l.endsWith(a.stdout.trim().slice(7, 19))));
    assert.ok(lines.some((l) => l.endsWith(b.stdout.trim().slice(7, 19))));
    assert.equal((await runCli(['--root', root, 'fsck'])).code, 0);
  });
});
