/** `build -o/--output` and the other docker build flags the CLI takes: what each spelling means, what is refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOutput } from '../../engine/build/export';
import { parseBuildArgs } from '../../engine/cli/commands/build';
import { isLayerwiseError } from '../../engine/errors';

test('-o: a path is a folder, - a tar on stdout, type=local|tar with dest as buildx takes them', () => {
  assert.deepEqual(parseOutput('out'), { type: 'local', dest: 'out' });
  assert.deepEqual(parseOutput('-'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutput('type=local,dest=a/b'), { type: 'local', dest: 'a/b' });
  assert.deepEqual(parseOutput('type=tar,dest=x.tar'), { type: 'tar', dest: 'x.tar' });
  assert.deepEqual(parseOutput('dest=x'), { type: 'local', dest: 'x' });
  const usage = (spec: string, re: RegExp) =>
    assert.throws(() => parseOutput(spec), (e: unknown) => isLayerwiseError(e) && e.kind === 'usage' && re.test(e.message), spec);
  usage('type=image,name=x', /output type "image" is not supported/);
  usage('type=oci,dest=x.tar', /not supported/);
  usage('type=tar', /dest is required/);
  usage('type=local,dest=-', /needs a directory/);
  usage('type=local,oops', /is not key=value/);
});

test('build flags: -o/--output, --allow, and the no-op --rm/--force-rm docker build accepts', () => {
  const p = parseBuildArgs(['-o', 'out', '--rm', '--force-rm=false', '--allow', 'security.insecure,network.host', '.'], {});
  assert.deepEqual(p.output, { type: 'local', dest: 'out' });
  assert.deepEqual(p.allow, ['security.insecure', 'network.host']);
  assert.equal(p.context, '.');
  assert.deepEqual(parseBuildArgs(['--output=type=tar,dest=-', '.'], {}).output, { type: 'tar', dest: '-' });
  assert.throws(() => parseBuildArgs(['--allow', 'device', '.'], {}), /invalid entitlement: device/);
  assert.throws(() => parseBuildArgs(['--rm=maybe', '.'], {}), /invalid argument "maybe" for "--rm" flag/);
});
