/**
 * Rules that read the engine store, against real stores in temp dirs: InvalidBaseImagePlatform (images written
 * with the store's own API: config + manifest blobs, index entries, a multi-platform index) and VolatileStepEarly
 * (build records written with the builder's own recording API, BuildCache.saveHistory; and real builds).
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuildCache, RECENT_BUILDS, type BuildHistory, type StepInputs } from '../../engine/build/cache';
import { formatPlatform, hostPlatform, parse } from '../../engine/dockerfile/index';
import { MediaType } from '../../engine/image/mediatypes';
import { openStore, writeImage, type Store } from '../../engine/store';
import { BaseImageCache } from '../../server/rules/baseImages';
import { BuildHistoryLog } from '../../server/rules/buildHistory';
import { ruleById } from '../../server/rules/index';
import { runRules } from '../../server/rules/run';
import type { BaseImageView, BuildHistoryView, Finding } from '../../server/rules/types';
import { drawFindings, stripMarkers, toCRLF } from './rules-harness';
import { buildUnavailableReason, newKit, runBuild, writeContext } from '../helpers/build';

const host = hostPlatform();
/** an architecture that is not this machine's */
const OTHER = host.architecture === 'arm64' ? 'amd64' : 'arm64';

async function putImage(store: Store, ref: string, platform: { os: string; architecture: string; variant?: string }): Promise<{ digest: string; size: number; mediaType: string }> {
  const { manifest } = await writeImage(store.content, {
    config: { ...platform, created: '2024-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
    layers: [],
  });
  if (ref) await store.images.put(ref, manifest);
  return { digest: manifest.digest, size: manifest.size, mediaType: manifest.mediaType! };
}

async function run(code: string, text: string, opts: { images?: BaseImageView; history?: BuildHistoryView }): Promise<(Finding & { severity: string })[]> {
  const rule = ruleById(code)!;
  const errors: unknown[] = [];
  const r = runRules(parse(text), [rule], { uri: 'file:///fixture/Dockerfile', ...opts, onRuleError: (_r, e) => errors.push(e) });
  assert.deepEqual(errors, []);
  return r.findings.filter((f) => f.code === code);
}

describe('InvalidBaseImagePlatform (a real store)', () => {
  let dir = '';
  let store: Store;
  let cache: BaseImageCache;
  const check = async (marked: string): Promise<Finding[]> => {
    const lf = stripMarkers(marked);
    let out: Finding[] = [];
    for (const text of [lf, toCRLF(lf)]) {
      const view = await cache.viewFor(parse(text), store.root);
      assert.ok(view, 'a view for an existing store');
      const findings = await run('InvalidBaseImagePlatform', text, { images: view });
      assert.equal(drawFindings(lf, findings), marked);
      out = findings;
    }
    return out;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lw-plat-'));
    store = await openStore(join(dir, 'store'));
    await putImage(store, 'example.com/other-arch:1', { os: 'linux', architecture: OTHER });
    await putImage(store, 'example.com/native:1', { os: 'linux', architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) });
    await putImage(store, 'example.com/windows:1', { os: 'windows', architecture: host.architecture });
    // a multi-platform index holding this machine's platform and the other one
    const a = await putImage(store, '', { os: 'linux', architecture: host.architecture });
    const b = await putImage(store, '', { os: 'linux', architecture: OTHER, ...(OTHER === 'arm64' ? { variant: 'v8' } : {}) });
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { ...a, platform: { os: 'linux', architecture: host.architecture } },
        { ...b, platform: { os: 'linux', architecture: OTHER, ...(OTHER === 'arm64' ? { variant: 'v8' } : {}) } },
      ],
    };
    const blob = await store.content.writeBlob(JSON.stringify(index));
    await store.images.put('example.com/multi:1', { mediaType: MediaType.ociIndex, digest: blob.digest, size: blob.size });
    cache = new BaseImageCache();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const expected = formatPlatform({ os: 'linux', architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) });

  it('reports a base image of another architecture, with BuildKit\'s message', async () => {
    const [f] = await check('[[FROM example.com/other-arch:1]]\nRUN true\n');
    assert.equal(f!.message, `Base image example.com/other-arch:1 was pulled with platform "linux/${OTHER}", expected "${expected}" for current build`);
  });
  it('expands ARGs in the FROM line and in --platform', async () => {
    await check('ARG IMG=example.com/other-arch:1\n[[FROM $IMG AS a]]\nRUN true\n');
    await check('ARG P=linux/arm64\n[[FROM --platform=$P example.com/windows:1]]\n');
    await check('[[FROM --platform=$BUILDPLATFORM example.com/other-arch:1]]\n');
    const [f] = await check(`[[FROM --platform=windows/${OTHER} example.com/native:1]]\n`);
    assert.match(f!.message, new RegExp(`expected "windows/${OTHER}"`));
  });
  it('reports another OS on the same architecture', async () => {
    await check('[[FROM example.com/windows:1]]\n');
  });
  it('near misses: matching platform, --platform that matches, an index with the platform, image not in the store, unreachable stage, variants', async () => {
    await check('FROM example.com/native:1\n');
    await check(`FROM --platform=linux/${OTHER} example.com/other-arch:1\n`);
    await check(`FROM --platform=linux/${OTHER === 'arm64' ? 'aarch64' : 'x86_64'} example.com/other-arch:1\n`);
    await check(`FROM --platform=linux/${OTHER} example.com/multi:1\nFROM example.com/multi:1\n`);
    await check('FROM example.com/not-here:1\nFROM busybox\n');
    await check('FROM example.com/other-arch:1 AS unused\nFROM example.com/native:1\n');
    await check('ARG IMG\nFROM ${IMG:-example.com/native:1}\n');
    await check('FROM scratch\nFROM example.com/native:1 AS b\nFROM b\n');
  });
  it('stages the build reaches through COPY --from and FROM <stage> are checked', async () => {
    await check('[[FROM example.com/other-arch:1 AS tools]]\nFROM example.com/native:1\nCOPY --from=tools /x /x\n');
  });
  it('honours # check=skip and # check=error=true', async () => {
    const text = 'FROM example.com/other-arch:1\n';
    const view = (await cache.viewFor(parse(text), store.root))!;
    assert.deepEqual(await run('InvalidBaseImagePlatform', `# check=skip=InvalidBaseImagePlatform\n${text}`, { images: view }), []);
    assert.deepEqual(await run('InvalidBaseImagePlatform', `# check=skip=all\n${text}`, { images: view }), []);
    const [f] = await run('InvalidBaseImagePlatform', `# check=error=true\n${text}`, { images: view });
    assert.equal(f!.severity, 'error');
  });
  it('no view without a store (nothing is created), and the view follows the store after changed()', async () => {
    assert.equal(await cache.viewFor(parse('FROM a\n'), join(dir, 'nowhere')), undefined);
    const text = 'FROM example.com/flip:1\n';
    await putImage(store, 'example.com/flip:1', { os: 'linux', architecture: OTHER });
    let view = (await cache.viewFor(parse(text), store.root))!;
    assert.equal((await run('InvalidBaseImagePlatform', text, { images: view })).length, 1);
    await putImage(store, 'example.com/flip:1', { os: 'linux', architecture: host.architecture });
    // cached until the store says it changed
    view = (await cache.viewFor(parse(text), store.root))!;
    assert.equal((await run('InvalidBaseImagePlatform', text, { images: view })).length, 1);
    cache.changed(store.root);
    view = (await cache.viewFor(parse(text), store.root))!;
    assert.deepEqual(await run('InvalidBaseImagePlatform', text, { images: view }), []);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const DOCKERFILE = ['FROM busybox', 'COPY . /app', 'RUN make -C /app deps', 'RUN make -C /app build', 'CMD ["/app/run"]', ''].join('\n');
const RANGE = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 10 } });

/** The inputs a build records for DOCKERFILE's steps, with `files` as the COPY's file set and `secs` durations. */
function record(path: string, n: number, opts: { files: Record<string, string>; arg?: string; copyKey?: string }): BuildHistory {
  const files = Object.entries(opts.files).map(([p, d]) => ({ path: p, digest: d }));
  const copyKey = opts.copyKey ?? `sha256:copy-${JSON.stringify(opts.files)}`;
  const steps: StepInputs[] = [
    { stage: 0, index: 2, instruction: 'COPY . /app', key: copyKey, parentKey: 'sha256:base', args: {}, envDigest: 'e', files, duration: 0.2, range: RANGE(1) },
    { stage: 0, index: 3, instruction: 'RUN make -C /app deps', key: `${copyKey}-deps`, parentKey: copyKey, args: {}, envDigest: 'e', duration: 30, range: RANGE(2) },
    { stage: 0, index: 4, instruction: 'RUN make -C /app build', key: `${copyKey}-build`, parentKey: `${copyKey}-deps`, args: {}, envDigest: 'e', duration: 12.5, range: RANGE(3) },
  ];
  return { v: 1, dockerfile: path, time: new Date(Date.UTC(2024, 0, 1, 0, n)).toISOString(), steps };
}

describe('VolatileStepEarly (the engine\'s build records)', () => {
  let dir = '';
  let root = '';
  let bc: BuildCache;
  const path = '/work/project/Dockerfile';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lw-hist-'));
    root = join(dir, 'store');
    await openStore(root);
    bc = new BuildCache(join(root, 'cache'), join(root, 'tmp'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** record builds one by one as the builder does, and let the log read each one (as the StoreWatcher makes it) */
  async function replay(log: BuildHistoryLog, records: BuildHistory[]): Promise<BuildHistoryView> {
    // each case starts from a Dockerfile with no recorded builds
    await rm(bc.recentPath(path), { force: true });
    await rm(bc.historyPath(path), { force: true });
    let view: BuildHistoryView | undefined;
    for (const r of records) {
      await bc.saveHistory(r);
      log.changed(root);
      view = await log.viewFor(root, path);
    }
    return view!;
  }

  it('reports a COPY that missed in most builds, with the files and the time the steps below cost', async () => {
    const log = new BuildHistoryLog();
    const view = await replay(log, [
      record(path, 0, { files: { 'src/a.c': '1', 'README': 'r' } }),
      record(path, 1, { files: { 'src/a.c': '2', 'README': 'r' } }),
      record(path, 2, { files: { 'src/a.c': '2', 'README': 'r' } }), // no change: all cached
      record(path, 3, { files: { 'src/a.c': '3', 'README': 'r2' } }),
      record(path, 4, { files: { 'src/a.c': '4', 'README': 'r2' } }),
    ]);
    assert.equal(view.builds.length, 4);
    assert.deepEqual(view.builds.map((b) => b.steps.map((s) => (s.cached ? 'hit' : s.miss!.kind)).join(' ')), [
      'files-changed parent-changed parent-changed',
      'hit hit hit',
      'files-changed parent-changed parent-changed',
      'files-changed parent-changed parent-changed',
    ]);
    for (const text of [DOCKERFILE, toCRLF(DOCKERFILE)]) {
      const findings = await run('VolatileStepEarly', text, { history: view });
      assert.equal(drawFindings(DOCKERFILE, findings), DOCKERFILE.replace('COPY . /app', '[[COPY . /app]]'));
      assert.equal(
        findings[0]!.message,
        'COPY . /app missed the cache in 3 of the last 4 builds (files changed: src/a.c, README), and the 2 steps below it rebuilt each time: 128 s in all. Move it below them, or copy what changes often last.',
      );
    }
  });

  it('near misses: too few builds, a step that missed in only some builds, cheap steps below, an edited line, check=skip', async () => {
    const few = await replay(new BuildHistoryLog(), [record(path, 10, { files: { a: '1' } }), record(path, 11, { files: { a: '2' } })]);
    assert.deepEqual(await run('VolatileStepEarly', DOCKERFILE, { history: few }), []);
    const rare = await replay(new BuildHistoryLog(), [
      record(path, 20, { files: { a: '1' } }),
      record(path, 21, { files: { a: '2' } }),
      record(path, 22, { files: { a: '2' } }),
      record(path, 23, { files: { a: '2' } }),
      record(path, 24, { files: { a: '3' } }),
    ]);
    assert.deepEqual(await run('VolatileStepEarly', DOCKERFILE, { history: rare }), [], '2 of 4 is not most');
    const cheapRecords = [0, 1, 2].map((n) => record(path, 30 + n, { files: { a: String(n) } }));
    for (const r of cheapRecords) for (const s of r.steps) s.duration = 0.1;
    const cheap = await replay(new BuildHistoryLog(), cheapRecords);
    assert.deepEqual(await run('VolatileStepEarly', DOCKERFILE, { history: cheap }), []);
    const often = await replay(new BuildHistoryLog(), [0, 1, 2].map((n) => record(path, 40 + n, { files: { a: String(n) } })));
    assert.equal((await run('VolatileStepEarly', DOCKERFILE, { history: often })).length, 1);
    assert.deepEqual(await run('VolatileStepEarly', DOCKERFILE.replace('COPY . /app', 'COPY src /app'), { history: often }), []);
    assert.deepEqual(await run('VolatileStepEarly', `# check=skip=VolatileStepEarly\n${DOCKERFILE}`, { history: often }), []);
  });

  it('the store keeps the recent builds: a server started afterwards sees them all (at most RECENT_BUILDS)', async () => {
    await replay(new BuildHistoryLog(), [0, 1, 2].map((n) => record(path, 60 + n, { files: { a: String(n) } })));
    const fresh = (await new BuildHistoryLog().viewFor(root, path))!;
    assert.equal(fresh.builds.length, 2);
    assert.equal((await run('VolatileStepEarly', DOCKERFILE, { history: fresh })).length, 1);
    for (let n = 0; n < RECENT_BUILDS + 2; n++) await bc.saveHistory(record(path, 70 + n, { files: { a: String(n) } }));
    const kept = await bc.recentHistory(path);
    assert.equal(kept.length, RECENT_BUILDS);
    assert.equal(kept[kept.length - 1]!.time, record(path, 70 + RECENT_BUILDS + 1, { files: {} }).time);
    assert.equal((await bc.history(path))!.time, kept[kept.length - 1]!.time, 'the last build is still what the next one compares with');
  });

  it('the recent log is appended to and stays bounded; a torn line costs only itself; order is by time', async () => {
    await rm(bc.recentPath(path), { force: true });
    await rm(bc.historyPath(path), { force: true });
    const lines = async () => (await readFile(bc.recentPath(path), 'utf8')).split('\n').filter(Boolean).length;
    for (let n = 0; n < 5 * RECENT_BUILDS; n++) {
      await bc.saveHistory(record(path, 100 + n, { files: { a: String(n) } }));
      assert.ok((await lines()) <= 2 * RECENT_BUILDS + 1, `after ${n + 1} builds the log has ${await lines()} lines`);
    }
    let kept = await bc.recentHistory(path);
    assert.deepEqual(kept.map((r) => r.time), Array.from({ length: RECENT_BUILDS }, (_, i) => record(path, 100 + 5 * RECENT_BUILDS - RECENT_BUILDS + i, { files: {} }).time));
    // a build killed while appending leaves half a record with no newline; the next build's record is still read
    await appendFile(bc.recentPath(path), JSON.stringify(record(path, 300, { files: { a: 'x' } })).slice(0, 40));
    await bc.saveHistory(record(path, 301, { files: { a: 'y' } }));
    // two builds that finish out of order
    await bc.saveHistory(record(path, 299, { files: { a: 'z' } }));
    kept = await bc.recentHistory(path);
    assert.deepEqual(kept.slice(-2).map((r) => r.time), [record(path, 299, { files: {} }).time, record(path, 301, { files: {} }).time]);
    assert.equal(kept.length, RECENT_BUILDS);
  });

  it('a record seen twice counts once; the log keeps the records of each Dockerfile apart', async () => {
    const log = new BuildHistoryLog();
    await replay(log, [record(path, 50, { files: { a: '1' } }), record(path, 51, { files: { a: '2' } })]);
    log.changed(root);
    const again = (await log.viewFor(root, path))!;
    assert.equal(again.builds.length, 1);
    const other = (await log.viewFor(root, '/elsewhere/Dockerfile'))!;
    assert.equal(other.builds.length, 0);
  });
});

describe('VolatileStepEarly from real builds (builder records, namespaces)', () => {
  it('a COPY of a file that changes every build, above a slow RUN', async (t) => {
    const why = await buildUnavailableReason();
    if (why) return t.skip(why);
    const kit = await newKit();
    try {
      const ctxDir = join(kit.dir, 'ctx');
      const dockerfile = 'FROM busybox\nCOPY . /app\nRUN sleep 0.4 && cat /app/main.c > /built\n';
      const log = new BuildHistoryLog();
      let view: BuildHistoryView | undefined;
      for (let n = 0; n < 4; n++) {
        await writeContext(ctxDir, { Dockerfile: dockerfile, 'main.c': `int v${'_'.repeat(n)} = ${n};\n` });
        const b = await runBuild(kit, ctxDir);
        assert.equal(b.error, undefined, String(b.error));
        log.changed(kit.root);
        view = await log.viewFor(kit.root, join(ctxDir, 'Dockerfile'));
      }
      assert.equal(view!.builds.length, 3);
      const findings = await run('VolatileStepEarly', dockerfile, { history: view });
      assert.equal(drawFindings(dockerfile, findings), dockerfile.replace('COPY . /app', '[[COPY . /app]]'));
      assert.match(findings[0]!.message, /^COPY \. \/app missed the cache in 3 of the last 3 builds \(files changed: main\.c\), and the 1 step below it rebuilt each time: \d+\.\d s in all/);
      // the same build again: everything cached, and the engine records nothing for a no-op build (51a6e40), so the
      // log is unchanged
      const again = await runBuild(kit, ctxDir);
      assert.equal(again.error, undefined);
      assert.ok(again.steps.filter((st) => st.cacheKey && !st.instruction.startsWith('FROM')).every((st) => st.status === 'cached'));
      log.changed(kit.root);
      view = await log.viewFor(kit.root, join(ctxDir, 'Dockerfile'));
      assert.equal(view!.builds.length, 3);
    } finally {
      await kit.cleanup();
    }
  });
});
