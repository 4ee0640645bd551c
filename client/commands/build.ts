/**
 * Layerwise: Build Image / Build Image (No Cache). Picks the Dockerfile, context, tag, build args and target,
 * remembering the last answers per Dockerfile as the next defaults. Arguments (from menus, tasks and tests)
 * skip the questions they answer.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runBuild, type BuildOutcome, type BuildRequest } from '../build/runner';
import type { LayerwiseHost } from '../host';

export interface BuildImageArgs {
  dockerfile?: string;
  context?: string;
  tag?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** ask nothing: use the remembered or default answers */
  useDefaults?: boolean;
}

interface Remembered {
  context?: string;
  tag?: string;
  buildArgs?: Record<string, string>;
  target?: string;
}

const DOCKERFILE_GLOB = '**/{Dockerfile,Containerfile,*.Dockerfile,*.dockerfile,Dockerfile.*,Containerfile.*}';

export function parseBuildArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/\s+/).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) out[part] = process.env[part] ?? '';
    else out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function formatBuildArgs(args: Record<string, string>): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** `my-app:latest` from a folder name. */
export function defaultTag(folder: string): string {
  const name = path.basename(folder).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'image';
  return `${name}:latest`;
}

function rememberKey(dockerfile: string): string {
  return `layerwise.build:${dockerfile}`;
}

async function pickDockerfile(host: LayerwiseHost, ask: boolean): Promise<string | undefined> {
  const active = vscode.window.activeTextEditor?.document;
  if (active && active.languageId === 'dockerfile' && active.uri.scheme === 'file') return active.uri.fsPath;
  if (!ask) {
    // no questions: the Dockerfile built last
    const last = [...host.builds.values()].sort((a, b) => b.startedAt - a.startedAt)[0];
    if (last) return last.dockerfile;
  }
  const files = await vscode.workspace.findFiles(DOCKERFILE_GLOB, '**/node_modules/**', 200);
  if (files.length === 0) {
    void vscode.window.showWarningMessage('Layerwise: no Dockerfile in this workspace.');
    return undefined;
  }
  if (files.length === 1) return files[0]!.fsPath;
  const picked = await host.prompts.pick(
    files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
    { title: 'Layerwise: Build Image (1/5)', placeHolder: 'Dockerfile to build' },
  );
  return picked?.uri.fsPath;
}

async function stageNames(dockerfile: string): Promise<string[]> {
  // the language server knows the stages (document symbols): the client never parses Dockerfiles
  try {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(dockerfile));
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[] | undefined>('vscode.executeDocumentSymbolProvider', doc.uri);
    return (symbols ?? []).filter((s) => s.kind === vscode.SymbolKind.Class && !/^stage \d+$/.test(s.name)).map((s) => s.name);
  } catch {
    return [];
  }
}

/** Collects a full BuildRequest, asking only what `args` leaves open. Undefined when the user gave up. */
export async function resolveBuildRequest(host: LayerwiseHost, args: BuildImageArgs): Promise<BuildRequest | undefined> {
  const dockerfile = args.dockerfile ?? (await pickDockerfile(host, !args.useDefaults));
  if (!dockerfile) return undefined;
  const dfUri = vscode.Uri.file(dockerfile);
  const remembered = host.context.workspaceState.get<Remembered>(rememberKey(dockerfile)) ?? {};
  const cfg = host.config(dfUri);
  const dfDir = path.dirname(dockerfile);
  const wsFolder = vscode.workspace.getWorkspaceFolder(dfUri)?.uri.fsPath;
  const configured = cfg.get<string>('buildContext');
  const settingContext = configured ? path.resolve(dfDir, configured) : undefined;
  const defaultContext = remembered.context ?? settingContext ?? dfDir;
  const ask = !args.useDefaults;

  let context = args.context;
  if (!context && !ask) context = defaultContext;
  if (!context) {
    type CtxItem = vscode.QuickPickItem & { dir?: string };
    const items: CtxItem[] = [];
    const add = (dir: string | undefined, label: string) => {
      if (dir && !items.some((i) => i.dir === dir)) items.push({ label, description: vscode.workspace.asRelativePath(dir) || dir, dir });
    };
    add(defaultContext, remembered.context ? 'Last used' : 'Default');
    add(dfDir, "The Dockerfile's folder");
    add(wsFolder, 'The workspace folder');
    add(settingContext, 'From the layerwise.buildContext setting');
    items.push({ label: 'Browse…' });
    const picked = await host.prompts.pick(items, { title: 'Layerwise: Build Image (2/5)', placeHolder: 'Build context' });
    if (!picked) return undefined;
    if (picked.dir) context = picked.dir;
    else {
      const chosen = await host.prompts.openFolder({ canSelectFolders: true, canSelectFiles: false, defaultUri: vscode.Uri.file(dfDir), openLabel: 'Use as build context' });
      if (!chosen?.[0]) return undefined;
      context = chosen[0].fsPath;
    }
  }

  let tag = args.tag;
  if (tag === undefined) {
    const def = remembered.tag ?? defaultTag(context === dfDir ? dfDir : context);
    tag = ask ? await host.prompts.input({ title: 'Layerwise: Build Image (3/5)', prompt: 'Image tag (empty for none)', value: def, validateInput: (v) => (/\s/.test(v.trim()) ? 'a tag has no spaces' : undefined) }) : def;
    if (tag === undefined) return undefined;
  }

  let buildArgs = args.buildArgs;
  if (!buildArgs) {
    const def = remembered.buildArgs ?? cfg.get<Record<string, string>>('buildArgs') ?? {};
    if (ask) {
      const text = await host.prompts.input({ title: 'Layerwise: Build Image (4/5)', prompt: 'Build args: KEY=VALUE separated by spaces (empty for none)', value: formatBuildArgs(def) });
      if (text === undefined) return undefined;
      buildArgs = parseBuildArgs(text);
    } else buildArgs = { ...def };
  }

  let target = args.target;
  if (target === undefined) {
    const stages = ask ? await stageNames(dockerfile) : [];
    if (stages.length >= 1) {
      const items = [{ label: '(last stage)', target: '' }, ...stages.map((s) => ({ label: s, target: s }))];
      const rememberedFirst = remembered.target ? items.sort((a, b) => (a.target === remembered.target ? -1 : b.target === remembered.target ? 1 : 0)) : items;
      const picked = await host.prompts.pick(rememberedFirst, { title: 'Layerwise: Build Image (5/5)', placeHolder: 'Target stage' });
      if (!picked) return undefined;
      target = picked.target;
    } else target = remembered.target ?? '';
  }

  await host.context.workspaceState.update(rememberKey(dockerfile), { context, tag, buildArgs, target } satisfies Remembered);
  const req: BuildRequest = { dockerfile, context, tags: tag.trim() ? [tag.trim()] : [], buildArgs };
  if (target) req.target = target;
  if (args.noCache) req.noCache = true;
  return req;
}

export async function buildImageCommand(host: LayerwiseHost, arg: unknown, noCache: boolean): Promise<BuildOutcome | undefined> {
  if (!host.engineAllowed()) return undefined;
  const args: BuildImageArgs = arg instanceof vscode.Uri ? { dockerfile: arg.fsPath } : typeof arg === 'object' && arg !== null ? { ...(arg as BuildImageArgs) } : {};
  if (noCache) args.noCache = true;
  const doc = args.dockerfile ? vscode.workspace.textDocuments.find((d) => d.uri.fsPath === args.dockerfile) : vscode.window.activeTextEditor?.document;
  if (doc?.isDirty && doc.languageId === 'dockerfile') await doc.save();
  const req = await resolveBuildRequest(host, args);
  if (!req) return undefined;
  try {
    return await runBuild(host, req);
  } catch (e) {
    void vscode.window.showErrorMessage(`Layerwise: ${(e as Error).message}`);
    return undefined;
  }
}
