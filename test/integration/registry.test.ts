// push and pull against a real registry (Debian's docker-registry, distribution 2.8, on loopback): the round trip
// keeps the image (same id, same diff ids), a second push sends nothing, pull by tag and by digest, a platform out
// of a multi-platform index, Basic auth (the registry's htpasswd) and Bearer tokens, errors as Docker words them,
// and, with a real Docker 26, each side pulls what the other pushed.
//
// Mocked: Docker Hub's token service cannot run here, so the Bearer test puts a small token service of its own in
// front of the real registry (it issues tokens for the scopes asked for, to a user with the right password, and
// passes authorized requests through).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startRegistry, registryUnavailableReason, type RegistryPeer } from '../helpers/registry';
import { startDocker, dockerUnavailableReason, BASE_IMAGE, type DockerPeer } from '../helpers/docker';
import { busyboxImageTar } from '../helpers/rootfs';
import { cli } from '../helpers/store-cli';
import { openStore } from '../../engine/store/store';
import { loadArchive } from '../../engine/store/load';
import { importRootfs } from '../../engine/store/import';
import { writeImage } from '../../engine/store/commit';
import { MediaType } from '../../engine/image/mediatypes';
import { hostPlatform } from '../../engine/image/chain';
import type { Descriptor, Index } from '../../engine/image/types';
import { credentialsFor, parseChallenges } from '../../engine/registry/auth';
import { isInsecureRegistry } from '../../engine/registry/client';
import { pullImage } from '../../engine/registry/pull';
import { pushImage } from '../../engine/registry/push';
import { LayerwiseError } from '../../engine/errors';
import { buildUnavailableReason } from '../helpers/build';

let reg: RegistryPeer | undefined;
let authReg: RegistryPeer | undefined;
const work = mkdtempSync(join(tmpdir(), 'lw-registry-test-'));
let n = 0;
const newRoot = () => join(work, `store-${n++}`);
// no Docker config of the user's: credentials come from what each test writes
const env = { DOCKER_CONFIG: join(work, 'no-docker-config'), LAYERWISE_INSECURE_REGISTRIES: '' };

before(async () => {
  reg = await startRegistry();
  authReg = await startRegistry({ auth: 'htpasswd' });
});
after(async () => {
  await reg?.stop();
  await authReg?.stop();
  rmSync(work, { recursive: true, force: true });
});

function needRegistry(t: { skip(m: string): void }): RegistryPeer | undefined {
  if (!reg) t.skip(registryUnavailableReason() ?? 'no registry');
  return reg;
}

/** A store holding `name`: the busybox image (one plain layer) plus a layer of random bytes on top (a fresh image). */
async function storeWithImage(name: string, hello = 'hello from layerwise\n', into?: string): Promise<{ root: string; id: string }> {
  const root = into ?? newRoot();
  const store = await openStore(root);
  const bb = await busyboxImageTar();
  assert.ok(bb, 'busybox-static is needed (apt-get install busybox-static)');
  await loadArchive(store, createReadStream(bb.path));
  const base = await store.images.resolve('busybox:latest');
  const dir = join(work, `layer-${n++}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'random.bin'), randomBytes(300_000));
  writeFileSync(join(dir, 'data', 'hello.txt'), hello);
  // (import leaves a dangling one-layer image: its layer goes on top of busybox's)
  const imp = await importRootfs(store, { dir });
  const topManifest = JSON.parse((await store.content.readBlobBytes(imp.manifest.digest)).toString()) as { layers: Descriptor[] };
  const config = { ...base.config, rootfs: { type: 'layers' as const, diff_ids: [...base.config.rootfs.diff_ids, imp.diffId] }, history: [...(base.config.history ?? []), { created: '2026-01-01T00:00:00Z', created_by: 'COPY data /data' }] };
  const w = await writeImage(store.content, { config, layers: [...base.manifest.layers, ...topManifest.layers] });
  await store.images.put(name, w.manifest);
  return { root, id: w.config.digest };
}

test('push, then pull into a fresh store: the same image; a second push sends nothing; RepoDigests', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  const name = `${r.url}/lw/roundtrip:v1`;
  const { root, id } = await storeWithImage(name);
  const push = await cli(root, ['push', name], undefined, env);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`^The push refers to repository \\[${r.url}/lw/roundtrip\\]\n`));
  assert.equal((push.stdout.match(/: Pushed$/gm) ?? []).length, 2, push.stdout);
  const digest = /^v1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(push.stdout)?.[1];
  assert.ok(digest, push.stdout);
  // the registry has it under the tag, with gzip layers (as docker sends them)
  const man = await fetch(`http://${r.url}/v2/lw/roundtrip/manifests/v1`, { headers: { accept: MediaType.ociManifest + ', ' + MediaType.dockerManifest } });
  assert.equal(man.status, 200);
  assert.equal(man.headers.get('docker-content-digest'), digest);
  const doc = (await man.json()) as { layers: Descriptor[]; config: Descriptor };
  assert.equal(doc.config.digest, id);
  assert.deepEqual(doc.layers.map((l) => l.mediaType), [MediaType.ociLayerGzip, MediaType.ociLayerGzip]);

  // again: every blob is there already, and the manifest is the same
  const again = await cli(root, ['push', name], undefined, env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stdout.match(/: Layer already exists$/gm) ?? []).length, 2, again.stdout);
  assert.match(again.stdout, new RegExp(`^v1: digest: ${digest} `, 'm'));
  const ins = JSON.parse((await cli(root, ['inspect', name], undefined, env)).stdout) as { Id: string; RepoDigests: string[] }[];
  assert.equal(ins[0]!.Id, id);
  assert.deepEqual(ins[0]!.RepoDigests, [`${r.url}/lw/roundtrip@${digest}`]);

  // a fresh store pulls it: same id, same diff ids, the layers verified, fsck clean
  const fresh = newRoot();
  const pull = await cli(fresh, ['pull', name], undefined, env);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(
    pull.stdout.replace(/^[0-9a-f]{12}: .*\n/gm, ''),
    `v1: Pulling from lw/roundtrip\nDigest: ${digest}\nStatus: Downloaded newer image for ${r.url}/lw/roundtrip:v1\n${r.url}/lw/roundtrip:v1\n`,
  );
  assert.equal((pull.stdout.match(/: Pull complete$/gm) ?? []).length, 2, pull.stdout);
  const a = await (await openStore(root)).images.resolve(name);
  const b = await (await openStore(fresh)).images.resolve(name);
  assert.equal(b.id, id);
  assert.deepEqual(b.config.rootfs.diff_ids, a.config.rootfs.diff_ids);
  const fsck = await cli(fresh, ['fsck'], undefined, env);
  assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
  // pulling again fetches nothing
  const up = await cli(fresh, ['pull', name], undefined, env);
  assert.equal(up.stdout, `v1: Pulling from lw/roundtrip\nDigest: ${digest}\nStatus: Image is up to date for ${r.url}/lw/roundtrip:v1\n${r.url}/lw/roundtrip:v1\n`);

  // by digest: the name is repo@digest
  const byDigest = newRoot();
  const pd = await cli(byDigest, ['pull', '-q', `${r.url}/lw/roundtrip@${digest}`], undefined, env);
  assert.equal(pd.code, 0, pd.stderr);
  assert.equal(pd.stdout, `${r.url}/lw/roundtrip@${digest}\n`);
  assert.equal((await (await openStore(byDigest)).images.resolve(`${r.url}/lw/roundtrip@${digest}`)).id, id);
});

test('pull: errors as Docker words them, and nothing named', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  const root = newRoot();
  const missing = await cli(root, ['pull', `${r.url}/lw/none:nope`], undefined, env);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `Error: manifest for ${r.url}/lw/none:nope not found: manifest unknown: manifest unknown\n`);
  // nothing listens on port 1
  const refused = await cli(root, ['pull', '127.0.0.1:1/x'], undefined, env);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, 'Error: cannot reach the registry 127.0.0.1:1: connection refused\n');
  const bad = await cli(root, ['pull', 'lw/UPPER'], undefined, env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid reference format/);
  const images = await cli(root, ['images', '-q'], undefined, env);
  assert.equal(images.stdout, '');
  // push of a name the store does not have
  const push = await cli(root, ['push', `${r.url}/lw/none:v1`], undefined, env);
  assert.equal(push.code, 1);
  assert.match(push.stderr, new RegExp(`An image does not exist locally with the tag: ${r.url}/lw/none\n`));
});

test('a multi-platform index: pushed whole; pulled for the host (name on the index) or for another platform', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  const root = newRoot();
  const store = await openStore(root);
  const host = hostPlatform();
  const other = host.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64' };
  const manifests: Descriptor[] = [];
  for (const p of [host, other]) {
    const dir = join(work, `plat-${n++}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'arch'), `${p.architecture}\n`);
    const imp = await importRootfs(store, { dir }, { platform: p });
    manifests.push({ ...imp.manifest, platform: { os: p.os, architecture: p.architecture } });
  }
  const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  const ib = await store.content.writeBlob(JSON.stringify(index));
  const name = `${r.url}/lw/multi:v1`;
  await store.images.put(name, { mediaType: MediaType.ociIndex, digest: ib.digest, size: ib.size });
  const pushed = await pushImage(store, name, { env });
  assert.equal(pushed.digest, ib.digest, 'the index is pushed as it is');

  const fresh = await openStore(newRoot());
  const res = await pullImage(fresh, name, { env });
  assert.equal(res.digest, ib.digest);
  assert.equal(res.target.digest, ib.digest, "the host's platform: the name points at the index");
  const img = await fresh.images.resolve(name);
  assert.equal(img.config.architecture, host.architecture);
  assert.equal(img.manifestDescriptor.digest, manifests[0]!.digest);
  // the other platform's blobs were not fetched
  assert.equal(await fresh.content.info(manifests[1]!.digest), undefined);

  const forOther = await openStore(newRoot());
  const o = await pullImage(forOther, name, { env, platform: other });
  assert.equal(o.target.digest, manifests[1]!.digest, 'another platform: the name points at its manifest');
  assert.equal((await forOther.images.resolve(name)).config.architecture, other.architecture);
  const none = await pullImage(await openStore(newRoot()), name, { env, platform: { os: 'linux', architecture: 's390x' } }).catch((e: unknown) => e);
  assert.ok(none instanceof LayerwiseError, String(none));
  assert.match(none.message, /no matching manifest for linux\/s390x in the manifest list entries .*has: linux\/(amd64|arm64), linux\/(amd64|arm64)/);
});

test('Basic auth (htpasswd): refused without credentials, works with the Docker config\'s', async (t) => {
  if (!authReg) return t.skip(registryUnavailableReason() ?? 'no registry');
  const creds = authReg.credentials!;
  const name = `${authReg.url}/lw/private:v1`;
  const { root, id } = await storeWithImage(name);
  const denied = await cli(root, ['push', name], undefined, env);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /denied \(401\)/);
  const cfgDir = join(work, `docker-config-${n++}`);
  mkdirSync(cfgDir);
  writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ auths: { [authReg.url]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } } }));
  const withCreds = { ...env, DOCKER_CONFIG: cfgDir };
  const ok = await cli(root, ['push', name], undefined, withCreds);
  assert.equal(ok.code, 0, ok.stderr);
  const fresh = newRoot();
  const pull = await cli(fresh, ['pull', '-q', name], undefined, withCreds);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal((await (await openStore(fresh)).images.resolve(name)).id, id);
  // a wrong password
  writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ auths: { [`https://${authReg.url}`]: { username: creds.username, password: 'wrong' } } }));
  const wrong = await cli(newRoot(), ['pull', name], undefined, withCreds);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /denied \(401\)/);
});

/** A token service in front of the registry: tokens for the scopes asked, to alice/wonderland only. */
async function tokenProxy(upstream: string): Promise<{ url: string; server: Server; issued: string[] }> {
  const tokens = new Map<string, string[]>();
  const issued: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const host = req.headers.host!;
    if (url.pathname === '/token') {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('alice:wonderland').toString('base64')) {
        res.writeHead(401).end('{"details":"incorrect username or password"}');
        return;
      }
      const t = randomBytes(16).toString('hex');
      tokens.set(t, url.searchParams.getAll('scope'));
      issued.push(url.searchParams.getAll('scope').join(' '));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: t }));
      return;
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname);
    const repo = m?.[1] ?? '';
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const scopes = auth ? tokens.get(auth) : undefined;
    const allowed = scopes?.some((s) => s.startsWith(`repository:${repo}:`) && s.split(':')[2]!.split(',').includes(action));
    if (!allowed) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:${repo}:${action === 'push' ? 'pull,push' : 'pull'}"`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = httpRequest(`http://${upstream}${req.url}`, { method: req.method, headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 500, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return { url: `127.0.0.1:${addr.port}`, server, issued };
}

test('Bearer tokens: the challenge, a token per scope from the realm with the config\'s credentials', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  const proxy = await tokenProxy(r.url);
  try {
    const name = `${proxy.url}/lw/tokens:v1`;
    const { root, id } = await storeWithImage(name);
    const anon = await cli(root, ['push', name], undefined, env);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /authentication to 127\.0\.0\.1:\d+ failed \(401\): incorrect username or password/);
    const cfgDir = join(work, `docker-config-${n++}`);
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ auths: { [proxy.url]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
    const ok = await cli(root, ['push', name], undefined, { ...env, DOCKER_CONFIG: cfgDir });
    assert.equal(ok.code, 0, ok.stderr);
    const fresh = newRoot();
    const pull = await cli(fresh, ['pull', name], undefined, { ...env, DOCKER_CONFIG: cfgDir });
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal((await (await openStore(fresh)).images.resolve(name)).id, id);
    assert.ok(proxy.issued.includes('repository:lw/tokens:pull,push'), proxy.issued.join('; '));
    assert.ok(proxy.issued.includes('repository:lw/tokens:pull'), proxy.issued.join('; '));
  } finally {
    proxy.server.close();
  }
});

test('credentials: auths by host or URL, a credential helper, none; challenges parsed; which hosts are insecure', async () => {
  const dir = join(work, `cfg-${n++}`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const e = { DOCKER_CONFIG: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
  assert.equal(await credentialsFor('registry.example', e), undefined);
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
        'https://registry.example/v2/': { username: 'u', password: 'p' },
        'tok.example': { identitytoken: 'refresh' },
      },
      credHelpers: { 'helped.example': 'fake' },
    }),
  );
  assert.deepEqual(await credentialsFor('docker.io', e), { username: 'hub', password: 'pw:with:colons' });
  assert.deepEqual(await credentialsFor('registry.example', e), { username: 'u', password: 'p' });
  assert.deepEqual(await credentialsFor('tok.example', e), { identityToken: 'refresh' });
  // a credential helper: a program that reads the server on stdin and prints JSON
  writeFileSync(join(dir, 'bin', 'docker-credential-fake'), '#!/bin/sh\nread s\n[ "$1" = get ] && printf \'{"ServerURL":"%s","Username":"h-%s","Secret":"sec"}\' "$s" "$s"\n');
  chmodSync(join(dir, 'bin', 'docker-credential-fake'), 0o755);
  assert.deepEqual(await credentialsFor('helped.example', e), { username: 'h-helped.example', password: 'sec' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'helped.example': 'absent' } }));
  await assert.rejects(credentialsFor('helped.example', e), /docker-credential-absent is not installed/);
  writeFileSync(join(dir, 'config.json'), '{not json');
  await assert.rejects(credentialsFor('x.example', e), /not valid JSON/);

  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseChallenges(['Basic realm="a \\"quoted\\" realm"', 'Negotiate']), [{ scheme: 'basic', params: { realm: 'a "quoted" realm' } }]);
  assert.deepEqual(parseChallenges('Basic realm=plain, Bearer realm="r",scope=x'), [
    { scheme: 'basic', params: { realm: 'plain' } },
    { scheme: 'bearer', params: { realm: 'r', scope: 'x' } },
  ]);
  assert.equal(isInsecureRegistry('127.0.0.1:5000', {}), true);
  assert.equal(isInsecureRegistry('localhost:5000', {}), true);
  assert.equal(isInsecureRegistry('[::1]:5000', {}), true);
  assert.equal(isInsecureRegistry('registry.example', {}), false);
  assert.equal(isInsecureRegistry('registry.example:5000', { LAYERWISE_INSECURE_REGISTRIES: 'other, registry.example:5000' }), true);
});

let docker: DockerPeer | undefined;
test('with Docker 26: docker pulls and runs what we pushed; we pull what docker pushed, same image id', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  docker = await startDocker().catch(() => undefined);
  if (!docker) return t.skip(dockerUnavailableReason() ?? 'docker peer unavailable');
  const d = docker;
  const ours = `${r.url}/lw/from-us:v1`;
  const { root, id } = await storeWithImage(ours);
  assert.equal((await cli(root, ['push', ours], undefined, env)).code, 0);
  try {
    const pull = await d.run(['pull', ours]);
    assert.equal(pull.code, 0, pull.stderr);
    const did = await d.run(['image', 'inspect', '--format', '{{.Id}}', ours]);
    assert.equal(did.stdout.trim(), id);
    const runOut = await d.run(['run', '--rm', ours, 'cat', '/data/hello.txt']);
    assert.equal(runOut.stdout, 'hello from layerwise\n', runOut.stderr);

    const theirs = `${r.url}/lw/from-docker:v1`;
    assert.equal((await d.run(['tag', BASE_IMAGE, theirs])).code, 0);
    const dpush = await d.run(['push', theirs]);
    assert.equal(dpush.code, 0, dpush.stderr);
    const ddigest = /digest: (sha256:[0-9a-f]{64})/.exec(dpush.stdout)?.[1];
    const fresh = newRoot();
    const pull2 = await cli(fresh, ['pull', theirs], undefined, env);
    assert.equal(pull2.code, 0, pull2.stderr);
    assert.match(pull2.stdout, new RegExp(`^Digest: ${ddigest}$`, 'm'));
    const dockerId = (await d.run(['image', 'inspect', '--format', '{{.Id}}', theirs])).stdout.trim();
    const img = await (await openStore(fresh)).images.resolve(theirs);
    assert.equal(img.id, dockerId);
    const ins = JSON.parse((await cli(fresh, ['inspect', theirs], undefined, env)).stdout) as { RepoDigests: string[] }[];
    const drd = JSON.parse((await d.run(['image', 'inspect', '--format', '{{json .RepoDigests}}', theirs])).stdout) as string[];
    assert.deepEqual(ins[0]!.RepoDigests, drd);
  } finally {
    await d.run(['rmi', '-f', ours, `${r.url}/lw/from-docker:v1`]);
  }
});

test('build pulls a base image the store lacks (--pull: every time); run pulls a missing image (--pull never: not)', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  const why = await buildUnavailableReason();
  if (why) return t.skip(why);
  const base = `${r.url}/lw/base:v1`;
  const src = await storeWithImage(base, 'first\n');
  assert.equal((await cli(src.root, ['push', '-q', base], undefined, env)).code, 0);

  const ctx = join(work, `ctx-${n++}`);
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${base}\nRUN cat /data/hello.txt > /copied\n`);
  const root = newRoot();
  const b1 = await cli(root, ['build', '--progress=plain', '-t', 'app', ctx], undefined, env);
  assert.equal(b1.code, 0, b1.stderr);
  assert.match(b1.stderr, new RegExp(`#0 [\\d.]+ pulling ${base.replace(/[.]/g, '\\.')}\n`));
  assert.match(b1.stderr, /: Pull complete\n/);
  const out1 = await cli(root, ['run', '--rm', 'app', 'cat', '/copied'], undefined, env);
  assert.equal(out1.stdout, 'first\n', out1.stderr);
  const id1 = JSON.parse((await cli(root, ['inspect', 'app'], undefined, env)).stdout)[0].Id as string;

  // the tag moves on in the registry: a build uses the base it has, a build with --pull the new one
  await storeWithImage(base, 'second\n', src.root);
  assert.equal((await cli(src.root, ['push', '-q', base], undefined, env)).code, 0);
  const b2 = await cli(root, ['build', '-q', '-t', 'app', ctx], undefined, env);
  assert.equal(b2.code, 0, b2.stderr);
  assert.equal(b2.stdout.trim(), id1);
  const b3 = await cli(root, ['build', '-q', '--pull', '-t', 'app', ctx], undefined, env);
  assert.equal(b3.code, 0, b3.stderr);
  assert.notEqual(b3.stdout.trim(), id1);
  assert.equal((await cli(root, ['run', '--rm', 'app', 'cat', '/copied'], undefined, env)).stdout, 'second\n');

  // run: a missing image is pulled first (Docker's words on stderr), unless --pull never
  const fresh = newRoot();
  const run = await cli(fresh, ['run', '--rm', base, 'cat', '/data/hello.txt'], undefined, env);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'second\n');
  assert.match(run.stderr, new RegExp(`^Unable to find image '${base.replace(/[.]/g, '\\.')}' locally\nv1: Pulling from lw/base\n`));
  const never = await cli(newRoot(), ['run', '--rm', '--pull', 'never', base, 'true'], undefined, env);
  assert.equal(never.code, 125);
  assert.match(never.stderr, /No such image/);
  // a build whose base is nowhere: the store's and the registry's answers, at the FROM line
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${r.url}/lw/absent:v1\n`);
  const b4 = await cli(newRoot(), ['build', '-q', ctx], undefined, env);
  assert.equal(b4.code, 1);
  assert.match(b4.stderr, new RegExp(`failed to resolve source metadata for ${r.url.replace(/[.]/g, '\\.')}/lw/absent:v1: no such image in the local store, and pulling it failed: manifest for ${r.url.replace(/[.]/g, '\\.')}/lw/absent:v1 not found: manifest unknown`));
});

/** A proxy in front of the registry that spoils blob downloads: `cut` closes the first answer for each blob halfway;
 *  `corrupt` flips a byte of every blob of more than 1 kB. */
async function faultyProxy(upstream: string, mode: 'cut' | 'corrupt'): Promise<{ url: string; server: Server; spoiled: string[] }> {
  const spoiled: string[] = [];
  const server = createServer((req, res) => {
    const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    const up = httpRequest(`http://${upstream}${req.url}`, { method: req.method, headers: req.headers }, (ures) => {
      const chunks: Buffer[] = [];
      ures.on('data', (c: Buffer) => chunks.push(c));
      ures.on('end', () => {
        const body = Buffer.concat(chunks);
        const first = !spoiled.includes(req.url!);
        if (blob && body.length > 1024 && (mode === 'corrupt' || first)) {
          spoiled.push(req.url!);
          res.writeHead(ures.statusCode ?? 500, ures.headers);
          if (mode === 'cut') {
            res.write(body.subarray(0, body.length >> 1));
            res.socket?.destroy();
            return;
          }
          body[body.length >> 1] ^= 0xff;
          res.end(body);
          return;
        }
        res.writeHead(ures.statusCode ?? 500, ures.headers);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `127.0.0.1:${(server.address() as { port: number }).port}`, server, spoiled };
}

test('a flaky registry: a cut download is tried again; bytes that do not match fail clearly and leave nothing', async (t) => {
  const r = needRegistry(t);
  if (!r) return;
  const name = `${r.url}/lw/flaky:v1`;
  const { root, id } = await storeWithImage(name);
  assert.equal((await cli(root, ['push', '-q', name], undefined, env)).code, 0);
  const cut = await faultyProxy(r.url, 'cut');
  try {
    const fresh = newRoot();
    const pull = await cli(fresh, ['pull', '-q', `${cut.url}/lw/flaky:v1`], undefined, env);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok(cut.spoiled.length >= 2, `the proxy cut ${cut.spoiled.length} downloads`);
    assert.equal((await (await openStore(fresh)).images.resolve(`${cut.url}/lw/flaky:v1`)).id, id);
    assert.equal((await cli(fresh, ['fsck'], undefined, env)).code, 0);
  } finally {
    cut.server.close();
  }
  const bad = await faultyProxy(r.url, 'corrupt');
  try {
    const fresh = newRoot();
    const pull = await cli(fresh, ['pull', `${bad.url}/lw/flaky:v1`], undefined, env);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, /^Error: layer sha256:[0-9a-f]{64} of 127\.0\.0\.1:\d+\/lw\/flaky:v1: .*(digest|match).* \(after 3 attempts\)\n$/);
    const store = await openStore(fresh);
    assert.deepEqual(await store.images.list(), []);
    const fsck = await cli(fresh, ['fsck'], undefined, env);
    assert.equal(fsck.code, 0, fsck.stdout);
    // nothing of the spoiled layer was kept
    const blobs: string[] = [];
    for await (const b of store.content.walk()) blobs.push(b.digest);
    const man = JSON.parse((await cli(root, ['inspect', name], undefined, env)).stdout)[0] as { RootFS: { Layers: string[] } };
    assert.ok(man.RootFS.Layers.length === 2);
    for (const url of bad.spoiled) assert.ok(!blobs.includes(/sha256:[0-9a-f]{64}/.exec(url)![0]), `${url} kept`);
  } finally {
    bad.server.close();
  }
});

test('login checks the credentials and keeps them where docker does (config file or helper); logout forgets them', async (t) => {
  if (!authReg) return t.skip(registryUnavailableReason() ?? 'no registry');
  const creds = authReg.credentials!;
  const cfgDir = join(work, `login-${n++}`);
  const e = { ...env, DOCKER_CONFIG: cfgDir };
  const root = newRoot();
  const wrong = await cli(root, ['login', '-u', creds.username, '-p', 'wrong', authReg.url], undefined, e);
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, `WARNING! Using --password via the CLI is insecure. Use --password-stdin.\nError: login to ${authReg.url} failed: unauthorized: authentication required\n`);
  const noTty = await cli(root, ['login', authReg.url], undefined, e);
  assert.equal(noTty.code, 1);
  assert.match(noTty.stderr, /Cannot perform an interactive login from a non TTY device/);
  const ok = await cli(root, ['login', '-u', creds.username, '--password-stdin', `http://${authReg.url}/`], `${creds.password}\n`, e);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'Login Succeeded\n');
  assert.match(ok.stderr, /^WARNING! Your password will be stored unencrypted in .*config\.json\./);
  const cfg = JSON.parse(readFileSync(join(cfgDir, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(cfg.auths[authReg.url]!.auth, 'base64').toString(), `${creds.username}:${creds.password}`);
  assert.equal(statSync(join(cfgDir, 'config.json')).mode & 0o777, 0o600);
  // the kept credentials are used: a push works
  const name = `${authReg.url}/lw/after-login:v1`;
  await storeWithImage(name, 'x\n', root);
  assert.equal((await cli(root, ['push', '-q', name], undefined, e)).code, 0);
  const out = await cli(root, ['logout', authReg.url], undefined, e);
  assert.equal(out.stdout, `Removing login credentials for ${authReg.url}\n`);
  assert.equal((await cli(root, ['logout', authReg.url], undefined, e)).stdout, `Not logged in to ${authReg.url}\n`);
  assert.equal((await cli(root, ['push', '-q', name], undefined, e)).code, 1);

  // with a credential helper configured, login stores there (the config keeps an empty entry), logout erases
  mkdirSync(join(cfgDir, 'bin'));
  const kept = join(cfgDir, 'helper-store.json');
  writeFileSync(join(cfgDir, 'bin', 'docker-credential-filetest'), `#!/bin/sh\ncase "$1" in\n store) cat > ${kept} ;;\n get) read s; [ -f ${kept} ] && cat ${kept} || { echo "credentials not found in native keychain"; exit 1; } ;;\n erase) rm -f ${kept} ;;\nesac\n`);
  chmodSync(join(cfgDir, 'bin', 'docker-credential-filetest'), 0o755);
  writeFileSync(join(cfgDir, 'config.json'), JSON.stringify({ credsStore: 'filetest', other: 'kept' }));
  const eh = { ...e, PATH: `${join(cfgDir, 'bin')}:${process.env.PATH}` };
  const viaHelper = await cli(root, ['login', '-u', creds.username, '--password-stdin', authReg.url], creds.password, eh);
  assert.equal(viaHelper.code, 0, viaHelper.stderr);
  assert.equal(viaHelper.stderr, '', 'no plain-text warning with a helper');
  assert.deepEqual(JSON.parse(readFileSync(kept, 'utf8')), { ServerURL: authReg.url, Username: creds.username, Secret: creds.password });
  assert.deepEqual(JSON.parse(readFileSync(join(cfgDir, 'config.json'), 'utf8')), { credsStore: 'filetest', other: 'kept', auths: { [authReg.url]: {} } });
  assert.equal((await cli(root, ['push', '-q', name], undefined, eh)).code, 0);
  assert.equal((await cli(root, ['logout', authReg.url], undefined, eh)).code, 0);
  assert.equal(existsSync(kept), false);
});
