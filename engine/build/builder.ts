/**
 * `layerwise build`: plans the stages a target needs, runs independent stages in parallel, reuses cached steps
 * (BuildKit's cache-key semantics), runs RUN in the namespace sandbox and COPY/ADD in a mount-namespace worker,
 * writes every layer to the store, and reports every step as a build event, with the reason of each miss.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StatCache } from '../context/statcache';
import { parse, stageBase } from '../dockerfile';
import { formatPlatform, resolveScopes, type Scopes } from '../dockerfile/scope';
import { normalizePlatform, parsePlatform } from '../dockerfile/platform';
import type { Dockerfile, Instruction, Stage } from '../dockerfile/types';
import { LayerwiseError } from '../errors';
import { hostPlatform } from '../image/chain';
import type { Descriptor, ImageConfig, Platform } from '../image/types';
import { shortId } from '../image/digest';
import { pullImage } from '../registry/pull';
import type { Store } from '../store/store';
import { writeImage } from '../store/commit';
import { readDockerignoreFor } from '../context/dockerignore';
import { BuildCache, type BuildHistory, type StepInputs } from './cache';
import type { BuildEvent, EventSink, StepEvent } from './events';
import { StageRunner, type StageResult } from './stage';
import { holdCopyWorkers, warmCopyWorker } from './copy-worker';
import { trace } from './trace';
import { onbuildTrigger } from './config';
import { SshForwarder, type SshSpec } from './ssh';
import { checkMemo, contextPrint, memoOptions, writeMemo, type ContextPrint, type Memo } from './memo';

export interface BuildOptions {
  store: Store;
  contextDir: string;
  /** path of the Dockerfile (default: <context>/Dockerfile) */
  dockerfile?: string;
  /** the Dockerfile's text when it does not come from a file (`-f -`) */
  dockerfileText?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** stage names whose steps ignore the cache */
  noCacheFilter?: string[];
  /** secret id -> host file */
  secrets?: Record<string, string>;
  /** `--ssh`: SSH agents (or keys) RUN --mount=type=ssh may use */
  ssh?: SshSpec[];
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** SOURCE_DATE_EPOCH: timestamps in history and layers are clamped to it */
  sourceDateEpoch?: number;
  iidfile?: string;
  /** predict only: compute every step's cache key and look it up, run nothing, write nothing */
  predict?: boolean;
  /** `--label`: labels set on the image (over the Dockerfile's LABELs); no step's cache key depends on them */
  labels?: Record<string, string>;
  /** `--network`: the network of RUN steps without a --network flag of their own (default: `default`) */
  network?: 'default' | 'none' | 'host';
  /** --add-host: names the RUNs' /etc/hosts maps (part of each RUN's cache key, as in BuildKit) */
  extraHosts?: { host: string; ip: string }[];
  /** `--allow`: entitlements the build grants (`security.insecure` lets `RUN --security=insecure` run privileged) */
  allow?: string[];
  /** answer a rebuild in which nothing changed from the build memo, and leave one (memo.ts); the CLI's builds do */
  memo?: boolean;
  /** `--pull`: pull every base image before using it (without it, only those the store does not have) */
  pull?: boolean;
}

/** A base image could not be pulled (what the registry or the network said). */
class PullFailed extends Error {
  constructor(override readonly cause: LayerwiseError) {
    super(cause.message);
  }
}

/** What `predict` finds for a step. */
export interface StepPrediction {
  stage: number;
  index: number;
  keyword: string;
  instruction: string;
  range: import('../dockerfile/types').Range;
  status: 'hit' | 'miss' | 'unknown';
  reason: string;
  cacheKey?: string;
  /** seconds it took when it was last built */
  lastDuration?: number;
}

export interface BuildResult {
  /** predict mode: one entry per filesystem step */
  predictions?: StepPrediction[];
  imageId: string;
  manifest: Descriptor;
  tags: string[];
  steps: { cached: number; built: number; total: number };
}

/** Everything a stage runner needs from the build as a whole. */
export interface BuildContext {
  opts: BuildOptions;
  store: Store;
  cache: BuildCache;
  df: Dockerfile;
  dockerfilePath: string;
  scopes: Scopes;
  /** the ONBUILD triggers each stage's base hands down, parsed (see resolveScopes' `triggers`) */
  triggers: ReadonlyMap<number, readonly Instruction[]>;
  ignore: string[];
  history: BuildHistory | undefined;
  newHistory: StepInputs[];
  created: string;
  emit: (e: BuildEvent) => void;
  nextId: () => number;
  /** the result of a stage, waiting for it when it is still running */
  stageResult: (index: number) => Promise<StageResult>;
  /** an image from the store (for FROM and COPY --from=image) */
  image: (ref: string, platform?: string) => Promise<{ config: ImageConfig; layers: Descriptor[]; id: string; manifestDigest: string }>;
  counts: { cached: number; built: number; total: number };
  predictions: StepPrediction[];
  /** one stat cache for the whole build: context files unchanged since the last build are not read again */
  statCache: StatCache;
  /** the build's SSH agent forwarding (RUN --mount=type=ssh) */
  ssh: SshForwarder;
}

/** The stages `target` needs, in order, as indexes. */
export function neededStages(df: Dockerfile, target: number): Set<number> {
  const byName = stageIndexByName(df);
  const need = new Set<number>();
  const visit = (i: number): void => {
    if (need.has(i)) return;
    need.add(i);
    const st = df.stages[i]!;
    if (st.base.kind === 'stage') visit(st.base.stage);
    for (const ins of st.instructions) for (const ref of stageRefs(ins)) {
      const dep = resolveStageRef(ref.ref, byName, i, ref.numbers);
      if (dep !== undefined) visit(dep);
    }
  };
  visit(target);
  return need;
}

/**
 * FROM with a variable (`ARG BASE=builder` … `FROM $BASE`) names a stage when its expansion with the global ARGs is
 * an earlier stage's name, as BuildKit resolves it; and `FROM $X` with X=scratch is scratch. The parser could only
 * match the names as written: the stages whose expanded name says otherwise get their base set here (a build's own
 * tree, parsed for it).
 */
export function resolveStageBases(df: Dockerfile, expanded: Scopes['stageBase']): void {
  const earlier = new Map<string, number>();
  for (const st of df.stages) {
    if (st.from.from?.image?.value.includes('$')) {
      const image = expanded[st.index]?.image;
      if (image) st.base = stageBase(image, earlier);
    }
    if (st.name) earlier.set(st.name, st.index);
  }
}

/** Each stage's index by its name (lower case). Docker 26 builds a file that names two stages alike: the name is
 *  the last such stage's (BuildKit's table of names is overwritten as stages are added). */
export function stageIndexByName(df: Dockerfile): Map<string, number> {
  const byName = new Map<string, number>();
  df.stages.forEach((s) => s.name && byName.set(s.name, s.index));
  return byName;
}

/** A `COPY --from=x` (numbers: an index may name a stage) or `RUN --mount=…,from=x` (with its target). */
interface StageRef {
  ref: string;
  numbers: boolean;
  mountTarget?: string;
}

/** `COPY --from=x` and `RUN --mount=…,from=x` references in an instruction. */
export function stageRefs(ins: Instruction): StageRef[] {
  const out: StageRef[] = [];
  if (ins.keyword === 'COPY') for (const f of ins.flags) if (f.name === 'from' && f.value) out.push({ ref: f.value, numbers: true });
  for (const m of ins.mounts ?? []) {
    const target = m.options.find((o) => o.key === 'target' || o.key === 'dst' || o.key === 'destination')?.value ?? '';
    for (const o of m.options) if (o.key === 'from' && o.value) out.push({ ref: o.value, numbers: false, mountTarget: target });
  }
  return out;
}

/** A stage index for a reference, or undefined when it names an image. Numbers name earlier stages for COPY
 *  --from, not for a mount's from= (an image named `0`, as BuildKit reads it). Only references checkStageRefs
 *  let through reach this: a stage named is always an earlier one. */
export function resolveStageRef(ref: string, byName: Map<string, number>, current: number, numbers = true): number | undefined {
  const lower = ref.toLowerCase();
  if (byName.has(lower) && byName.get(lower)! < current) return byName.get(lower);
  if (numbers && /^\d+$/.test(ref) && Number(ref) < current) return Number(ref);
  return undefined;
}

/** One reference of a stage to another: COPY --from or a mount's from=. */
interface StageEdge {
  to: number;
  ins: Instruction;
  written: string;
  /** the mount's target, for a mount */
  mountTarget?: string;
}

function stageLabel(df: Dockerfile, i: number): string {
  return df.stages[i]!.name ?? `stage-${i}`;
}

/**
 * The references between stages, checked as BuildKit's Dockerfile frontend checks them, with its errors: a COPY
 * --from number out of range (`invalid stage index 2`, for any stage), a cycle (`circular dependency detected on
 * stage: a`, at the instruction that starts it), and, in the stages the target needs, a stage used before it is
 * defined. A name is looked up among all stages (a COPY --from number is an index; a mount's from= is a name or
 * an image).
 */
export function checkStageRefs(df: Dockerfile, needed: ReadonlySet<number>, file: string): void {
  const byName = stageIndexByName(df);
  const edges: StageEdge[][] = df.stages.map(() => []);
  for (const st of df.stages) {
    for (const ins of st.instructions) {
      for (const r of stageRefs(ins)) {
        if (r.numbers && /^[+-]?\d+$/.test(r.ref)) {
          const n = Number(r.ref);
          if (n < 0 || n >= df.stages.length) throw new LayerwiseError('build', `invalid stage index ${n}`);
          edges[st.index]!.push({ to: n, ins, written: r.ref });
        } else if (byName.has(r.ref.toLowerCase())) {
          edges[st.index]!.push({ to: byName.get(r.ref.toLowerCase())!, ins, written: r.ref, ...(r.mountTarget !== undefined ? { mountTarget: r.mountTarget } : {}) });
        }
      }
    }
  }
  // a depth-first walk in stage order; a stage met again on the current path closes a cycle
  const state = new Map<number, 'open' | 'done'>();
  const walk = (i: number): void => {
    state.set(i, 'open');
    for (const e of edges[i]!) {
      if (state.get(e.to) === 'open') {
        const first = edges[e.to]!.find((x) => x.to === i || state.get(x.to) === 'open') ?? e;
        throw new LayerwiseError('build', `circular dependency detected on stage: ${stageLabel(df, e.to)}`, { range: first.ins.range, file });
      }
      if (!state.has(e.to)) walk(e.to);
    }
    state.set(i, 'done');
  };
  for (const st of df.stages) if (!state.has(st.index)) walk(st.index);
  for (const i of [...needed].sort((a, b) => a - b)) {
    for (const e of edges[i]!) {
      if (e.to < i) continue;
      const message =
        e.mountTarget === undefined
          ? `cannot copy from stage "${e.written}", it needs to be defined before current stage "${stageLabel(df, i)}"`
          : `cannot mount from stage "${e.written}" to "${e.mountTarget}", stage needs to be defined before current command`;
      throw new LayerwiseError('build', message, { range: e.ins.range, file });
    }
  }
}

function failSyntax(df: Dockerfile, file: string, text: string): void {
  const err = df.problems.find((p) => p.severity === 'error');
  // as BuildKit words these two: an empty file before it is parsed, one with no instruction at its last line
  if (err?.code === 'NoInstructions') {
    if (text === '') throw new LayerwiseError('syntax', 'the Dockerfile cannot be empty');
    const line = Math.max(0, text.split('\n').length - (text.endsWith('\n') ? 2 : 1));
    throw new LayerwiseError('syntax', 'file with no instructions', { range: { start: { line, character: 0 }, end: { line, character: 0 } }, file });
  }
  if (!err) return;
  // BuildKit prefixes the errors of its instruction parser, not those of the line parser before it (a JSON array of
  // non-strings, an ENV or LABEL word without `=`) or of the --mount options, read when the RUN is planned
  const message = UNPREFIXED_PROBLEMS.has(err.code) ? err.message : `dockerfile parse error on line ${err.range.start.line + 1}: ${err.message}`;
  throw new LayerwiseError('syntax', message, { range: err.range, file });
}

const UNPREFIXED_PROBLEMS = new Set(['InvalidJSON', 'EnvMissingValue', 'EnvMissingEquals', 'InvalidMount']);

function defaultDockerfile(contextDir: string): string {
  const upper = resolve(contextDir, 'Dockerfile');
  if (existsSync(upper)) return upper;
  const lower = resolve(contextDir, 'dockerfile');
  return existsSync(lower) ? lower : upper;
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const t0 = Date.now();
  trace('build start');
  const store = opts.store;
  if (!opts.predict) await store.cleanTemp().catch(() => undefined); // temp dirs of builds that were killed
  const contextDir = resolve(opts.contextDir);
  // no -f: PATH/Dockerfile, else PATH/dockerfile, as BuildKit's frontend falls back to the lower-case name
  const dockerfilePath = resolve(opts.dockerfile ?? defaultDockerfile(contextDir));
  // a build that may leave a memo keeps its step events for the memo's replay (not the logs: a RUN's output can
  // be large, and a replay shows none)
  let stepEvents: StepEvent[] | undefined;
  const emit = (e: BuildEvent): void => {
    if (stepEvents && e.type === 'step') stepEvents.push(e);
    opts.onEvent?.(e);
  };
  const counts = { cached: 0, built: 0, total: 0 };
  const ssh = new SshForwarder(opts.ssh ?? []);
  try {
    let text = opts.dockerfileText;
    if (text === undefined) {
      try {
        text = await readFile(dockerfilePath, 'utf8');
      } catch {
        throw new LayerwiseError('not-found', `failed to read dockerfile: open ${dockerfilePath}: no such file or directory`);
      }
    }
    // the build memo: a rebuild in which nothing changed is answered without planning (memo.ts)
    const memoOn =
      opts.memo === true && !opts.predict && !opts.noCache && !opts.pull && !opts.noCacheFilter?.length && opts.dockerfileText === undefined &&
      !Object.keys(opts.secrets ?? {}).length && !opts.ssh?.length && !opts.signal?.aborted;
    let early: Awaited<ReturnType<typeof readDockerignoreFor>> | undefined;
    let memoKey = '';
    let print: ContextPrint | undefined;
    if (memoOn) {
      early = await readDockerignoreFor(contextDir, dockerfilePath);
      memoKey = memoOptions({ dockerfilePath, contextDir, target: opts.target, buildArgs: opts.buildArgs, labels: opts.labels, network: opts.network, sourceDateEpoch: opts.sourceDateEpoch, ...(opts.extraHosts?.length ? { extraHosts: opts.extraHosts } : {}) });
      const session = await store.writeSession();
      try {
        const r = await checkMemo({ store, options: memoKey, dockerfileText: text, ignore: ignorePatterns(early), contextDir });
        print = r.print;
        if (r.memo) return await replayMemo(r.memo, opts, { t0, dockerfilePath, contextDir, emit });
      } finally {
        await session.release();
      }
      trace('memo: missed');
    }
    if (memoOn) stepEvents = [];
    const df = parse(text);
    trace('parsed');
    failSyntax(df, dockerfilePath, text);
    if (df.stages.length === 0) throw new LayerwiseError('syntax', 'the Dockerfile has no FROM');
    // each FROM's base name and platform, expanded with the global ARGs (what they name does not change that)
    const bases = resolveScopes(df, { ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}) }).stageBase;
    resolveStageBases(df, bases);

    let target = df.stages.length - 1;
    if (opts.target) {
      const t = df.stages.find((s) => s.name === opts.target!.toLowerCase());
      if (!t) throw new LayerwiseError('usage', `failed to solve: target stage "${opts.target}" could not be found`);
      target = t.index;
    }
    const needed = neededStages(df, target);
    checkStageRefs(df, needed, dockerfilePath);
    emit({ v: 1, type: 'build-start', time: t0, dockerfile: dockerfilePath, context: contextDir, ...(opts.target ? { target: opts.target } : {}), tags: opts.tags ?? [] });

    const platform = hostPlatform();
    const resolvedImages = new Map<string, string>();
    const images = new Map<string, Promise<{ config: ImageConfig; layers: Descriptor[]; id: string; manifestDigest: string }>>();
    // A base image the store does not have is pulled (as BuildKit over Docker's image store does); with --pull,
    // every base image is pulled first, so that a newer one under the same name is used. Its progress goes out
    // as log lines of the build (id 0: before any step).
    const pullBase = async (ref: string, want: Platform | undefined): Promise<void> => {
      const say = (text: string) => emit({ v: 1, type: 'log', id: 0, stream: 'stderr', text: `${text}\n` });
      say(`pulling ${ref}${want ? ` for ${formatPlatform(want)}` : ''}`);
      try {
        const r = await pullImage(store, ref, {
          ...(want ? { platform: want } : {}),
          onLayer: (digest, status) => {
            if (status !== 'Download complete') say(`${shortId(digest)}: ${status}`);
          },
        });
        say(`${ref}: ${r.upToDate ? 'up to date' : 'pulled'} (digest ${r.digest})`);
      } catch (e) {
        throw new PullFailed(e instanceof LayerwiseError ? e : new LayerwiseError('network', e instanceof Error ? e.message : String(e)));
      }
    };
    // (a prediction, which the editor asks for as the user types, never pulls)
    const resolveOrPull = async (ref: string, want: Platform | undefined) => {
      if (opts.pull && !opts.predict) await pullBase(ref, want);
      try {
        return await store.images.resolve(ref, want ? { platform: want } : {});
      } catch (e) {
        if (opts.pull || opts.predict || !(e instanceof LayerwiseError && e.kind === 'not-found')) throw e;
        try {
          await pullBase(ref, want);
        } catch (p) {
          // not in the store (or not for that platform), and the registry cannot give it either: both said
          const local = /^no manifest for /.test(e.message) ? e.message : 'no such image in the local store';
          if (p instanceof PullFailed) throw new PullFailed(new LayerwiseError(p.cause.kind, `${local}, and pulling it failed: ${p.cause.message}`));
          throw p;
        }
        return store.images.resolve(ref, want ? { platform: want } : {});
      }
    };
    // `platform` as FROM --platform writes it: the manifest for it, out of a multi-platform image
    const image = (ref: string, platformText?: string) => {
      const want = platformText ? parsePlatform(platformText) : undefined;
      const key = want ? `${ref}\n${formatPlatform(want)}` : ref;
      let p = images.get(key);
      if (!p) {
        p = resolveOrPull(ref, want).then(
          (r) => {
            resolvedImages.set(ref, r.manifestDescriptor.digest);
            return { config: r.config, layers: r.manifest.layers, id: r.id, manifestDigest: r.manifestDescriptor.digest };
          },
          (e: unknown) => {
            // as BuildKit words a name that is not a reference (`FROM Builder`, `FROM a@@b`)
            if (e instanceof LayerwiseError && e.kind === 'invalid') throw new LayerwiseError('invalid', `failed to parse stage name "${ref}": ${e.message}`);
            if (e instanceof LayerwiseError && e.kind === 'not-found') {
              // (a multi-platform image without the platform asked for says which it has)
              const why = /^no manifest for /.test(e.message) ? e.message : 'no such image in the local store (load, import or pull it first)';
              throw new LayerwiseError('not-found', `failed to resolve source metadata for ${ref}: ${why}`);
            }
            if (e instanceof PullFailed) throw new LayerwiseError(e.cause.kind, `failed to resolve source metadata for ${ref}: ${e.cause.message}`);
            throw e;
          },
        );
        images.set(key, p);
      }
      return p;
    };

    // expand FROM lines once to find base images, then resolve the scopes with the base images' ENV
    const baseEnv = new Map<number, Record<string, string>>();
    // the ONBUILD triggers each stage's base hands down (an earlier stage's ONBUILD lines, or the image's), parsed
    // once: the scopes count their ARG and ENV, and the stage runs these very instructions
    const triggers = new Map<number, Instruction[]>();
    const parseTriggers = (list: readonly string[]): Instruction[] => list.flatMap((t) => parse(t).instructions);
    for (const i of needed) {
      const st = df.stages[i]!;
      if (st.base.kind === 'stage') {
        const own = df.stages[st.base.stage]!.instructions.filter((x) => x.keyword === 'ONBUILD').map(onbuildTrigger);
        if (own.length) triggers.set(i, parseTriggers(own));
        continue;
      }
      if (st.base.kind !== 'image') continue;
      const ref = bases[i]!.image;
      // as BuildKit says it, with the name as written
      if (ref === '') throw new LayerwiseError('build', `base name (${st.from.from?.image?.value ?? ''}) should not be blank`, { range: st.from.range, file: dockerfilePath });
      try {
        // FROM --platform: the manifest for that platform (of a multi-platform image), which must then be for it (a
        // single-platform image of another one: BuildKit would pull the right one; a build here pulls nothing). An
        // empty value, or one that does not parse, is left to BuildKit's own checks. (os and architecture, as the
        // language server's InvalidBaseImagePlatform compares them)
        const written = bases[i]!.platform;
        const want = written ? parsePlatform(written) : undefined;
        const img = await image(ref, want ? written : undefined);
        if (want && img.config.os && img.config.architecture) {
          const have = normalizePlatform({ os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) });
          if (have.os !== want.os || have.architecture !== want.architecture) {
            throw new LayerwiseError('not-found', `failed to resolve source metadata for ${ref}: the local store has it for ${formatPlatform(have)}, not ${written} (load or pull it for ${written} first)`);
          }
        }
        const onbuild = img.config.config?.OnBuild ?? [];
        if (onbuild.length) triggers.set(i, parseTriggers(onbuild));
        const env: Record<string, string> = {};
        for (const e of img.config.config?.Env ?? []) {
          const eq = e.indexOf('=');
          if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
        }
        baseEnv.set(i, env);
      } catch (e) {
        if (e instanceof LayerwiseError) throw new LayerwiseError(e.kind, e.message, { range: st.from.range, file: dockerfilePath });
        throw e;
      }
    }
    trace('base images read');
    const scopes = resolveScopes(df, {
      ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
      baseImageEnv: (st: Stage) => baseEnv.get(st.index),
      triggers: (st: Stage) => triggers.get(st.index),
    });
    const cache = new BuildCache(store.cacheDir, store.tmpDir);
    // three reads at once: the .dockerignore, the last build's history, the stat cache
    const [ignoreFile, history, statCache] = await Promise.all([
      early ?? readDockerignoreFor(contextDir, dockerfilePath),
      cache.history(dockerfilePath),
      StatCache.load(join(store.cacheDir, 'stat')),
    ]);
    const ignore = ignorePatterns(ignoreFile);
    // the context as it is before any step reads it, for the memo this build leaves
    if (memoOn && !print) print = await contextPrint(contextDir, ignore);
    const epoch = opts.sourceDateEpoch;
    const created = new Date(epoch !== undefined ? epoch * 1000 : Date.now()).toISOString().replace(/\.000Z$/, 'Z');
    let idCounter = 0;
    const results = new Map<number, Promise<StageResult>>();
    const ctx: BuildContext = {
      opts,
      store,
      cache,
      df,
      dockerfilePath,
      scopes,
      triggers,
      ignore,
      history,
      newHistory: [],
      created,
      emit,
      nextId: () => ++idCounter,
      stageResult: (i) => {
        const r = results.get(i);
        if (!r) throw new LayerwiseError('internal', `stage ${i} is not part of this build`);
        return r;
      },
      image,
      counts,
      predictions: [],
      statCache,
      ssh,
    };
    if (opts.predict) {
      await Promise.allSettled(
        [...needed].sort((a, b) => a - b).map((i) => {
          const p = new StageRunner(ctx, df.stages[i]!, platform).run();
          results.set(i, p);
          return p;
        }),
      );
      await ctx.statCache.save();
      const predictions = ctx.predictions.sort((a, b) => a.range.start.line - b.range.start.line);
      return { predictions, imageId: '', manifest: { mediaType: '', digest: '', size: 0 }, tags: [], steps: counts };
    }
    trace('context ready');
    const session = await store.writeSession();
    const releaseWorkers = holdCopyWorkers();
    // The copy worker starts now, beside the base image's unpacking and the hashing of the context, when a COPY,
    // ADD or WORKDIR step will run (the first build of this Dockerfile) or may run: a COPY/ADD from the context
    // misses whenever a file changed, which is known only once the context is hashed — starting the worker then
    // would put its start-up on the build's critical path. An all-cached build ends it unused (a process start on
    // the other core, no wait).
    const fsSteps = [...needed].flatMap((i) => df.stages[i]!.instructions.filter((ins) => ins.keyword === 'COPY' || ins.keyword === 'ADD' || ins.keyword === 'WORKDIR'));
    const fromContext = fsSteps.some((ins) => ins.keyword !== 'WORKDIR' && !ins.flags.some((f) => f.name === 'from'));
    if (fsSteps.length && (!history || opts.noCache || fromContext)) warmCopyWorker();
    try {
      // every needed stage starts at once; each waits for the stages it reads from
      for (const i of [...needed].sort((a, b) => a - b)) {
        const runner = new StageRunner(ctx, df.stages[i]!, platform);
        const p = runner.run();
        p.catch(() => undefined);
        results.set(i, p);
      }
      const all = await Promise.allSettled([...results.values()]);
      const failed = all.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const final = await results.get(target)!;
      trace('stages done');

      const config: ImageConfig = final.config;
      config.rootfs = { type: 'layers', diff_ids: final.diffIds };
      if (opts.labels && Object.keys(opts.labels).length) {
        config.config = { ...config.config, Labels: { ...config.config?.Labels, ...opts.labels } };
      }
      const { manifest } = await writeImage(store.content, { config, layers: final.layers });
      const tags = opts.tags ?? [];
      // a tag that already names this manifest is left as it is (a no-op build rewrites nothing)
      if (tags.length) {
        for (const t of tags) if ((await store.images.get(t).catch(() => undefined))?.target.digest !== manifest.digest) await store.images.put(t, manifest);
      } else await store.images.putDangling(manifest);
      const imageId = manifest.digest ? (await store.images.resolve(manifest.digest).catch(() => undefined))?.id ?? '' : '';
      const id = imageId || final.configDigest;
      trace('image written');
      // the same image from the same steps: the history on disk already says so
      const sameHistory = history && history.imageId === id && JSON.stringify(history.steps) === JSON.stringify(ctx.newHistory);
      await Promise.all([
        ctx.statCache.save(),
        sameHistory ? undefined : cache.saveHistory({ v: 1, dockerfile: dockerfilePath, time: new Date().toISOString(), imageId: id, steps: ctx.newHistory }),
        opts.iidfile ? writeFile(opts.iidfile, id) : undefined,
      ]);
      trace('history written');
      // a step that read from outside (ADD of a URL or a git repository) checks its source again at every build: no memo
      // (COPY --from's content digest is not from outside: the build's own stages or images the memo checks)
      if (memoOn && print && stepEvents && !opts.signal?.aborted && !ctx.newHistory.some((s) => s.remote?.some((r) => !r.source.startsWith('--from=')))) {
        const wrote = await writeMemo({
          store,
          options: memoKey,
          dockerfileText: text,
          ignore,
          contextDir,
          print,
          images: resolvedImages,
          events: stepEvents,
          imageId: id,
          manifest,
          total: counts.total,
        }).catch(() => false); // the memo only saves time: a build that could not leave one still succeeded
        trace(wrote ? 'memo written' : 'memo not written');
      }
      emit({ v: 1, type: 'build-end', time: Date.now(), ok: true, imageId: id, duration: (Date.now() - t0) / 1000, steps: counts });
      return { imageId: id, manifest, tags, steps: counts };
    } finally {
      releaseWorkers();
      await session.release();
    }
  } catch (e) {
    const err = e instanceof LayerwiseError ? e : new LayerwiseError('internal', e instanceof Error ? e.message : String(e), { cause: e });
    emit({
      v: 1,
      type: 'build-end',
      time: Date.now(),
      ok: false,
      duration: (Date.now() - t0) / 1000,
      error: { message: err.message, ...(err.range ? { range: err.range } : {}), ...(err.file ? { file: err.file } : {}) },
      steps: counts,
    });
    throw err;
  } finally {
    await ssh.close();
  }
}

function ignorePatterns(f: { file: { patterns: { exclusion: boolean; cleaned: string }[] } }): string[] {
  return f.file.patterns.map((p) => (p.exclusion ? '!' : '') + p.cleaned);
}

/** A memo hit: the events, tags and image ID of the all-cached rebuild it stands for. */
async function replayMemo(
  memo: Memo,
  opts: BuildOptions,
  b: { t0: number; dockerfilePath: string; contextDir: string; emit: (e: BuildEvent) => void },
): Promise<BuildResult> {
  const { store } = opts;
  const tags = opts.tags ?? [];
  b.emit({ v: 1, type: 'build-start', time: b.t0, dockerfile: b.dockerfilePath, context: b.contextDir, ...(opts.target ? { target: opts.target } : {}), tags });
  for (const e of memo.events) b.emit({ ...e });
  const manifest = memo.manifest;
  if (tags.length) {
    for (const t of tags) if ((await store.images.get(t).catch(() => undefined))?.target.digest !== manifest.digest) await store.images.put(t, manifest);
  } else await store.images.putDangling(manifest);
  if (opts.iidfile) await writeFile(opts.iidfile, memo.imageId);
  trace('memo: replayed');
  b.emit({ v: 1, type: 'build-end', time: Date.now(), ok: true, imageId: memo.imageId, duration: (Date.now() - b.t0) / 1000, steps: { ...memo.steps } });
  return { imageId: memo.imageId, manifest, tags, steps: { ...memo.steps } };
}

export function stepEvent(base: Omit<StepEvent, 'v' | 'type'>): StepEvent {
  return { v: 1, type: 'step', ...base };
}
