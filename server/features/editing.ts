/**
 * Registers the editing features (completion, hover, signature help, navigation, symbols, folding, links,
 * selection ranges, semantic tokens, formatting) on the connection. Every feature is a pure function of the
 * parsed document; this file only looks up the tree, the settings and the environment (local images, the
 * build context) and converts ranges to locations.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResponseError, type Location } from 'vscode-languageserver';
import { PatternMatcher, readDockerignoreFor } from '../../engine/context/dockerignore';
import { familiarRepository, parseReference } from '../../engine/image/refs';
import { openStore } from '../../engine/store/index';
import type { ServerContext } from '../context';
import { completion, type CompletionEnv, type ContextLister, type ImageCatalog, type ImageFact } from './completion';
import { documentLinks } from './links';
import { foldingRanges } from './folding';
import { formatDocument, formatOnType, formatRange, ON_TYPE_TRIGGERS, readFormatSettings } from './formatting';
import { hover } from './hover';
import { definition, highlights, prepareRename, references, rename } from './navigation';
import { selectionRange } from './selection';
import { legend, semanticTokens, semanticTokensDelta, semanticTokensRange } from './semanticTokens';
import { signatureHelp } from './signatureHelp';
import { documentSymbols } from './symbols';

/** The local store's images, refreshed in the background at most every few seconds. Never the network. */
export class StoreImageCatalog implements ImageCatalog {
  private cached: ImageFact[] = [];
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  constructor(
    private readonly root: string,
    private readonly maxAgeMs = 5000,
  ) {}

  get loaded(): boolean {
    return this.loadedAt > 0;
  }

  images(): readonly ImageFact[] {
    if (Date.now() - this.loadedAt > this.maxAgeMs) void this.refresh();
    return this.cached;
  }

  /** Loads (once at a time); resolves when the catalog is current. Errors leave the last list. */
  refresh(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load()
        .then((list) => {
          this.cached = list;
        })
        .catch(() => undefined)
        .finally(() => {
          this.loadedAt = Date.now();
          this.loading = undefined;
        });
    }
    return this.loading;
  }

  private async load(): Promise<ImageFact[]> {
    if (!existsSync(join(this.root, 'oci-layout'))) return [];
    const store = await openStore(this.root, { create: false });
    const all = await store.images.list();
    const out: ImageFact[] = [];
    for (const rec of all) {
      if (!rec.name) continue;
      try {
        const r = await store.images.resolveRecord(rec, all);
        const ref = parseReference(rec.name, { defaultTag: false });
        const fact: ImageFact = {
          repository: familiarRepository(ref),
          id: r.id,
          size: r.manifest.layers.reduce((n, l) => n + l.size, 0) + r.manifest.config.size,
          layers: r.manifest.layers.length,
        };
        if (ref.tag) fact.tag = ref.tag;
        if (ref.digest) fact.digest = ref.digest;
        if (r.config.created) fact.created = r.config.created;
        out.push(fact);
      } catch {
        // an image whose blobs are missing is left out
      }
    }
    return out;
  }
}

/** The build context of a Dockerfile, listed through its .dockerignore. */
export class FsContextLister implements ContextLister {
  private matcher: PatternMatcher | undefined;
  private ready: Promise<void>;
  constructor(
    readonly contextDir: string,
    dockerfilePath: string,
  ) {
    this.ready = readDockerignoreFor(contextDir, dockerfilePath)
      .then(({ file }) => {
        try {
          this.matcher = new PatternMatcher(file.patterns);
        } catch {
          this.matcher = undefined;
        }
      })
      .catch(() => undefined);
  }
  whenReady(): Promise<void> {
    return this.ready;
  }
  list(dir: string): { name: string; directory: boolean }[] {
    const clean = dir.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    if (clean.split('/').includes('..')) return [];
    const abs = join(this.contextDir, clean);
    const out: { name: string; directory: boolean }[] = [];
    for (const e of readdirSync(abs, { withFileTypes: true }).slice(0, 1000)) {
      const rel = clean ? `${clean}/${e.name}` : e.name;
      if (this.matcher?.matchesOrParentMatches(rel)) continue;
      out.push({ name: e.name, directory: e.isDirectory() });
    }
    return out.sort((a, b) => Number(b.directory) - Number(a.directory) || a.name.localeCompare(b.name));
  }
}

function defaultStoreRoot(): string {
  const env = process.env;
  if (env.LAYERWISE_ROOT) return env.LAYERWISE_ROOT;
  const home = env.HOME || '/';
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'layerwise');
}

export function registerEditingFeatures(ctx: ServerContext): void {
  const { connection, documents } = ctx;
  // one catalog per store root (`layerwise.storeRoot`, else $LAYERWISE_ROOT / $XDG_DATA_HOME/layerwise)
  const catalogs = new Map<string, StoreImageCatalog>();
  const catalogFor = (root: string) => {
    let c = catalogs.get(root);
    if (!c) {
      c = new StoreImageCatalog(root);
      catalogs.set(root, c);
    }
    return c;
  };
  const defaultCatalog = catalogFor(defaultStoreRoot());
  async function catalogOf(uri: string): Promise<StoreImageCatalog> {
    const raw = (await ctx.settings.get(uri)).raw;
    const root = typeof raw.storeRoot === 'string' && raw.storeRoot ? raw.storeRoot : '';
    const c = root ? catalogFor(root) : defaultCatalog;
    if (!c.loaded) await c.refresh();
    return c;
  }
  const listers = new Map<string, FsContextLister>();

  ctx.addCapabilities({
    completionProvider: { triggerCharacters: ['-', '=', '$', '{', ',', ':', '/', '#'], resolveProvider: false },
    hoverProvider: true,
    signatureHelpProvider: { triggerCharacters: [' ', '=', ','], retriggerCharacters: [' ', ','] },
    definitionProvider: true,
    referencesProvider: true,
    documentHighlightProvider: true,
    renameProvider: { prepareProvider: true },
    documentSymbolProvider: true,
    foldingRangeProvider: true,
    documentLinkProvider: { resolveProvider: false },
    selectionRangeProvider: true,
    semanticTokensProvider: { legend, full: { delta: true }, range: true },
    documentFormattingProvider: true,
    documentRangeFormattingProvider: true,
    documentOnTypeFormattingProvider: { firstTriggerCharacter: ON_TYPE_TRIGGERS[0]! },
  });
  ctx.onInitialized(() => void defaultCatalog.refresh());

  async function envFor(uri: string): Promise<CompletionEnv> {
    const env: CompletionEnv = { images: await catalogOf(uri) };
    if (!uri.startsWith('file:')) return env;
    try {
      const file = fileURLToPath(uri);
      const settings = await ctx.settings.get(uri);
      const ctxDir = settings.buildContext ? (isAbsolute(settings.buildContext) ? settings.buildContext : resolve(dirname(file), settings.buildContext)) : dirname(file);
      const key = `${ctxDir}\0${file}`;
      let l = listers.get(key);
      if (!l) {
        l = new FsContextLister(ctxDir, file);
        listers.set(key, l);
      }
      await l.whenReady();
      env.context = l;
    } catch {
      // no context completion for this document
    }
    return env;
  }
  documents.documents.onDidSave?.((e) => {
    for (const k of listers.keys()) if (e.document.uri.endsWith('.dockerignore')) listers.delete(k);
  });

  const loc = (uri: string) => (r: Location['range']): Location => ({ uri, range: r });

  connection.onCompletion(async (p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return [];
    return completion(d.parsed, d.doc, p.position, await envFor(p.textDocument.uri));
  });
  connection.onHover(async (p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? hover(d.parsed, d.doc, p.position, { images: await catalogOf(p.textDocument.uri) }) : null;
  });
  connection.onSignatureHelp((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? signatureHelp(d.parsed, p.position) : null;
  });
  connection.onDefinition((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? definition(d.parsed, p.position).map(loc(p.textDocument.uri)) : [];
  });
  connection.onReferences((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? references(d.parsed, p.position, p.context.includeDeclaration).map(loc(p.textDocument.uri)) : [];
  });
  connection.onDocumentHighlight((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? highlights(d.parsed, p.position) : [];
  });
  connection.onPrepareRename((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? prepareRename(d.parsed, p.position) : null;
  });
  connection.onRenameRequest((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return null;
    const r = rename(d.parsed, p.position, p.newName);
    if (!r) return null;
    if ('error' in r) throw new ResponseError(-32602, r.error);
    return { changes: { [p.textDocument.uri]: r.edits } };
  });
  connection.onDocumentSymbol((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? documentSymbols(d.parsed) : [];
  });
  connection.onFoldingRanges((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? foldingRanges(d.parsed) : [];
  });
  connection.onDocumentLinks((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? documentLinks(d.parsed) : [];
  });
  connection.onSelectionRanges((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? p.positions.map((pos) => selectionRange(d.parsed, pos)) : [];
  });

  // semantic tokens: the last result per document, for deltas
  const lastTokens = new Map<string, { resultId: string; data: number[] }>();
  let nextResult = 1;
  documents.documents.onDidClose((e) => lastTokens.delete(e.document.uri));
  connection.languages.semanticTokens.on((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return { data: [] };
    const resultId = String(nextResult++);
    const r = semanticTokens(d.parsed, resultId);
    lastTokens.set(p.textDocument.uri, { resultId, data: r.data });
    return r;
  });
  connection.languages.semanticTokens.onRange((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    return d ? semanticTokensRange(d.parsed, p.range) : { data: [] };
  });
  connection.languages.semanticTokens.onDelta((p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return { data: [] };
    const resultId = String(nextResult++);
    const next = semanticTokens(d.parsed, resultId);
    const prev = lastTokens.get(p.textDocument.uri);
    lastTokens.set(p.textDocument.uri, { resultId, data: next.data });
    if (!prev || prev.resultId !== p.previousResultId) return next;
    return semanticTokensDelta(prev.data, next.data, resultId);
  });

  connection.onDocumentFormatting(async (p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return [];
    const s = readFormatSettings((await ctx.settings.get(p.textDocument.uri)).raw);
    return formatDocument(d.parsed, p.options, s);
  });
  connection.onDocumentRangeFormatting(async (p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return [];
    const s = readFormatSettings((await ctx.settings.get(p.textDocument.uri)).raw);
    return formatRange(d.parsed, p.range, p.options, s);
  });
  connection.onDocumentOnTypeFormatting(async (p) => {
    const d = documents.getDocument(p.textDocument.uri);
    if (!d) return [];
    const s = readFormatSettings((await ctx.settings.get(p.textDocument.uri)).raw);
    return formatOnType(d.parsed, p.position, p.ch, p.options, s);
  });
}
