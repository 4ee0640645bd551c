/** Device nodes and FIFOs: Node has no mknod(2), so these run coreutils `mknod`/`mkfifo`. */
import { spawn } from 'node:child_process';
import { LayerwiseError } from '../errors';

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.setEncoding('utf8');
    c.stderr.on('data', (d: string) => (err += d));
    c.on('error', (e) => reject(new LayerwiseError('io', `cannot run ${cmd}: ${e.message}`)));
    c.on('close', (code) => (code === 0 ? resolve() : reject(new LayerwiseError('io', `${cmd} failed: ${err.trim() || `exit ${code}`}`))));
  });
}

/** Creates a character or block device (root only; a 0/0 character device is an overlay whiteout, which
 *  unprivileged user namespaces may create too). `path` must not exist. */
export function mknod(path: string, kind: 'char' | 'block', major: number, minor: number, mode: number): Promise<void> {
  return run('mknod', ['-m', (mode & 0o7777).toString(8), '--', path, kind === 'char' ? 'c' : 'b', String(major), String(minor)]);
}

export function mkfifo(path: string, mode: number): Promise<void> {
  return run('mkfifo', ['-m', (mode & 0o7777).toString(8), '--', path]);
}
