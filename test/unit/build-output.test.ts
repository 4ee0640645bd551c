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

test('--metadata-file: buildx\'s keys in Go\'s order, the names normalized', () => {
  const { buildMetadata } = require('../../engine/cli/commands/build') as typeof import('../../engine/cli/commands/build');
  const m = JSON.parse(
    buildMetadata({ imageId: 'sha256:' + 'c'.repeat(64), manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + 'm'.repeat(64), size: 123 }, tags: ['m:1', 'ghcr.io/o/x:2'] }),
  ) as Record<string, unknown>;
  assert.deepEqual(Object.keys(m), ['buildx.build.ref', 'containerimage.config.digest', 'containerimage.descriptor', 'containerimage.digest', 'image.name']);
  assert.equal(m['containerimage.config.digest'], 'sha256:' + 'c'.repeat(64));
  assert.equal(m['containerimage.digest'], 'sha256:' + 'm'.repeat(64));
  assert.equal(m['image.name'], 'docker.io/library/m:1,ghcr.io/o/x:2');
  assert.match(String(m['buildx.build.ref']), /^layerwise\/default\/[0-9a-f]{25}$/);
  assert.deepEqual(parseBuildArgs(['--metadata-file', 'out.json', '.'], {}).metadataFile, 'out.json');
});
