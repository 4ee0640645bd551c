/**
 * readTreeXattrs (engine/layers/xattrs.ts): every xattr of a tree from one getfattr run, keyed by relative path;
 * null when getfattr cannot be started (then not tried again in this process: node runs each test file in a
 * process of its own).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readTreeXattrs } from '../../engine/layers/xattrs';
import { haveTool, sh, userXattrsWork } from '../fixtures/layers/tree';

const work = mkdtempSync(join(tmpdir(), 'layers-xattrs-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the xattrs of a tree, by relative path: odd names, binary values; files without any are left out', async (t) => {
  if (!haveTool('setfattr') || !userXattrsWork(work)) return t.skip('needs setfattr and user xattrs on the temp dir');
  const root = join(work, 'tree');
  mkdirSync(join(root, 'sub dir'), { recursive: true });
  writeFileSync(join(root, 'plain'), '');
  writeFileSync(join(root, 'sub dir', 'a=b\tc'), '');
  sh(`setfattr -n user.one -v 0x00ff10 '${join(root, 'sub dir', 'a=b\tc')}'`);
  sh(`setfattr -n user.two -v hello '${join(root, 'sub dir')}'`);
  const x = await readTreeXattrs(root);
  assert.ok(x);
  assert.deepEqual([...x.keys()].sort(), ['sub dir', 'sub dir/a=b\tc']);
  assert.deepEqual(x.get('sub dir/a=b\tc'), [['user.one', Buffer.from([0, 0xff, 0x10])]]);
  assert.deepEqual(x.get('sub dir'), [['user.two', Buffer.from('hello')]]);
});

test('no getfattr to start: null, and it is not looked for again', async () => {
  const path = process.env.PATH;
  const empty = join(work, 'no-tools');
  mkdirSync(empty);
  process.env.PATH = empty;
  try {
    assert.equal(await readTreeXattrs(work), null);
  } finally {
    process.env.PATH = path;
  }
  assert.equal(await readTreeXattrs(work), null);
});
