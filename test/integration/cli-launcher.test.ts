/**
 * How the CLI starts (built: dist/cli.js, bin/layerwise; `npm run build`):
 *  - dist/cli.js runs dist/cli-main.js with a V8 code cache, one file per command, written once and then used;
 *    a damaged cache (checked by its sha256: V8 would crash on it) or one V8 rejects is not used, the command
 *    still works and the file is written again; `off` writes none;
 *  - bin/layerwise starts node without NODE_EXTRA_CA_CERTS and hands the file over as LAYERWISE_EXTRA_CA_CERTS
 *    (observed from inside the CLI's process through a --require hook), also when reached through a symlink.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commandWord, unwrapCache, wrapCache } from '../../engine/cli/launcher';
import { buildUnavailableReason } from '../helpers/build';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const BIN = join(ROOT, 'bin', 'layerwise');
const missing = existsSync(join(ROOT, 'dist', 'cli-main.js')) ? false : 'dist/cli-main.js is missing: npm run build';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('commandWord: the first argument after the global options', () => {
  assert.equal(commandWord(['build', '-t', 'x', '.']), 'build');
  assert.equal(commandWord(['--root', 'images', 'images']), 'images');
  assert.equal(commandWord(['--root=/s', 'system', 'df']), 'system');
  assert.equal(commandWord(['--version']), 'none');
  assert.equal(commandWord(['../odd/Name']), 'other');
});

test('code cache files: the data comes back only when its sha256 matches', () => {
  const data = Buffer.from('some cached data');
  const file = wrapCache(data);
  assert.deepEqual(unwrapCache(file), data);
  for (let i = 0; i < file.length; i++) {
    const bad = Buffer.from(file);
    bad[i] ^= 1;
    assert.equal(unwrapCache(bad), undefined, `byte ${i} changed`);
  }
  assert.equal(unwrapCache(file.subarray(0, file.length - 1)), undefined);
  assert.equal(unwrapCache(Buffer.alloc(0)), undefined);
});

test('dist/cli.js keeps a code cache per command, uses it, survives a corrupt one, and can be turned off', { skip: missing }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lw-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cache = join(dir, 'cache');
  const env = { ...process.env, LAYERWISE_TRACE: '1', LAYERWISE_CODE_CACHE: cache, LAYERWISE_ROOT: join(dir, 'store') };
  const traced = (r: { stderr: string }) => /code cache (\w+)/.exec(r.stderr)?.[1];

  const first = run(process.execPath, [CLI, 'images'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID/);
  assert.equal(traced(first), 'none');
  const files = readdirSync(cache);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^cli-v\d+.*-images\.bin$/);

  const second = run(process.execPath, [CLI, 'images'], env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  assert.equal(traced(second), 'used');

  // another command has a cache of its own; writing one removes that command's caches for other bundles run by
  // this node only (another node's stays)
  const older = `cli-${process.version}-${process.arch}-1-1-system.bin`;
  const otherNode = 'cli-v0.0.0-x64-1-1-system.bin';
  writeFileSync(join(cache, older), 'an older bundle');
  writeFileSync(join(cache, otherNode), 'another node');
  assert.equal(traced(run(process.execPath, [CLI, 'system', 'df'], env)), 'none');
  const now = readdirSync(cache);
  assert.equal(now.length, 3, now.join(' '));
  assert.ok(!now.includes(older));
  assert.ok(now.includes(otherNode) && now.includes(files[0]!));
  rmSync(join(cache, otherNode));

  // a damaged cache (one byte of its data changed: V8 would take it and crash), a file that is not a cache, and
  // a sound file whose data V8 does not take: each time the command runs, and the cache is written anew
  const file = join(cache, files[0]!);
  const good = readFileSync(file);
  const flipped = Buffer.from(good);
  flipped[Math.floor(flipped.length * 0.6)] ^= 0xff;
  for (const [bytes, expected] of [
    [flipped, 'damaged'],
    [Buffer.alloc(good.length, 7), 'damaged'],
    [wrapCache(Buffer.alloc(4096, 7)), 'rejected'],
  ] as const) {
    writeFileSync(file, bytes);
    const r = run(process.execPath, [CLI, 'images'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, first.stdout);
    assert.equal(traced(r), expected);
    assert.equal(traced(run(process.execPath, [CLI, 'images'], env)), 'used');
  }

  // a cache that cannot be written (its dir would be below a file): the command works, nothing is left
  writeFileSync(join(dir, 'a-file'), '');
  const unwritable = run(process.execPath, [CLI, 'images'], { ...env, LAYERWISE_CODE_CACHE: join(dir, 'a-file', 'cache') });
  assert.equal(unwritable.code, 0, unwritable.stderr);
  assert.equal(unwritable.stdout, first.stdout);
  assert.deepEqual(readdirSync(dir).sort(), ['a-file', 'cache', 'store']);

  const off = run(process.execPath, [CLI, 'images'], { ...env, LAYERWISE_CODE_CACHE: 'off' });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(traced(off), undefined);
  // errors still come out as one line and an exit code
  const bad = run(process.execPath, [CLI, 'image', 'inspect', 'no-such-image'], env);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.replace(/\[trace[^\n]*\n/g, ''), 'Error: No such image: no-such-image\n');
});

test('code from the code cache loads what it loads lazily: the bundles have no dynamic import(), and ADD of a URL builds with and without the cache', { skip: missing }, async (t) => {
  // V8 drops a script's dynamic-import callback when its code comes from a code cache: import() there fails with
  // "A dynamic import callback was not specified" (ADD of a URL did, on every build after the first)
  for (const f of ['cli-main.js', 'copy-worker.js', 'layer-worker.js']) {
    assert.doesNotMatch(readFileSync(join(ROOT, 'dist', f), 'utf8'), /\bimport\(/, `dist/${f} must not use import()`);
  }
  const unavailable = await buildUnavailableReason();
  if (unavailable) return t.skip(unavailable);
  const dir = mkdtempSync(join(tmpdir(), 'lw-launch-'));
  const server = createServer((_req, res) => res.end('served\n'));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM scratch\nADD http://127.0.0.1:${(server.address() as AddressInfo).port}/f.txt /f.txt\n`);
  const env = { ...process.env, LAYERWISE_TRACE: '1', LAYERWISE_CODE_CACHE: join(dir, 'cache'), LAYERWISE_ROOT: join(dir, 'store') };
  const build = () => new Promise<{ code: number | null; stderr: string }>((ok) => {
    // (asynchronous: the server answers from this process)
    const child = spawn(process.execPath, [CLI, 'build', '--no-cache', '--progress=plain', ctx], { env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => ok({ code, stderr }));
  });
  const first = await build();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /code cache none/);
  const second = await build();
  assert.match(second.stderr, /code cache used/);
  assert.equal(second.code, 0, second.stderr);
});

test('bin/layerwise hands NODE_EXTRA_CA_CERTS over as LAYERWISE_EXTRA_CA_CERTS, also through absolute and relative symlinks', { skip: missing }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lw-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hook = join(dir, 'hook.js');
  writeFileSync(hook, "process.on('exit', () => require('fs').writeSync(2, '@@' + JSON.stringify([process.env.NODE_EXTRA_CA_CERTS ?? null, process.env.LAYERWISE_EXTRA_CA_CERTS ?? null]) + '\\n'));\n");
  const link = join(dir, 'layerwise');
  symlinkSync(BIN, link);
  // npm's global bin links are relative, and may point at another link
  mkdirSync(join(dir, 'sub'));
  const relLink = join(dir, 'sub', 'lw');
  symlinkSync('../layerwise', relLink);
  const seen = (r: { stderr: string }) => JSON.parse(/@@(.*)/.exec(r.stderr)![1]!) as [string | null, string | null];
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require=${hook}`, LAYERWISE_ROOT: join(dir, 'store'), LAYERWISE_CODE_CACHE: 'off' };
  delete base.LAYERWISE_EXTRA_CA_CERTS;
  for (const cmd of [BIN, link, relLink]) {
    const r = run(cmd, ['--version'], { ...base, NODE_EXTRA_CA_CERTS: '/some/ca.pem' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'layerwise version 0.1.0\n');
    assert.deepEqual(seen(r), [null, '/some/ca.pem']);
  }
  // one the user set already is kept; without NODE_EXTRA_CA_CERTS nothing changes
  assert.deepEqual(seen(run(BIN, ['--version'], { ...base, NODE_EXTRA_CA_CERTS: '/a.pem', LAYERWISE_EXTRA_CA_CERTS: '/b.pem' })), [null, '/b.pem']);
  const none = { ...base };
  delete none.NODE_EXTRA_CA_CERTS;
  assert.deepEqual(seen(run(BIN, ['--version'], none)), [null, null]);
});

test('a reader that goes away (`layerwise images | head -1`) ends the command quietly, as SIGPIPE ends docker', { skip: missing }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lw-pipe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { spawn } = await import('node:child_process');
  // stdout is a pipe whose reading end is closed before the CLI (a node start away) writes its first line
  const child = spawn(process.execPath, [CLI, 'images'], { env: { ...process.env, LAYERWISE_ROOT: join(dir, 'store') }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  assert.equal(stderr, '', 'no stack trace, no message');
  assert.equal(code, 141);
});
