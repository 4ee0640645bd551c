/**
 * The language client: starts dist/server.js over Node IPC, restarts it after a crash (at most 5 times in 3
 * minutes, then says so and stops), forwards the `layerwise` settings, and carries the custom messages of
 * server/protocol.ts (predicted cache status, rule severities).
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  PredictedCacheChangedNotification,
  PredictedCacheRequest,
  SetRuleSeverityCommand,
  type PredictedCacheChangedParams,
  type PredictedCacheResult,
  type SetRuleSeverityArgs,
} from '../server/protocol';
import type { PredictionSource } from './build/decorations';

export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 3 * 60_000;

/** Restart after a crash unless it crashed MAX_RESTARTS times within RESTART_WINDOW_MS. */
export class BoundedRestarts implements ErrorHandler {
  private readonly crashes: number[] = [];
  constructor(private readonly onGiveUp: () => void) {}
  error(): { action: ErrorAction } {
    return { action: ErrorAction.Continue };
  }
  closed(): { action: CloseAction } {
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length && now - this.crashes[0]! > RESTART_WINDOW_MS) this.crashes.shift();
    if (this.crashes.length > MAX_RESTARTS) {
      this.onGiveUp();
      return { action: CloseAction.DoNotRestart };
    }
    return { action: CloseAction.Restart };
  }
}

export class LayerwiseLanguageClient implements vscode.Disposable {
  readonly client: LanguageClient;
  private readonly predictionEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly started: Promise<void>;

  constructor(context: vscode.ExtensionContext) {
    const module = vscode.Uri.joinPath(context.extensionUri, 'dist', 'server.js').fsPath;
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
    };
    const clientOptions: LanguageClientOptions = {
      // every scheme: language features work in virtual and untrusted workspaces too
      documentSelector: [{ language: 'dockerfile' }],
      synchronize: { configurationSection: 'layerwise' },
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      errorHandler: new BoundedRestarts(() => {
        void vscode.window.showErrorMessage(`Layerwise: the language server crashed ${MAX_RESTARTS + 1} times in 3 minutes and will not be restarted. Reload the window to try again.`);
      }),
    };
    this.client = new LanguageClient('layerwise', 'Layerwise Language Server', serverOptions, clientOptions);
    this.started = this.client.start().then(() => {
      this.client.onNotification(PredictedCacheChangedNotification, (p: PredictedCacheChangedParams) => this.predictionEmitter.fire(vscode.Uri.parse(p.uri)));
    });
  }

  readonly predictions: PredictionSource = {
    request: async (uri: vscode.Uri) => {
      await this.started;
      return this.client.sendRequest<PredictedCacheResult | null>(PredictedCacheRequest, { uri: uri.toString() });
    },
    onDidChange: this.predictionEmitter.event,
  };

  dispose(): void {
    this.predictionEmitter.dispose();
    void this.client.stop();
  }
}

/** `layerwise.setRuleSeverity` (the server's "turn off in settings" code action). */
export async function setRuleSeverity(args: SetRuleSeverityArgs): Promise<void> {
  const scope = args.uri ? vscode.Uri.parse(args.uri) : undefined;
  const folder = scope ? vscode.workspace.getWorkspaceFolder(scope) : undefined;
  const cfg = vscode.workspace.getConfiguration('layerwise', scope);
  const rules = { ...(cfg.get<Record<string, string>>('rules') ?? {}), [args.code]: args.severity };
  await cfg.update('rules', rules, folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
}

export { SetRuleSeverityCommand };
