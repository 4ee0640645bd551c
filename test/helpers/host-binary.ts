/**
 * Puts a host program into a build context together with the shared libraries it loads (as `ldd` lists them,
 * at the same paths), so that a test image made from busybox can run it: e.g. `ssh-add` to talk to a forwarded
 * agent. Only for dynamically linked ELF programs of this machine.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Copies `program` (a path or a name on PATH) and its libraries under `dir`; returns the program's path in the
 *  image, or undefined when it is not on this machine. */
export function copyHostProgram(program: string, dir: string): string | undefined {
  const path = program.includes('/') ? program : spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim();
  if (!path) return undefined;
  const files = new Set<string>([path]);
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
  for (const line of ldd.stdout.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) files.add(m[1]!);
  }
  for (const f of files) {
    const target = join(dir, f);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(realpathSync(f), target);
    // keep the program executable
    spawnSync('chmod', [(statSync(f).mode & 0o777).toString(8), target]);
  }
  return path;
}
