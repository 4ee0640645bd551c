/**
 * Base images for tests without Docker Hub, from Debian's busybox-static (`/bin/busybox`):
 *   makeBusyboxRootfs(dir)   a root filesystem: /bin/busybox, a symlink per applet (`busybox --list-full`),
 *                            /etc/passwd, /etc/group, empty /tmp /root /proc /sys /dev /etc
 *   busyboxRootfsTar()       that rootfs as a plain tar file (for `import`), built once per process
 *   busyboxImageTar()        a `docker save`-style archive (legacy layout: manifest.json, <id>.json,
 *                            <layer>/layer.tar, repositories) of `busybox:latest`, built with tar-stream
 *                            independently of engine/store (so loading it tests our reader against a writer
 *                            that is not ours), built once per process
 * All return undefined (use busyboxUnavailableReason() for t.skip) when /bin/busybox is missing.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar-stream';

export const BUSYBOX = process.env.LAYERWISE_BUSYBOX ?? '/bin/busybox';
const MTIME = new Date('2024-01-01T00:00:00Z');

export function busyboxAvailable(): boolean {
  return existsSync(BUSYBOX);
}

export function busyboxUnavailableReason(): string {
  return `${BUSYBOX} is missing (install Debian's busybox-static: scripts/setup.sh)`;
}

/** The applets, as paths relative to / (`bin/ls`, `usr/bin/[`). */
export function busyboxApplets(): string[] {
  const out = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' });
  return out.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'bin/busybox');
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/** Build the rootfs in `dir` (created if needed). */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  if (!busyboxAvailable()) throw new Error(busyboxUnavailableReason());
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var']) {
    await fsp.mkdir(join(dir, d), { recursive: true });
  }
  await fsp.chmod(join(dir, 'tmp'), 0o1777);
  await fsp.copyFile(BUSYBOX, join(dir, 'bin/busybox'));
  await fsp.chmod(join(dir, 'bin/busybox'), 0o755);
  for (const a of busyboxApplets()) {
    const p = join(dir, a);
    await fsp.mkdir(dirname(p), { recursive: true });
    const depth = a.split('/').length - 1;
    await fsp.rm(p, { force: true });
    await fsp.symlink('../'.repeat(depth) + 'bin/busybox', p);
  }
  await fsp.writeFile(join(dir, 'etc/passwd'), PASSWD);
  await fsp.writeFile(join(dir, 'etc/group'), GROUP);
}

async function collect(pack: tar.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  await new Promise<void>((res, rej) => {
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  return Buffer.concat(chunks);
}

/** The rootfs as a tar (sorted, fixed mtimes, root-owned). */
async function rootfsTarBuffer(): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack);
  const busybox = await fsp.readFile(BUSYBOX);
  const dirs = ['bin', 'dev', 'etc', 'proc', 'root', 'sbin', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'var'];
  const entries: { name: string; add: () => void }[] = [];
  for (const d of dirs) entries.push({ name: d, add: () => pack.entry({ name: d + '/', type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755, mtime: MTIME, uid: 0, gid: 0 }) });
  entries.push({ name: 'bin/busybox', add: () => pack.entry({ name: 'bin/busybox', mode: 0o755, mtime: MTIME, uid: 0, gid: 0 }, busybox) });
  entries.push({ name: 'etc/passwd', add: () => pack.entry({ name: 'etc/passwd', mode: 0o644, mtime: MTIME }, PASSWD) });
  entries.push({ name: 'etc/group', add: () => pack.entry({ name: 'etc/group', mode: 0o644, mtime: MTIME }, GROUP) });
  for (const a of busyboxApplets()) {
    const depth = a.split('/').length - 1;
    entries.push({ name: a, add: () => pack.entry({ name: a, type: 'symlink', linkname: '../'.repeat(depth) + 'bin/busybox', mode: 0o777, mtime: MTIME }) });
  }
  entries.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  for (const e of entries) e.add();
  pack.finalize();
  return done;
}

let cacheDir: string | undefined;
function cache(): string {
  if (cacheDir) return cacheDir;
  const dir = mkdtempSync(join(tmpdir(), 'lw-busybox-'));
  cacheDir = dir;
  process.once('exit', () => {
    try {
      execFileSync('rm', ['-rf', dir]);
    } catch {
      /* best effort */
    }
  });
  return dir;
}

let rootfsTarPath: Promise<string> | undefined;
/** Path of a plain tar of the busybox rootfs (for `import`), or undefined without busybox. */
export async function busyboxRootfsTar(): Promise<string | undefined> {
  if (!busyboxAvailable()) return undefined;
  rootfsTarPath ??= (async () => {
    const p = join(cache(), 'rootfs.tar');
    await fsp.writeFile(p, await rootfsTarBuffer());
    return p;
  })();
  return rootfsTarPath;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export interface BusyboxImage {
  /** the archive file */
  path: string;
  /** image id: `sha256:` + the config's sha256 */
  id: string;
  diffId: string;
  repoTag: string;
}

let imagePath: Promise<BusyboxImage> | undefined;
/** A `docker save` (legacy layout) archive of `busybox:latest`, or undefined without busybox. */
export async function busyboxImageTar(repoTag = 'busybox:latest'): Promise<BusyboxImage | undefined> {
  if (!busyboxAvailable()) return undefined;
  if (repoTag !== 'busybox:latest') return buildImageTar(repoTag);
  imagePath ??= buildImageTar(repoTag);
  return imagePath;
}

async function buildImageTar(repoTag: string): Promise<BusyboxImage> {
  const layer = await rootfsTarBuffer();
  const diffHex = sha(layer);
  const config = JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    created: MTIME.toISOString(),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffHex}`] },
    history: [
      { created: MTIME.toISOString(), created_by: '/bin/sh -c #(nop) ADD file:busybox in / ' },
      { created: MTIME.toISOString(), created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
    ],
  });
  const cfgHex = sha(config);
  const layerDir = sha(`layer ${diffHex}`);
  const [repo, tag] = [repoTag.slice(0, repoTag.lastIndexOf(':')), repoTag.slice(repoTag.lastIndexOf(':') + 1)];
  const pack = tar.pack();
  const done = collect(pack);
  pack.entry({ name: `${layerDir}/`, type: 'directory', mode: 0o755, mtime: MTIME });
  pack.entry({ name: `${layerDir}/VERSION`, mode: 0o644, mtime: MTIME }, '1.0');
  pack.entry({ name: `${layerDir}/json`, mode: 0o644, mtime: MTIME }, JSON.stringify({ id: layerDir, created: MTIME.toISOString() }));
  pack.entry({ name: `${layerDir}/layer.tar`, mode: 0o644, mtime: MTIME }, layer);
  pack.entry({ name: `${cfgHex}.json`, mode: 0o644, mtime: MTIME }, config);
  pack.entry({ name: 'manifest.json', mode: 0o644, mtime: MTIME }, JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: [repoTag], Layers: [`${layerDir}/layer.tar`] }]));
  pack.entry({ name: 'repositories', mode: 0o644, mtime: MTIME }, JSON.stringify({ [repo]: { [tag]: layerDir } }));
  pack.finalize();
  const buf = await done;
  const path = join(cache(), `image-${sha(repoTag).slice(0, 8)}.tar`);
  await fsp.writeFile(path, buf);
  return { path, id: `sha256:${cfgHex}`, diffId: `sha256:${diffHex}`, repoTag };
}
