/**
 * Pure parts of the runtime: resolving paths inside a rootfs (symlinks never escape), overlay mount options,
 * /etc/subuid parsing and id-map checks, shell quoting of the set-up script.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkUserMapped, isMapped, parseSubIdRange, type IdMapPlan } from '../../engine/runtime/idmap';
import { Fstab, fstabEscape } from '../../engine/runtime/fstab';
import { lockedFlagsFor, parseMountinfo } from '../../engine/runtime/mount-flags';
import { overlayOptions } from '../../engine/runtime/overlay';
import { resolveInRootfs } from '../../engine/runtime/rootfs-path';
import { shq } from '../../engine/runtime/setup-script';

const dir = mkdtempSync(join(tmpdir(), 'lw-rootfs-path-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function layout(): string {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(join(root, 'run'));
  writeFileSync(join(root, 'etc/passwd'), 'x');
  symlinkSync('/usr/lib', join(root, 'lib')); // absolute: must stay inside the root
  symlinkSync('../../../../../../etc', join(root, 'usr/up')); // climbs above the root: clamps at /
  symlinkSync('/run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf')); // dangling
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('/', join(root, 'self'));
  return root;
}

const show = async (root: string, p: string): Promise<string> => {
  try {
    const r = await resolveInRootfs(root, p);
    return `${r.path}${r.kind ? ` (${r.kind})` : ''}${r.missing.length ? ` missing ${r.missing.join(' ')}` : ''}`;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
};

describe('runtime: resolving paths inside a rootfs', () => {
  const root = layout();
  test('symlinks resolve inside the root, never outside', async () => {
    const cases: [string, string][] = [
      ['/etc/passwd', '/etc/passwd (file)'],
      ['etc/passwd', '/etc/passwd (file)'],
      ['/', '/ (dir)'],
      ['/lib', '/usr/lib (dir)'],
      ['/lib/x/y', '/usr/lib/x/y missing /usr/lib/x /usr/lib/x/y'],
      ['/usr/up/passwd', '/etc/passwd (file)'],
      ['/../../etc/passwd', '/etc/passwd (file)'],
      ['/self/self/etc', '/etc (dir)'],
      ['/etc/resolv.conf', '/run/systemd/resolve/stub-resolv.conf missing /run/systemd /run/systemd/resolve /run/systemd/resolve/stub-resolv.conf'],
      ['/new/a/../b', '/new/b missing /new /new/b'],
      ['/etc/passwd/x', 'error: cannot resolve /etc/passwd/x in the container: /etc/passwd is not a directory'],
      ['/loop1', 'error: too many levels of symbolic links resolving /loop1 in the container'],
    ];
    for (const [p, want] of cases) assert.equal(await show(root, p), want, p);
  });

  test('the host outside the root is never looked at', async () => {
    // /tmp exists on the host but not in this root
    assert.equal(await show(root, '/tmp'), '/tmp missing /tmp');
    assert.equal(await show(root, '/lib/../../../tmp'), '/tmp missing /tmp');
  });
});

describe('runtime: overlay options', () => {
  test('plain options, userxattr in a user namespace, extra options', () => {
    assert.deepEqual(overlayOptions(['/l/2', '/l/1'], '/u', '/w', false, []), { options: 'lowerdir=/l/2:/l/1,upperdir=/u,workdir=/w', cwd: '/' });
    assert.equal(overlayOptions(['/l'], '/u', '/w', true, ['index=off']).options, 'lowerdir=/l,upperdir=/u,workdir=/w,userxattr,index=off');
  });

  test('a long layer list is given relative to the common parent', () => {
    const lowers = Array.from({ length: 50 }, (_, i) => `/var/lib/layerwise/snapshots/${'a'.repeat(56)}${String(i).padStart(8, '0')}/fs`);
    const o = overlayOptions(lowers, '/var/lib/layerwise/snapshots/up/fs', '/var/lib/layerwise/snapshots/up/work', false, []);
    assert.equal(o.cwd, '/var/lib/layerwise/snapshots');
    assert.ok(o.options.length < 4000, `${o.options.length}`);
    assert.ok(o.options.startsWith(`lowerdir=${'a'.repeat(56)}00000000/fs:`));
    assert.ok(o.options.endsWith(',upperdir=up/fs,workdir=up/work'));
  });

  test('a list too long even relative goes through short links made in linkDir (the many-layers fixture mounts 90)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovl-links-'));
    try {
      const lowers = Array.from({ length: 200 }, (_, i) => `/var/lib/layerwise/snapshots/${'b'.repeat(56)}${String(i).padStart(8, '0')}/fs`);
      const linkDir = join(dir, 'lowers');
      assert.throws(() => overlayOptions(lowers, '/var/lib/layerwise/tmp/up', '/var/lib/layerwise/tmp/work', false, []), /too many layers/);
      const o = overlayOptions(lowers, '/var/lib/layerwise/tmp/up', '/var/lib/layerwise/tmp/work', false, [], linkDir);
      assert.equal(o.cwd, linkDir);
      assert.ok(o.options.length < 4000, `${o.options.length}`);
      const names = /^lowerdir=([^,]*),upperdir=\/var\/lib\/layerwise\/tmp\/up,workdir=\/var\/lib\/layerwise\/tmp\/work$/.exec(o.options)![1]!.split(':');
      assert.equal(names.length, 200);
      // each short name points at its lower directory, in order (top first)
      names.forEach((n, i) => assert.equal(readlinkSync(join(linkDir, n)), lowers[i]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unsafe paths and impossible lists are refused', () => {
    assert.throws(() => overlayOptions(['/a:b'], '/u', '/w', false, []), /overlayfs cannot take/);
    assert.throws(() => overlayOptions(['/a'], '/u,x', '/w', false, []), /overlayfs cannot take/);
    assert.throws(() => overlayOptions(['rel'], '/u', '/w', false, []), /absolute/);
    assert.throws(() => overlayOptions([], '/u', '/w', false, []), /at least one lower/);
    const many = Array.from({ length: 900 }, (_, i) => `/s/${String(i).padStart(6, '0')}`);
    assert.throws(() => overlayOptions(many, '/s/u', '/s/w', false, []), /too many layers/);
  });
});

describe('runtime: id maps', () => {
  test('/etc/subuid ranges by name or uid', () => {
    const text = '# comment\nalice:100000:65536\n1001:300000:1000\nbad:x:y\n';
    assert.deepEqual(parseSubIdRange(text, 'alice', 1000), { start: 100000, count: 65536 });
    assert.deepEqual(parseSubIdRange(text, 'bob', 1001), { start: 300000, count: 1000 });
    assert.equal(parseSubIdRange(text, 'carol', 1002), undefined);
    assert.equal(parseSubIdRange(text, 'bad', 5), undefined);
  });

  test('mapped ids and the error for unmapped ones', () => {
    const rootOnly: IdMapPlan = { mode: 'root-only', uids: [{ inside: 0, outside: 1000, count: 1 }], gids: [{ inside: 0, outside: 1000, count: 1 }], note: 'no range' };
    const sub: IdMapPlan = { mode: 'subid', uids: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }], gids: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }] };
    assert.equal(isMapped(rootOnly, 'uid', 0), true);
    assert.equal(isMapped(rootOnly, 'uid', 1), false);
    assert.equal(isMapped(sub, 'gid', 65536), true);
    assert.equal(isMapped(sub, 'gid', 65537), false);
    assert.equal(isMapped({ mode: 'host', uids: [], gids: [] }, 'uid', 123456789), true);
    assert.throws(() => checkUserMapped(rootOnly, 42, 0, '_apt'), /user "_apt" needs uid 42, which is not mapped in this rootless sandbox \(no range\)/);
    assert.doesNotThrow(() => checkUserMapped(sub, 42, 65534, '_apt'));
  });
});

describe('runtime: shell quoting of the set-up script', () => {
  test('any string survives /bin/sh', () => {
    const nasty = ["it's", '$HOME `id` $(id)', 'a\nb', '"\\', '', '-n', '*'];
    const out = execFileSync('/bin/sh', ['-c', `for a in ${nasty.map(shq).join(' ')}; do printf '%s\\0' "$a"; done`]).toString();
    assert.deepEqual(out.split('\0').slice(0, -1), nasty);
  });
});

describe('runtime: fstab files', () => {
  test('fields are escaped the way libmount unescapes them', () => {
    assert.equal(fstabEscape('/a b\tc\nd\\e'), '/a\\040b\\011c\\012d\\134e');
    const f = new Fstab().bind('/src dir', '/dst', ['ro']).add('proc', '/r/proc', 'proc', []).rbind('/nonexistent-src', '/r/sys', ['ro']);
    assert.equal(f.text(), '/src\\040dir /dst none bind,ro 0 0\nproc /r/proc proc defaults 0 0\n/nonexistent-src /r/sys none rbind,ro 0 0\n');
  });
});

describe('runtime: flags a remounted bind must keep', () => {
  test('the deepest mount containing the path decides', () => {
    const info = [
      '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '30 27 0:27 / /tmp rw,nosuid,nodev,noatime - tmpfs tmpfs rw',
      '31 27 0:28 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw',
      '32 27 0:29 / /mnt/with\\040space ro,noexec - tmpfs t rw',
    ].join('\n');
    const m = parseMountinfo(info);
    assert.deepEqual(lockedFlagsFor('/tmp/layerwise-sbx-1/hosts', m), ['nosuid', 'nodev', 'noatime']);
    assert.deepEqual(lockedFlagsFor('/sys', m), ['nosuid', 'nodev', 'noexec']);
    assert.deepEqual(lockedFlagsFor('/tmpfoo/x', m), []);
    assert.deepEqual(lockedFlagsFor('/mnt/with space/f', m), ['noexec']);
    assert.deepEqual(lockedFlagsFor('/usr/bin', m), []);
  });
});
