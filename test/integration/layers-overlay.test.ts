/** Real overlayfs: changes made through an overlay mount, read back from the upper dir as a layer. Rootful
 *  (trusted.* xattrs, run as root) and rootless (`userxattr` inside `unshare -Urm`, as the nobody user). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { applyLayer, listLayer, writeLayer, type LayerEntry } from '../../engine/layers';
import { describeTree, haveTool, isRoot, sh } from '../fixtures/layers/tree';

let work: string;

/** The lower layer every test starts from. */
function makeLower(dir: string): void {
  mkdirSync(join(dir, 'replace-dir/sub'), { recursive: true });
  mkdirSync(join(dir, 'dir-keep'));
  writeFileSync(join(dir, 'keep.txt'), 'keep');
  writeFileSync(join(dir, 'delete-me.txt'), 'bye');
  writeFileSync(join(dir, 'modify.txt'), 'old');
  writeFileSync(join(dir, 'replace-dir/old1'), 'old1');
  writeFileSync(join(dir, 'replace-dir/sub/old2'), 'old2');
  writeFileSync(join(dir, 'dir-keep/a'), 'a');
  writeFileSync(join(dir, 'dir-keep/c'), 'c');
}

/** What a RUN step does, run inside the merged dir. */
const CHANGES = [
  'rm delete-me.txt',
  'rm -rf replace-dir && mkdir replace-dir && echo new1 > replace-dir/new1',
  'echo changed > modify.txt',
  'mkdir -p added/deeper && echo x > added/deeper/file',
  'rm dir-keep/a && echo b > dir-keep/b',
  'ln -s keep.txt added/link',
].join(' && ');

const EXPECTED_LAYER = [
  'added dir',
  'added/deeper dir',
  'added/deeper/file file',
  'added/link symlink',
  'delete-me.txt whiteout:file',
  'dir-keep dir',
  'dir-keep/a whiteout:file',
  'dir-keep/b file',
  'modify.txt file',
  'replace-dir dir',
  'replace-dir whiteout:opaque',
  'replace-dir/new1 file',
];

async function layerOf(upper: string) {
  const w = writeLayer(upper, { source: 'overlay', sourceDateEpoch: 0, owner: { uid: 0, gid: 0 } });
  const chunks: Buffer[] = [];
  for await (const c of w.stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const entries: LayerEntry[] = [];
  for await (const e of listLayer(Readable.from([bytes]))) entries.push(e);
  return { bytes, entries, result: await w.done };
}

const render = (entries: LayerEntry[]) => entries.map((e) => `${e.path} ${e.whiteout ? `whiteout:${e.whiteout}` : e.type}`).sort();

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split('.').map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

function tryMountOverlay(): string | null {
  if (!isRoot()) return 'needs root to mount overlayfs';
  const d = mkdtempSync(join(work, 'probe-'));
  for (const s of ['l', 'u', 'w', 'm']) mkdirSync(join(d, s));
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${d}/l,upperdir=${d}/u,workdir=${d}/w`, `${d}/m`], { encoding: 'utf8' });
  if (r.status !== 0) return `overlayfs mount not permitted here: ${r.stderr.trim()}`;
  spawnSync('umount', [`${d}/m`]);
  return null;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'layers-ovl-'));
});
after(() => {
  spawnSync('sh', ['-c', `grep -o ' ${work}[^ ]*' /proc/mounts | xargs -r -n1 umount -l`]);
  spawnSync('chmod', ['-R', 'u+rwX', work]); // overlay work dirs are created mode 000
  rmSync(work, { recursive: true, force: true });
});

describe('layers: overlay upper dir -> layer (rootful)', () => {
  test('whiteouts and opaque dirs become .wh. entries; applying onto the lower gives the merged view', async (t) => {
    const why = tryMountOverlay();
    if (why) return t.skip(why);
    if (!haveTool('getfattr')) return t.skip('getfattr (Debian package attr) not installed');
    const d = join(work, 'rootful');
    for (const s of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(d, s), { recursive: true });
    makeLower(join(d, 'lower'));
    sh(`mount -t overlay overlay -o lowerdir=${d}/lower,upperdir=${d}/upper,workdir=${d}/work ${d}/merged`);
    let merged: string;
    try {
      sh(CHANGES, join(d, 'merged'));
      merged = describeTree(join(d, 'merged'));
    } finally {
      sh(`umount ${d}/merged`);
    }
    // the kernel really used the rootful forms
    assert.match(sh(`stat -c %F:%t:%T ${d}/upper/delete-me.txt`), /character special file:0:0/);
    assert.match(sh(`getfattr -n trusted.overlay.opaque --only-values ${d}/upper/replace-dir`), /^y$/);

    const layer = await layerOf(join(d, 'upper'));
    assert.deepEqual(render(layer.entries), EXPECTED_LAYER);
    for (const e of layer.entries) assert.equal(e.xattrs?.['trusted.overlay.opaque'], undefined, 'overlay xattrs are not copied');

    // apply onto a copy of the lower: the merged view
    sh(`cp -a ${d}/lower ${d}/applied`);
    await applyLayer(Readable.from([layer.bytes]), join(d, 'applied'));
    assert.equal(describeTree(join(d, 'applied')), merged);

    // apply as an overlay snapshot (whiteouts as 0/0 devices) and mount it over the lower: the merged view again
    mkdirSync(join(d, 'snap'));
    await applyLayer(Readable.from([layer.bytes]), join(d, 'snap'), { whiteoutMode: 'overlay' });
    mkdirSync(join(d, 'view'));
    sh(`mount -t overlay overlay -o lowerdir=${d}/snap:${d}/lower ${d}/view`);
    try {
      assert.equal(describeTree(join(d, 'view')), merged);
    } finally {
      sh(`umount ${d}/view`);
    }
  });
});

describe('layers: overlay upper dir -> layer (rootless, userxattr)', () => {
  test('user.overlay.* whiteouts/opaque from an unprivileged user namespace', async (t) => {
    if (!haveTool('unshare') || !haveTool('setpriv')) return t.skip('util-linux unshare/setpriv not installed');
    if (!haveTool('getfattr')) return t.skip('getfattr (Debian package attr) not installed');
    const d = join(work, 'rootless');
    for (const s of ['lower', 'upper', 'work', 'merged', 'expected']) mkdirSync(join(d, s), { recursive: true });
    makeLower(join(d, 'lower'));
    // as root, drop to nobody first so that the user namespace is really unprivileged
    if (isRoot()) {
      sh(`chown -R 65534:65534 ${d}`);
      chownSync(work, 0, 0);
      spawnSync('chmod', ['755', work]);
    }
    const asNobody = (script: string) =>
      isRoot()
        ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '-Urm', 'sh', '-ec', script], { encoding: 'utf8' })
        : spawnSync('unshare', ['-Urm', 'sh', '-ec', script], { encoding: 'utf8' });
    const probe = asNobody(`mount -t overlay overlay -o lowerdir=${d}/lower,upperdir=${d}/upper,workdir=${d}/work,userxattr ${d}/merged && umount ${d}/merged`);
    if (probe.status !== 0) return t.skip(`rootless overlay (unshare -Urm, userxattr) not available here: ${probe.stderr.trim()}`);
    const run = asNobody(
      `mount -t overlay overlay -o lowerdir=${d}/lower,upperdir=${d}/upper,workdir=${d}/work,userxattr ${d}/merged; cd ${d}/merged; ${CHANGES}; cd /; cp -a ${d}/merged/. ${d}/expected/; umount ${d}/merged`,
    );
    assert.equal(run.status, 0, run.stderr);
    const merged = describeTree(join(d, 'expected'));
    assert.match(sh(`getfattr -n user.overlay.opaque --only-values ${d}/upper/replace-dir`), /^y$/);

    const layer = await layerOf(join(d, 'upper'));
    assert.deepEqual(render(layer.entries), EXPECTED_LAYER);

    sh(`cp -a ${d}/lower ${d}/applied`);
    await applyLayer(Readable.from([layer.bytes]), join(d, 'applied'));
    assert.equal(describeTree(join(d, 'applied')), merged);

    // a rootless snapshot: xwhiteouts (user.overlay.whiteout files) + user.overlay.opaque, read by the kernel
    if (!kernelAtLeast(6, 7)) return t.skip(`kernel ${release()} predates overlay xwhiteouts (6.7): snapshot check skipped`);
    mkdirSync(join(d, 'snap'));
    await applyLayer(Readable.from([layer.bytes]), join(d, 'snap'), { whiteoutMode: 'overlay-userxattr' });
    sh(`mkdir ${d}/view ${d}/seen`);
    if (isRoot()) sh(`chown -R 65534:65534 ${d}/snap ${d}/view ${d}/seen`);
    const view = asNobody(`mount -t overlay overlay -o lowerdir=${d}/snap:${d}/lower,userxattr ${d}/view; cp -a ${d}/view/. ${d}/seen/; umount ${d}/view`);
    assert.equal(view.status, 0, view.stderr);
    assert.equal(describeTree(join(d, 'seen')), merged);
  });
});
