/**
 * Diagnostics: runs the rules over a document's tree and publishes the findings. The pure part
 * (`computeDiagnostics`) is tested without a server; `registerDiagnostics` wires it to document changes,
 * settings changes and watched-file changes (.dockerignore, build-context files).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DiagnosticSeverity,
  DiagnosticTag,
  DidChangeWatchedFilesNotification,
  type Diagnostic,
} from 'vscode-languageserver';
import type { Dockerfile } from '../../engine/dockerfile/types';
import type { ServerContext } from '../context';
import { DIAGNOSTIC_SOURCE } from '../protocol';
import { allRules } from '../rules/index';
import { runRules } from '../rules/run';
import type { BaseImageView, BuildContextView, BuildHistoryView, Finding, Rule, RuleSeverity } from '../rules/types';
import type { LayerwiseSettings, RuleSeveritySetting } from '../settings';
import { BuildContextCache } from '../rules/buildContext';
import { IncrementalRules } from '../rules/incremental';
import { BaseImageCache } from '../rules/baseImages';
import { BuildHistoryLog } from '../rules/buildHistory';
import { StoreWatcher, storeRootFor, type StoreChange } from '../storeWatch';

export type SeverityFinding = Finding & { severity: RuleSeverity };

export interface DiagnosticsResult {
  diagnostics: Diagnostic[];
  /** the findings behind the diagnostics (same order), with their fixes */
  findings: SeverityFinding[];
}

/** Where docs/rules lives: the extension folder (dist/..) or the repository (server/features/../..). */
function findDocsRoot(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'docs', 'rules');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

let docsRoot: string | undefined | null = null;
const hrefs = new Map<string, string>();
/**
 * `file:///…/docs/rules/<code>.md` inside the installed extension (found from the server's own folder: dist/..),
 * which VS Code opens in an editor tab; a link to the repository's page when the docs folder is absent.
 */
export function ruleDocHref(code: string): string {
  let h = hrefs.get(code);
  if (h) return h;
  if (docsRoot === null) docsRoot = findDocsRoot();
  h = docsRoot ? pathToFileURL(join(docsRoot, `${code}.md`)).href : `https://github.com/layerwise/layerwise/blob/main/docs/rules/${code}.md`;
  hrefs.set(code, h);
  return h;
}

const SEVERITY: Record<RuleSeverity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function effectiveSeverity(finding: { code: string; severity: RuleSeverity }, settings: LayerwiseSettings): RuleSeverity | 'off' {
  const o: RuleSeveritySetting | undefined = settings.rules[finding.code];
  return o ?? finding.severity;
}

export interface ComputeOptions {
  uri: string;
  settings: LayerwiseSettings;
  context?: BuildContextView;
  images?: BaseImageView;
  history?: BuildHistoryView;
  rules?: readonly Rule[];
  onRuleError?: (rule: Rule, error: unknown) => void;
  /** this document's incremental runner (made with the same rules): reuses what the last run found where the
   *  edit changed nothing; the result is the same as without it */
  incremental?: IncrementalRules;
}

/** One `codeDescription` per code, shared by its diagnostics (they are serialised, never changed). */
const descriptions = new Map<string, { href: string }>();
function codeDescription(code: string): { href: string } {
  let d = descriptions.get(code);
  if (!d) descriptions.set(code, (d = { href: ruleDocHref(code) }));
  return d;
}

const byIdCache = new WeakMap<readonly Rule[], Map<string, Rule>>();
function byIdOf(rules: readonly Rule[]): Map<string, Rule> {
  let m = byIdCache.get(rules);
  if (!m) {
    m = new Map(rules.map((r) => [r.id, r]));
    byIdCache.set(rules, m);
  }
  return m;
}

export function computeDiagnostics(file: Dockerfile, opts: ComputeOptions): DiagnosticsResult {
  const rules = opts.rules ?? allRules;
  if (!opts.settings.diagnosticsEnabled) return { diagnostics: [], findings: [] };
  const runOpts = {
    uri: opts.uri,
    context: opts.context,
    images: opts.images,
    history: opts.history,
    onRuleError: opts.onRuleError,
  };
  const { findings } = opts.incremental ? opts.incremental.run(file, runOpts) : runRules(file, rules, runOpts);
  const byId = byIdOf(rules);
  const outDiags: Diagnostic[] = [];
  const outFindings: SeverityFinding[] = [];
  for (const f of findings) {
    const sev = effectiveSeverity(f, opts.settings);
    if (sev === 'off') continue;
    const rule = byId.get(f.code);
    const d: Diagnostic = {
      range: f.range,
      severity: SEVERITY[sev],
      source: DIAGNOSTIC_SOURCE,
      code: f.code,
      codeDescription: codeDescription(f.code),
      message: f.message,
    };
    const tags = rule?.tags?.map((t) => (t === 'deprecated' ? DiagnosticTag.Deprecated : DiagnosticTag.Unnecessary));
    if (tags && tags.length) d.tags = tags;
    outDiags.push(d);
    // the runner's findings are its own fresh objects, severity filled in: kept as they are unless a setting changed it
    outFindings.push(sev === f.severity ? f : { ...f, severity: sev });
  }
  return { diagnostics: outDiags, findings: outFindings };
}

export interface DiagnosticsService {
  /** the findings last published for this document (undefined before the first run) */
  findings(uri: string): { version: number; findings: SeverityFinding[] } | undefined;
  /** validate now (returns when published) */
  validate(uri: string): Promise<void>;
  /** called with the URIs of workspace files that changed (the context of a Dockerfile, .dockerignore) */
  onFilesChanged(cb: (uris: string[]) => void): void;
  /** follow the engine store at `root` (images and build history); false when there is none there */
  watchStore(root: string): boolean;
  /** called when a watched store's images or build history changed (after the diagnostics were re-run) */
  onStoreChanged(cb: (root: string, what: StoreChange) => void): void;
}

function filePath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

/** How long after a document's first diagnostics the server primes its incremental rules. */
const PRIME_AFTER_MS = 50;

export function registerDiagnostics(ctx: ServerContext, rules: readonly Rule[] = allRules): DiagnosticsService {
  const { connection, documents, settings } = ctx;
  const published = new Map<string, { version: number; findings: SeverityFinding[] }>();
  const pending = new Map<string, NodeJS.Immediate>();
  const contexts = new BuildContextCache();
  const reportedRules = new Set<string>();
  const baseImages = new BaseImageCache();
  const historyLog = new BuildHistoryLog();
  const storeWatcher = new StoreWatcher();
  const storeListeners: ((root: string, what: StoreChange) => void)[] = [];
  const incrementals = new Map<string, IncrementalRules>();
  const primeTimers = new Map<string, NodeJS.Timeout>();

  const onRuleError = (rule: Rule, error: unknown): void => {
    if (reportedRules.has(rule.id)) return;
    reportedRules.add(rule.id);
    const msg = error instanceof Error ? error.stack ?? error.message : String(error);
    ctx.logOnce(`rule:${rule.id}`, `layerwise: rule ${rule.id} failed and is skipped: ${msg}`);
  };

  async function validate(uri: string): Promise<void> {
    // ask the client for the settings first, and parse while it answers
    const settingsP = settings.get(uri);
    const entry = documents.getDocument(uri);
    if (!entry) return;
    const version = entry.doc.version;
    const s = await settingsP;
    const path = filePath(uri);
    const root = path ? storeRootFor(s.raw) : undefined;
    if (root) storeWatcher.watch(root);
    const storeFailed = (e: unknown): undefined => {
      ctx.logOnce(`store:${root}`, `layerwise: cannot read the engine store at ${root}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    };
    // the build context, the store's base images and the build history, read side by side (cached after the first)
    const [context, images, history] = await Promise.all([
      contexts.viewFor(uri, s.buildContext).catch((e: unknown) => {
        ctx.logOnce(`context:${uri}`, `layerwise: cannot read the build context for ${uri}: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }),
      root ? baseImages.viewFor(entry.parsed, root).catch(storeFailed) : undefined,
      root && path ? historyLog.viewFor(root, path).catch(storeFailed) : undefined,
    ]);
    // a newer version arrived while settings were fetched: its own validation publishes
    const now = documents.getDocument(uri);
    if (!now || now.doc.version !== version) return;
    let result: DiagnosticsResult;
    let incremental = incrementals.get(uri);
    if (!incremental) incrementals.set(uri, (incremental = new IncrementalRules(rules)));
    // the first run over a document has nothing to reuse: plain, and the per-unit findings are made after publishing
    const cold = !incremental.warm;
    try {
      result = computeDiagnostics(now.parsed, { uri, settings: s, context, images, history, rules, onRuleError, incremental: cold ? undefined : incremental });
    } catch (e) {
      ctx.logOnce('diagnostics', `layerwise: diagnostics failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      result = { diagnostics: [], findings: [] };
    }
    if (cold && !primeTimers.has(uri)) {
      // Priming is work for later edits, not for this one: it runs a moment after the document's first diagnostics,
      // not right after them, so that it does not hold up what the client sends next (the other files an editor
      // opens at start-up, say). It primes the document as it is then (edits may have come in meanwhile, each run
      // plain until it is primed); a document closed by then is not primed.
      const inc = incremental;
      const timer = setTimeout(() => {
        primeTimers.delete(uri);
        const tree = documents.getDocument(uri)?.parsed;
        if (!tree || incrementals.get(uri) !== inc || inc.warm) return;
        try {
          inc.prime(tree, { uri, context, images, history, onRuleError });
        } catch {
          /* a failing rule was reported by the run; the next edit starts cold again */
        }
      }, PRIME_AFTER_MS);
      timer.unref?.();
      primeTimers.set(uri, timer);
    }
    published.set(uri, { version, findings: result.findings });
    await connection.sendDiagnostics({ uri, version, diagnostics: result.diagnostics });
  }

  function schedule(uri: string, immediate: boolean): void {
    const t = pending.get(uri);
    if (t) clearImmediate(t);
    if (immediate) {
      pending.delete(uri);
      void validate(uri);
      return;
    }
    // coalesce a burst of didChange notifications into one run
    pending.set(
      uri,
      setImmediate(() => {
        pending.delete(uri);
        void validate(uri);
      }),
    );
  }

  const revalidateAll = (): void => {
    for (const d of documents.all()) schedule(d.uri, false);
  };

  // TextDocuments fires onDidOpen then onDidChangeContent for the same version: validate once, right away.
  const openedVersion = new Map<string, number>();
  documents.documents.onDidOpen((e) => {
    openedVersion.set(e.document.uri, e.document.version);
    schedule(e.document.uri, true);
  });
  documents.documents.onDidChangeContent((e) => {
    if (openedVersion.get(e.document.uri) === e.document.version) {
      openedVersion.delete(e.document.uri);
      return;
    }
    schedule(e.document.uri, false);
  });
  documents.documents.onDidClose((e) => {
    const t = pending.get(e.document.uri);
    if (t) clearImmediate(t);
    pending.delete(e.document.uri);
    published.delete(e.document.uri);
    incrementals.delete(e.document.uri);
    const prime = primeTimers.get(e.document.uri);
    if (prime) clearTimeout(prime);
    primeTimers.delete(e.document.uri);
    openedVersion.delete(e.document.uri);
    contexts.forget(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  settings.onDidChange(revalidateAll);
  const filesListeners: ((uris: string[]) => void)[] = [];
  connection.onDidChangeWatchedFiles((params) => {
    const uris = params.changes.map((c) => c.uri);
    contexts.filesChanged(uris);
    revalidateAll();
    for (const l of filesListeners) l(uris);
  });
  storeWatcher.onChange((root, what) => {
    if (what === 'images') baseImages.changed(root);
    else historyLog.changed(root);
    revalidateAll();
    for (const l of storeListeners) l(root, what);
  });
  ctx.onInitialized(() => {
    const caps = ctx.clientCapabilities();
    if (caps.workspace?.didChangeWatchedFiles?.dynamicRegistration) {
      void connection.client
        .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*' }] })
        .catch(() => undefined);
    }
  });

  return {
    findings: (uri) => published.get(uri),
    validate,
    onFilesChanged: (cb) => void filesListeners.push(cb),
    watchStore: (root) => storeWatcher.watch(root),
    onStoreChanged: (cb) => void storeListeners.push(cb),
  };
}
