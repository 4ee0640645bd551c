/**
 * Builds the language server on a connection: documents, settings, and every feature module. Used by
 * server.ts (stdio/IPC) and by in-process tests (a connection over streams).
 */
import {
  TextDocumentSyncKind,
  type ClientCapabilities,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type ServerCapabilities,
} from 'vscode-languageserver';
import { fileURLToPath } from 'node:url';
import type { ServerContext } from './context';
import { DocumentStore, type ParseFunction } from './documents';
import { SettingsStore } from './settings';
import { registerDiagnostics } from './features/diagnostics';
import { registerCodeActions } from './features/codeActions';
import { registerEditingFeatures } from './features/editing';
import { registerCustomMessages } from './features/custom';
import type { Rule } from './rules/types';

export interface StartOptions {
  /** replace the parser (tests only) */
  parse?: ParseFunction;
  /** replace the rule set (tests only: e.g. a rule that throws) */
  rules?: Rule[];
}

function mergeCapabilities(into: ServerCapabilities, add: ServerCapabilities): void {
  const target = into as Record<string, unknown>;
  for (const [k, v] of Object.entries(add)) {
    const cur = target[k];
    if (cur && typeof cur === 'object' && v && typeof v === 'object' && !Array.isArray(v)) {
      target[k] = { ...(cur as object), ...(v as object) };
    } else {
      target[k] = v;
    }
  }
}

export function startServer(connection: Connection, options: StartOptions = {}): ServerContext {
  const documents = new DocumentStore(options.parse);
  const settings = new SettingsStore(connection);
  const capabilities: ServerCapabilities = {
    textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: false },
  };
  const initializeHooks: ((p: InitializeParams) => void)[] = [];
  const initializedHooks: (() => void)[] = [];
  let clientCaps: ClientCapabilities = {};
  let folders: string[] = [];
  const loggedOnce = new Set<string>();

  const ctx: ServerContext = {
    connection,
    documents,
    settings,
    addCapabilities: (caps) => mergeCapabilities(capabilities, caps),
    onInitialize: (cb) => void initializeHooks.push(cb),
    onInitialized: (cb) => void initializedHooks.push(cb),
    clientCapabilities: () => clientCaps,
    workspaceFolders: () => folders,
    log: (message) => connection.console.log(message),
    logOnce: (key, message) => {
      if (loggedOnce.has(key)) return;
      loggedOnce.add(key);
      connection.console.error(message);
    },
  };

  const diagnostics = registerDiagnostics(ctx, options.rules);
  registerCodeActions(ctx, diagnostics);
  registerCustomMessages(ctx, diagnostics);
  // Issue 4's features (completion, hover, symbols, semantic tokens, formatting) register themselves here.
  registerEditingFeatures(ctx);

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    clientCaps = params.capabilities ?? {};
    settings.supportsConfiguration = !!clientCaps.workspace?.configuration;
    const uris = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    folders = uris.flatMap((u) => {
      try {
        return u.startsWith('file:') ? [fileURLToPath(u)] : [];
      } catch {
        return [];
      }
    });
    for (const h of initializeHooks) h(params);
    return { capabilities, serverInfo: { name: 'layerwise', version: '0.1.0' } };
  });
  connection.onInitialized(() => {
    for (const h of initializedHooks) h();
  });
  connection.onDidChangeConfiguration((change) => settings.changed(change.settings));

  documents.documents.listen(connection);
  return ctx;
}
