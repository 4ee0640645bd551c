/**
 * Differential test of `build -o/--output`: the same Dockerfiles built by Docker 26 (buildx's client exporters) and
 * by our CLI, written out as a directory (`-o DIR`, into a fresh one and into one that already holds files) and as
 * a tar (`type=tar,dest=FILE`, and `-o -` on standard output). The trees must be equal: path, type, mode, owner,
 * content, link target (not mtimes).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../helpers/peer-process';
import type { Kit } from '../helpers/build';
import type { DockerPeer } from '../helpers/docker';
import { mergeLayers, renderTree } from './image-tree';
import { CLI, startPeers, type Peers } from './peers';

interface Case {
  name: string;
  dockerfile: string;
  files?: Record<string, string>;
  /** extra build flags, for both */
  flags?: string[];
}

const CASES: Case[] = [
  {
    name: 'scratch-artifacts',
    dockerfile:
      'FROM lwdiff-busybox AS build\n' +
      'RUN mkdir -p /out/bin /out/private && echo app > /out/bin/app && chmod 755 /out/bin/app && ln -s bin/app /out/run && chmod 700 /out/private && echo k > /out/private/key\n' +
      'FROM scratch\nCOPY --from=build /out /\nCOPY --chown=1000:1000 notes.txt /doc/\n',
    files: { 'notes.txt': 'notes\n' },
  },
  {
    name: 'whiteouts-and-target',
    dockerfile:
      'FROM lwdiff-busybox AS base\nRUN mkdir -p /data /gone/sub && echo 1 > /data/one && echo 2 > /data/two && touch /gone/sub/f\n' +
      'FROM base AS pruned\nRUN rm /data/one && rm -r /gone && echo 3 > /data/three\n' +
      'FROM pruned\nRUN echo final > /final\n',
    flags: ['--target', 'pruned'],
  },
];


/** `path type mode uid:gid data` lines of a directory on disk, as renderTree writes an image's. */
function walkDir(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(root, r);
      const st = lstatSync(abs);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
      const data = type === 'file' ? createHash('sha256').update(readFileSync(abs)).digest('hex') : type === 'symlink' ? readlinkSync(abs) : '';
      out.push(`/${r} ${type} ${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}${data ? ' ' + data : ''}`);
      if (type === 'dir') visit(r);
    }
  };
  visit('');
  return out;
}

function modeOf(path: string): string {
  return (lstatSync(path).mode & 0o7777).toString(8);
}

const results = new Map<string, { docker: Record<string, string[]>; ours: Record<string, string[]> }>();

let peers: Peers | undefined;

before(async () => {
  peers = await startPeers();
  if (peers.skip === undefined) await writeAll(peers.docker, peers.kit);
});

after(async () => {
  if (peers?.skip !== undefined) return;
  await peers?.kit.cleanup();
  await peers?.docker.stop();
});

/** Builds every case with each tool and each output form; the trees written, by case and form. */
async function writeAll(dk: DockerPeer, kit: Kit): Promise<void> {
  const root = kit.root;
  for (const c of CASES) {
    const ctx = join(kit.dir, 'output', c.name, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), c.dockerfile);
    for (const [f, content] of Object.entries(c.files ?? {})) await writeFile(join(ctx, f), content);
    const views: Record<string, Record<string, string[]>> = {};
    for (const side of ['docker', 'ours'] as const) {
      const out = join(kit.dir, 'output', c.name, side);
      const existing = join(out, 'existing');
      await mkdir(existing, { recursive: true });
      await writeFile(join(existing, 'keep.txt'), 'mine\n');
      const run = async (args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> => {
        const all = ['build', '-q', ...(c.flags ?? []), ...args, ctx];
        const r = side === 'docker' ? await dk.run(all) : await runCommand(process.execPath, [CLI, '--root', root, ...all]);
        return { code: r.code, stdout: r.stdoutBytes, stderr: r.stderr };
      };
      const v: Record<string, string[]> = {};
      let r = await run(['-o', join(out, 'fresh')]);
      assert.equal(r.code, 0, `${side} -o DIR: ${r.stderr}`);
      v.fresh = [`(root ${modeOf(join(out, 'fresh'))})`, ...walkDir(join(out, 'fresh'))];
      r = await run(['--output', `type=local,dest=${existing}`]);
      assert.equal(r.code, 0, `${side} type=local into a folder with files: ${r.stderr}`);
      v.existing = [`(root ${modeOf(existing)})`, ...walkDir(existing)];
      r = await run(['--output', `type=tar,dest=${join(out, 'rootfs.tar')}`]);
      assert.equal(r.code, 0, `${side} type=tar: ${r.stderr}`);
      v.tar = renderTree(await mergeLayers([await readFile(join(out, 'rootfs.tar'))]));
      r = await run(['-o', '-']);
      assert.equal(r.code, 0, `${side} -o -: ${r.stderr}`);
      v.stdout = renderTree(await mergeLayers([r.stdout]));
      views[side] = v;
    }
    results.set(c.name, { docker: views.docker!, ours: views.ours! });
  }
}

for (const c of CASES) {
  for (const form of ['fresh', 'existing', 'tar', 'stdout']) {
    test(`${c.name}: ${form === 'fresh' ? '-o DIR' : form === 'existing' ? 'type=local into a folder with files' : form === 'tar' ? 'type=tar,dest=FILE' : '-o - (a tar on stdout)'}`, (t) => {
      if (peers?.skip !== undefined) return t.skip(peers?.skip);
      const r = results.get(c.name)!;
      assert.ok(r.ours[form]!.length > 1, 'something was written');
      assert.deepEqual(r.ours[form], r.docker[form]);
    });
  }
}
