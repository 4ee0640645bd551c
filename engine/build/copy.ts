/**
 * COPY and ADD file operations, with Docker's rules: wildcard sources (Go filepath.Match per path element), a
 * directory source copies its contents, a destination ending in `/` (or several sources) is a directory, a
 * relative destination is relative to WORKDIR, missing parents are created (0755), symlinks inside a copied tree
 * are copied as links, a source that is itself a symlink is followed (inside its root only), `--chown` by id or by
 * name from the destination's /etc/passwd and /etc/group, `--chmod` in octal, `--parents`, `--exclude`, heredoc
 * sources, and ADD's local tar auto-extraction.
 *
 * `copyInto` works on host paths: `srcRoot` (the build context, or a stage's mounted root) and `dstRoot` (the
 * stage's merged root, mounted by the caller over an overlay so that what it writes lands in the upper dir).
 * Paths inside each root are resolved like a chroot: nothing is read or written outside them.
 */
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs';
import { chmod, copyFile, lchown, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { LayerwiseError } from '../errors';
import { resolveInRootfs } from '../runtime/rootfs-path';
import { PatternMatcher } from '../context/patternmatcher';
import { applyLayer, decompress } from '../layers';
import type { Readable } from 'node:stream';
import { toolProcess } from '../layers/compression';
import { headerChecksumOk } from '../layers/tarscan';

export interface CopySource {
  /** a path (may hold wildcards) relative to srcRoot, as written after expansion */
  path?: string;
  /** heredoc source: file name and content */
  heredoc?: { name: string; content: string };
  /** a downloaded file (ADD of a URL): host path, the name it gets, its mode and mtime (seconds) */
  file?: { hostPath: string; name: string; mode: number; mtime?: number; /** the URL it came from (the history names it) */ url?: string };
  /** a directory tree from outside the context (ADD of a git repository: its checkout): its content is copied
   *  into the destination, which is a directory, as BuildKit copies a source's root; `name` is the source as written */
  tree?: { hostDir: string; name: string };
}

export interface CopyRequest {
  kind: 'COPY' | 'ADD';
  srcRoot: string;
  /** context sources preserve nothing of the host's ownership (0:0); stage sources keep theirs */
  srcIsContext: boolean;
  /** .dockerignore patterns of the context (context sources only) */
  ignore?: string[];
  sources: CopySource[];
  dest: string;
  workdir: string;
  dstRoot: string;
  chown?: string;
  chmod?: string;
  parents?: boolean;
  exclude?: string[];
  /** ADD: extract local tar archives (default true for ADD) */
  unpack?: boolean;
  /**
   * The snapshot the last build made for this step (same instruction, same parent): context files whose digest
   * is unchanged (`unchanged`, context-relative) are hard-linked from it (`dir`) straight into the step's upper dir
   * (`upper`) instead of copied, when the earlier copy's size, mode, owner and mtime are what a copy would get.
   * Snapshots are never changed in place, so sharing their files is safe.
   */
  reuse?: { dir: string; upper: string; unchanged: string[] };
}

export interface CopyResult {
  files: number;
  bytes: number;
  /** files hard-linked from the last build's snapshot (CopyRequest.reuse) */
  reused?: number;
}

/** Go's filepath.Match for one path element. */
export function goMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw new LayerwiseError('invalid', `syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '^' + cls.slice(1).replace(/[\]\\]/g, '\\$&');
      else cls = cls.replace(/[\]\\^]/g, '\\$&');
      re += `[${cls}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(re + '$', 'u').test(name);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const hasWildcard = (p: string): boolean => /[*?[]/.test(p);

/** A slash path cleaned of empty, `.` and `..` parts, with no leading slash (`..` never climbs above the root). */
export function clean(p: string): string {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

/** Expands a source pattern against srcRoot (chroot-style), returning matching relative paths, sorted. */
async function expandSource(root: string, pattern: string): Promise<string[]> {
  const cleaned = clean(pattern);
  if (!hasWildcard(cleaned)) return [cleaned];
  const parts = cleaned.split('/');
  let current: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasWildcard(part)) {
        next.push(base ? `${base}/${part}` : part);
        continue;
      }
      let names: string[] = [];
      try {
        const dir = await resolveInRootfs(root, base || '/');
        if (dir.missing.length) continue;
        names = await readdir(root + dir.path);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (goMatch(part, n)) next.push(base ? `${base}/${n}` : n);
    }
    current = next;
  }
  // as a glob: only paths that exist (`*/f.txt` is not `Dockerfile/f.txt`, nor a directory without f.txt)
  const found: string[] = [];
  for (const c of current) {
    const r = await resolveInRootfs(root, c).catch(() => undefined);
    if (r && r.missing.length === 0) found.push(c);
  }
  return found;
}

/** files up to this size are copied through COPY_BUF; bigger ones with copyFile (in-kernel) */
const SMALL_FILE = 256 * 1024;
const COPY_BUF = Buffer.allocUnsafe(SMALL_FILE);

/** Copies a small regular file to a new file `dst` with `mode`, and the source's times. */
function copySmall(src: string, dst: string, st: fs.Stats, mode: number, umask: number): void {
  const fdIn = fs.openSync(src, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const fdOut = fs.openSync(dst, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
    try {
      let done = 0;
      while (done < st.size) {
        const n = fs.readSync(fdIn, COPY_BUF, 0, Math.min(COPY_BUF.length, st.size - done), null);
        if (n === 0) break; // shrank since the stat: the copy is what there is
        let off = 0;
        while (off < n) off += fs.writeSync(fdOut, COPY_BUF, off, n - off);
        done += n;
      }
      if (umask !== 0 || mode & 0o7000) fs.fchmodSync(fdOut, mode);
      fs.futimesSync(fdOut, st.atime, st.mtime);
    } finally {
      fs.closeSync(fdOut);
    }
  } finally {
    fs.closeSync(fdIn);
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

class Copier {
  files = 0;
  bytes = 0;
  private ignore?: PatternMatcher;
  private exclude?: PatternMatcher;
  /** dev:ino of a copied file with more than one link -> where its first copy went */
  private readonly links = new Map<string, string>();
  private mode?: number;
  /** host dirs this copy created, with no set-gid bit: what is in them is only what this copy put there */
  private readonly fresh = new Set<string>();
  /** host paths this copy created inside fresh dirs */
  private readonly made = new Set<string>();
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly umask = process.umask();
  private readonly ppid = process.ppid;
  private visited = 0;
  private readonly reuse?: { dir: string; upper: string; unchanged: Set<string> };
  private readonly reusedInodes = new Set<string>();
  /** files hard-linked from the earlier snapshot */
  reused = 0;
  private readonly egid = process.getegid?.() ?? -1;
  constructor(private readonly req: CopyRequest, private readonly owner: Owner | undefined) {
    if (req.srcIsContext && req.ignore?.length) this.ignore = new PatternMatcher(req.ignore);
    if (req.exclude?.length) this.exclude = new PatternMatcher(req.exclude);
    if (req.reuse && req.srcIsContext) this.reuse = { dir: req.reuse.dir, upper: req.reuse.upper, unchanged: new Set(req.reuse.unchanged) };
    if (req.chmod) {
      if (!/^[0-7]{1,4}$/.test(req.chmod)) throw new LayerwiseError('invalid', `invalid chmod parameter: '${req.chmod}'. it should be octal string and between 0 and 07777`);
      this.mode = Number.parseInt(req.chmod, 8);
    }
  }

  private mayReinclude(rel: string): boolean {
    return (this.ignore?.couldReincludeBelow(rel) ?? false) || (this.exclude?.couldReincludeBelow(rel) ?? false);
  }

  private skipped(rel: string): boolean {
    return (this.ignore?.matches(rel) ?? false) || (this.exclude?.matches(rel) ?? false);
  }

  private async ownerFor(srcUid: number, srcGid: number): Promise<Owner> {
    if (this.owner) return this.owner;
    return this.req.srcIsContext ? { uid: 0, gid: 0 } : { uid: srcUid, gid: srcGid };
  }

  /** mkdir -p inside dstRoot (container path), new directories 0755 owned by the chown user (as BuildKit). */
  async mkdirp(containerDir: string): Promise<string> {
    const r = await resolveInRootfs(this.req.dstRoot, containerDir);
    if (r.missing.length === 0 && r.kind !== 'dir') throw new LayerwiseError('build', `cannot copy to ${containerDir}: not a directory`);
    for (const m of r.missing) {
      const host = this.req.dstRoot + m;
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755);
      const o = this.owner ?? { uid: 0, gid: 0 };
      await lchown(host, o.uid, o.gid).catch(() => undefined);
    }
    return r.path;
  }

  /** Copies host path `src` (not following a final symlink) to container path `dst`. */
  async copyEntry(src: string, rel: string, dst: string): Promise<void> {
    // a worker whose build was killed stops soon instead of copying on into a temp dir the next build sweeps
    if (++this.visited % 256 === 0 && process.ppid !== this.ppid) throw new LayerwiseError('internal', 'the build that asked for this copy is gone');
    // Synchronous fs calls: this runs in a worker process of its own, and one syscall each (no thread-pool round
    // trip per call) makes a 2,000-file COPY several times faster.
    const st = fs.lstatSync(src);
    // an excluded directory is still walked when a `!` pattern may bring back something below it; it is kept
    // only if something was (as the context BuildKit receives holds the parents of every included file)
    let excludedDir = false;
    if (rel && this.skipped(rel)) {
      if (!st.isDirectory() || !this.mayReinclude(rel)) return;
      excludedDir = true;
    }
    const host = this.req.dstRoot + dst;
    const owner = await this.ownerFor(st.uid, st.gid);
    // in a directory this copy created, a name it has not written yet does not exist, and what it creates there
    // is already owned by us (no set-gid parent): two syscalls per file fewer
    const inFresh = this.fresh.has(host.slice(0, host.lastIndexOf('/')));
    const exists = (): fs.Stats | undefined => (inFresh && !this.made.has(host) ? undefined : fs.lstatSync(host, { throwIfNoEntry: false }));
    const ownedAlready = inFresh && owner.uid === this.euid && owner.gid === this.egid;
    const chown = (p: string) => {
      try {
        fs.lchownSync(p, owner.uid, owner.gid);
      } catch {
        /* ids outside the namespace's range */
      }
    };
    if (st.isDirectory()) {
      const d = exists();
      if (d && !d.isDirectory()) fs.rmSync(host, { recursive: true, force: true });
      const created = !d?.isDirectory();
      if (created) fs.mkdirSync(host);
      if (inFresh) this.made.add(host);
      if (!(created && ownedAlready)) chown(host);
      const mode = this.mode ?? st.mode & 0o7777;
      fs.chmodSync(host, mode); // after chown, which clears set-id bits
      if (created && (mode & 0o2000) === 0) this.fresh.add(host);
      for (const name of fs.readdirSync(src).sort()) {
        await this.copyEntry(`${src}/${name}`, rel ? `${rel}/${name}` : name, dst === '/' ? `/${name}` : `${dst}/${name}`);
      }
      if (excludedDir && created && fs.readdirSync(host).length === 0) {
        fs.rmdirSync(host);
        return;
      }
      try {
        fs.utimesSync(host, st.atime, st.mtime);
      } catch {
        /* best effort */
      }
      return;
    }
    if (exists()) fs.rmSync(host, { recursive: true, force: true });
    if (inFresh) this.made.add(host);
    if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(src), host);
      if (!ownedAlready) chown(host);
      try {
        fs.lutimesSync(host, st.atime, st.mtime);
      } catch {
        /* best effort */
      }
    } else if (st.isFile()) {
      // hard links within one copy stay hard links (as BuildKit copies them)
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(inode) : undefined;
      if (first !== undefined) {
        fs.linkSync(first, host);
        this.files++;
        return;
      }
      if (st.nlink > 1) this.links.set(inode, host);
      const mode = this.mode ?? st.mode & 0o7777;
      if (st.nlink === 1 && inFresh && this.reuseFile(rel, dst, st, mode, owner)) {
        // linked from the earlier snapshot: same content, mode, owner and times as a copy
      } else if (st.size <= SMALL_FILE) {
        // read and write through one buffer: 8 syscalls a file where copyFile makes 12 (a copy_file_range that
        // fails across file systems, then sendfile, fstat, ftruncate, fchmod)
        copySmall(src, host, st, mode, this.umask);
        if (!ownedAlready) {
          chown(host);
          if (mode & 0o6000) fs.chmodSync(host, mode); // chown clears set-id bits
        }
      } else {
        fs.copyFileSync(src, host); // sets the source's mode on the copy
        if (!ownedAlready) chown(host);
        // after chown, which clears set-id bits
        if (this.mode !== undefined || (!ownedAlready && st.mode & 0o6000)) fs.chmodSync(host, mode);
        fs.utimesSync(host, st.atime, st.mtime);
      }
      this.bytes += st.size;
    } else {
      return; // sockets, fifos and devices are not copied from a context
    }
    this.files++;
  }

  /** Hard-links an unchanged file from the earlier snapshot into the upper dir (see CopyRequest.reuse). The
   *  parent is a directory this copy made, so it is in the upper dir and the name is free there. */
  private reuseFile(rel: string, dst: string, st: fs.Stats, mode: number, owner: Owner): boolean {
    const r = this.reuse;
    if (!r || !rel || !r.unchanged.has(rel)) return false;
    try {
      const old = fs.lstatSync(r.dir + dst, { throwIfNoEntry: false });
      if (!old || !old.isFile() || old.size !== st.size || (old.mode & 0o7777) !== mode || old.uid !== owner.uid || old.gid !== owner.gid) return false;
      if (Math.abs(old.mtimeMs - st.mtime.getTime()) >= 1) return false;
      const inode = `${old.dev}:${old.ino}`;
      if (this.reusedInodes.has(inode)) return false; // two paths of one inode would become a hard link in the layer
      fs.linkSync(r.dir + dst, r.upper + dst);
      this.reusedInodes.add(inode);
      this.reused++;
      return true;
    } catch {
      return false; // copied instead
    }
  }

  async copyDownload(src: string, dst: string, mode: number, mtime?: number): Promise<void> {
    const host = this.req.dstRoot + dst;
    await rm(host, { recursive: true, force: true }).catch(() => undefined);
    await copyFile(src, host);
    const o = this.owner ?? { uid: 0, gid: 0 };
    await lchown(host, o.uid, o.gid).catch(() => undefined);
    await chmod(host, this.mode ?? mode);
    if (mtime !== undefined) await utimes(host, mtime, mtime);
    this.files++;
  }

  async writeFileAt(dst: string, content: string): Promise<void> {
    const host = this.req.dstRoot + dst;
    await rm(host, { recursive: true, force: true }).catch(() => undefined);
    await writeFile(host, content);
    const o = this.owner ?? { uid: 0, gid: 0 };
    await lchown(host, o.uid, o.gid).catch(() => undefined);
    await chmod(host, this.mode ?? 0o644);
    this.files++;
    this.bytes += Buffer.byteLength(content);
  }
}

/** bzip2 and xz, which node:zlib does not read: their programs (Debian: bzip2, xz-utils) */
function externalDecompressor(head: Buffer): 'bzip2' | 'xz' | undefined {
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  return undefined;
}

/** A local file's content, decompressed (gzip, zstd, bzip2, xz; anything else as it is). */
function decompressedStream(path: string, head: Buffer): Readable {
  const tool = externalDecompressor(head);
  if (!tool) return decompress(createReadStream(path)).stream;
  return toolProcess(tool, createReadStream(path), ['-dc'], 'decompress', `the \`${tool}\` program is not installed (apt-get install ${tool === 'xz' ? 'xz-utils' : tool})`);
}

/** Whether a 512-byte block is a tar header Go's archive/tar takes: not all zeros, and its checksum right (the
 *  unsigned or the signed sum, as the tar scanner checks it; any format, V7 included). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const h = block.subarray(0, 512);
  return h.some((b) => b !== 0) && headerChecksumOk(h);
}

/**
 * ADD's test for a local archive, as BuildKit's: the file decompressed (by its magic bytes) starts with a valid tar
 * header. A compressed file that is no tar, an empty tar and a damaged one are copied as they are.
 */
async function isTarArchive(path: string): Promise<boolean> {
  const head = await readHead(path).catch(() => undefined);
  if (!head || head.length === 0) return false;
  const stream = decompressedStream(path, head);
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      chunks.push(c);
      have += c.length;
      if (have >= 512) break;
    }
  } catch {
    return false;
  } finally {
    stream.destroy();
  }
  return isTarHeader(Buffer.concat(chunks));
}

/** the first bytes of a file, enough for every magic number above */
async function readHead(path: string): Promise<Buffer> {
  const fh = await fs.promises.open(path, 'r');
  try {
    const b = Buffer.alloc(6);
    const { bytesRead } = await fh.read(b, 0, 6, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function extractArchive(src: string, hostDir: string): Promise<void> {
  const head = await readHead(src);
  // names with `..` are kept inside the destination, as BuildKit's extraction (containerd's Apply) keeps them
  await applyLayer(decompressedStream(src, head), hostDir, { preserveOwnership: true, skipDevices: true, rootedNames: true });
}

/**
 * `--chown=user[:group]` as BuildKit resolves it: a numeric user is uid and gid both (no passwd lookup), a name
 * takes uid and primary gid from the destination's /etc/passwd; a group (number or name from /etc/group)
 * replaces the gid. A name that is not found (or no passwd/group file at all) is no error: BuildKit leaves the
 * ids it could not resolve as they were, so an unknown user is 0:0 and an unknown group keeps the user's gid.
 */
export function chownOwner(spec: string, passwd: string | undefined, group: string | undefined): Owner {
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  const id = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
  let uid = 0;
  let gid = 0;
  const n = id(userPart);
  if (n !== undefined) {
    uid = n;
    gid = n;
  } else if (userPart !== '') {
    const e = (passwd ?? '').split('\n').map((l) => l.split(':')).find((f) => f[0] === userPart && f.length >= 4);
    if (e) {
      uid = Number(e[2]);
      gid = Number(e[3]);
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = id(groupPart);
    if (g !== undefined) gid = g;
    else {
      const e = (group ?? '').split('\n').map((l) => l.split(':')).find((f) => f[0] === groupPart && f.length >= 3);
      if (e) gid = Number(e[2]);
    }
  }
  return { uid, gid };
}

/** Performs a COPY/ADD inside already mounted roots. */
export async function copyInto(req: CopyRequest): Promise<CopyResult> {
  let owner: Owner | undefined;
  if (req.chown) {
    const passwd = await readFile(req.dstRoot + '/etc/passwd', 'utf8').catch(() => undefined);
    const group = await readFile(req.dstRoot + '/etc/group', 'utf8').catch(() => undefined);
    owner = chownOwner(req.chown, passwd, group);
  }
  const c = new Copier(req, owner);
  const destAbs = req.dest.startsWith('/') ? req.dest : `${req.workdir.replace(/\/$/, '')}/${req.dest}`;
  const destIsDirSyntax = req.dest.endsWith('/') || req.dest === '.' || req.dest.endsWith('/.');

  // expand every source first: Docker checks the destination rule against the number of matches
  const items: ({ rel: string; host: string } | { heredoc: { name: string; content: string } } | { file: NonNullable<CopySource['file']> } | { tree: NonNullable<CopySource['tree']> })[] = [];
  for (const s of req.sources) {
    if (s.tree) {
      items.push({ tree: s.tree });
      continue;
    }
    if (s.heredoc) {
      items.push({ heredoc: s.heredoc });
      continue;
    }
    if (s.file) {
      items.push({ file: s.file });
      continue;
    }
    const matches = await expandSource(req.srcRoot, s.path ?? '.');
    let visible = matches;
    if (req.srcIsContext && req.ignore?.length) {
      const pm = new PatternMatcher(req.ignore);
      visible = [];
      for (const m of matches) {
        // an ignored directory still counts when exclusions (`!dir/keep`) bring back some of its content
        if (m === '' || !pm.matches(m) || (pm.exclusions && (await stat(req.srcRoot + '/' + m).catch(() => undefined))?.isDirectory())) visible.push(m);
      }
    }
    if (visible.length === 0) {
      throw new LayerwiseError('build', `failed to compute cache key: "/${clean(s.path ?? '')}": not found`);
    }
    for (const rel of visible) {
      const r = await resolveInRootfs(req.srcRoot, rel || '/');
      if (r.missing.length) throw new LayerwiseError('build', `failed to compute cache key: "/${rel}": not found`);
      items.push({ rel, host: req.srcRoot + (r.path === '/' ? '' : r.path) });
    }
  }
  if (req.sources.length === 0) {
    await c.mkdirp(destAbs); // WORKDIR: just the directory
    return { files: 0, bytes: 0 };
  }
  // Each source is copied in turn, as BuildKit chains one copy per source onto the same destination: without a
  // trailing `/`, a first file becomes the destination file and the next one replaces it (`COPY a b /dest` leaves
  // b's content at /dest), a directory's content goes into the destination once that is a directory, and into
  // a file it cannot go.
  let destIsDir = false;
  let destIsOther = false;
  let fileDest = destAbs;
  const lookAtDest = async (): Promise<void> => {
    if (destIsDirSyntax) {
      destIsDir = true;
      return;
    }
    const existing = await resolveInRootfs(req.dstRoot, destAbs).catch(() => undefined);
    const found = existing !== undefined && existing.missing.length === 0;
    destIsDir = found && existing.kind === 'dir';
    destIsOther = found && existing.kind !== 'dir';
    // a file destination that is a symlink is written through, to where it points inside the container (BuildKit
    // resolves the destination with RootPath): `COPY f /etc/link` changes the link's target, the link stays
    fileDest = !destIsDir && existing ? existing.path : destAbs;
  };
  /** the destination as a directory to copy a directory's content (or a tar's) into */
  const intoDirectory = async (): Promise<string> => {
    if (destIsOther) throw new LayerwiseError('build', `cannot copy to non-directory: ${destAbs}`);
    return c.mkdirp(destAbs);
  };

  for (const it of items) {
    await lookAtDest();
    if ('tree' in it) {
      // the tree's root itself is copied onto the destination (BuildKit: Copy(src, "/", dest)), so that the
      // destination directory takes the root's mode, or --chmod
      const parent = await c.mkdirp(parentOf(destAbs));
      const base = baseOf(destAbs);
      await c.copyEntry(it.tree.hostDir, '', base ? join2(parent, base) : '/');
      continue;
    }
    if ('file' in it) {
      const dir = destIsDir ? await c.mkdirp(destAbs) : await c.mkdirp(parentOf(fileDest));
      const target = destIsDir ? join2(dir, it.file.name) : join2(dir, baseOf(fileDest));
      await c.copyDownload(it.file.hostPath, target, it.file.mode, it.file.mtime);
      continue;
    }
    if ('heredoc' in it) {
      const dir = destIsDir ? await c.mkdirp(destAbs) : await c.mkdirp(parentOf(fileDest));
      const target = destIsDir ? join2(dir, it.heredoc.name) : join2(dir, baseOf(fileDest));
      await c.writeFileAt(target, it.heredoc.content);
      continue;
    }
    const st = await stat(it.host);
    if (req.kind === 'ADD' && req.unpack !== false && st.isFile() && (await isTarArchive(it.host))) {
      const dir = await intoDirectory();
      await extractArchive(it.host, req.dstRoot + dir);
      c.files++;
      continue;
    }
    if (st.isDirectory()) {
      const sub = req.parents ? clean(it.rel) : '';
      const dir = sub ? await c.mkdirp(`${destAbs}/${sub}`) : await intoDirectory();
      for (const name of (await readdir(it.host)).sort()) {
        const rel = it.rel ? `${it.rel}/${name}` : name;
        await c.copyEntry(`${it.host}/${name}`, req.srcIsContext ? rel : '', join2(dir, name));
      }
      continue;
    }
    if (req.parents) {
      const relDir = parentOf('/' + clean(it.rel)).slice(1);
      const dir = await c.mkdirp(relDir ? `${destAbs}/${relDir}` : destAbs);
      await c.copyEntry(it.host, '', join2(dir, baseOf(it.rel)));
    } else if (destIsDir) {
      const dir = await c.mkdirp(destAbs);
      await c.copyEntry(it.host, '', join2(dir, baseOf(it.rel)));
    } else {
      const dir = await c.mkdirp(parentOf(fileDest));
      await c.copyEntry(it.host, '', join2(dir, baseOf(fileDest)));
    }
  }
  return { files: c.files, bytes: c.bytes, reused: c.reused };
}

function join2(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
function baseOf(p: string): string {
  const c = clean(p);
  const i = c.lastIndexOf('/');
  return i === -1 ? c : c.slice(i + 1);
}
function parentOf(p: string): string {
  const c = '/' + clean(p);
  const i = c.lastIndexOf('/');
  return i <= 0 ? '/' : c.slice(0, i);
}
