/**
 * The extension's shared state: settings, the CLI, the output channel, the last build per Dockerfile and the
 * events that views refresh from (never polling). One instance per activation.
 */
import * as vscode from 'vscode';
import type { BuildEvent } from '../engine/build/events';
import { BuildRecord } from './build/model';
import { resolveCliPath, type CliEnvironment } from './cli';
import { defaultPrompts, type Prompts } from './prompts';

export const CATEGORY = 'Layerwise';

export class LayerwiseHost implements vscode.Disposable {
  /** last build per Dockerfile (fsPath) */
  readonly builds = new Map<string, BuildRecord>();
  private readonly buildEventEmitter = new vscode.EventEmitter<{ record: BuildRecord; event: BuildEvent }>();
  private readonly buildsChangedEmitter = new vscode.EventEmitter<BuildRecord>();
  private readonly imagesChangedEmitter = new vscode.EventEmitter<void>();
  private readonly containersChangedEmitter = new vscode.EventEmitter<void>();
  /** every event of every build, as it arrives */
  readonly onBuildEvent = this.buildEventEmitter.event;
  /** a build started, changed state or ended */
  readonly onBuildsChanged = this.buildsChangedEmitter.event;
  /** the image store changed (build, tag, rmi, prune) */
  readonly onImagesChanged = this.imagesChangedEmitter.event;
  /** a container was started, stopped or removed by a command */
  readonly onContainersChanged = this.containersChangedEmitter.event;
  private outputChannel?: vscode.OutputChannel;
  /** how commands ask the user; tests replace it */
  prompts: Prompts = defaultPrompts;

  constructor(readonly context: vscode.ExtensionContext) {}

  get output(): vscode.OutputChannel {
    this.outputChannel ??= vscode.window.createOutputChannel('Layerwise Build');
    return this.outputChannel;
  }

  config(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('layerwise', scope);
  }

  cli(scope?: vscode.Uri): CliEnvironment {
    const cfg = this.config(scope);
    const env: CliEnvironment = { cliPath: resolveCliPath(this.context.extensionPath, cfg.get<string>('cliPath') || undefined) };
    const root = cfg.get<string>('storeRoot');
    if (root) env.root = root;
    return env;
  }

  /** Builds and runs need a trusted, local (file-scheme) workspace. Returns why not, or undefined. */
  whyNoEngine(): string | undefined {
    if (!vscode.workspace.isTrusted) return 'Layerwise does not build or run anything in an untrusted workspace. Trust the workspace to build images; language features keep working.';
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length && folders.every((f) => f.uri.scheme !== 'file')) return 'Layerwise builds need files on disk; in a virtual workspace only the language features work.';
    return undefined;
  }

  /** Shows why the engine is unavailable and returns false, or returns true. */
  engineAllowed(): boolean {
    const why = this.whyNoEngine();
    if (why) void vscode.window.showWarningMessage(why);
    return why === undefined;
  }

  fireBuildEvent(record: BuildRecord, event: BuildEvent): void {
    this.buildEventEmitter.fire({ record, event });
  }

  fireBuildsChanged(record: BuildRecord): void {
    this.buildsChangedEmitter.fire(record);
  }

  fireImagesChanged(): void {
    this.imagesChangedEmitter.fire();
  }

  fireContainersChanged(): void {
    this.containersChangedEmitter.fire();
  }

  dispose(): void {
    this.buildEventEmitter.dispose();
    this.buildsChangedEmitter.dispose();
    this.imagesChangedEmitter.dispose();
    this.containersChangedEmitter.dispose();
    this.outputChannel?.dispose();
  }
}
