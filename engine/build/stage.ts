/**
 * One build stage: starts from its base (an image, an earlier stage or scratch), runs ONBUILD triggers of the base,
 * then each instruction. Filesystem steps (RUN, COPY, ADD, WORKDIR) are looked up in the cache by key and built on
 * a miss; metadata steps change the image config. Every step is reported as a build event.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tempName, writeFileAtomic } from '../store/fs-atomic';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from '../dockerfile';
import { expandInstruction, shellEnv, type Expanded, type Vars } from '../dockerfile/scope';
import { expandWord, type ShellEnv } from '../dockerfile/shell';
import type { Instruction, Stage } from '../dockerfile/types';
import { LayerwiseError } from '../errors';
import { chainIds } from '../image/chain';
import { ociLayerType } from '../image/mediatypes';
import type { Descriptor, ImageConfig, Platform } from '../image/types';
import { writeLayer, type LayerWriteOptions } from '../layers';
import { hashPaths, type HashResult } from '../context/hash';
import { runSandboxed, type SandboxMount } from '../runtime/sandbox';
import { cacheKey, sha256Hex, type CacheRecord, type StepInputs } from './cache';
import { applyMetadata, envGet, envSet, historyEntry, shellOf, startConfig, type StageConfig } from './config';
import { parsePasswd } from '../runtime/users';
import { hashSourcePaths, runCopyJob } from './copy-worker';
import { clean, type CopySource } from './copy';
import { checkoutGit, gitCacheKey, parseGitRef, resolveGitCommit, resolveGitCommitRecent, type GitOptions, type GitRef } from './git-source';
import type { BuildContext } from './builder';
import { resolveStageRef, stageIndexByName, stepEvent } from './builder';
import { explainMiss, findPrevious } from './explain';
import { pruneCopiedUpDirs } from './prune';
import { planIdMap } from '../runtime/idmap';
import type { MissReason, StepEvent } from './events';
import { trace } from './trace';
import { goQuote } from '../dockerfile/text';
import { chmodMode } from '../dockerfile/flags';
import { planMounts, type MountHost } from './stage-mounts';
import { httpGet, type Downloaded } from './download';

type ArgDeclaration = NonNullable<Instruction['argDeclarations']>[number];

/** where a RUN heredoc script (`#!`) is mounted, as BuildKit does */
const PIPES = '/dev/pipes';

export interface StageResult {
  config: ImageConfig;
  layers: Descriptor[];
  diffIds: string[];
  /** cache key of the last filesystem step (the stage's identity for dependants) */
  fsKey: string;
  /** a prediction: a step of this stage would be rebuilt, so its files are not known (COPY --from it is a miss) */
  predictedIncomplete?: boolean;
  /** ARGs declared so far (a child stage inherits them, as BuildKit's RUN history shows) */
  argDecls: { key: string; value: string | undefined }[];
  configDigest: string;
}

const FS_KEYWORDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

/** A step that ran and whose layer is still being written (StageRunner.deferCommit). */
interface DeferredRecord {
  deferred: true;
  /** the step's upper dir: its changes, the top lower dir of the next step until it is adopted */
  upper: string;
  created: string;
  /** the layer written and adopted, the temp dir removed: the cache record */
  finish: () => Promise<CacheRecord>;
}

export class StageRunner {
  private st!: StageConfig;
  private layers: Descriptor[] = [];
  private diffIds: string[] = [];
  private fsKey = '';
  private predictedIncomplete = false;
  private lastFs: { instruction: string; line: number; missed: boolean } | undefined;
  /** ARGs declared in this stage (and inherited), in order, with the values they got */
  private argDecls: { key: string; value: string | undefined }[] = [];
  /** history time of the newest step: a cached step keeps the time it was built, so a rebuild is the same image */
  lastCreated = '';
  /**
   * A stage FROM scratch has no time of its own until its first layer: the history entries of the instructions
   * before it wait here and get that layer's time (as BuildKit's exporter fills them: the first new layer's time),
   * so an all-cached rebuild is the same image; with no layer at all, the build's time.
   */
  private untimed: import('../image/types').HistoryEntry[] | undefined;

  /** The newest step's time is now `created`: the entries that waited for one get it too. */
  private timed(created: string): void {
    this.lastCreated = created;
    if (this.untimed) {
      for (const h of this.untimed) h.created = created;
      this.untimed = undefined;
    }
  }
  private index = 0;
  private total = 0;
  private readonly label: string;
  private readonly noCache: boolean;

  constructor(
    private readonly ctx: BuildContext,
    private readonly stage: Stage,
    private readonly platform: Platform,
  ) {
    this.label = stage.name ?? `stage-${stage.index}`;
    const filter = ctx.opts.noCacheFilter ?? [];
    this.noCache = !!ctx.opts.noCache || filter.includes(stage.name ?? '') || filter.includes(String(stage.index));
  }

  /** context hashes of COPY/ADD steps, started when the stage starts (by instruction; the paths they hash) */
  private readonly prehashed = new Map<Instruction, { paths: string; hash: Promise<HashResult> }>();

  private prehashStarted = false;

  /**
   * Starts hashing the context sources of the COPY/ADD steps after `after`, one after another, while a RUN
   * runs: the hashes depend on the context only, not on earlier steps. (Not earlier: the hashing is mostly
   * synchronous, and would hold up the steps before.)
   */
  private prehash(after: Instruction): void {
    const { ctx } = this;
    if (this.prehashStarted) return;
    this.prehashStarted = true;
    let chain: Promise<unknown> = Promise.resolve();
    const start = this.stage.instructions.indexOf(after);
    if (start < 0) return;
    for (const ins of this.stage.instructions.slice(start + 1)) {
      if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
      if (ins.flags.some((f) => f.name === 'from')) continue;
      const ex = expandInstruction(ins, ctx.scopes.before.get(ins) ?? new Map(), ctx.df.escape);
      if (ex.errors.length) continue;
      const heredocs = new Set(ins.heredocs.map((h) => h.name));
      const paths: string[] = [];
      for (const w of ex.words.slice(0, -1)) {
        const m = /^\d*<<-?\s*(.+)$/.exec(w.value);
        if (m && heredocs.has(m[1]!.replace(/^["']|["']$/g, ''))) continue;
        if (/^https?:\/\/|^git@/.test(w.value)) continue;
        paths.push(w.value);
      }
      if (!paths.length) continue;
      const hash = chain.then(async () => {
        trace(`prehash ${ins.keyword} start`);
        const h = await hashPaths(this.ctxDir(), paths, { exclude: ctx.ignore, statCache: ctx.statCache });
        trace(`prehash ${ins.keyword} done (${h.stats.filesRead} files read)`);
        return h;
      });
      hash.catch(() => undefined); // reported by the step that uses it
      chain = hash.catch(() => undefined);
      this.prehashed.set(ins, { paths: JSON.stringify(paths), hash });
    }
  }

  async run(): Promise<StageResult> {
    const { ctx, stage } = this;
    this.total = 1 + stage.instructions.filter((i) => FS_KEYWORDS.has(i.keyword)).length;
    await this.from();
    try {
      for (const ins of stage.instructions) {
        if (ctx.opts.signal?.aborted) throw new LayerwiseError('build', 'build cancelled');
        await this.step(ins, ctx.scopes.before.get(ins) ?? new Map());
      }
      await this.settle();
    } finally {
      // a failed stage: the layer still being written is finished (or fails) before its temp dir goes
      await this.settle().catch(() => undefined);
      for (const c of this.cleanups.splice(0)) await c();
    }
    this.st.config.rootfs = { type: 'layers', diff_ids: [...this.diffIds] };
    this.untimed = undefined; // (no layer came: they keep the build's time)
    this.st.config.created = this.lastCreated;
    return {
      config: this.st.config,
      layers: this.layers,
      diffIds: this.diffIds,
      fsKey: this.fsKey,
      argDecls: this.argDecls,
      configDigest: 'sha256:' + sha256Hex(JSON.stringify(this.st.config)),
      ...(this.predictedIncomplete ? { predictedIncomplete: true } : {}),
    };
  }

  private get file(): string {
    return this.ctx.dockerfilePath;
  }

  private fail(ins: Instruction, message: string, kind: 'build' | 'not-found' | 'invalid' = 'build'): never {
    throw new LayerwiseError(kind, message, { range: ins.range, file: this.file });
  }

  private async from(): Promise<void> {
    const { ctx, stage } = this;
    const id = ctx.nextId();
    const t = Date.now();
    const base = ctx.scopes.stageBase[stage.index]!;
    const text = `FROM ${base.image}${stage.name ? ' AS ' + stage.name : ''}`;
    this.index = 1;
    const ev = { id, stage: stage.index, stageName: this.label, ...(this.ctx.df.stages.length > 1 ? { multiStage: true } : {}), index: 1, total: this.total, instruction: text, range: stage.from.range };
    ctx.emit(stepEvent({ ...ev, status: 'running' }));
    let config: ImageConfig | undefined;
    let onbuild: string[] = [];
    if (stage.base.kind === 'stage') {
      const r = await ctx.stageResult(stage.base.stage);
      config = r.config;
      this.layers = [...r.layers];
      this.diffIds = [...r.diffIds];
      this.fsKey = r.fsKey;
      this.argDecls = [...r.argDecls];
      onbuild = r.config.config?.OnBuild ?? [];
    } else if (stage.base.kind === 'image') {
      const img = await ctx.image(base.image, base.platform);
      config = img.config;
      this.layers = [...img.layers];
      this.diffIds = [...(img.config.rootfs?.diff_ids ?? [])];
      this.fsKey = cacheKey({ op: 'image', manifest: img.manifestDigest });
      onbuild = img.config.config?.OnBuild ?? [];
      if (!ctx.opts.predict) await ctx.store.snapshots.prepare(this.layers, this.diffIds);
    } else {
      this.fsKey = cacheKey({ op: 'scratch', platform: this.platform });
    }
    this.st = { config: startConfig(config, this.platform), cmdSet: false };
    this.lastCreated = ctx.opts.sourceDateEpoch !== undefined ? ctx.created : config?.created ?? ctx.created;
    if (!config && ctx.opts.sourceDateEpoch === undefined) this.untimed = [];
    ctx.emit(stepEvent({ ...ev, status: 'cached', duration: (Date.now() - t) / 1000, cacheKey: this.fsKey }));
    ctx.counts.total++;
    ctx.counts.cached++;
    // ONBUILD triggers of the base run right after FROM: the builder parsed them (the scopes hold their variables);
    // a base whose triggers it did not see (none expected) has them parsed here, with the variables after FROM
    const parsed = ctx.triggers.get(stage.index);
    if (parsed) {
      for (const ins of parsed) await this.step(ins, ctx.scopes.before.get(ins) ?? new Map(), true);
    } else {
      for (const trig of onbuild) {
        for (const ins of parse(trig).instructions) await this.step(ins, ctx.scopes.before.get(stage.instructions[0]!) ?? new Map(), true);
      }
    }
  }

  private async step(ins: Instruction, vars: Vars, fromOnbuild = false): Promise<void> {
    const ex = expandInstruction(ins, vars, this.ctx.df.escape);
    if (ex.errors.length) this.fail(ins, ex.errors[0]!.message);
    if (FS_KEYWORDS.has(ins.keyword)) return this.fsStep(ins, vars, ex, fromOnbuild);
    const id = this.ctx.nextId();
    let createdBy: string;
    try {
      createdBy = applyMetadata(this.st, ins, ex);
    } catch (e) {
      // a value Docker refuses (an EXPOSE port): the error points at the instruction
      if (e instanceof LayerwiseError && !e.range) this.fail(ins, e.message);
      throw e;
    }
    if (ins.keyword === 'ARG') {
      // Every default expands with the variables from before the instruction (`ARG A=1 B=$A` does not see this A).
      // The history shows each default expanded, and a bare name without one, whatever value a build arg gives it
      // (as Docker 26 writes it).
      const env = shellEnv(vars);
      const shown: string[] = [];
      for (const d of ins.argDeclarations ?? []) {
        this.argDecls.push({ key: d.name.value, value: this.argValue(d, env) });
        shown.push(d.defaultValue ? `${d.name.value}=${this.expandedDefault(d, env)}` : d.name.value);
      }
      createdBy = 'ARG ' + shown.join(' ');
    }
    if (createdBy) {
      // (no entry for ONBUILD, HEALTHCHECK)
      const h = historyEntry(createdBy, this.lastCreated, true);
      this.st.config.history!.push(h);
      this.untimed?.push(h);
    }
    this.ctx.emit(
      stepEvent({ id, stage: this.stage.index, stageName: this.label, ...(this.ctx.df.stages.length > 1 ? { multiStage: true } : {}), index: this.index, total: this.total, instruction: instructionText(ins), range: ins.range, status: 'done', duration: 0, emptyLayer: true }),
    );
  }

  /** An ARG's value as BuildKit gives it: the build arg, else the default expanded, else the global ARG's. */
  private argValue(d: ArgDeclaration, env: ShellEnv): string | undefined {
    const name = d.name.value;
    const cli = this.ctx.opts.buildArgs;
    if (cli && Object.prototype.hasOwnProperty.call(cli, name)) return cli[name];
    if (d.defaultValue) return this.expandedDefault(d, env);
    return this.ctx.scopes.global.get(name)?.value;
  }

  private expandedDefault(d: ArgDeclaration, env: ShellEnv): string {
    const raw = d.defaultValue!.value;
    const r = expandWord(raw, env, { escape: this.ctx.df.escape });
    return r.ok ? r.value : raw;
  }

  /** Build args in effect (ARG values not shadowed by ENV): they are part of RUN's environment and cache key. */
  private argsInEffect(vars: Vars): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of vars) if (v.kind === 'arg' && v.value !== undefined) out[k] = v.value;
    return out;
  }

  private async fsStep(ins: Instruction, vars: Vars, ex: Expanded, fromOnbuild: boolean): Promise<void> {
    const { ctx } = this;
    const id = ctx.nextId();
    this.index++;
    const t0 = Date.now();
    const text = instructionText(ins);
    const ev = { id, stage: this.stage.index, stageName: this.label, ...(this.ctx.df.stages.length > 1 ? { multiStage: true } : {}), index: this.index, total: this.total, instruction: (fromOnbuild ? 'ONBUILD ' : '') + text, range: ins.range };
    ctx.emit(stepEvent({ ...ev, status: 'running' }));
    trace(`step ${this.index} ${ins.keyword}`);
    ctx.counts.total++;

    const plan = await this.planStep(ins, vars, ex);
    trace('planned');
    const inputs: StepInputs = {
      stage: this.stage.index,
      index: this.index,
      instruction: text,
      key: plan.key,
      parentKey: plan.link ? '' : this.fsKey,
      args: ins.keyword === 'RUN' ? this.argsInEffect(vars) : {},
      envDigest: plan.envDigest,
      range: ins.range,
      ...(plan.files ? { files: plan.files } : {}),
      ...(plan.remote?.length ? { remote: plan.remote } : {}),
    };
    let rec: CacheRecord | undefined = this.noCache ? undefined : await ctx.cache.get(plan.key);
    if (rec?.layer && !(await ctx.store.content.info(rec.layer.digest))) rec = undefined;
    let miss: MissReason | undefined;
    if (ctx.opts.predict) {
      const why = rec ? undefined : explainMiss(inputs, ctx.history, { noCache: this.noCache, ...(this.lastFs?.missed ? { parent: { instruction: this.lastFs.instruction, line: this.lastFs.line } } : {}) });
      ctx.predictions.push({
        stage: this.stage.index,
        index: this.index,
        keyword: ins.keyword,
        instruction: text,
        range: ins.range,
        status: rec ? 'hit' : 'miss',
        reason: rec ? `cached (built in ${rec.duration.toFixed(1)}s)` : why!.detail,
        cacheKey: plan.key,
        ...(rec ? { lastDuration: rec.duration } : findPrevDuration(inputs, ctx.history)),
      });
      this.fsKey = plan.key;
      this.lastFs = { instruction: text, line: ins.startLine, missed: !rec };
      // the stage's layers as far as they are known: a COPY --from of this stage looks at them
      if (!rec) this.predictedIncomplete = true;
      else if (rec.layer) {
        this.layers.push({ mediaType: rec.layer.mediaType, digest: rec.layer.digest, size: rec.layer.size });
        this.diffIds.push(rec.layer.diffId);
      }
      if (plan.after) plan.after();
      return;
    }
    if (rec) {
      ctx.counts.cached++;
      inputs.duration = rec.duration;
    } else {
      miss = explainMiss(inputs, ctx.history, { noCache: this.noCache, ...(this.lastFs?.missed ? { parent: { instruction: this.lastFs.instruction, line: this.lastFs.line } } : {}) });
      let out: CacheRecord | DeferredRecord;
      try {
        out = await plan.execute(id);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        ctx.emit(stepEvent({ ...ev, status: 'error', duration: (Date.now() - t0) / 1000, cacheKey: plan.key, miss, error: message }));
        if (e instanceof LayerwiseError && e.range) throw e;
        this.fail(ins, message);
      }
      if ('deferred' in out) return this.deferStep(ins, ev, plan, inputs, miss, out);
      rec = out;
      await ctx.cache.put(rec);
      ctx.counts.built++;
      inputs.duration = rec.duration;
    }
    ctx.newHistory.push(inputs);
    await this.settle(); // the layer below, if it is still being written
    if (rec.layer) {
      const desc: Descriptor = { mediaType: rec.layer.mediaType, digest: rec.layer.digest, size: rec.layer.size };
      this.layers.push(desc);
      this.diffIds.push(rec.layer.diffId);
      await ctx.store.snapshots.prepare(this.layers, this.diffIds);
    }
    this.fsKey = plan.key;
    this.lastFs = { instruction: text, line: ins.startLine, missed: !!miss };
    this.timed(ctx.opts.sourceDateEpoch !== undefined ? ctx.created : rec.created);
    this.st.config.history!.push(historyEntry(plan.createdBy, this.lastCreated, !rec.layer));
    if (plan.after) plan.after();
    ctx.emit(
      stepEvent({
        ...ev,
        status: miss ? 'done' : 'cached',
        duration: miss ? (Date.now() - t0) / 1000 : 0,
        cacheKey: plan.key,
        ...(rec.layer ? { layer: { digest: rec.layer.digest, diffId: rec.layer.diffId, size: rec.layer.size } } : { emptyLayer: true }),
        ...(miss ? { miss } : {}),
      }),
    );
  }

  private async lowerDirs(): Promise<string[]> {
    const below = this.diffIds.length === 0 ? [] : await this.ctx.store.snapshots.lowerDirs(chainIds(this.diffIds).at(-1)!);
    // the last step's layer, still being written: its upper dir holds exactly its changes (whiteouts in the overlay
    // form, as a snapshot), so it serves as the top lower dir until it is adopted as the snapshot
    return this.pending ? [this.pending.upper, ...below] : below;
  }

  /**
   * The last step, when its layer is still being written while this one runs (deferStep): its upper dir stands in
   * for its snapshot, and `settle` finishes it — the layer stored, its upper dir adopted as the snapshot (only now:
   * a step running over it has unmounted it), the cache record, the image's layer list and its done event.
   */
  private pending: { upper: string; settle: () => Promise<void> } | undefined;

  /** Finishes the pending step, if any (see `pending`); its failure is its own step's error. */
  private async settle(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    await p.settle();
  }

  /** Whether a step's layer may be written while the next step runs: the next filesystem step of the stage is a
   *  RUN (the case where the two overlap; a COPY would wait for it anyway), and its upper dir will become its
   *  snapshot (not with SOURCE_DATE_EPOCH, whose layers are unpacked again). */
  private mayDefer(ins: Instruction): boolean {
    if (this.ctx.opts.sourceDateEpoch !== undefined) return false;
    const list = this.stage.instructions;
    const i = list.indexOf(ins);
    if (i < 0) return false; // an ONBUILD trigger
    const next = list.slice(i + 1).find((x) => FS_KEYWORDS.has(x.keyword));
    return next?.keyword === 'RUN';
  }

  /**
   * Starts writing the layer of a step that ran (its upper dir `w.upper`) and returns at once: the record comes
   * when the next step settles it. The step's temp dir is the deferred record's to remove.
   */
  private async deferCommit(w: { upper: string; cleanup: () => Promise<void> }, key: string, t0: number, text: string, keepEmpty: boolean): Promise<DeferredRecord> {
    await this.settle(); // the layer below first: its chain id is part of this one's
    let open!: () => void;
    const gate = new Promise<void>((res) => (open = res));
    const created = new Date().toISOString();
    const ranFor = Date.now() - t0;
    const tw = Date.now();
    let writtenIn = 0;
    const layer = this.commitUpper(w.upper, 'overlay', keepEmpty, { gate, onWritten: () => (writtenIn = Date.now() - tw) });
    layer.catch(() => undefined); // awaited by finish
    let finished: Promise<CacheRecord> | undefined;
    return {
      deferred: true,
      upper: w.upper,
      created,
      finish: () =>
        (finished ??= (async () => {
          open();
          try {
            const l = await layer;
            return { v: 1, key, ...(l ? { layer: l } : {}), created, duration: (ranFor + writtenIn) / 1000, instruction: text };
          } finally {
            await w.cleanup();
          }
        })()),
    };
  }

  /** The bookkeeping of a step whose layer is still being written: everything but the layer now, the rest when
   *  the next step settles it. */
  private deferStep(
    ins: Instruction,
    ev: Omit<StepEvent, 'v' | 'type' | 'status'>,
    plan: { key: string; createdBy: string; after?: () => void },
    inputs: StepInputs,
    miss: MissReason | undefined,
    out: DeferredRecord,
  ): void {
    const { ctx } = this;
    ctx.counts.built++;
    ctx.newHistory.push(inputs);
    this.fsKey = plan.key;
    this.lastFs = { instruction: inputs.instruction, line: ins.startLine, missed: true };
    this.timed(out.created);
    const entry = historyEntry(plan.createdBy, this.lastCreated, false);
    this.st.config.history!.push(entry);
    if (plan.after) plan.after();
    this.pending = {
      upper: out.upper,
      settle: async () => {
        let rec: CacheRecord;
        try {
          rec = await out.finish();
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          ctx.emit(stepEvent({ ...ev, status: 'error', duration: 0, cacheKey: plan.key, ...(miss ? { miss } : {}), error: message }));
          if (e instanceof LayerwiseError && e.range) throw e;
          this.fail(ins, message);
        }
        await ctx.cache.put(rec);
        inputs.duration = rec.duration;
        if (rec.layer) {
          this.layers.push({ mediaType: rec.layer.mediaType, digest: rec.layer.digest, size: rec.layer.size });
          this.diffIds.push(rec.layer.diffId);
          await ctx.store.snapshots.prepare(this.layers, this.diffIds);
        } else entry.empty_layer = true;
        ctx.emit(
          stepEvent({
            ...ev,
            status: 'done',
            duration: rec.duration,
            cacheKey: plan.key,
            ...(rec.layer ? { layer: { digest: rec.layer.digest, diffId: rec.layer.diffId, size: rec.layer.size } } : { emptyLayer: true }),
            ...(miss ? { miss } : {}),
          }),
        );
      },
    };
  }

  /** Turns an upper dir into a layer blob in the store, and the dir itself into the layer's snapshot (no second
   *  unpack); undefined when nothing changed. */
  private async commitUpper(
    upper: string,
    source: 'overlay' | 'dir',
    keepEmpty = false,
    deferred?: { gate: Promise<void>; onWritten: () => void },
  ): Promise<CacheRecord['layer']> {
    if (!deferred) await this.settle(); // the layer below first: its chain id is part of this one's
    const below = [...this.diffIds];
    trace('commit start');
    const layerOpts: LayerWriteOptions = { source, ...layerIdMap(), ...(this.ctx.opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.ctx.opts.sourceDateEpoch } : {}) };
    const w = writeLayer(upper, layerOpts);
    // layers are stored uncompressed, as BuildKit keeps them until export: the blob's digest is the diff id,
    // and no build pays for gzip (`save` writes them as they are, which `docker load` takes)
    // the writer hashes the tar as it yields it (the diff id): the store takes that digest rather than hashing again
    // (its chunks go back to the writer once written, to be filled again)
    const release = w.stream.release;
    const ingested = this.ctx.store.content.ingest(w.stream, { producerDigest: w.done.then((d) => d.diffId), ...(release ? { release } : {}) });
    ingested.catch(() => undefined); // awaited below
    const done = await w.done;
    if (deferred) {
      // the next step may be running over this upper dir: it is adopted once that step has settled this one
      await ingested;
      deferred.onWritten();
      await deferred.gate;
    }
    // the upper dir has been read whole: it becomes the snapshot while the blob's last bytes are written and synced
    let adopted: Promise<unknown> = Promise.resolve();
    if (done.entries > 0 && source === 'overlay' && this.ctx.opts.sourceDateEpoch === undefined) {
      const chains = chainIds([...below, done.diffId]);
      // the snapshot is checked (fsck) by writing it as this layer again: adopting it reads nothing
      adopted = this.ctx.store.snapshots
        .adopt(upper, done.diffId, chains[chains.length - 1]!, chains.length > 1 ? chains[chains.length - 2] : undefined, { layer: layerOpts, size: done.fileBytes })
        .catch(() => undefined);
    }
    const blob = await ingested;
    trace('commit ingested');
    await adopted;
    trace('commit adopted');
    if (done.entries === 0 && !keepEmpty) return undefined;
    return { digest: blob.digest, diffId: done.diffId, size: blob.size, mediaType: ociLayerType('none') };
  }

  private async workDirs(): Promise<{ dir: string; upper: string; work: string; cleanup: () => Promise<void> }> {
    await mkdir(this.ctx.store.tmpDir, { recursive: true });
    const dir = join(this.ctx.store.tmpDir, tempName('step')); // a name Store.cleanTemp knows: swept once this pid is gone
    await mkdir(dir);
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    await mkdir(upper);
    await mkdir(work);
    return { dir, upper, work, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }

  private async planStep(
    ins: Instruction,
    vars: Vars,
    ex: Expanded,
  ): Promise<{
    key: string;
    envDigest: string;
    files?: { path: string; digest: string }[];
    remote?: { source: string; version: string }[];
    link?: boolean;
    createdBy: string;
    after?: () => void;
    execute: (id: number) => Promise<CacheRecord | DeferredRecord>;
  }> {
    const cfg = this.st.config.config!;
    const workdir = cfg.WorkingDir || '/';
    const record = (key: string, t0: number, layer: CacheRecord['layer'], instruction: string): CacheRecord => ({
      v: 1,
      key,
      ...(layer ? { layer } : {}),
      created: new Date().toISOString(),
      duration: (Date.now() - t0) / 1000,
      instruction,
    });
    const text = instructionText(ins);

    if (ins.keyword === 'WORKDIR') {
      const raw = ex.words[0]?.value ?? '/';
      // as BuildKit's NormalizeWorkdir: an absolute path is kept as written (`/a/../b/` is the config's WorkingDir
      // and the history's text), a relative one is joined to the current directory and cleaned
      const wd = raw.startsWith('/') ? raw : normalizePath(`${workdir}/${raw}`);
      const path = normalizePath(wd);
      const key = cacheKey({ op: 'mkdir', parent: this.fsKey, path: wd, user: cfg.User ?? '' });
      return {
        key,
        envDigest: sha256Hex(wd),
        createdBy: `WORKDIR ${wd}`,
        after: () => {
          cfg.WorkingDir = wd;
        },
        execute: async () => {
          const t0 = Date.now();
          const w = await this.workDirs();
          try {
            const lowers = await this.lowerDirs();
            await runCopyJob(
              {
                request: { kind: 'COPY', srcIsContext: true, srcRoot: await this.emptyDir(), sources: [], dest: path + '/', workdir: '/', ...(cfg.User ? { chown: cfg.User } : {}) },
                dst: { lowerDirs: lowers, upperDir: w.upper, workDir: w.work },
                emptyDir: await this.emptyDir(),
              },
              this.ctx.store.tmpDir,
            );
            // BuildKit gives every WORKDIR but `/` a layer, an empty one when the directory was there already
            return record(key, t0, await this.commitUpper(w.upper, 'overlay', wd !== '/'), text);
          } finally {
            await w.cleanup();
          }
        },
      };
    }

    if (ins.keyword === 'RUN') return this.planRun(ins, vars, ex, record, text);
    return this.planCopy(ins, ex, record, text);
  }

  /** HOME for a RUN whose environment has none: the user's home in the image's /etc/passwd, as BuildKit */
  private async homeOf(user: string): Promise<string> {
    const name = user.split(':')[0] || 'root';
    for (const dir of await this.lowerDirs()) {
      const text = await readFile(join(dir, 'etc', 'passwd'), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const e = parsePasswd(text).find((p) => p.name === name || String(p.uid) === name);
      if (e) return e.home || '/';
      break;
    }
    return name === 'root' || name === '0' ? '/root' : '/';
  }

  private emptyDirPath?: string;
  private async emptyDir(): Promise<string> {
    if (!this.emptyDirPath) {
      this.emptyDirPath = join(this.ctx.store.root, 'tmp-empty');
      await mkdir(this.emptyDirPath, { recursive: true });
    }
    return this.emptyDirPath;
  }

  private async planRun(
    ins: Instruction,
    vars: Vars,
    ex: Expanded,
    record: (key: string, t0: number, layer: CacheRecord['layer'], instruction: string) => CacheRecord,
    text: string,
  ) {
    const { ctx } = this;
    const cfg = this.st.config.config!;
    const shell = shellOf(cfg);
    let argv: string[];
    /** a heredoc that is a script of its own (`#!`): BuildKit mounts it as /dev/pipes/<name> and runs that file */
    let script: { name: string; content: string } | undefined;
    const words = ins.command?.words.map((w) => w.value) ?? [];
    if (ins.command?.json) argv = words;
    else {
      let cmd = words.join(' ');
      if (ins.heredocs.length) {
        const h = ins.heredocs[0]!;
        const single = /^\d*<<-?\s*\S+$/.test(cmd.trim()) && ins.heredocs.length === 1;
        const content = (hd: typeof h) => (hd.chomp ? hd.content.replace(/^\t+/gm, '') : hd.content);
        if (single && content(h).startsWith('#!')) {
          script = { name: h.name, content: content(h) };
          cmd = `${PIPES}/${h.name}`;
        } else if (single) cmd = content(h);
        // a command with heredocs: the bodies as written (the shell itself strips the tabs of a `<<-` one), each
        // closed by its bare name, as BuildKit appends them (and shows them in the history)
        else cmd = cmd + ins.heredocs.map((hd) => '\n' + hd.content + hd.name).join('');
      }
      argv = [...shell, cmd];
    }
    const args = this.argsInEffect(vars);
    let env = [...(cfg.Env ?? [])];
    for (const [k, v] of Object.entries(args)) env = envSet(env, k, v);
    for (const [k, v] of Object.entries(ctx.opts.buildArgs ?? {}))
      if (/^(HTTPS?|FTP|NO|ALL)_PROXY$/i.test(k) && envGet(env, k) === undefined) env.push(`${k}=${v}`);
    const user = cfg.User || '';
    const cwd = cfg.WorkingDir || '/';
    if (envGet(env, 'HOME') === undefined) env.push(`HOME=${await this.homeOf(user)}`);
    const network = (ins.flags.find((f) => f.name === 'network')?.value ?? this.ctx.opts.network ?? 'default') as 'default' | 'none' | 'host';
    const security = ins.flags.find((f) => f.name === 'security')?.value ?? 'sandbox';
    // privileged only when the build grants it, as BuildKit's entitlement (buildx build --allow security.insecure)
    if (security === 'insecure' && !ctx.opts.allow?.includes('security.insecure')) {
      this.fail(ins, 'security.insecure is not allowed: RUN --security=insecure runs with every capability of its namespaces; build with --allow security.insecure to grant it');
    }
    const mountSpecs = await planMounts(this.mountHost(), ins, ex, normalizePath(cwd));
    // as BuildKit: with an ssh mount, SSH_AUTH_SOCK names the first one unless the environment sets it
    const firstSsh = mountSpecs.find((m) => m.sshTarget);
    if (firstSsh && envGet(env, 'SSH_AUTH_SOCK') === undefined) env.push(`SSH_AUTH_SOCK=${firstSsh.sshTarget}`);
    const keyMounts = mountSpecs.map((m) => m.key);
    if (script) keyMounts.push(`script:${script.name}:${sha256Hex(script.content)}`);
    const extraHosts = ctx.opts.extraHosts ?? [];
    const hostsKey = extraHosts.length ? { extraHosts: extraHosts.map((h) => `${h.host}=${h.ip}`) } : {};
    const envDigest = sha256Hex(JSON.stringify({ env: [...env].sort(), user, cwd, mounts: keyMounts, network, security, ...hostsKey }));
    const key = cacheKey({ op: 'run', parent: this.fsKey, argv, env: [...env].sort(), user, cwd, network, security, mounts: keyMounts, ...hostsKey });
    return {
      key,
      envDigest,
      createdBy: `RUN ${runCommandString(argv, this.argDecls, env)} # buildkit`,
      execute: async (id: number) => {
        const t0 = Date.now();
        const w = await this.workDirs();
        const releases: (() => Promise<void>)[] = [];
        let handedOver = false; // the temp dir belongs to a deferred record
        try {
          /** the end of the command's stderr: an exec that failed says so there (runtime/system-dirs.ts) */
          let stderrTail = '';
          const log = (stream: 'stdout' | 'stderr') =>
            new Writable({
              write(chunk: Buffer, _enc, cb) {
                const text = chunk.toString();
                if (stream === 'stderr') stderrTail = (stderrTail + text).slice(-4096);
                ctx.emit({ v: 1, type: 'log', id, stream, text });
                cb();
              },
            });
          const mounts: SandboxMount[] = [];
          for (const m of mountSpecs) {
            if (!m.prepare) continue; // an optional ssh mount with no agent forwarded: nothing is mounted
            const p = await m.prepare();
            if ('mount' in p) {
              mounts.push(p.mount);
              releases.push(p.release);
            } else mounts.push(p);
          }
          if (script) {
            // the script, executable, alone in a read-only directory at /dev/pipes
            const pipes = join(w.dir, 'pipes');
            await mkdir(pipes);
            await writeFile(join(pipes, script.name), script.content, { mode: 0o755 });
            await chmod(join(pipes, script.name), 0o755);
            mounts.push({ type: 'bind', source: pipes, target: PIPES, readonly: true });
          }
          this.prehash(ins);
          trace('run sandbox');
          const res = await runSandboxed({
            lowerDirs: await this.lowerDirs(),
            upperDir: w.upper,
            workDir: w.work,
            args: argv,
            env,
            cwd: normalizePath(cwd),
            ...(user ? { user } : {}),
            network,
            ...(security === 'insecure' ? { privileged: true } : {}),
            mounts,
            ...(extraHosts.length ? { extraHosts } : {}),
            stdout: log('stdout'),
            stderr: log('stderr'),
            stateParent: ctx.store.tmpDir,
            ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}),
          }).catch((e: unknown) => {
            // a user or group the image does not have: BuildKit reports it as the process failing to start
            if (e instanceof LayerwiseError && /^unable to find (user|group) /.test(e.message)) {
              throw new LayerwiseError('build', `${processShown(argv)} did not complete successfully: ${e.message}`, { range: ins.range, file: this.file });
            }
            throw e;
          });
          trace('run exited');
          if (res.cancelled) throw new LayerwiseError('build', 'build cancelled');
          if (res.exitCode === 0) await pruneCopiedUpDirs(w.upper, await this.lowerDirs());
          trace('run pruned');
          if (res.exitCode !== 0) {
            // BuildKit's runc cannot start a command it cannot execute and says exit code 1 (docker run says 127)
            const execFailed = (res.exitCode === 126 || res.exitCode === 127) && /(^|\n)layerwise: failed to execute [^\n]*\n?$/.test(stderrTail);
            throw new LayerwiseError('build', `${processShown(argv)} did not complete successfully: exit code: ${execFailed ? 1 : res.exitCode}`, { range: ins.range, file: this.file });
          }
          if (this.mayDefer(ins)) {
            const d = await this.deferCommit(w, key, t0, text, true);
            handedOver = true;
            return d;
          }
          return record(key, t0, await this.commitUpper(w.upper, 'overlay', true), text);
        } finally {
          for (const r of releases) await r();
          if (!handedOver) await w.cleanup();
        }
      },
    };
  }

  /** What mount planning (stage-mounts.ts) needs of this stage. */
  private mountHost(): MountHost {
    return {
      ctx: this.ctx,
      fail: (ins, message) => this.fail(ins, message),
      ctxDir: () => this.ctxDir(),
      fromSource: (ref) => this.fromSource(ref, false), // a mount's from= names a stage or an image, never an index
      workDirs: () => this.workDirs(),
      emptyDir: () => this.emptyDir(),
    };
  }

  /** git runs with the build's forwarded default SSH agent (for ssh remotes) and its cancellation */
  private gitOptions(): GitOptions {
    const o: GitOptions = {};
    const agent = this.ctx.ssh.agentSocket('default');
    if (agent) o.sshAuthSock = agent;
    if (this.ctx.opts.signal) o.signal = this.ctx.opts.signal;
    return o;
  }

  /** digests of downloaded files by their temp path */
  private readonly downloads = new Map<string, string>();

  /** ADD <url>: downloads into the store's tmp, checks --checksum, names the file as BuildKit does. */
  private async download(ins: Instruction, url: string, checksum: string | undefined): Promise<NonNullable<CopySource['file']>> {
    // (require, not import(): dynamic import() fails in code loaded from the launcher's code cache)
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const { writeFile: wf } = require('node:fs/promises') as typeof import('node:fs/promises');
    let res: Downloaded;
    try {
      res = await httpGet(url, this.ctx.opts.signal ? { signal: this.ctx.opts.signal } : {});
    } catch (e) {
      this.fail(ins, `failed to load ${url}: ${(e as Error).message}`);
    }
    if (res.status < 200 || res.status > 299) this.fail(ins, `invalid response status ${res.status} for ${url}`);
    const body = res.body;
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    if (checksum) {
      // compared in the checksum's own algorithm (sha256, sha384 or sha512)
      const algo = checksum.slice(0, checksum.indexOf(':'));
      const got = algo === 'sha256' ? digest : `${algo}:${createHash(algo).update(body).digest('hex')}`;
      if (checksum !== got) this.fail(ins, `digest mismatch ${got}: ${checksum}`);
    }
    const w = await this.workDirs();
    this.cleanups.push(w.cleanup);
    const hostPath = join(w.dir, 'download');
    await wf(hostPath, body);
    this.downloads.set(hostPath, digest);
    const pathName = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '__unnamed__';
    const lm = res.headers['last-modified'];
    const mtime = lm ? Math.floor(Date.parse(lm) / 1000) : undefined;
    return { hostPath, name: pathName, mode: 0o600, ...(mtime !== undefined && Number.isFinite(mtime) ? { mtime } : {}) };
  }

  private readonly cleanups: (() => Promise<void>)[] = [];

  private ctxDir(): string {
    return this.ctx.opts.contextDir;
  }

  /** A stage or image named by --from: its identity for cache keys and its lower dirs. */
  private async fromSource(ref: string, numbers = true): Promise<{ key: string; lowerDirs: string[] }> {
    const { ctx } = this;
    const si = resolveStageRef(ref, stageIndexByName(ctx.df), this.stage.index, numbers);
    let layers: Descriptor[];
    let diffIds: string[];
    let key: string;
    if (si !== undefined) {
      const r = await ctx.stageResult(si);
      layers = r.layers;
      diffIds = r.diffIds;
      key = r.fsKey;
      if (r.predictedIncomplete) return { key, lowerDirs: [] };
    } else {
      const img = await ctx.image(ref);
      layers = img.layers;
      diffIds = img.config.rootfs?.diff_ids ?? [];
      key = cacheKey({ op: 'image', manifest: img.manifestDigest });
    }
    if (diffIds.length === 0) return { key, lowerDirs: [] };
    const chains = chainIds(diffIds);
    if (ctx.opts.predict) {
      // a prediction prepares nothing: the snapshots as they are, for a content digest computed before (or none)
      const lowerDirs = await ctx.store.snapshots.lowerDirs(chains[chains.length - 1]!).catch(() => []);
      return { key, lowerDirs };
    }
    await ctx.store.snapshots.prepare(layers, diffIds);
    return { key, lowerDirs: await ctx.store.snapshots.lowerDirs(chains[chains.length - 1]!) };
  }

  /** The content digest of `paths` in a source's snapshots (hashSourcePaths), kept on disk by snapshots and paths:
   *  snapshots never change, so a digest is computed once. */
  private contentHashFile(lowerDirs: string[], paths: string[]): string {
    return join(this.ctx.store.cacheDir, 'contenthash', sha256Hex(JSON.stringify([lowerDirs, paths])));
  }

  private async knownSourceDigest(lowerDirs: string[], paths: string[]): Promise<string | undefined> {
    const known = await readFile(this.contentHashFile(lowerDirs, paths), 'utf8').catch(() => undefined);
    return known && /^sha256:[0-9a-f]{64}$/.test(known) ? known : undefined;
  }

  private async sourceDigest(ins: Instruction, lowerDirs: string[], paths: string[]): Promise<string> {
    const { ctx } = this;
    const file = this.contentHashFile(lowerDirs, paths);
    const known = await this.knownSourceDigest(lowerDirs, paths);
    if (known) return known;
    let digest: string;
    try {
      digest = await hashSourcePaths(lowerDirs, paths, await this.emptyDir(), ctx.store.tmpDir);
    } catch (e) {
      const missing = e instanceof LayerwiseError && /^"(.*)": not found/.exec(e.message);
      if (missing) this.fail(ins, `failed to compute cache key: "/${missing[1]!.replace(/^\/+/, '')}": not found`);
      throw e;
    }
    await mkdir(join(ctx.store.cacheDir, 'contenthash'), { recursive: true });
    await mkdir(ctx.store.tmpDir, { recursive: true });
    await writeFileAtomic(file, digest, { tmpDir: ctx.store.tmpDir });
    return digest;
  }

  /**
   * What an uncached COPY can take from the last build (CopyRequest.reuse): the snapshot that build made for the
   * same instruction on the same parent, and the context files whose digests have not changed since.
   */
  private async reusable(text: string, files: { path: string; digest: string }[] | undefined): Promise<{ dir: string; unchanged: string[] } | undefined> {
    const { ctx } = this;
    if (!files?.length || !ctx.history) return undefined;
    const steps = ctx.history.steps;
    const prev = steps.find((s) => s.stage === this.stage.index && s.index === this.index && s.instruction === text) ?? steps.find((s) => s.stage === this.stage.index && s.instruction === text);
    if (!prev?.files || prev.parentKey !== this.fsKey) return undefined;
    const rec = await ctx.cache.get(prev.key).catch(() => undefined);
    if (!rec?.layer) return undefined;
    const chains = chainIds([...this.diffIds, rec.layer.diffId]);
    const snap = await ctx.store.snapshots.get(chains[chains.length - 1]!).catch(() => undefined);
    if (!snap) return undefined;
    const before = new Map(prev.files.map((f) => [f.path, f.digest]));
    const unchanged = files.filter((f) => before.get(f.path) === f.digest).map((f) => f.path);
    return unchanged.length ? { dir: snap.dir, unchanged } : undefined;
  }

  private async planCopy(
    ins: Instruction,
    ex: Expanded,
    record: (key: string, t0: number, layer: CacheRecord['layer'], instruction: string) => CacheRecord,
    text: string,
  ) {
    const { ctx } = this;
    const cfg = this.st.config.config!;
    const workdir = cfg.WorkingDir || '/';
    const kind = ins.keyword as 'COPY' | 'ADD';
    const flag = (n: string) => ins.flags.find((f) => f.name === n);
    const from = kind === 'COPY' ? flag('from')?.value : undefined;
    const link = flag('link') !== undefined && flag('link')!.value !== 'false';
    const parents = flag('parents') !== undefined && flag('parents')!.value !== 'false';
    const excludes = ins.flags.filter((f) => f.name === 'exclude' && f.value !== undefined).map((f) => f.value!);
    const chown = ex.flags.get('chown')?.[0];
    // --chmod as Docker 26 takes it: as written (no variables), octal; any other value is ignored, the files keep
    // their modes (the language server's ChmodIgnored says so), and the history still shows it
    const chmodWritten = flag('chmod')?.value;
    const mode = chmodMode(chmodWritten);
    const chmod = mode === undefined ? undefined : /^[0-7]{1,4}$/.test(chmodWritten!) ? chmodWritten : mode.toString(8);
    const words = ex.words;
    const dest = words[words.length - 1]?.value ?? '';
    const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
    const checksum = kind === 'ADD' ? ex.flags.get('checksum')?.[0] : undefined;
    /** a checksum for a URL or a local path is a digest (for a git ref it is the commit) */
    const checkDigest = () => {
      const problem = checksum ? checksumProblem(checksum) : undefined;
      if (problem) this.fail(ins, problem);
    };
    const sources: CopySource[] = [];
    const gitSources: { ref: GitRef; commit: string; tree: NonNullable<CopySource['tree']> }[] = [];
    for (const w of words.slice(0, -1)) {
      const m = /^\d*<<-?\s*(.+)$/.exec(w.value);
      const name = m?.[1]?.replace(/^["']|["']$/g, '');
      const h = name !== undefined ? heredocs.get(name) : undefined;
      if (h) {
        let content = h.chomp ? h.content.replace(/^\t+/gm, '') : h.content;
        if (h.expand) {
          const r = expandWord(content, shellEnv(ctx.scopes.before.get(ins) ?? new Map()), { skipProcessQuotes: true });
          if (r.ok) content = r.value;
        }
        sources.push({ heredoc: { name: h.name, content } });
      } else {
        let gref: GitRef | undefined;
        try {
          gref = parseGitRef(w.value);
        } catch (e) {
          this.fail(ins, (e as Error).message);
        }
        if (gref) {
          if (kind === 'COPY') this.fail(ins, "source can't be a git ref for COPY");
          const keepFlag = ins.flags.find((f) => f.name === 'keep-git-dir');
          if (keepFlag) {
            const keep = keepFlag.value === undefined || /^(1|t|true)$/i.test(keepFlag.value);
            if (gref.keepGitDir !== undefined && gref.keepGitDir !== keep) this.fail(ins, 'inconsistent keep-git-dir configuration');
            gref.keepGitDir = keep;
          }
          const sum = ex.flags.get('checksum')?.[0];
          if (sum && gref.checksum && sum !== gref.checksum) this.fail(ins, `checksum mismatch ${JSON.stringify(sum)} != ${JSON.stringify(gref.checksum)}`);
          if (sum) gref.checksum = sum;
          let commit: string;
          try {
            commit = await (ctx.opts.predict ? resolveGitCommitRecent : resolveGitCommit)(gref, this.gitOptions());
          } catch (e) {
            this.fail(ins, (e as Error).message);
          }
          const tree = { hostDir: '', name: w.value };
          gitSources.push({ ref: gref, commit, tree });
          sources.push({ tree });
          continue;
        }
        if (kind === 'ADD' && /^https?:\/\//.test(w.value)) {
          checkDigest();
          sources.push({ file: { ...(await this.download(ins, w.value, checksum)), url: w.value } });
          continue;
        }
        checkDigest();
        if (checksum) this.fail(ins, "checksum can't be specified for non-HTTP sources");
        sources.push({ path: w.value });
      }
    }
    let srcKey: unknown;
    /** COPY --from: the digest of what it copies (its key, and its inputs' record) */
    let fromDigest: string | undefined;
    let files: { path: string; digest: string }[] | undefined;
    let srcLowerDirs: string[] | undefined;
    if (from) {
      const src = await this.fromSource(from);
      const paths = sources.map((s) => s.path ?? s.heredoc?.name);
      srcLowerDirs = src.lowerDirs;
      // as BuildKit: the content of the selected paths (mode, owner, content, link targets), so that a source stage
      // rebuilt to the same files leaves this step cached
      const wanted = paths.filter((p): p is string => !!p);
      // a prediction uses a digest computed by an earlier build (no worker, no mount), else the source's key
      fromDigest = !src.lowerDirs.length ? undefined : ctx.opts.predict ? await this.knownSourceDigest(src.lowerDirs, wanted) : await this.sourceDigest(ins, src.lowerDirs, wanted);
      srcKey = fromDigest ? { fromContent: fromDigest, paths } : { from: src.key, paths };
    } else {
      const paths = sources.filter((s) => s.path !== undefined).map((s) => s.path!);
      let digest = '';
      if (paths.length) {
        try {
          const pre = this.prehashed.get(ins);
          const h = await (pre?.paths === JSON.stringify(paths) ? pre.hash : hashPaths(this.ctxDir(), paths, { exclude: ctx.ignore, statCache: ctx.statCache }));
          digest = h.digest;
          files = h.files.map((f) => ({ path: f.path, digest: f.digest }));
        } catch (e) {
          if (e instanceof LayerwiseError) this.fail(ins, `failed to compute cache key: ${e.message}`);
          throw e;
        }
      }
      srcKey = {
        context: digest,
        heredocs: sources.filter((s) => s.heredoc).map((s) => [s.heredoc!.name, sha256Hex(s.heredoc!.content)]),
        downloads: sources.filter((s) => s.file).map((s) => [s.file!.name, this.downloads.get(s.file!.hostPath)]),
        ...(gitSources.length ? { git: gitSources.map((g) => gitCacheKey(g.ref, g.commit)) } : {}),
      };
    }
    const key = cacheKey({ op: kind.toLowerCase(), parent: link ? null : this.fsKey, src: srcKey, dest, workdir, chown, chmod, link, parents, excludes });
    return {
      key,
      envDigest: sha256Hex(JSON.stringify({ dest, workdir, chown, chmod, excludes })),
      ...(files ? { files } : {}),
      remote: [
        // COPY --from: the content it copies, so that a miss names the source whose files changed
        ...(from && fromDigest ? [{ source: `--from=${from}`, version: fromDigest }] : []),
        ...gitSources.map((g) => ({ source: g.tree.name, version: g.commit })),
        ...sources.filter((x) => x.file).map((x) => ({ source: x.file!.name, version: this.downloads.get(x.file!.hostPath) ?? '' })),
      ],
      link,
      createdBy: [
        kind,
        ...(parents ? ['--parents'] : []),
        ...(chown ? [`--chown=${chown}`] : []),
        ...(chmodWritten ? [`--chmod=${chmodWritten}`] : []),
        // (a download by its URL, as BuildKit writes it)
        ...sources.filter((x) => x.path !== undefined || x.file || x.tree).map((x) => x.path ?? x.file?.url ?? x.file?.name ?? x.tree!.name),
        ...sources.filter((x) => x.heredoc).map((x) => `<<${x.heredoc!.name}`),
        dest,
      ].join(' ') + ' # buildkit',
      execute: async () => {
        const t0 = Date.now();
        const w = await this.workDirs();
        let handedOver = false; // the temp dir belongs to a deferred record
        try {
          for (const g of gitSources) {
            // checked out inside the step's temp dir: w.cleanup() removes it with the rest
            const co = await checkoutGit(g.ref, g.commit, w.dir, this.gitOptions());
            if (!(await stat(co.source).catch(() => undefined))?.isDirectory()) this.fail(ins, `${g.ref.displayRemote}: no directory ${JSON.stringify(g.ref.subdir)} at ${g.commit}`);
            g.tree.hostDir = co.source;
          }
          const reuse = from || link ? undefined : await this.reusable(text, files);
          await runCopyJob(
            {
              request: {
                kind,
                srcIsContext: !from,
                ...(from ? {} : { srcRoot: this.ctxDir(), ignore: ctx.ignore }),
                ...(reuse ? { reuse: { ...reuse, upper: w.upper } } : {}),
                sources,
                dest,
                workdir,
                ...(chown ? { chown } : {}),
                ...(chmod ? { chmod } : {}),
                parents,
                exclude: excludes,
              },
              dst: { lowerDirs: link ? [] : await this.lowerDirs(), upperDir: w.upper, workDir: w.work },
              ...(srcLowerDirs ? { srcLowerDirs } : {}),
              emptyDir: await this.emptyDir(),
            },
            ctx.store.tmpDir,
          );
          trace('copy job done');
          if (this.mayDefer(ins)) {
            const d = await this.deferCommit(w, key, t0, text, false);
            handedOver = true;
            return d;
          }
          const layer = await this.commitUpper(w.upper, 'overlay');
          trace('copy committed');
          return record(key, t0, layer, text);
        } finally {
          if (!handedOver) await w.cleanup();
        }
      },
    };
  }
}

export function instructionText(ins: Instruction): string {
  return `${ins.keyword} ${ins.logical.slice(ins.keywordToken.value.length).trim()}`.trim();
}

function normalizePath(p: string): string {
  return '/' + clean(p);
}

function findPrevDuration(inputs: StepInputs, history: import('./cache').BuildHistory | undefined): { lastDuration?: number } {
  const p = findPrevious(inputs, history);
  return p?.duration !== undefined ? { lastDuration: p.duration } : {};
}

/** Rootless: files in an upper dir are owned by host ids; the layer records the container's (host uid = root). */
function layerIdMap(): { idMap?: import('../layers').IdMap } {
  const plan = planIdMap();
  if (plan.mode === 'host') return {};
  const conv = (r: { inside: number; outside: number; count: number }) => ({ containerId: r.inside, hostId: r.outside, size: r.count });
  return { idMap: { uids: plan.uids.map(conv), gids: plan.gids.map(conv) } };
}

/**
 * BuildKit's RUN history text: `|N K=V … argv`, one entry per ARG declared so far (a redeclared ARG is listed
 * again, as Docker 26's BuildKit does), each with the value RUN sees.
 */
function runCommandString(argv: string[], decls: { key: string; value: string | undefined }[], env: string[]): string {
  const vals = decls.map((d) => `${d.key}=${envGet(env, d.key) ?? d.value ?? ''}`);
  return [...(vals.length ? [`|${vals.length}`, ...vals] : []), ...argv].join(' ');
}

/** `process "…"` as BuildKit names a RUN's process in its errors: the argv joined with spaces, quoted as Go's %q. */
function processShown(argv: string[]): string {
  return `process ${goQuote(argv.join(' '))}`;
}

const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** What is wrong with an ADD --checksum value, in go-digest's words (as BuildKit parses it); undefined when it is a
 *  valid `algorithm:hex` digest. */
export function checksumProblem(s: string): string | undefined {
  const i = s.indexOf(':');
  if (i <= 0 || i + 1 === s.length) return 'invalid checksum digest format';
  const algo = s.slice(0, i);
  const encoded = s.slice(i + 1);
  const size = DIGEST_HEX_LENGTH[algo];
  if (size === undefined) {
    return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(s) ? 'unsupported digest algorithm' : 'invalid checksum digest format';
  }
  if (encoded.length !== size) return 'invalid checksum digest length';
  return /^[a-f0-9]+$/.test(encoded) ? undefined : 'invalid checksum digest format';
}

