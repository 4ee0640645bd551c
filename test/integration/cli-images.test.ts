/**
 * The image commands through `main()` in-process, on a temp store root, with captured streams. Base images
 * come from test/helpers/rootfs.ts (Debian's busybox-static).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as tar from 'tar-stream';
import { cli } from '../helpers/store-cli';
import { busyboxAvailable, busyboxImageTar, busyboxRootfsTar, busyboxUnavailableReason, makeBusyboxRootfs } from '../helpers/rootfs';

const skip = busyboxAvailable() ? false : busyboxUnavailableReason();

async function tarEntries(buf: Buffer): Promise<Map<string, Buffer>> {
  const ex = tar.extract();
  const files = new Map<string, Buffer>();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  ex.end(buf);
  await done;
  return files;
}

describe('image commands (in-process)', { skip }, () => {
  let dir: string;
  let root: string;
  let bb: NonNullable<Awaited<ReturnType<typeof busyboxImageTar>>>;
  let rootfsTar: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lw-cli-'));
    root = join(dir, 'store');
    bb = (await busyboxImageTar())!;
    rootfsTar = (await busyboxRootfsTar())!;
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('load -i reads a legacy docker save archive and keeps the image id', async () => {
    const r = await cli(root, ['load', '-i', bb.path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Loaded image: busybox:latest\n');
    const ins = await cli(root, ['inspect', '--format', '{{.Id}}', 'busybox']);
    assert.equal(ins.stdout.trim(), bb.id);
  });

  it('load from stdin, and -q/-a images listing', async () => {
    const r = await cli(root, ['load'], await fsp.readFile(bb.path));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Loaded image: busybox:latest/);
    const q = await cli(root, ['images', '-q']);
    assert.equal(q.stdout, bb.id.slice(7, 19) + '\n');
  });

  it('images prints docker\'s table', async () => {
    const r = await cli(root, ['images']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^REPOSITORY\s{3,}TAG\s{3,}IMAGE ID\s{3,}CREATED\s{3,}SIZE$/);
    assert.match(lines[1]!, new RegExp(`^busybox\\s+latest\\s+${bb.id.slice(7, 19)}\\s+\\d+ (years|months) ago\\s+\\d(\\.\\d+)?MB$`));
    // columns line up: every column starts where its header does
    const col = lines[0]!.indexOf('IMAGE ID');
    assert.equal(lines[1]!.indexOf(bb.id.slice(7, 19)), col);
    const d = await cli(root, ['images', '--digests']);
    assert.match(d.stdout.split('\n')[0]!, /REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    assert.match(d.stdout.split('\n')[1]!, /busybox\s+latest\s+sha256:[a-f0-9]{64}\s+/);
    const two = await cli(root, ['image', 'ls', 'busybox:nosuchtag']);
    assert.equal(two.stdout.trimEnd().split('\n').length, 1, 'a filter that matches nothing leaves the header only');
  });

  it('images --format json and Go templates', async () => {
    const j = await cli(root, ['images', '--format', 'json']);
    const row = JSON.parse(j.stdout.trim().split('\n')[0]!) as Record<string, string>;
    assert.equal(row.Repository, 'busybox');
    assert.equal(row.Tag, 'latest');
    assert.equal(row.ID, bb.id.slice(7, 19));
    assert.match(row.Size!, /MB$/);
    assert.match(row.CreatedAt!, /^2024-01-01 00:00:00 \+0000 UTC$/);
    const t = await cli(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.equal(t.stdout, 'busybox:latest\n');
    const tt = await cli(root, ['images', '--format', 'table {{.Repository}}\\t{{.ID}}']);
    assert.equal(tt.stdout, `REPOSITORY   IMAGE ID\nbusybox      ${bb.id.slice(7, 19)}\n`);
  });

  it('import a rootfs tar with -c changes, like docker import', async () => {
    const r = await cli(root, ['import', '-c', 'CMD ["sh"]', '-c', 'ENV FOO=bar', '-c', 'ENV BAZ=$FOO-x', '-c', 'WORKDIR /srv', '-c', 'EXPOSE 8080', '-c', 'LABEL a=b', '-m', 'hello', rootfsTar, 'mine:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[a-f0-9]{64}\n$/);
    const id = r.stdout.trim();
    const ins = await cli(root, ['inspect', 'mine:1']);
    assert.equal(ins.code, 0);
    const [obj] = JSON.parse(ins.stdout) as Record<string, any>[];
    assert.equal(obj!.Id, id);
    assert.deepEqual(obj!.RepoTags, ['mine:1']);
    assert.deepEqual(obj!.Config.Cmd, ['sh']);
    assert.deepEqual(obj!.Config.Env, ['FOO=bar', 'BAZ=bar-x']);
    assert.equal(obj!.Config.WorkingDir, '/srv');
    assert.deepEqual(obj!.Config.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(obj!.Config.Labels, { a: 'b' });
    assert.equal(obj!.Config.Entrypoint, null);
    assert.equal(obj!.RootFS.Type, 'layers');
    // the diff id is the sha256 of the plain tar we imported
    const plain = await fsp.readFile(rootfsTar);
    const diffId = 'sha256:' + createHash('sha256').update(plain).digest('hex');
    assert.deepEqual(obj!.RootFS.Layers, [diffId]);
    // the blob holds exactly those bytes (the reader reuses its buffers once they are written: none too early)
    assert.ok((await fsp.readFile(join(root, 'blobs', 'sha256', diffId.slice(7)))).equals(plain));
    assert.equal(obj!.Os, 'linux');
    assert.ok(obj!.Size > 0);
    const h = await cli(root, ['history', 'mine:1']);
    assert.match(h.stdout, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
    assert.match(h.stdout, new RegExp(`${id.slice(7, 19)}\\s+(Less than a second|\\d+ seconds) ago\\s+\\S+\\s+hello\\n`));
  });

  it('import a directory and a gzip tar from stdin', async () => {
    const fsDir = join(dir, 'rootfs');
    await makeBusyboxRootfs(fsDir);
    const a = await cli(root, ['import', fsDir, 'fromdir']);
    assert.equal(a.code, 0, a.stderr);
    const { gzipSync } = await import('node:zlib');
    const b = await cli(root, ['import', '-', 'fromstdin:gz'], gzipSync(await fsp.readFile(rootfsTar)));
    assert.equal(b.code, 0, b.stderr);
    const layers = await cli(root, ['inspect', '--format', '{{index .RootFS.Layers 0}}', 'fromstdin:gz', 'mine:1']);
    const [x, y] = layers.stdout.trim().split('\n');
    assert.equal(x, y, 'gzip input gives the same diff id as the plain tar');
  });

  it('import rejects what is not a tar, and bad changes, leaving no image', async () => {
    const junk = join(dir, 'junk.bin');
    await fsp.writeFile(junk, Buffer.alloc(4096, 0x41));
    const before = (await cli(root, ['images', '-q'])).stdout;
    const r = await cli(root, ['import', junk, 'junk']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: the input is not a tar archive\n');
    const c = await cli(root, ['import', '-c', 'RUN echo', rootfsTar, 'junk']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /^Error: RUN is not a valid change command\n$/);
    assert.equal((await cli(root, ['images', '-q'])).stdout, before);
  });

  it('inspect: docker\'s shape, templates, and errors', async () => {
    const r = await cli(root, ['image', 'inspect', 'busybox']);
    const [o] = JSON.parse(r.stdout) as Record<string, any>[];
    for (const k of ['Id', 'RepoTags', 'RepoDigests', 'Created', 'Architecture', 'Os', 'Size', 'Config', 'RootFS']) assert.ok(k in o!, k);
    for (const k of ['Cmd', 'Env', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'Volumes']) assert.ok(k in o!.Config, `Config.${k}`);
    assert.deepEqual(o!.RootFS, { Type: 'layers', Layers: [bb.diffId] });
    assert.equal(o!.Created, '2024-01-01T00:00:00Z'); // Go's RFC3339Nano, as docker inspect prints it
    assert.match(o!.RepoDigests[0], /^busybox@sha256:[a-f0-9]{64}$/);
    const t = await cli(root, ['inspect', '--format', '{{.Config.Cmd}} {{json .Config.Cmd}} {{.Os}}/{{.Architecture}} {{len .RootFS.Layers}}', 'busybox']);
    assert.equal(t.stdout, `[sh] ["sh"] linux/${o!.Architecture} 1\n`);
    const tr = await cli(root, ['inspect', '--format', '{{range .RepoTags}}<{{.}}>{{end}}', 'busybox']);
    assert.equal(tr.stdout, '<busybox:latest>\n');
    const missing = await cli(root, ['image', 'inspect', 'busybox', 'nothere']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: No such image: nothere\n');
    assert.equal((JSON.parse(missing.stdout) as unknown[]).length, 1);
    // as docker: `inspect` looks for any object, `image inspect` and `--type=image` for images
    assert.equal((await cli(root, ['inspect', 'nothere'])).stderr, 'Error: No such object: nothere\n');
    assert.equal((await cli(root, ['inspect', '--type=image', 'nothere'])).stderr, 'Error: No such image: nothere\n');
    const upper = await cli(root, ['inspect', 'BusyBox']);
    assert.equal(upper.code, 1);
    assert.equal(upper.stderr, 'Error: invalid reference format: repository name (library/BusyBox) must be lowercase\n');
    const short = await cli(root, ['inspect', '-f', '{{.Id}}', bb.id.slice(7, 19)]);
    assert.equal(short.stdout.trim(), bb.id);
    const usage = await cli(root, ['inspect']);
    assert.equal(usage.code, 125);
  });

  it('history: rows newest first, --no-trunc, -q', async () => {
    const h = await cli(root, ['history', 'busybox']);
    const lines = h.stdout.replace(/\n$/, '').split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, new RegExp(`^${bb.id.slice(7, 19)}\\s+\\d+ years ago\\s+/bin/sh -c #\\(nop\\)\\s+CMD \\["sh"\\]\\s+0B {3,}$`));
    // an empty COMMENT: the line ends in the SIZE column's padding, as Go's tabwriter leaves it in docker's output
    assert.match(lines[2]!, /^<missing>\s+\d+ years ago\s+\/bin\/sh -c #\(nop\) ADD file:busybox in \/\s+\d(\.\d+)?MB {3,}$/);
    // -H=false: docker's other table (CREATED AT, RFC 3339 times, sizes in bytes)
    const raw = (await cli(root, ['history', '-H=false', 'busybox'])).stdout.split('\n');
    assert.match(raw[0]!, /^IMAGE\s+CREATED AT\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.match(raw[2]!, /^<missing>\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\s+\/bin\/sh -c #\(nop\) ADD file:busybox in \/\s+\d+ {3,}$/);
    const nt = await cli(root, ['history', '--no-trunc', 'busybox']);
    assert.match(nt.stdout, new RegExp(bb.id));
    const q = await cli(root, ['history', '-q', 'busybox']);
    assert.equal(q.stdout, `${bb.id.slice(7, 19)}\n<missing>\n`);
    const nf = await cli(root, ['history', 'nothere']);
    assert.equal(nf.code, 1);
    assert.equal(nf.stderr, 'Error: No such image: nothere\n');
  });

  it('tag: new names for an image; bad names fail like docker', async () => {
    assert.equal((await cli(root, ['tag', 'busybox', 'localhost:5000/team/bb:v1'])).code, 0);
    assert.equal((await cli(root, ['image', 'tag', bb.id.slice(7, 19), 'bb2'])).code, 0);
    const names = (await cli(root, ['inspect', '-f', '{{json .RepoTags}}', 'busybox'])).stdout.trim();
    assert.deepEqual((JSON.parse(names) as string[]).sort(), ['bb2:latest', 'busybox:latest', 'localhost:5000/team/bb:v1']);
    const bad = await cli(root, ['tag', 'busybox', 'Bad']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: Error parsing reference: "Bad" is not a valid repository\/tag: invalid reference format: repository name \(library\/Bad\) must be lowercase\n$/);
    const nf = await cli(root, ['tag', 'nothere', 'x']);
    assert.equal(nf.stderr, 'Error: No such image: nothere\n');
    assert.equal((await cli(root, ['tag', 'busybox'])).code, 125);
  });

  it('rmi: untag while other names remain, refuse ambiguous ids, delete the last name', async () => {
    const byId = await cli(root, ['rmi', bb.id.slice(7, 19)]);
    assert.equal(byId.code, 1);
    assert.match(byId.stderr, /conflict: unable to delete [a-f0-9]{12} \(must be forced\) - image is referenced in multiple repositories/);
    const u = await cli(root, ['image', 'rm', 'bb2']);
    assert.equal(u.code, 0);
    assert.equal(u.stdout, 'Untagged: bb2:latest\n');
    const u2 = await cli(root, ['rmi', 'localhost:5000/team/bb:v1']);
    assert.equal(u2.stdout, 'Untagged: localhost:5000/team/bb:v1\n');
    // import-only image: the last name removes it and GC frees its blobs
    const id = (await cli(root, ['inspect', '-f', '{{.Id}}', 'fromdir'])).stdout.trim();
    const d = await cli(root, ['rmi', 'fromdir']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, `Untagged: fromdir:latest\nDeleted: ${id}\n`);
    assert.equal(existsSync(join(root, 'blobs', 'sha256', id.slice(7))), false, 'config blob collected');
    const nf = await cli(root, ['rmi', 'nothere']);
    assert.equal(nf.code, 1);
    assert.equal(nf.stderr, 'Error: No such image: nothere\n');
  });

  it('rmi refuses an image a container uses (and -f only untags it)', async () => {
    const id = (await cli(root, ['inspect', '-f', '{{.Id}}', 'mine:1'])).stdout.trim();
    const cdir = join(root, 'containers', 'c0ffee0123456789');
    await fsp.mkdir(cdir, { recursive: true });
    await fsp.writeFile(join(cdir, 'config.json'), JSON.stringify({ Image: id }));
    const r = await cli(root, ['rmi', 'mine:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /conflict: unable to remove repository reference "mine:1" \(must force\) - container c0ffee012345 is using its referenced image/);
    const byId = await cli(root, ['rmi', '-f', id]);
    assert.equal(byId.code, 1);
    assert.match(byId.stderr, /image is being used by container c0ffee012345/);
    const f = await cli(root, ['rmi', '-f', 'mine:1']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, 'Untagged: mine:1\n');
    // still there, dangling, with its blobs
    const still = await cli(root, ['inspect', '-f', '{{.Id}} {{json .RepoTags}}', id]);
    assert.equal(still.stdout.trim(), `${id} []`);
    const prune = await cli(root, ['image', 'prune', '-f']);
    assert.equal(prune.code, 0);
    assert.equal((await cli(root, ['inspect', '-f', '{{.Id}}', id])).code, 0, 'prune keeps an image a container uses');
    await fsp.rm(cdir, { recursive: true });
  });

  it('image prune removes dangling images; -a removes unused ones; prompts without -f', async () => {
    const id = (await cli(root, ['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).stdout.trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    const no = await cli(root, ['image', 'prune'], 'n\n');
    assert.match(no.stdout, /WARNING! This will remove all dangling images\.\nAre you sure you want to continue\? \[y\/N\] $/);
    assert.equal((await cli(root, ['inspect', '-f', '{{.Id}}', id])).code, 0, 'answering n removes nothing');
    const yes = await cli(root, ['image', 'prune'], 'y\n');
    assert.match(yes.stdout, new RegExp(`Deleted Images:\ndeleted: ${id}\n\nTotal reclaimed space: \\d+(\\.\\d+)?[kM]?B\n$`));
    assert.equal((await cli(root, ['inspect', id])).code, 1);
    const none = await cli(root, ['image', 'prune', '-f']);
    assert.equal(none.stdout, 'Total reclaimed space: 0B\n');
    // busybox is named: only -a removes it
    const all = await cli(root, ['image', 'prune', '-a', '-f']);
    assert.match(all.stdout, /untagged: busybox:latest\n/);
    assert.match(all.stdout, /deleted: sha256:/);
    assert.equal((await cli(root, ['images', '-q'])).stdout.includes(bb.id.slice(7, 19)), false);
  });

  it('system df reports images, containers and build cache', async () => {
    await cli(root, ['load', '-i', bb.path]);
    const r = await cli(root, ['system', 'df']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    assert.match(lines[1]!, /^Images\s+\d+\s+0\s+\d(\.\d+)?MB\s+\d(\.\d+)?MB \(100%\)$/);
    assert.match(lines[2]!, /^Containers\s+0\s+0\s+0B\s+0B$/);
    assert.match(lines[4]!, /^Build Cache\s+0\s+0\s+0B\s+0B$/);
  });

  it('save: a docker-loadable archive (manifest.json + OCI layout) to a file or stdout; --format oci', async () => {
    const out = join(dir, 'bb.tar');
    const r = await cli(root, ['save', '-o', out, 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    const files = await tarEntries(await fsp.readFile(out));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    assert.deepEqual(manifest[0]!.RepoTags, ['busybox:latest']);
    assert.equal(manifest[0]!.Config, `blobs/sha256/${bb.id.slice(7)}`);
    for (const p of [manifest[0]!.Config, ...manifest[0]!.Layers]) {
      const b = files.get(p);
      assert.ok(b, p);
      assert.equal('sha256:' + createHash('sha256').update(b).digest('hex'), 'sha256:' + p.split('/').pop());
    }
    const idx = JSON.parse(files.get('index.json')!.toString()) as { manifests: { annotations: Record<string, string> }[] };
    assert.equal(idx.manifests[0]!.annotations['io.containerd.image.name'], 'docker.io/library/busybox:latest');
    assert.equal(idx.manifests[0]!.annotations['org.opencontainers.image.ref.name'], 'latest');
    assert.ok(files.has('oci-layout') && files.has('repositories'));
    const s = await cli(root, ['save', 'busybox']);
    assert.deepEqual(s.out, await fsp.readFile(out), 'stdout gets the same bytes (deterministic)');
    const oci = await cli(root, ['save', '--format', 'oci', 'busybox']);
    const ofiles = await tarEntries(oci.out);
    assert.equal(ofiles.has('manifest.json'), false);
    assert.ok(ofiles.has('index.json') && ofiles.has('oci-layout'));
    const nf = await cli(root, ['save', '-o', join(dir, 'x.tar'), 'nothere']);
    assert.equal(nf.code, 1);
    assert.equal(nf.stderr, 'Error: No such image: nothere\n');
    assert.equal(existsSync(join(dir, 'x.tar')), false, 'a failed save leaves no file');
  });

  it('load reads our own save (both formats) into a fresh store, same ids and digests', async () => {
    const fresh = join(dir, 'fresh');
    const out = join(dir, 'bb.tar');
    const r = await cli(fresh, ['load', '-i', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Loaded image: busybox:latest\n');
    const a = (await cli(root, ['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', 'busybox'])).stdout;
    const b = (await cli(fresh, ['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', 'busybox'])).stdout;
    assert.equal(b, a);
    const ociTar = join(dir, 'oci.tar');
    assert.equal((await cli(root, ['save', '--format', 'oci', '-o', ociTar, 'busybox'])).code, 0);
    const fresh2 = join(dir, 'fresh2');
    const r2 = await cli(fresh2, ['load', '-i', ociTar]);
    assert.equal(r2.stdout, 'Loaded image: busybox:latest\n');
    assert.equal((await cli(fresh2, ['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', 'busybox'])).stdout, a);
    // an OCI layout directory: our own store root is one
    const fresh3 = join(dir, 'fresh3');
    const r3 = await cli(fresh3, ['load', '-i', root]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.match(r3.stdout, /Loaded image: busybox:latest/);
  });

  it('load rejects garbage and truncated archives without changing the store', async () => {
    const before = await fsp.readFile(join(root, 'index.json'));
    const junk = await cli(root, ['load'], Buffer.alloc(10000, 7));
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /^Error: /);
    const whole = await fsp.readFile(join(dir, 'bb.tar'));
    const cut = await cli(root, ['load'], whole.subarray(0, whole.length >> 1));
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /^Error: /);
    assert.deepEqual(await fsp.readFile(join(root, 'index.json')), before);
    const f = await cli(root, ['fsck']);
    assert.equal(f.code, 0, f.stdout);
  });

  it('fsck finds a corrupt blob and --repair removes it', async () => {
    const cfg = join(root, 'blobs', 'sha256', bb.id.slice(7));
    const orig = await fsp.readFile(cfg);
    const bad = Buffer.from(orig);
    bad[5] ^= 1;
    await fsp.writeFile(cfg, bad);
    await fsp.writeFile(join(root, 'tmp', '999999999-0123456789ab-ingest'), 'leftover');
    const r = await cli(root, ['fsck']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`corrupt-blob ${bb.id}: content hashes to sha256:`));
    assert.match(r.stdout, /stale-temp .*999999999-0123456789ab-ingest/);
    assert.match(r.stdout, /run with --repair to fix/);
    const inspect = await cli(root, ['inspect', 'busybox']);
    assert.equal(inspect.code, 1, 'a corrupt config is never used');
    assert.match(inspect.stderr, /digest mismatch/);
    const fix = await cli(root, ['fsck', '--repair']);
    assert.match(fix.stdout, /\(repaired\)/);
    assert.equal(existsSync(cfg), false);
    // the image entry now lacks its config: fsck says so until it is loaded again
    const after = await cli(root, ['fsck']);
    assert.equal(after.code, 1);
    assert.match(after.stdout, /bad-image docker\.io\/library\/busybox:latest/);
    assert.equal((await cli(root, ['load', '-i', bb.path])).code, 0);
    assert.equal((await cli(root, ['fsck'])).code, 0);
  });

  it('usage errors exit 125 with docker\'s wording', async () => {
    const r = await cli(root, ['images', '--bogus']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /unknown flag: --bogus/);
    const s = await cli(root, ['save']);
    assert.equal(s.code, 125);
    assert.match(s.stderr, /"save" requires at least 1 argument/);
    for (const cmd of [['images'], ['inspect'], ['history'], ['tag'], ['rmi'], ['image', 'prune'], ['builder', 'prune'], ['system', 'df'], ['save'], ['load'], ['import'], ['fsck']]) {
      const h = await cli(root, [...cmd, '--help']);
      assert.equal(h.code, 0, cmd.join(' '));
      assert.match(h.stdout, new RegExp(`^Usage:  layerwise ${cmd.join(' ')}`));
      assert.equal(h.stderr, '');
    }
  });
});
