import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { applyLayer, listLayer, writeDiffLayer, type LayerEntry } from '../../engine/layers';
import { describeTree, isRoot, sh } from '../fixtures/layers/tree';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'layers-diff-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

async function diff(lower: string, upper: string) {
  const w = writeDiffLayer(lower, upper, { source: 'dir' });
  const chunks: Buffer[] = [];
  for await (const c of w.stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const entries: LayerEntry[] = [];
  for await (const e of listLayer(Readable.from([bytes]))) entries.push(e);
  return { bytes, entries, result: await w.done };
}

function makeLower(d: string): void {
  mkdirSync(join(d, 'etc/conf.d'), { recursive: true });
  mkdirSync(join(d, 'usr/lib/old'), { recursive: true });
  mkdirSync(join(d, 'var/cache'), { recursive: true });
  writeFileSync(join(d, 'etc/passwd'), 'root:x:0:0\n');
  writeFileSync(join(d, 'etc/conf.d/a'), 'a');
  writeFileSync(join(d, 'usr/lib/libx.so'), 'x'.repeat(1000));
  writeFileSync(join(d, 'usr/lib/old/gone'), 'gone');
  writeFileSync(join(d, 'var/cache/file'), 'cache');
  writeFileSync(join(d, 'becomes-dir'), 'file');
  symlinkSync('etc/passwd', join(d, 'pw'));
  sh(`touch -d @1500000000 $(find ${d} -mindepth 1)`);
}

describe('layers: writeDiffLayer (no overlay)', () => {
  test('an unchanged copy gives an empty layer', async () => {
    const lower = join(work, 'l0');
    makeLower(lower);
    sh(`cp -a ${lower} ${work}/u0`);
    const d = await diff(lower, join(work, 'u0'));
    assert.deepEqual(d.entries, []);
    assert.equal(d.result.entries, 0);
    assert.equal(d.bytes.length, 1024);
  });

  test('changes become entries and whiteouts; applying onto the lower gives the upper', async () => {
    const lower = join(work, 'l1');
    const upper = join(work, 'u1');
    makeLower(lower);
    sh(`cp -a ${lower} ${upper}`);
    sh(
      [
        `cd ${upper}`,
        'rm -r usr/lib/old',
        'rm becomes-dir && mkdir becomes-dir && echo in > becomes-dir/f',
        'echo "root:x:0:0:new" > etc/passwd',
        // same size, same mtime, different bytes: only a content comparison sees it
        'printf y%.0s $(seq 1000) > usr/lib/libx.so && touch -d @1500000000 usr/lib/libx.so',
        'mkdir -p opt/app && echo app > opt/app/run',
        'ln -sf usr/lib/libx.so pw',
      ].join(' && '),
    );
    chmodSync(join(upper, 'var/cache/file'), 0o600);
    sh(`touch -d @1500000000 ${upper}/usr/lib ${upper}/etc ${upper}`);
    const d = await diff(lower, upper);
    const got = d.entries.map((e) => `${e.path} ${e.whiteout ? `whiteout:${e.whiteout}` : e.type}`);
    assert.deepEqual(got, [
      'becomes-dir dir',
      'becomes-dir/f file',
      'etc dir',
      'etc/passwd file',
      'opt dir',
      'opt/app dir',
      'opt/app/run file',
      'pw symlink',
      'usr dir',
      'usr/lib dir',
      'usr/lib/old whiteout:file',
      'usr/lib/libx.so file',
      'var dir',
      'var/cache dir',
      'var/cache/file file',
    ]);
    sh(`cp -a ${lower} ${work}/applied`);
    await applyLayer(Readable.from([d.bytes]), join(work, 'applied'), { preserveOwnership: isRoot() });
    const opts = { mtime: true, owner: isRoot() };
    assert.equal(describeTree(join(work, 'applied'), opts), describeTree(upper, opts));
  });
});
