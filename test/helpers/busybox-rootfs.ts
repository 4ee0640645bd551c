// The smallest useful base image without Docker Hub: Debian's busybox-static as a root filesystem tar.
import * as fs from 'node:fs';
import * as tar from 'tar-stream';
import { runCommand } from './peer-process';

const BUSYBOX = '/bin/busybox';

/**
 * Writes a minimal root filesystem as a tar: /bin/busybox from Debian's busybox-static with a symlink per
 * applet, /etc/passwd and /etc/group for root and nobody, and the usual empty folders. Used as the base
 * image for Docker (`docker import`); our own engine's tests can import the same tar.
 */
export async function writeBusyboxRootfsTar(outFile: string, busybox = BUSYBOX): Promise<void> {
  const list = await runCommand(busybox, ['--list']);
  if (list.code !== 0) throw new Error(`${busybox} --list failed: ${list.stderr.trim()}`);
  const applets = list.stdout.split('\n').map((s) => s.trim()).filter((s) => /^[a-z0-9_.[-]+$/i.test(s) && s !== 'busybox');
  const body = fs.readFileSync(busybox);
  const mtime = fs.statSync(busybox).mtime;
  const pack = tar.pack();
  const out = fs.createWriteStream(outFile);
  const written = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
    pack.on('error', reject);
  });
  pack.pipe(out);
  const dir = (name: string, mode = 0o755): void => {
    pack.entry({ name, type: 'directory', mode, mtime });
  };
  for (const d of ['bin/', 'dev/', 'etc/', 'home/', 'proc/', 'root/', 'sys/', 'usr/', 'usr/sbin/', 'var/', 'var/spool/']) {
    dir(d, d === 'root/' ? 0o700 : 0o755);
  }
  dir('tmp/', 0o1777);
  pack.entry({ name: 'etc/passwd', mode: 0o644, mtime }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  pack.entry({ name: 'etc/group', mode: 0o644, mtime }, 'root:x:0:\nnogroup:x:65534:\n');
  pack.entry({ name: 'bin/busybox', mode: 0o755, mtime }, body);
  for (const a of applets) pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
  pack.finalize();
  await written;
}

/** True for an ELF executable without a PT_INTERP program header (i.e. statically linked). */
export function isStaticElf(file: string): boolean {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch {
    return false;
  }
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return false; // ELF64 LE
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false;
    if (b.readUInt32LE(off) === 3) return false; // PT_INTERP
  }
  return true;
}
