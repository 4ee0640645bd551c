/**
 * Git sources for ADD (`ADD https://host/repo.git#ref:subdir /dst`, `ADD git@host:repo.git …`, `git://…`,
 * `ssh://…`), with BuildKit's rules: which sources are git refs, the `#ref:subdir` fragment and the query forms
 * (`?ref=`, `branch=`, `tag=`, `subdir=`, `checksum=`/`commit=`, `keep-git-dir=`, `submodules=`), the ref resolved
 * to a commit first (that commit is what the cache key holds, so a moved branch rebuilds and an unchanged one is
 * cached), a shallow fetch of exactly that commit, submodules, and the .git directory dropped unless kept.
 *
 * It runs the host's `git` (as BuildKit does), never with a terminal prompt; ssh remotes use the build's
 * forwarded agent when one is given.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { clean } from './copy';

export interface GitRef {
  /** the remote without fragment and query, as git is given it */
  remote: string;
  /** the remote with any password removed, for messages and cache keys */
  displayRemote: string;
  /** branch, tag, full ref or commit; undefined: the remote's HEAD */
  ref?: string;
  /** a directory inside the repository; '' for the root */
  subdir: string;
  /** the commit the ref must resolve to (`checksum=`/`commit=` or ADD --checksum) */
  checksum?: string;
  keepGitDir?: boolean;
  submodules?: boolean;
  /** git://, http:// */
  unencrypted: boolean;
}

const SUPPORTED = new Set(['http', 'https', 'ssh', 'git']);
const SCP_LIKE = /^(?:[\w.-]+@)?([\w.-]+):(?!\/\/)(.+)$/;

function fragmentOpts(fragment: string): { ref?: string; subdir: string } {
  if (!fragment) return { subdir: '' };
  const colon = fragment.indexOf(':');
  const ref = colon === -1 ? fragment : fragment.slice(0, colon);
  const sub = colon === -1 ? '' : fragment.slice(colon + 1);
  return { ...(ref ? { ref } : {}), subdir: clean(sub) };
}


function parseBool(k: string, v: string | null): boolean {
  if (v === null || v === '') return true;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw new LayerwiseError('invalid', `invalid ${k} value: ${JSON.stringify(v)}`);
}

/**
 * Whether an ADD source is a git ref (BuildKit's ParseGitRef): an http(s) URL whose path ends in `.git`, any
 * git:// or ssh:// URL, or an scp-like `user@host:path`. Local paths and other URLs are not.
 */
export function parseGitRef(src: string): GitRef | undefined {
  if (src.startsWith('./') || src.startsWith('../') || src.startsWith('/')) return undefined;
  let remote: string;
  let fragment = '';
  let query = new URLSearchParams();
  let scheme: string;
  let displayRemote: string;
  const proto = /^([a-zA-Z0-9]+):\/\//.exec(src);
  if (proto) {
    scheme = proto[1]!.toLowerCase();
    if (!SUPPORTED.has(scheme)) return undefined;
    let u: URL;
    try {
      u = new URL(src);
    } catch {
      return undefined;
    }
    if ((scheme === 'http' || scheme === 'https') && !u.pathname.endsWith('.git')) return undefined;
    fragment = decodeURIComponent(u.hash.replace(/^#/, ''));
    query = new URLSearchParams(u.search);
    u.hash = '';
    u.search = '';
    remote = u.toString();
    if (u.password) u.password = '';
    displayRemote = u.toString();
  } else {
    const m = SCP_LIKE.exec(src);
    if (!m || !src.includes('@')) return undefined;
    scheme = 'ssh';
    let rest = src;
    const hash = rest.indexOf('#');
    if (hash !== -1) {
      fragment = rest.slice(hash + 1);
      rest = rest.slice(0, hash);
    }
    const q = rest.indexOf('?');
    if (q !== -1) {
      query = new URLSearchParams(rest.slice(q + 1));
      rest = rest.slice(0, q);
    }
    remote = rest;
    displayRemote = rest;
  }
  const ref: GitRef = { remote, displayRemote, ...fragmentOpts(fragment), unencrypted: scheme === 'http' || scheme === 'git' };
  let tag: string | undefined;
  let branch: string | undefined;
  for (const k of new Set(query.keys())) {
    const all = query.getAll(k);
    if (all.length > 1) throw new LayerwiseError('invalid', `query ${JSON.stringify(k)} has multiple values`);
    const v = all[0] ?? '';
    if (v === '' && !['submodules', 'keep-git-dir', 'fetch-by-commit'].includes(k)) throw new LayerwiseError('invalid', `query ${JSON.stringify(k)} has no value`);
    switch (k) {
      case 'ref':
        if (ref.ref && ref.ref !== v) throw new LayerwiseError('invalid', `ref conflicts: ${JSON.stringify(ref.ref)} vs ${JSON.stringify(v)}`);
        ref.ref = v;
        break;
      case 'tag':
        tag = v;
        break;
      case 'branch':
        branch = v;
        break;
      case 'subdir':
        if (ref.subdir && ref.subdir !== clean(v)) throw new LayerwiseError('invalid', `subdir conflicts: ${JSON.stringify(ref.subdir)} vs ${JSON.stringify(v)}`);
        ref.subdir = clean(v);
        break;
      case 'checksum':
      case 'commit':
        ref.checksum = v;
        break;
      case 'keep-git-dir':
        ref.keepGitDir = parseBool(k, v);
        break;
      case 'submodules':
        ref.submodules = parseBool(k, v);
        break;
      case 'fetch-by-commit':
        break;
      default:
        throw new LayerwiseError('invalid', `unexpected query ${JSON.stringify(k)}`);
    }
  }
  if (tag && branch) throw new LayerwiseError('invalid', 'branch and tag are mutually exclusive');
  if (tag) {
    if (ref.ref && ref.ref !== tag && ref.ref !== `refs/tags/${tag}`) throw new LayerwiseError('invalid', `ref conflicts: ${JSON.stringify(ref.ref)} vs tag ${JSON.stringify(tag)}`);
    ref.ref = `refs/tags/${tag}`;
  }
  if (branch) {
    if (ref.ref && ref.ref !== branch && ref.ref !== `refs/heads/${branch}`) throw new LayerwiseError('invalid', `ref conflicts: ${JSON.stringify(ref.ref)} vs branch ${JSON.stringify(branch)}`);
    ref.ref = `refs/heads/${branch}`;
  }
  return ref;
}

export interface GitOptions {
  /** SSH_AUTH_SOCK for ssh remotes */
  sshAuthSock?: string;
  signal?: AbortSignal;
}

function gitEnv(o: GitOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    // as BuildKit without known hosts given: no prompts, no host-key files of the user read or written
    GIT_SSH_COMMAND: 'ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
  };
  delete env.GIT_DIR;
  delete env.GIT_WORK_TREE;
  if (o.sshAuthSock) env.SSH_AUTH_SOCK = o.sshAuthSock;
  return env;
}

function git(args: string[], o: GitOptions, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: gitEnv(o), stdio: ['ignore', 'pipe', 'pipe'], ...(o.signal ? { signal: o.signal } : {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new LayerwiseError('io', 'git is not installed: ADD of a git repository needs it') : e),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new LayerwiseError('build', err.trim().split('\n').filter(Boolean).pop() ?? `git ${args[0]} exited with ${code}`));
    });
  });
}

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The commit `ref` names on the remote (`git ls-remote`), as BuildKit resolves it before fetching. */
export async function resolveGitCommit(ref: GitRef, o: GitOptions = {}): Promise<string> {
  let commit: string | undefined;
  if (ref.ref && FULL_SHA.test(ref.ref)) commit = ref.ref;
  else {
    const want = ref.ref ?? 'HEAD';
    let out: string;
    try {
      const peeled = want === 'HEAD' ? [] : want.startsWith('refs/') ? [`${want}^{}`] : [`refs/tags/${want}^{}`];
      out = await git(['ls-remote', ref.remote, want, ...peeled], o);
    } catch (e) {
      throw new LayerwiseError('build', `failed to resolve ${ref.displayRemote}${ref.ref ? '#' + ref.ref : ''}: ${(e as Error).message}`);
    }
    const refs = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [sha, name] = line.split('\t');
      if (sha && name) refs.set(name, sha);
    }
    // an annotated tag: the commit it points at (`^{}`) is what gets checked out
    const order = want === 'HEAD' ? ['HEAD'] : want.startsWith('refs/') ? [`${want}^{}`, want] : [`refs/tags/${want}^{}`, `refs/heads/${want}`, `refs/tags/${want}`, want];
    for (const n of order) {
      commit = refs.get(n);
      if (commit) break;
    }
    if (!commit && !want.startsWith('refs/')) {
      for (const [n, sha] of refs) if (n.endsWith('/' + want)) commit = sha;
    }
    if (!commit) throw new LayerwiseError('build', `failed to resolve ${ref.displayRemote}: no ref ${JSON.stringify(want)} on the remote`);
  }
  if (ref.checksum && !commit.startsWith(ref.checksum)) {
    throw new LayerwiseError('build', `expected checksum to match ${ref.checksum}, got ${commit}`);
  }
  return commit;
}

const recent = new Map<string, { at: number; commit: Promise<string> }>();

/**
 * resolveGitCommit for predictions made while a Dockerfile is edited: the answer for the same remote and ref is
 * reused for a minute, so that typing does not ask the remote on every keystroke. Builds always ask.
 */
export function resolveGitCommitRecent(ref: GitRef, o: GitOptions = {}): Promise<string> {
  const k = JSON.stringify([ref.remote, ref.ref ?? '', ref.checksum ?? '']);
  const hit = recent.get(k);
  if (hit && Date.now() - hit.at < 60_000) return hit.commit;
  const commit = resolveGitCommit(ref, o);
  recent.set(k, { at: Date.now(), commit });
  commit.catch(() => recent.delete(k));
  if (recent.size > 100) recent.delete(recent.keys().next().value!);
  return commit;
}

/**
 * Checks `commit` of `ref` out into a new directory under `parent` and returns the directory to copy from (the
 * subdir when there is one). The caller removes `dir` when done.
 */
export async function checkoutGit(ref: GitRef, commit: string, parent: string, o: GitOptions = {}): Promise<{ dir: string; source: string }> {
  const dir = await mkdtemp(join(parent, 'git-'));
  try {
    await chmod(dir, 0o755); // a checkout's root is an ordinary directory (mkdtemp makes it 0700)
    await git(['-c', 'init.defaultBranch=main', 'init', '-q', dir], o);
    await git(['remote', 'add', 'origin', ref.remote], o, dir);
    const fetchSpec = ref.ref && !FULL_SHA.test(ref.ref) ? ref.ref : commit;
    try {
      await git(['fetch', '-q', '--depth=1', '--no-tags', 'origin', fetchSpec], o, dir);
    } catch {
      // a server that serves no shallow fetch or no fetch by commit: the whole history, then the commit
      await git(['fetch', '-q', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], o, dir);
    }
    try {
      await git(['checkout', '-q', '--detach', commit], o, dir);
    } catch {
      throw new LayerwiseError('build', `${ref.displayRemote}: commit ${commit} could not be fetched (did the ref move while fetching?)`);
    }
    if (ref.ref && !FULL_SHA.test(ref.ref) && ref.keepGitDir) {
      // as BuildKit leaves it: the ref checked out by name when it is a branch
      const name = ref.ref.replace(/^refs\/heads\//, '');
      if (!ref.ref.startsWith('refs/tags/')) await git(['checkout', '-q', '-B', name, commit], o, dir).catch(() => undefined);
    }
    if (ref.submodules !== false) {
      await git(['submodule', 'update', '-q', '--init', '--recursive', '--depth=1'], o, dir);
    }
    if (!ref.keepGitDir) await rm(join(dir, '.git'), { recursive: true, force: true });
    const source = ref.subdir ? join(dir, ref.subdir) : dir;
    return { dir, source };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** What identifies a git source in a cache key: the remote (no password), the commit and what is taken of it. */
export function gitCacheKey(ref: GitRef, commit: string): { git: string; commit: string; subdir: string; keepGitDir: boolean; submodules: boolean } {
  return { git: ref.displayRemote, commit, subdir: ref.subdir, keepGitDir: !!ref.keepGitDir, submodules: ref.submodules !== false };
}
