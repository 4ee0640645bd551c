/**
 * What every feature module gets: the connection, the parsed documents, settings and a way to declare its
 * capabilities. server.ts / wiring.ts creates one ServerContext and hands it to each `register*` function.
 */
import type {
  ClientCapabilities,
  Connection,
  InitializeParams,
  ServerCapabilities,
} from 'vscode-languageserver';
import type { DocumentStore } from './documents';
import type { SettingsStore } from './settings';

export interface ServerContext {
  connection: Connection;
  documents: DocumentStore;
  settings: SettingsStore;
  /** Merge capabilities into the initialize result. Call from a `register*` function (before initialize). */
  addCapabilities(caps: ServerCapabilities): void;
  /** Run when the initialize request arrives (client capabilities known, before the result is sent). */
  onInitialize(cb: (params: InitializeParams) => void): void;
  /** Run after the client's `initialized` notification. */
  onInitialized(cb: () => void): void;
  /** The client's capabilities (empty before initialize). */
  clientCapabilities(): ClientCapabilities;
  /** Workspace folder paths (file system paths), from initialize. */
  workspaceFolders(): string[];
  /** Log a line to the client's output channel (window/logMessage). */
  log(message: string): void;
  /** Log a line once per key: for failures that would otherwise repeat on every keystroke. */
  logOnce(key: string, message: string): void;
}
