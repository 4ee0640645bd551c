/**
 * The extension's heavier parts (language client library, views, decorations, commands), bundled on their own
 * into dist/client-lazy.js and loaded by extension.ts on first use, so that loading dist/extension.js at
 * activation stays small.
 */
export { BoundedRestarts, LayerwiseLanguageClient, MAX_RESTARTS, setRuleSeverity } from './languageClient';
export { BuildDecorations } from './build/decorations';
export { registerBuildDiagnostics } from './build/diagnostics';
export { BuildTreeProvider } from './views/buildTree';
export { ImagesTreeProvider } from './views/imagesTree';
export { ContainersTreeProvider } from './views/containersTree';
export { containerLogsCommand, containerShellCommand, removeContainerCommand, startContainerCommand, stopContainerCommand } from './commands/containers';
export { buildImageCommand } from './commands/build';
export { inspectImageCommand, pruneImagesCommand, removeImageCommand, runImageCommand, tagImageCommand } from './commands/images';
export { pullImageCommand, pushImageCommand } from './commands/registry';
export { runningBuilds } from './build/runner';
export { registerTasks } from './tasks';
