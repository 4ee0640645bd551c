/** Helpers for the extension-host suites: the extension's API, scripted prompts, waiting for events. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LayerwiseApi } from '../../../client/extension';
import type { Prompts } from '../../../client/prompts';

export async function api(): Promise<LayerwiseApi> {
  const ext = vscode.extensions.getExtension<LayerwiseApi>('layerwise.layerwise');
  if (!ext) throw new Error('the Layerwise extension is not loaded');
  return ext.activate();
}

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder open');
  return f.uri.fsPath;
}

export type Answer =
  | { pick: (items: vscode.QuickPickItem[], options: vscode.QuickPickOptions) => vscode.QuickPickItem | undefined }
  | { input: (options: vscode.InputBoxOptions) => string | undefined }
  | { confirm: boolean };

/** Prompts that answer from a script, in order; asking something unscripted fails the test. */
export function scripted(answers: Answer[], asked: string[] = []): Prompts {
  const next = (kind: string, title: string | undefined): Answer => {
    asked.push(`${kind}: ${title ?? ''}`);
    const a = answers.shift();
    if (!a || !(kind in a)) throw new Error(`unexpected ${kind} prompt "${title}" (script: ${JSON.stringify(a)})`);
    return a;
  };
  return {
    pick: async <T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions) => (next('pick', options.title) as { pick: (i: T[], o: vscode.QuickPickOptions) => T | undefined }).pick(items, options),
    input: async (options) => (next('input', options.title) as { input: (o: vscode.InputBoxOptions) => string | undefined }).input(options),
    confirm: async (message) => (next('confirm', message) as { confirm: boolean }).confirm,
    openFolder: async () => {
      throw new Error('unexpected folder dialog');
    },
  };
}

/** Resolves with the first event value that `pred` accepts; rejects after `ms`. */
export function waitFor<T>(event: vscode.Event<T>, pred: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const sub = event((v) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(v);
    });
  });
}

/** Waits until `check` returns a value, re-checking whenever `event` fires. */
export async function until<T, E>(event: vscode.Event<E>, check: () => T | undefined, what: string, ms = 30_000): Promise<T> {
  const now = check();
  if (now !== undefined) return now;
  let got: T | undefined;
  await waitFor(event, () => (got = check()) !== undefined, what, ms);
  return got as T;
}

export function recordedState(): string {
  const s = process.env.LAYERWISE_RECORDED_STATE;
  if (!s) throw new Error('LAYERWISE_RECORDED_STATE is not set');
  return s;
}

export function cliCalls(): string[] {
  const f = path.join(recordedState(), 'calls.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : [];
}

/** A process exists and is not a zombie (a killed child of a dead parent may wait a moment to be reaped). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A process that was sent a fatal signal is gone within `ms` (there is no event for another process's death). */
export async function gone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
