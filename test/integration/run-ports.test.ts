// run -p with a real container (namespaces + overlayfs, busybox): a host port forwarded to the port the container
// listens on; -P publishes the image's EXPOSEd ports on free host ports and says which.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildUnavailableReason, newKit, type Kit } from '../helpers/build';
import { cli } from '../helpers/store-cli';
import { freePort, pollUntil } from '../helpers/peer-process';

let kit: Kit | undefined;
let skip: string | undefined;
before(async () => {
  skip = await buildUnavailableReason();
  if (!skip) kit = await newKit();
});
after(async () => kit?.cleanup());

/** What a TCP server at `port` sends before closing; undefined while nothing answers there. */
function readFrom(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    c.on('end', () => resolve(got || undefined));
    c.on('error', () => resolve(undefined));
  });
}

test('run -p HOST:CONTAINER: the container\'s server answers on the host port; -P names the port it picked', async (t) => {
  if (skip) return t.skip(skip);
  const [hostPort, containerPort] = [await freePort(), await freePort()];
  // busybox nc serves one connection, then the container ends
  const running = cli(kit!.root, ['run', '--rm', '-p', `127.0.0.1:${hostPort}:${containerPort}`, 'busybox:latest', 'sh', '-c', `echo published | nc -l -p ${containerPort}`]);
  let ended: string | undefined;
  void running.then((r) => (ended = `the container ended first (exit ${r.code}): ${r.stderr}`));
  // the forwarder accepts at once; until nc listens, the connection is closed without data: try again
  const got = await pollUntil('the published port', () => readFrom(hostPort), { timeoutMs: 20_000, abort: () => ended });
  assert.equal(got, 'published\n');
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  // the forwarder is gone with the container
  assert.equal(await readFrom(hostPort), undefined);

  // -P: the EXPOSEd port of an image, forwarded from a port the system picks, which stderr names
  const exposed = await freePort();
  const dir = join(kit!.dir, 'expose-ctx');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), `FROM busybox:latest\nEXPOSE ${exposed}\n`);
  assert.equal((await cli(kit!.root, ['build', '-q', '-t', 'exposing:1', dir])).code, 0);
  const all = cli(kit!.root, ['run', '--rm', '-P', 'exposing:1', 'sh', '-c', `echo all | nc -l -p ${exposed}`]);
  // (the container's port is the host's too: the test reaches it there, and the run ends)
  assert.equal(await pollUntil('the exposed port', () => readFrom(exposed), { timeoutMs: 20_000 }), 'all\n');
  const done = await all;
  assert.equal(done.code, 0, done.stderr);
  const m = new RegExp(`^layerwise: ${exposed}/tcp published on 0\\.0\\.0\\.0:(\\d+)$`, 'm').exec(done.stderr);
  assert.ok(m, done.stderr);
  assert.notEqual(Number(m[1]), exposed);
  // refused as docker refuses them
  const none = await cli(kit!.root, ['run', '--rm', '--network', 'none', '-p', '8080:80', 'busybox:latest', 'true']);
  assert.equal(none.code, 125);
  assert.equal(none.stderr, 'Error: conflicting options: port publishing and the container type network mode\n');
  const bad = await cli(kit!.root, ['run', '--rm', '-p', '70000:80', 'busybox:latest', 'true']);
  assert.equal(bad.code, 125);
  assert.equal(bad.stderr, 'Error: invalid hostPort: 70000\n');
});
