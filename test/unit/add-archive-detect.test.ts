/**
 * ADD's archive test (engine/build/copy.ts isTarHeader): a block is a tar header when Go's archive/tar would take
 * it — any format (V7 too: no magic), checksum by the unsigned or the signed byte sum; not an all-zero block
 * (an empty archive), not a damaged one. Differential fixture add-compressed-variants checks the whole ADD
 * against Docker.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTarHeader } from '../../engine/build/copy';

function tarOf(format: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tarhdr-'));
  try {
    writeFileSync(join(dir, 'f'), 'x');
    const r = spawnSync('tar', [`--format=${format}`, '-cf', 'a.tar', 'f'], { cwd: dir });
    assert.equal(r.status, 0, String(r.stderr));
    return readFileSync(join(dir, 'a.tar'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tar headers of every format are taken; zero, short and damaged blocks are not', () => {
  for (const f of ['v7', 'ustar', 'gnu', 'pax']) assert.ok(isTarHeader(tarOf(f).subarray(0, 512)), f);
  assert.ok(tarOf('v7').subarray(257, 262).toString('latin1') !== 'ustar', 'the V7 header has no magic');
  assert.equal(isTarHeader(Buffer.alloc(512)), false, 'all zeros: an empty archive');
  assert.equal(isTarHeader(tarOf('ustar').subarray(0, 500)), false, 'short');
  const damaged = Buffer.from(tarOf('ustar').subarray(0, 512));
  damaged[0] ^= 1;
  assert.equal(isTarHeader(damaged), false, 'a changed byte breaks the checksum');
  assert.equal(isTarHeader(Buffer.from('not a tar at all\n'.repeat(40)).subarray(0, 512)), false, 'text');
});

test('the signed byte sum counts too (old tars summed bytes as signed chars)', () => {
  const h = Buffer.from(tarOf('ustar').subarray(0, 512));
  h.write('\u00e9\u00e9', 0, 'latin1'); // two bytes above 127 in the name
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    signed += b > 127 ? b - 256 : b;
  }
  h.write(signed.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  assert.ok(isTarHeader(h));
});
