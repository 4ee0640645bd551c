/**
 * Running a host command as root of a user namespace with the sandbox's id mapping (like `podman unshare`):
 * what a rootless engine needs to delete or inspect files that a container chowned to one of the user's
 * subordinate ids, which the user cannot touch directly.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { LayerwiseError } from '../errors';
import { findExecutable, hostPath } from './host-tools';
import { planIdMap } from './idmap';
import { writeIdMaps } from './idmap-write';

/** Runs argv as root of a fresh user namespace with the same mapping as a sandbox; resolves to the exit code. */
export function runInUserNamespace(argv: string[]): Promise<{ code: number; stderr: string }> {
  const plan = planIdMap();
  const sh = findExecutable('sh') as string;
  const script = 'printf "ready\\n" >&3; IFS= read -r lw_r <&3 || exit 125; [ "$lw_r" = go ] || exit 125; exec 3>&- "$@"';
  return new Promise((resolve, reject) => {
    const child = spawn(findExecutable('unshare') as string, ['--user', '--', sh, '-c', script, 'layerwise-unshare', ...argv], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { PATH: hostPath(), LC_ALL: 'C' },
    });
    let err = '';
    (child.stdio[2] as Readable).on('data', (d: Buffer) => (err += d.toString()));
    const ctl = child.stdio[3] as Readable & Writable;
    ctl.on('error', () => undefined);
    ctl.once('data', () => {
      writeIdMaps(child.pid as number, plan).then(
        () => ctl.write('go\n'),
        (e: unknown) => {
          err += e instanceof Error ? e.message : String(e);
          ctl.write('stop\n');
        },
      );
    });
    child.on('error', (e) => reject(new LayerwiseError('io', `cannot start unshare: ${e.message}`, { cause: e })));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr: err.trim() }));
  });
}

/**
 * Removes a directory tree that a sandbox may have written (an upper dir, a work dir). As root, or when the
 * user can, directly; otherwise (files owned by subordinate ids) with `rm -rf` inside a user namespace.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (e) {
    const code = e && typeof e === 'object' && 'code' in e ? (e as { code: unknown }).code : undefined;
    if ((process.geteuid?.() ?? 0) === 0 || (code !== 'EACCES' && code !== 'EPERM')) throw e;
  }
  const r = await runInUserNamespace([findExecutable('rm') as string, '-rf', '--', path]);
  if (r.code !== 0) throw new LayerwiseError('io', `cannot remove ${path}: ${r.stderr || `rm exited with ${r.code}`}`);
}
