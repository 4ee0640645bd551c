// `layerwise layers`: per-layer added/changed/removed files and wasted bytes, on a real on-disk store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../engine/cli/main';
import { openStore } from '../../engine/store';
import { makeImage } from '../helpers/store-suite';
import type { LayersOutput } from '../../engine/cli/commands/layers';

async function cli(root: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(['--root', root, ...args], { stdout, stderr, env: {} });
  return { code, out, err };
}

test('layers --files lists what each layer added, changed and removed, and the bytes it wasted', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'layerwise-layers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = await openStore(root, { create: true });
  const img = await makeImage(store.content, [
    { 'etc/os': 'base', 'app/big.bin': 'x'.repeat(1000), 'app/keep.txt': 'k' },
    { 'app/big.bin': 'y'.repeat(10), 'app/new.txt': 'new' },
    { 'app/.wh.keep.txt': '' },
  ]);
  await store.images.put('example.com/demo:1', img.manifest);
  const r = await cli(root, ['layers', '--files', 'example.com/demo:1']);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out) as LayersOutput;
  assert.equal(o.id, img.id);
  assert.equal(o.layers.length, 3);
  const show = o.layers.map((l) => `${l.index} ${l.createdBy}: +${l.added} ~${l.changed} -${l.removed} wasted ${l.wasted}\n` + (l.files ?? []).map((f) => `  ${f.change} ${f.path} ${f.type} ${f.size}`).join('\n'));
  assert.equal(
    show.join('\n'),
    [
      '0 layer 0: +5 ~0 -0 wasted 0',
      '  added app dir 0\n  added app/big.bin file 1000\n  added app/keep.txt file 1\n  added etc dir 0\n  added etc/os file 4',
      '1 layer 1: +1 ~1 -0 wasted 1000',
      '  changed app/big.bin file 10\n  added app/new.txt file 3',
      '2 layer 2: +0 ~0 -1 wasted 1',
      '  removed app/keep.txt file 1',
    ].join('\n'),
  );
  assert.equal(o.wasted, 1001);
  assert.equal(o.size, img.layers.reduce((n, l) => n + l.size, 0));
  // without --files: counts only
  const brief = JSON.parse((await cli(root, ['layers', img.id])).out) as LayersOutput;
  assert.equal(brief.layers[1]!.files, undefined);
  assert.equal(brief.layers[1]!.changed, 1);
});

test('layers: unknown image and missing argument are clear errors', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'layerwise-layers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const missing = await cli(root, ['layers', 'nope:1']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^Error: No such image: nope:1/);
  const usage = await cli(root, ['layers']);
  assert.equal(usage.code, 125);
  assert.match(usage.err, /requires exactly 1 argument/);
});
