/** USER resolution against /etc/passwd and /etc/group texts (BuildKit's GetUser semantics). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGroup, parsePasswd, resolveUser } from '../../engine/runtime/users';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  '# a comment',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin',
  'broken line',
  'app:x:1000:1000:App,,,:/home/app:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  '',
].join('\n');
const GROUP = ['root:x:0:', 'adm:x:4:app', 'staff:x:50:app,nobody', 'app:x:1000:', 'wheel:x:10:root', 'nogroup:x:65534:', 'bad:x:notanumber:app'].join('\n');

/** renders a result as `uid gid [groups] home name` for compact comparisons */
function show(spec: string, ...files: [] | [string | undefined, string | undefined]): string {
  const [passwd, group] = files.length ? files : [PASSWD, GROUP];
  try {
    const u = resolveUser(spec, passwd, group);
    return `${u.uid} ${u.gid} [${u.groups.join(',')}] ${u.home}${u.name ? ` ${u.name}` : ''}`;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe('runtime users', () => {
  test('parsing skips comments and malformed lines', () => {
    assert.deepEqual(parsePasswd(PASSWD).map((p) => `${p.name}:${p.uid}:${p.gid}`), ['root:0:0', 'daemon:1:1', '_apt:42:65534', 'app:1000:1000', 'nobody:65534:65534']);
    assert.deepEqual(parseGroup(GROUP).find((g) => g.name === 'staff')?.members, ['app', 'nobody']);
    assert.equal(parseGroup(GROUP).some((g) => g.name === 'bad'), false);
    assert.equal(parsePasswd('root:x:0:0:root:/root:/bin/sh\r\n')[0]?.shell, '/bin/sh');
  });

  test('names, uids, groups', () => {
    const cases: [string, string][] = [
      ['', '0 0 [10] /root root'], // default user: root with its groups
      ['root', '0 0 [10] /root root'],
      ['app', '1000 1000 [4,50] /home/app app'],
      ['1000', '1000 1000 [4,50] /home/app app'], // a known uid is the same user
      ['_apt', '42 65534 [] /nonexistent _apt'],
      ['4321', '4321 0 [] /'], // an unknown uid: gid 0
      ['app:staff', '1000 50 [] /home/app app'], // explicit group: no supplementary groups
      ['app:50', '1000 50 [] /home/app app'],
      ['app:777', '1000 777 [] /home/app app'], // an unknown numeric gid is taken as is
      ['1000:1000', '1000 1000 [] /'], // both numeric: no lookups at all
      ['root:root', '0 0 [] /'],
      ['ghost', 'error: unable to find user ghost: no matching entries in passwd file'],
      ['app:ghosts', 'error: unable to find group ghosts: no matching entries in group file'],
      ['app:', 'error: invalid user app: the group name is empty'],
    ];
    for (const [spec, want] of cases) assert.equal(show(spec), want, `USER ${spec}`);
  });

  test('without /etc/passwd and /etc/group', () => {
    assert.equal(show('', undefined, undefined), '0 0 [] /');
    assert.equal(show('123', undefined, undefined), '123 0 [] /');
    assert.equal(show('123:45', undefined, undefined), '123 45 [] /');
    assert.equal(show('app', undefined, undefined), 'error: unable to find user app: no matching entries in passwd file');
    // the default user never fails, even with a passwd file that has no root
    assert.equal(show('', 'app:x:1000:1000::/home/app:/bin/sh', undefined), '0 0 [] /');
  });

  test('ids out of range are not numeric', () => {
    assert.equal(show('99999999999'), 'error: unable to find user 99999999999: no matching entries in passwd file');
  });
});
