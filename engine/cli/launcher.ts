/**
 * dist/cli.js: starts the CLI bundle (dist/cli-main.js) with a V8 code cache, so that a command does not spend
 * its first ~30 ms compiling 600 KB of JavaScript again at every start.
 *
 * On Node >= 22.1 this is node's own `module.enableCompileCache()`. On Node 20 the bundle is compiled as a
 * `vm.Script` with `cachedData` (the way node's CommonJS loader would run it: the same module wrapper,
 * `require`, `module`, `__filename`), and the cache is written at exit when there was none or V8 rejected it
 * (another node, other flags, a changed bundle: the key covers the bundle's size and mtime and node's version).
 * One cache file per command, because V8 stores only the functions that ran: a `build` caches the builder, an
 * `images` the table printer; writing one removes that command's files for other bundles (an upgrade, a rebuild).
 *
 * The cache lives in `$LAYERWISE_CODE_CACHE`, else `$XDG_CACHE_HOME/layerwise/code-cache` (`~/.cache/…`);
 * `LAYERWISE_CODE_CACHE=off` turns it off. Any problem with it (unwritable, corrupt, half-written by a killed
 * process) only means compiling without it: the cache is written to a temporary name and renamed, and each file
 * carries the sha256 of its data, checked before V8 sees it — V8 itself checks only a header (its version, flags and
 * the source's length), and a cache whose body is damaged crashes the process that uses it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vm from 'node:vm';
import { trace } from '../build/trace';

const MAIN = join(__dirname, 'cli-main.js');

function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.LAYERWISE_CODE_CACHE;
  if (v === 'off' || v === '0') return undefined;
  if (v) return v;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'layerwise', 'code-cache');
}

/** The command word (`build`, `images`, …) the launcher keeps a code cache for: the first argument after the
 *  global options (`--root DIR`, `--root=DIR`, flags); `none` without one, `other` for anything unusual. */
export function commandWord(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root') i++;
    else if (!a.startsWith('-')) return /^[a-z_-]{1,32}$/.test(a) ? a : 'other';
  }
  return 'none';
}

/** `cli-<node version>-<arch>-`: the start of the names of this node's cache files */
function cacheKeyPrefix(): string {
  return `cli-${`${process.version}-${process.arch}`.replace(/[^\w.-]/g, '_')}-`;
}

function cacheFile(dir: string, argv: readonly string[]): string {
  const st = statSync(MAIN);
  return join(dir, `${cacheKeyPrefix()}${st.size}-${Math.floor(st.mtimeMs)}-${commandWord(argv)}.bin`);
}

/** Removes this command's caches for other bundles (an upgrade, a rebuild) run by this node: one file a command
 *  and node stays (another node, e.g. the editor's Electron, keeps its own, or each would throw the other's away). */
function removeStale(dir: string, current: string): void {
  const name = current.slice(current.lastIndexOf('/') + 1);
  const command = name.slice(name.lastIndexOf('-'));
  const node = cacheKeyPrefix();
  for (const f of readdirSync(dir)) {
    if (f !== name && f.startsWith(node) && f.endsWith(command)) {
      try {
        unlinkSync(join(dir, f));
      } catch {
        /* another process took it */
      }
    }
  }
}

const MAGIC = Buffer.from('LWCC1\n');

/** The file's bytes: MAGIC, the sha256 of the data, the data (V8's cached data). */
export function wrapCache(data: Buffer): Buffer {
  return Buffer.concat([MAGIC, createHash('sha256').update(data).digest(), data]);
}

/** The data of a cache file, or undefined when it is not one or its data is damaged. */
export function unwrapCache(file: Buffer): Buffer | undefined {
  const start = MAGIC.length + 32;
  if (file.length <= start || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const data = file.subarray(start);
  return createHash('sha256').update(data).digest().equals(file.subarray(MAGIC.length, start)) ? data : undefined;
}

/** Runs dist/cli-main.js as node would, with its code cache. Returns the module's exports. */
function loadWithCache(dir: string): Record<string, unknown> {
  const file = cacheFile(dir, process.argv.slice(2));
  let cached: Buffer | undefined;
  let damaged = false;
  try {
    cached = unwrapCache(readFileSync(file));
    damaged = cached === undefined;
  } catch {
    cached = undefined;
  }
  let source = readFileSync(MAIN, 'utf8');
  if (source.startsWith('#!')) source = '//' + source.slice(2);
  const script = new vm.Script(Module.wrap(source), {
    filename: MAIN,
    ...(cached ? { cachedData: cached } : {}),
    importModuleDynamically: vm.constants!.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  trace(`code cache ${damaged ? 'damaged' : !cached ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}`);
  if (!cached || script.cachedDataRejected) {
    // written once the command is done, so that it holds every function the command compiled
    process.once('exit', () => {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(tmp, wrapCache(script.createCachedData()));
        renameSync(tmp, file);
        removeStale(dir, file);
      } catch {
        // no cache this time (a full disk, say), and no half-written file left behind
        try {
          unlinkSync(tmp);
        } catch {
          /* never written */
        }
      }
    });
  }
  const m = new Module(MAIN, module);
  m.filename = MAIN;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(MAIN));
  const req = Module.createRequire(MAIN);
  const fn = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: Module, filename: string, dirname: string) => void;
  fn.call(m.exports, m.exports, req, m, MAIN, dirname(MAIN));
  m.loaded = true;
  return m.exports as Record<string, unknown>;
}

function load(): Record<string, unknown> {
  const dir = cacheDir(process.env);
  const compileCache = (Module as unknown as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (dir && compileCache) {
    compileCache(dir);
    return require(MAIN) as Record<string, unknown>;
  }
  if (dir && vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER) return loadWithCache(dir);
  return require(MAIN) as Record<string, unknown>;
}

if (require.main === module) (load().cliEntry as () => void)();
