/**
 * Activation: registers commands, views, the task type and the decorations, and starts the language client
 * when a Dockerfile is open. Nothing here calls the engine or spawns a process until it is needed; the
 * heavier modules (language client, commands, views) load on first use.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CATEGORY, LayerwiseHost } from './host';
import type * as Lazy from './lazy';
import type { BuildDecorations } from './build/decorations';
import type { BuildTreeProvider } from './views/buildTree';
import type { ImagesTreeProvider } from './views/imagesTree';
import type { ContainersTreeProvider } from './views/containersTree';
import type { LayerwiseLanguageClient } from './languageClient';
import type { runningBuilds } from './build/runner';

type RunningBuilds = typeof runningBuilds;

/** dist/client-lazy.js (client/lazy.ts), loaded on first use. */
let lazyModule: typeof Lazy | undefined;
function lazy(): Promise<typeof Lazy> {
  // a plain require of a path known only at run time: esbuild leaves it alone (the file is its own bundle)
  const load = (): typeof Lazy => (lazyModule ??= require(path.join(__dirname, 'client-lazy.js')) as typeof Lazy);
  return Promise.resolve().then(load);
}
/** What `vscode.extensions.getExtension('layerwise.layerwise').exports` gives (tests, other extensions). */
export interface LayerwiseApi {
  host: LayerwiseHost;
  decorations(): Promise<BuildDecorations>;
  buildTree(): Promise<BuildTreeProvider>;
  imagesTree(): Promise<ImagesTreeProvider>;
  containersTree(): Promise<ContainersTreeProvider>;
  languageClient(): Promise<LayerwiseLanguageClient>;
  running(): Promise<RunningBuilds>;
  /** the lazily loaded modules (tests) */
  internals(): Promise<typeof Lazy>;
}

export { CATEGORY };

export function activate(context: vscode.ExtensionContext): LayerwiseApi {
  const host = new LayerwiseHost(context);
  context.subscriptions.push(host);
  const setContexts = () => {
    void vscode.commands.executeCommand('setContext', 'layerwise.engineAvailable', host.whyNoEngine() === undefined);
  };
  setContexts();
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(setContexts), vscode.workspace.onDidChangeWorkspaceFolders(setContexts));

  // ---- language client: started on the first Dockerfile ----
  let lc: Promise<LayerwiseLanguageClient> | undefined;
  const startClient = (): Promise<LayerwiseLanguageClient> => {
    lc ??= lazy().then((m) => {
      const c = new m.LayerwiseLanguageClient(context);
      context.subscriptions.push(c);
      void decorations().then((d) => d.setPredictionSource(c.predictions));
      return c;
    });
    return lc;
  };
  const isDockerfile = (d: vscode.TextDocument) => d.languageId === 'dockerfile';
  if (vscode.workspace.textDocuments.some(isDockerfile)) void startClient();
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((d) => {
      if (isDockerfile(d)) void startClient();
    }),
  );

  // ---- decorations and diagnostics: they listen to build events ----
  let deco: Promise<BuildDecorations> | undefined;
  const decorations = (): Promise<BuildDecorations> => {
    deco ??= lazy().then((m) => {
      const x = new m.BuildDecorations(host);
      context.subscriptions.push(x, m.registerBuildDiagnostics(host));
      return x;
    });
    return deco;
  };
  void decorations();

  // ---- views ----
  let trees: Promise<{ build: BuildTreeProvider; images: ImagesTreeProvider; containers: ContainersTreeProvider }> | undefined;
  const views = () => {
    trees ??= lazy().then((m) => {
      const build = new m.BuildTreeProvider(host);
      const images = new m.ImagesTreeProvider(host);
      const containers = new m.ContainersTreeProvider(host);
      context.subscriptions.push(
        containers,
        vscode.window.createTreeView('layerwise.build', { treeDataProvider: build, showCollapseAll: true }),
        vscode.window.createTreeView('layerwise.images', { treeDataProvider: images, showCollapseAll: true }),
        vscode.window.createTreeView('layerwise.containers', { treeDataProvider: containers }),
        vscode.workspace.onDidGrantWorkspaceTrust(() => {
          images.refresh();
          containers.refresh();
        }),
      );
      return { build, images, containers };
    });
    return trees;
  };
  void views();

  // ---- commands ----
  const onLoad = (run: (m: typeof Lazy, arg: unknown) => unknown) => (arg: unknown) => lazy().then((m) => run(m, arg));
  const reg = (id: string, fn: (arg: unknown) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg('layerwise.buildImage', onLoad((m, a) => m.buildImageCommand(host, a, false)));
  reg('layerwise.buildImageNoCache', onLoad((m, a) => m.buildImageCommand(host, a, true)));
  reg('layerwise.tagImage', onLoad((m, a) => m.tagImageCommand(host, a)));
  reg('layerwise.removeImage', onLoad((m, a) => m.removeImageCommand(host, a)));
  reg('layerwise.pruneImages', onLoad((m, a) => m.pruneImagesCommand(host, a)));
  reg('layerwise.inspectImage', onLoad((m, a) => m.inspectImageCommand(host, a)));
  reg('layerwise.runImage', onLoad((m, a) => m.runImageCommand(host, a)));
  reg('layerwise.pullImage', onLoad((m, a) => m.pullImageCommand(host, a)));
  reg('layerwise.pushImage', onLoad((m, a) => m.pushImageCommand(host, a)));
  reg('layerwise.containerShell', onLoad((m, a) => m.containerShellCommand(host, a)));
  reg('layerwise.containerLogs', onLoad((m, a) => m.containerLogsCommand(host, a)));
  reg('layerwise.stopContainer', onLoad((m, a) => m.stopContainerCommand(host, a)));
  reg('layerwise.startContainer', onLoad((m, a) => m.startContainerCommand(host, a)));
  reg('layerwise.removeContainer', onLoad((m, a) => m.removeContainerCommand(host, a)));
  reg('layerwise.refreshContainers', () => views().then((v) => v.containers.refresh()));
  reg('layerwise.showBuildLog', () => host.output.show(true));
  reg('layerwise.refreshImages', () => views().then((v) => v.images.refresh()));
  reg('layerwise.cancelBuild', async (arg: unknown) => {
    const { runningBuilds } = await lazy();
    const file = typeof arg === 'string' ? arg : arg instanceof vscode.Uri ? arg.fsPath : undefined;
    const targets = file ? [runningBuilds.get(file)].filter((r) => r !== undefined) : [...runningBuilds.values()];
    await Promise.all(targets.map((r) => r.cancel()));
    return targets.length;
  });
  reg('layerwise.setRuleSeverity', onLoad((m, a) => m.setRuleSeverity(a as Parameters<typeof m.setRuleSeverity>[0])));
  void lazy().then((m) => context.subscriptions.push(m.registerTasks(host)));

  return {
    host,
    decorations,
    buildTree: () => views().then((v) => v.build),
    imagesTree: () => views().then((v) => v.images),
    containersTree: () => views().then((v) => v.containers),
    languageClient: startClient,
    running: () => lazy().then((m) => m.runningBuilds),
    internals: lazy,
  };
}

export function deactivate(): void {
  /* subscriptions are disposed by VS Code; the language client stops with them */
}
