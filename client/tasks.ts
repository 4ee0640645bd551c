/**
 * The `layerwise` task type (tasks.json): `{"type": "layerwise", "command": "build", "dockerfile": "Dockerfile",
 * "tag": "app:dev", "buildArgs": {"V": "1"}, "target": "prod", "noCache": false, "context": "."}`. Runs the
 * CLI with `--progress=plain` in the terminal; paths are relative to the workspace folder.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cliArgs } from './cli';
import type { LayerwiseHost } from './host';

export const TASK_TYPE = 'layerwise';

export interface LayerwiseTaskDefinition extends vscode.TaskDefinition {
  command: 'build';
  dockerfile?: string;
  context?: string;
  tag?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
}

export function taskArgs(def: LayerwiseTaskDefinition, folder: string): string[] {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(folder, p));
  const dockerfile = abs(def.dockerfile ?? 'Dockerfile');
  const args = ['build', '--progress=plain', '-f', dockerfile];
  if (def.tag) args.push('-t', def.tag);
  for (const [k, v] of Object.entries(def.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (def.target) args.push('--target', def.target);
  if (def.noCache) args.push('--no-cache');
  args.push(def.context ? abs(def.context) : path.dirname(dockerfile));
  return args;
}

export function registerTasks(host: LayerwiseHost): vscode.Disposable {
  const resolve = (task: vscode.Task): vscode.Task | undefined => {
    const def = task.definition as LayerwiseTaskDefinition;
    if (def.command !== 'build') return undefined;
    const scope = task.scope;
    const folder = typeof scope === 'object' && scope ? scope.uri.fsPath : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
    const exec = new vscode.ProcessExecution(process.execPath, cliArgs(host.cli(), taskArgs(def, folder)), {
      cwd: folder,
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
    const t = new vscode.Task(def, scope ?? vscode.TaskScope.Workspace, task.name || `build ${def.tag ?? def.dockerfile ?? 'Dockerfile'}`, TASK_TYPE, exec, []);
    t.group = vscode.TaskGroup.Build;
    return t;
  };
  return vscode.tasks.registerTaskProvider(TASK_TYPE, {
    provideTasks: async () => {
      if (host.whyNoEngine()) return [];
      const files = await vscode.workspace.findFiles('**/{Dockerfile,Containerfile}', '**/node_modules/**', 20);
      const out: vscode.Task[] = [];
      for (const f of files) {
        const folder = vscode.workspace.getWorkspaceFolder(f);
        if (!folder) continue;
        const rel = path.relative(folder.uri.fsPath, f.fsPath);
        const def: LayerwiseTaskDefinition = { type: TASK_TYPE, command: 'build', dockerfile: rel };
        const t = resolve(new vscode.Task(def, folder, `build ${rel}`, TASK_TYPE));
        if (t) out.push(t);
      }
      return out;
    },
    resolveTask: (task) => resolve(task),
  });
}
