import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, normalizeReference, parseReference } from '../../engine/image/refs';
import { chainIds } from '../../engine/image/chain';
import { sha256 } from '../../engine/image/digest';

const D = 'sha256:' + 'a'.repeat(64);

describe('image references (docker normalization)', () => {
  const cases: [string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x'],
    ['user/app', 'docker.io/user/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['localhost:5000/team/x:v1.2', 'localhost:5000/team/x:v1.2'],
    ['ghcr.io/o/r/s:t', 'ghcr.io/o/r/s:t'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    ['a__b.c-d---e:T_a.g-1', 'docker.io/library/a__b.c-d---e:T_a.g-1'],
    ['Host.Example:443/x', 'Host.Example:443/x:latest'],
  ];
  for (const [input, want] of cases) {
    it(`${input} -> ${want}`, () => {
      assert.equal(normalizeReference(input), want);
      assert.equal(normalizeReference(want), want, 'idempotent');
    });
  }

  it('familiar forms drop docker.io and library/', () => {
    assert.equal(familiarString('docker.io/library/busybox:latest'), 'busybox:latest');
    assert.equal(familiarString('docker.io/user/app:1'), 'user/app:1');
    assert.equal(familiarString('localhost:5000/x:latest'), 'localhost:5000/x:latest');
  });

  const bad: [string, RegExp][] = [
    ['Busybox', /^LayerwiseError: invalid reference format: repository name \(library\/Busybox\) must be lowercase$/],
    ['user/App', /must be lowercase/],
    ['', /invalid reference format/],
    ['a:b:c', /invalid reference format/],
    ['a/', /invalid reference format/],
    ['-a', /invalid reference format/],
    ['a@sha256:abc', /invalid reference format/],
    ['a:' + 't'.repeat(129), /invalid reference format/],
    ['a'.repeat(64).replace(/a/g, 'f'), /cannot specify 64-byte hexadecimal strings/],
    ['a..b', /invalid reference format/],
    ['x/' + 'a'.repeat(260), /255 characters/],
  ];
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.throws(() => parseReference(input), re);
    });
  }
});

describe('chain ids', () => {
  it('follow the OCI definition', () => {
    const a = sha256('a');
    const b = sha256('b');
    const c = sha256('c');
    const ids = chainIds([a, b, c]);
    assert.equal(ids[0], a);
    assert.equal(ids[1], sha256(`${a} ${b}`));
    assert.equal(ids[2], sha256(`${ids[1]} ${c}`));
    assert.deepEqual(chainIds([]), []);
  });
});
