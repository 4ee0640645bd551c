/** The container's /etc/hosts: BuildKit's for a build's RUN, Docker's (checked side by side with Docker 26) for `run`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostsFile } from '../../engine/runtime/spec';
import type { SandboxSpec } from '../../engine/runtime/types';

const base: SandboxSpec = { lowerDirs: [], upperDir: '/u', workDir: '/w', args: ['true'], env: [] };
const DEFAULTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

test('a build RUN: localhost and the host name, then --add-host entries', () => {
  assert.equal(hostsFile({ ...base, extraHosts: [{ host: 'db', ip: '10.0.0.5' }] }, 'buildkitsandbox'), '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb\n');
});

test('run: Docker\'s six default lines, the --add-host entries, the container name last (none with --network none)', () => {
  const run: SandboxSpec = { ...base, profile: 'run', extraHosts: [{ host: 'a.b', ip: '10.0.0.1' }] };
  assert.equal(hostsFile(run, 'abc123'), `${DEFAULTS}10.0.0.1\ta.b\n127.0.0.1\tabc123\n`);
  assert.equal(hostsFile({ ...run, network: 'none' }, 'abc123'), `${DEFAULTS}10.0.0.1\ta.b\n`);
});

test('run --network host: the host\'s own /etc/hosts, then the --add-host entries', () => {
  const own = readFileSync('/etc/hosts', 'utf8');
  const out = hostsFile({ ...base, profile: 'run', network: 'host', extraHosts: [{ host: 'x', ip: '10.1.1.1' }] }, 'abc');
  assert.ok(out.startsWith(own.trimEnd()), out);
  assert.ok(out.endsWith('10.1.1.1\tx\n'), out);
});
