/** A corpus of malicious and broken layer tars, generated here with tar-stream and by hand. For every case
 *  nothing may change outside the target: a sentinel tree next to it and /etc/passwd stay byte-identical. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { applyLayer, type ApplyOptions } from '../../engine/layers';
import { encodeHeader, END_OF_ARCHIVE } from '../../engine/layers/tarheader';
import { describeTree, haveTool } from '../fixtures/layers/tree';

type Entry = { header: tarStream.Header | (Partial<tarStream.Header> & { name: string; pax?: Record<string, string> }); data?: string | Buffer };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      pack.entry({ mode: 0o644, mtime: new Date(0), ...e.header } as tarStream.Header, e.data ?? '', (err) => (err ? rej(err) : res()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** Re-computes the checksum of a hand-edited 512-byte header in place. */
function fixChecksum(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

let base: string;
const passwdHash = () => (existsSync('/etc/passwd') ? createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex') : '');
let passwdBefore = '';

interface Sandbox {
  root: string;
  target: string;
  sentinel: string;
  outside: () => string;
}

let n = 0;
function sandbox(): Sandbox {
  const root = join(base, `case-${n++}`);
  const sentinel = join(root, 'sentinel');
  const target = join(root, 'a', 'b', 'target');
  mkdirSync(join(sentinel, 'dir'), { recursive: true });
  mkdirSync(target, { recursive: true });
  writeFileSync(join(sentinel, 'secret'), 'do not touch');
  writeFileSync(join(sentinel, 'dir', 'file'), 'nested');
  writeFileSync(join(root, 'a', 'neighbour'), 'next to the target');
  const outside = () => describeTree(root, { mtime: true, ignore: (rel) => rel === 'a/b/target' });
  return { root, target, sentinel, outside };
}

interface Case {
  name: string;
  tar: (s: Sandbox) => Promise<Buffer>;
  opts?: ApplyOptions;
  /** the error kind, or a check of the neutralised result inside the target */
  expect: { error: string; message?: RegExp } | { check: (s: Sandbox) => void };
}

const file = (name: string, data = 'pwned'): Entry => ({ header: { name, type: 'file' }, data });
const symlink = (name: string, linkname: string): Entry => ({ header: { name, type: 'symlink', linkname } });
const hardlink = (name: string, linkname: string): Entry => ({ header: { name, type: 'link', linkname } });
const dir = (name: string): Entry => ({ header: { name, type: 'directory', mode: 0o755 } });
const read = (p: string) => readFileSync(p, 'utf8');
const rel = (abs: string) => abs.replace(/^\/+/, '');

const cases: Case[] = [
  { name: '../ traversal', tar: () => makeTar([file('../escape')]), expect: { error: 'unsafe', message: /"\.\.\/escape" escapes the target/ } },
  { name: 'deep ../ traversal', tar: () => makeTar([file('x/../../../../escape')]), expect: { error: 'unsafe' } },
  {
    name: '../ traversal with rootedNames (ADD): kept inside the target, as containerd cleans names',
    tar: () => makeTar([file('../escape'), file('x/../../../../deep'), { header: { name: 'i', type: 'file', pax: { path: '../../pax' } }, data: 'p' }, hardlink('hl', '../escape')]),
    opts: { rootedNames: true },
    expect: {
      check: (s) => {
        assert.equal(read(join(s.target, 'escape')), 'pwned');
        assert.equal(read(join(s.target, 'deep')), 'pwned');
        assert.equal(read(join(s.target, 'pax')), 'p');
        assert.equal(statSync(join(s.target, 'hl')).ino, statSync(join(s.target, 'escape')).ino);
      },
    },
  },
  { name: '../ in a PAX path', tar: () => makeTar([{ header: { name: 'innocent', type: 'file', pax: { path: '../../pax-escape' } }, data: 'x' }]), expect: { error: 'unsafe' } },
  {
    name: 'absolute path is made relative to the target',
    tar: (s) => makeTar([file(`${s.sentinel}/secret`)]),
    expect: { check: (s) => assert.equal(read(join(s.target, rel(s.sentinel), 'secret')), 'pwned') },
  },
  {
    name: 'symlink to / then a file through it',
    tar: (s) => makeTar([symlink('evil', '/'), file(`evil${s.sentinel}/secret`)]),
    expect: { check: (s) => assert.equal(read(join(s.target, rel(s.sentinel), 'secret')), 'pwned') },
  },
  {
    name: 'symlink to an absolute outside dir then a file through it',
    tar: (s) => makeTar([symlink('evil', s.sentinel), file('evil/secret'), file('evil/dir/file')]),
    expect: { check: (s) => assert.equal(read(join(s.target, rel(s.sentinel), 'dir/file')), 'pwned') },
  },
  {
    name: 'relative symlink climbing out then a file through it',
    tar: () => makeTar([symlink('up', '../../..'), file('up/escape'), file('up/sentinel/secret')]),
    expect: { check: (s) => assert.equal(read(join(s.target, 'sentinel/secret')), 'pwned') },
  },
  {
    name: 'symlink chain escape',
    tar: () => makeTar([dir('c'), symlink('c/b', '../../../..'), symlink('a', 'c/b'), file('a/sentinel/secret')]),
    expect: { check: (s) => assert.equal(read(join(s.target, 'sentinel/secret')), 'pwned') },
  },
  {
    name: 'file entry over a symlink replaces the link, never writes through it',
    tar: (s) => makeTar([symlink('link', `${s.sentinel}/secret`), file('link')]),
    expect: {
      check: (s) => {
        assert.ok(lstatSync(join(s.target, 'link')).isFile());
        assert.equal(read(join(s.target, 'link')), 'pwned');
      },
    },
  },
  {
    name: 'directory entry over a symlink replaces the link',
    tar: (s) => makeTar([symlink('d', s.sentinel), dir('d'), file('d/secret')]),
    expect: { check: (s) => assert.ok(lstatSync(join(s.target, 'd')).isDirectory()) },
  },
  {
    name: 'symlink loop',
    tar: () => makeTar([symlink('l1', 'l2'), symlink('l2', 'l1'), file('l1/x')]),
    expect: { error: 'unsafe', message: /too many levels of symbolic links/ },
  },
  { name: 'hardlink to /etc/passwd', tar: () => makeTar([hardlink('pw', '/etc/passwd')]), expect: { error: 'unsafe', message: /hard link to "etc\/passwd"/ } },
  { name: 'hardlink with ../', tar: () => makeTar([hardlink('hl', '../../../sentinel/secret')]), expect: { error: 'unsafe' } },
  {
    name: 'hardlink through a symlink',
    tar: (s) => makeTar([symlink('s', s.sentinel), hardlink('hl', 's/secret')]),
    expect: { error: 'unsafe', message: /not in the target/ },
  },
  { name: 'hardlink to a not-yet-extracted path', tar: () => makeTar([hardlink('hl', 'later'), file('later')]), expect: { error: 'unsafe' } },
  {
    name: 'hardlink to a directory',
    tar: () => makeTar([dir('d'), hardlink('hl', 'd')]),
    expect: { error: 'unsafe', message: /directory/ },
  },
  {
    name: 'device node when devices are not allowed',
    tar: () => makeTar([{ header: { name: 'dev/sda', type: 'character-device', devmajor: 8, devminor: 0 } }]),
    expect: { error: 'unsafe', message: /device node/ },
  },
  {
    name: 'device node skipped with skipDevices',
    tar: () => makeTar([{ header: { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 } }, file('ok')]),
    opts: { skipDevices: true },
    expect: {
      check: (s) => {
        assert.equal(existsSync(join(s.target, 'dev/sda')), false);
        assert.equal(read(join(s.target, 'ok')), 'pwned');
      },
    },
  },
  { name: 'whiteout of ..', tar: () => makeTar([file('.wh...', '')]), expect: { error: 'unsafe', message: /whiteout/ } },
  { name: 'whiteout of .. in a subdirectory', tar: () => makeTar([file('sub/.wh...', '')]), expect: { error: 'unsafe' } },
  { name: 'whiteout of ../x', tar: () => makeTar([file('../.wh.neighbour', '')]), expect: { error: 'unsafe' } },
  {
    name: 'whiteout through a symlink',
    tar: (s) => makeTar([symlink('s', s.sentinel), file('s/.wh.secret', ''), symlink('t', '../..'), file('t/.wh.neighbour', '')]),
    expect: { check: (s) => assert.equal(readlinkSync(join(s.target, 's')), s.sentinel) },
  },
  {
    name: 'opaque marker through a symlink',
    tar: (s) => makeTar([symlink('s', s.sentinel), file('s/.wh..wh..opq', ''), symlink('u', '../../..'), file('u/.wh..wh..opq', '')]),
    expect: { check: (s) => assert.ok(lstatSync(join(s.target, 'u')).isSymbolicLink()) },
  },
  {
    name: 'overlay xattrs in the tar are dropped',
    tar: () => makeTar([{ header: { name: 'd', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.user.overlay.opaque': 'y' } } }]),
    expect: {
      check: (s) => {
        const r = spawnSync('getfattr', ['-d', '-m', '-', join(s.target, 'd')], { encoding: 'utf8' });
        assert.doesNotMatch(r.stdout, /overlay/);
      },
    },
  },
  {
    name: 'huge declared size without data',
    tar: async () => Buffer.concat([encodeHeader({ name: 'huge', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 2 ** 40, mtime: 0 }), Buffer.alloc(4096)]),
    expect: { error: 'corrupt' },
  },
  {
    name: 'entry larger than maxEntrySize',
    tar: () => makeTar([file('big', 'x'.repeat(200_000))]),
    opts: { maxEntrySize: 100_000 },
    expect: { error: 'unsafe', message: /too large/ },
  },
  {
    name: 'negative size',
    tar: async () => {
      const h = encodeHeader({ name: 'neg', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
      h.fill(0xff, 124, 136); // base-256 two's complement: -1
      h[135] = 0xfe;
      return Buffer.concat([fixChecksum(h), END_OF_ARCHIVE]);
    },
    expect: { error: 'corrupt' },
  },
  {
    name: 'bad header checksum',
    tar: async () => {
      const h = encodeHeader({ name: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
      h[0] = 0x79;
      return Buffer.concat([h, END_OF_ARCHIVE]);
    },
    expect: { error: 'corrupt' },
  },
  {
    name: 'unsupported entry type',
    tar: async () => {
      const h = encodeHeader({ name: 'sparse', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
      h[156] = 'V'.charCodeAt(0);
      return Buffer.concat([fixChecksum(h), END_OF_ARCHIVE]);
    },
    expect: { error: 'invalid', message: /unsupported type/ },
  },
  {
    name: 'truncated in the middle of file data',
    tar: async () => (await makeTar([file('f', 'y'.repeat(5000))])).subarray(0, 512 + 2000),
    expect: { error: 'corrupt' },
  },
  {
    name: 'truncated at an entry boundary (no end-of-archive)',
    tar: async () => (await makeTar([file('f', 'y'.repeat(512))])).subarray(0, 1024),
    expect: { error: 'corrupt', message: /truncated/ },
  },
  { name: 'empty input', tar: async () => Buffer.alloc(0), expect: { error: 'corrupt' } },
  {
    name: 'gzip with a wrong CRC',
    tar: async () => {
      const gz = gzipSync(await makeTar([file('f', 'z'.repeat(10000))]));
      gz[gz.length - 8] ^= 0xff;
      return gz;
    },
    expect: { error: 'corrupt' },
  },
  {
    name: 'gzip whose trailer size does not match (bomb-ish header mismatch)',
    tar: async () => {
      const gz = gzipSync(await makeTar([file('f', 'z'.repeat(10000))]));
      gz.writeUInt32LE(16, gz.length - 4);
      return gz;
    },
    expect: { error: 'corrupt' },
  },
  {
    name: 'decompression bomb stopped by maxTotalSize',
    tar: async () => gzipSync(await makeTar([file('zeros', '\0'.repeat(4 << 20))])),
    opts: { maxTotalSize: 1 << 20 },
    expect: { error: 'unsafe', message: /limit/ },
  },
  {
    name: 'gzip magic followed by garbage',
    tar: async () => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(600, 0x41)]),
    expect: { error: 'corrupt' },
  },
  {
    name: 'truncated zstd',
    tar: async () => {
      const r = spawnSync('zstd', ['-c', '-q'], { input: await makeTar([file('f', 'q'.repeat(100000))]) });
      return r.stdout.subarray(0, r.stdout.length - 10);
    },
    expect: { error: 'corrupt' },
  },
];

before(() => {
  base = mkdtempSync(join(tmpdir(), 'layers-evil-'));
  passwdBefore = passwdHash();
});
after(() => rmSync(base, { recursive: true, force: true }));

describe('layers: malicious and broken layer tars', () => {
  for (const c of cases) {
    test(c.name, async (t) => {
      if (c.name.includes('zstd') && !haveTool('zstd')) return t.skip('zstd not installed');
      const s = sandbox();
      const before = s.outside();
      const tar = await c.tar(s);
      let err: unknown;
      try {
        await applyLayer(Readable.from([tar]), s.target, c.opts);
      } catch (e) {
        err = e;
      }
      // nothing outside the target changed, whatever happened
      assert.equal(s.outside(), before, 'the tree next to the target changed');
      assert.equal(passwdHash(), passwdBefore, '/etc/passwd changed');
      assert.equal(statSync(join(s.sentinel, 'secret')).nlink, 1, 'someone hard-linked the sentinel');
      assert.equal(existsSync(join(base, 'escape')) || existsSync(join(tmpdir(), 'escape')), false);
      if ('error' in c.expect) {
        assert.ok(err, `expected a LayerwiseError(${c.expect.error})`);
        assert.equal((err as { name?: string }).name, 'LayerwiseError', String(err));
        assert.equal((err as { kind: string }).kind, c.expect.error, String(err));
        if (c.expect.message) assert.match((err as Error).message, c.expect.message);
      } else {
        assert.equal(err, undefined, `unexpected error: ${String(err)}`);
        c.expect.check(s);
      }
    });
  }
});
