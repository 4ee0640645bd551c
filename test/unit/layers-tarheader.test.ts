/**
 * encodeUstarInto (the writer's allocation-free path for plain entries) gives encodeHeader's bytes exactly, and
 * declines (writing nothing) every entry that needs a PAX header.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHeader, encodeUstarInto, type TarHeader, type TarType } from '../../engine/layers/tarheader';
import { prng } from '../helpers/prng';

const TYPES: TarType[] = ['file', 'link', 'symlink', 'char', 'block', 'dir', 'fifo'];

function randomName(r: () => number, max: number): string {
  const alphabet = 'abcXYZ019._-/ ~';
  const len = Math.floor(r() * max);
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s || 'x';
}

test('encodeUstarInto writes the bytes encodeHeader gives, for 5,000 random plain entries (into a dirty buffer)', () => {
  const r = prng(20261128);
  const buf = Buffer.alloc(4096, 0xa5);
  for (let n = 0; n < 5000; n++) {
    const type = TYPES[Math.floor(r() * TYPES.length)]!;
    const h: TarHeader = {
      name: randomName(r, type === 'dir' ? 99 : 100),
      type,
      mode: Math.floor(r() * 0o10000),
      uid: Math.floor(r() * 2 ** (r() < 0.5 ? 16 : 21)),
      gid: Math.floor(r() * 70000),
      size: type === 'file' ? Math.floor(r() * 2 ** (r() < 0.2 ? 33 : 20)) : 0,
      mtime: Math.floor(r() * 2 ** 33),
      ...(type === 'link' || type === 'symlink' ? { linkname: randomName(r, 100) } : {}),
      ...(type === 'char' || type === 'block' ? { devmajor: Math.floor(r() * 4096), devminor: Math.floor(r() * 2 ** 20) } : {}),
      ...(r() < 0.1 ? { xattrs: [] } : {}),
    };
    const off = 512 + Math.floor(r() * 1024);
    assert.equal(encodeUstarInto(buf, off, h), true, JSON.stringify(h));
    assert.deepEqual(buf.subarray(off, off + 512), encodeHeader(h), JSON.stringify(h));
  }
});

test('encodeUstarInto declines what needs PAX (long or non-ASCII names and targets, big ids and sizes, xattrs), leaving the buffer alone', () => {
  const base: TarHeader = { name: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 1 };
  const cases: TarHeader[] = [
    { ...base, name: 'n'.repeat(101) },
    { ...base, type: 'dir', name: 'd'.repeat(100) }, // the trailing '/' makes 101
    { ...base, name: 'caf\u00e9' },
    { ...base, name: 'tab\there' },
    { ...base, type: 'symlink', size: 0, linkname: 't'.repeat(101) },
    { ...base, uid: 0o10000000 },
    { ...base, gid: 0o10000000 },
    { ...base, size: 0o100000000000 },
    { ...base, xattrs: [['user.k', Buffer.from('v')]] },
  ];
  for (const h of cases) {
    const buf = Buffer.alloc(512, 0x5a);
    assert.equal(encodeUstarInto(buf, 0, h), false, JSON.stringify(h));
    assert.ok(buf.every((b) => b === 0x5a));
    assert.ok(encodeHeader(h).length > 512, 'encodeHeader writes a PAX header for it');
  }
});
