/**
 * A tiny LSP client for tests and benchmarks. Speaks JSON-RPC with Content-Length framing over a child
 * process's stdio (`LspClient.spawn`) or over in-process streams to our own server (`LspClient.inProcess`).
 *
 * It answers the server's requests a real editor answers (workspace/configuration from `settings`,
 * client/registerCapability, window/workDoneProgress/create), records publishDiagnostics per URI, and lets a
 * caller wait for the next diagnostics of a document: no sleeps, every wait is for an event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver/node';
import { startServer, type StartOptions } from '../../server/wiring';

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface LspDiagnostic {
  range: Range;
  severity?: number;
  code?: string | number;
  codeDescription?: { href: string };
  source?: string;
  message: string;
  tags?: number[];
  data?: unknown;
}
export interface PublishDiagnosticsParams {
  uri: string;
  version?: number;
  diagnostics: LspDiagnostic[];
}
export interface ContentChange {
  range?: Range;
  text: string;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  method: string;
}

type Waiter = { uri: string; minVersion?: number; resolve: (p: PublishDiagnosticsParams) => void };

export class LspError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export class LspClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiters: Waiter[] = [];
  private readonly notificationListeners: ((method: string, params: unknown) => void)[] = [];
  private closed = false;
  private closeError: Error | undefined;
  /** latest publishDiagnostics per URI */
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** every window/logMessage and window/showMessage text, in order */
  readonly logs: string[] = [];
  /** what workspace/configuration answers (keyed by section; `layerwise` for our server) */
  settings: Record<string, unknown> = {};
  /** the server's stderr, when it is a child process */
  stderr = '';
  readonly versions = new Map<string, number>();

  private constructor(
    input: Readable,
    private readonly output: Writable,
    readonly child?: ChildProcess,
  ) {
    input.on('data', (chunk: Buffer) => this.onData(chunk));
    input.on('end', () => this.onClose(new Error('server closed its output')));
    input.on('error', (e) => this.onClose(e));
    output.on('error', (e) => this.onClose(e));
  }

  /** Start a server process (`node dist/server.js --stdio`, `docker-langserver --stdio`). */
  static spawn(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): LspClient {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new LspClient(child.stdout!, child.stdin!, child);
    child.stderr!.on('data', (d: Buffer) => (client.stderr += d.toString()));
    child.on('exit', (code, signal) => client.onClose(new Error(`server exited (${signal ?? code})`)));
    return client;
  }

  /** Our server in this process, over streams (no build needed). */
  static async inProcess(options: StartOptions = {}): Promise<LspClient> {
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    const connection = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(fromServer));
    startServer(connection, options);
    connection.listen();
    const client = new LspClient(fromServer, toServer);
    client.inProcessServer = true;
    // never `exit` or end the streams: vscode-languageserver/node would process.exit() this process
    client.disposeInProcess = () => connection.dispose();
    return client;
  }

  private disposeInProcess: (() => void) | undefined;
  private inProcessServer = false;

  get isClosed(): boolean {
    return this.closed;
  }

  onNotification(listener: (method: string, params: unknown) => void): void {
    this.notificationListeners.push(listener);
  }

  private onClose(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = e;
    for (const p of this.pending.values()) p.reject(new Error(`${p.method}: ${e.message}${this.stderr ? `\n${this.stderr}` : ''}`));
    this.pending.clear();
  }

  private send(msg: object): void {
    if (this.closed) throw new Error(`connection closed: ${this.closeError?.message ?? ''}`);
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
    this.output.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const m = /Content-Length:\s*(\d+)/i.exec(header);
      if (!m) throw new Error(`bad LSP header: ${header}`);
      const len = Number(m[1]);
      if (this.buffer.length < headerEnd + 4 + len) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + len).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + len);
      this.dispatch(JSON.parse(body) as Record<string, unknown>);
    }
  }

  private dispatch(msg: Record<string, unknown>): void {
    const method = typeof msg.method === 'string' ? msg.method : undefined;
    if (method !== undefined && msg.id !== undefined) {
      this.send({ id: msg.id, result: this.answer(method, msg.params) });
      return;
    }
    if (method !== undefined) {
      this.onServerNotification(method, msg.params);
      return;
    }
    const p = this.pending.get(msg.id as number);
    if (!p) return;
    this.pending.delete(msg.id as number);
    const err = msg.error as { message: string; code: number } | undefined;
    if (err) p.reject(new LspError(`${p.method}: ${err.message}`, err.code));
    else p.resolve(msg.result);
  }

  private answer(method: string, params: unknown): unknown {
    if (method === 'workspace/configuration') {
      const items = (params as { items?: { section?: string }[] }).items ?? [];
      return items.map((i) => (i.section ? this.settings[i.section] ?? null : this.settings));
    }
    return null;
  }

  private onServerNotification(method: string, params: unknown): void {
    if (method === 'textDocument/publishDiagnostics') {
      const p = params as PublishDiagnosticsParams;
      this.diagnostics.set(p.uri, p);
      for (let i = 0; i < this.waiters.length; ) {
        const w = this.waiters[i]!;
        if (w.uri === p.uri && (w.minVersion === undefined || p.version === undefined || p.version >= w.minVersion)) {
          this.waiters.splice(i, 1);
          w.resolve(p);
        } else i++;
      }
    } else if (method === 'window/logMessage' || method === 'window/showMessage') {
      this.logs.push((params as { message: string }).message);
    }
    for (const l of this.notificationListeners) l(method, params);
  }

  request<T = unknown>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
      try {
        this.send({ id, method, params });
      } catch (e) {
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ method, params });
  }

  /** The next publishDiagnostics for `uri` (at `minVersion` or later when the server sends versions). */
  nextDiagnostics(uri: string, minVersion?: number): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      this.waiters.push({ uri, minVersion, resolve });
    });
  }

  async initialize(opts: { rootUri?: string | null; capabilities?: object; initializationOptions?: unknown } = {}): Promise<{ capabilities: Record<string, unknown> }> {
    const result = await this.request<{ capabilities: Record<string, unknown> }>('initialize', {
      // in-process: no pid, or the server would poll it with a timer that keeps this process alive
      processId: this.inProcessServer ? null : process.pid,
      rootUri: opts.rootUri ?? null,
      workspaceFolders: opts.rootUri ? [{ uri: opts.rootUri, name: 'root' }] : null,
      initializationOptions: opts.initializationOptions,
      capabilities: opts.capabilities ?? {
        workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true }, workspaceEdit: { documentChanges: true } },
        textDocument: {
          publishDiagnostics: { relatedInformation: true, versionSupport: true, tagSupport: { valueSet: [1, 2] }, codeDescriptionSupport: true, dataSupport: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'source'] } } },
          synchronization: { didSave: true },
        },
      },
    });
    this.notify('initialized', {});
    return result;
  }

  /** didOpen; resolves with the first diagnostics for it. */
  open(uri: string, text: string, languageId = 'dockerfile'): Promise<PublishDiagnosticsParams> {
    const version = 1;
    this.versions.set(uri, version);
    const next = this.nextDiagnostics(uri, version);
    this.notify('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
    return next;
  }

  /** didChange with the given (incremental or full) changes; resolves with the diagnostics for the new version. */
  change(uri: string, changes: ContentChange[]): Promise<PublishDiagnosticsParams> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    const next = this.nextDiagnostics(uri, version);
    this.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
    return next;
  }

  close(uri: string): void {
    this.versions.delete(uri);
    this.notify('textDocument/didClose', { textDocument: { uri } });
  }

  /** shutdown + exit; kills the child if it does not exit. */
  async stop(): Promise<void> {
    if (!this.closed) {
      try {
        await this.request('shutdown', null);
        if (!this.inProcessServer) this.notify('exit', null);
      } catch {
        /* already gone */
      }
    }
    if (this.disposeInProcess) {
      this.disposeInProcess();
      this.onClose(new Error('stopped'));
      return;
    }
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
