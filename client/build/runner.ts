/**
 * Runs one build: the CLI with `--progress=json` in its own process group, a progress notification with the
 * current step and a Cancel button, the plain log in the output channel, and every event passed on to the
 * host (the views, decorations and diagnostics listen there).
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { BuildEvent } from '../../engine/build/events';
import { spawnCli, stopCli } from '../cli';
import type { LayerwiseHost } from '../host';
import { JsonLineParser } from './jsonLines';
import { BuildRecord } from './model';
import { PlainLogRenderer } from './plainLog';

export interface BuildRequest {
  /** absolute path of the Dockerfile */
  dockerfile: string;
  /** absolute path of the build context */
  context: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache?: boolean;
}

export interface BuildOutcome {
  ok: boolean;
  cancelled: boolean;
  imageId?: string;
  record: BuildRecord;
  exitCode: number | null;
}

export function buildArgs(req: BuildRequest): string[] {
  const args = ['build', '--progress=json', '-f', req.dockerfile];
  for (const t of req.tags) args.push('-t', t);
  for (const [k, v] of Object.entries(req.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  if (req.target) args.push('--target', req.target);
  if (req.noCache) args.push('--no-cache');
  args.push(req.context);
  return args;
}

interface Running {
  cancel(): Promise<void>;
  done: Promise<BuildOutcome>;
}

/** Builds in progress, by Dockerfile path. */
export const runningBuilds = new Map<string, Running>();

function sourceLines(file: string): string[] | undefined {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
  if (doc) return doc.getText().split(/\r?\n/);
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return undefined;
  }
}

export function runBuild(host: LayerwiseHost, req: BuildRequest): Promise<BuildOutcome> {
  if (runningBuilds.has(req.dockerfile)) {
    return Promise.reject(new Error(`a build of ${vscode.workspace.asRelativePath(req.dockerfile)} is already running`));
  }
  const record = new BuildRecord(req.dockerfile);
  host.builds.set(req.dockerfile, record);
  const out = host.output;
  const renderer = new PlainLogRenderer(Date.now, () => sourceLines(req.dockerfile));
  const args = buildArgs(req);
  const cli = host.cli(vscode.Uri.file(req.dockerfile));
  const log = (text: string) => {
    record.plainLog += text;
    out.append(text);
  };
  log(`\n> layerwise ${args.join(' ')}\n`);
  const child = spawnCli(cli, args, req.context);
  let resolveDone: (o: BuildOutcome) => void = () => undefined;
  const done = new Promise<BuildOutcome>((r) => (resolveDone = r));
  const running: Running = {
    async cancel() {
      if (record.end) return;
      record.cancelled = true;
      log('CANCELED by the user\n');
      await stopCli(child);
    },
    done,
  };
  runningBuilds.set(req.dockerfile, running);
  void vscode.commands.executeCommand('setContext', 'layerwise.building', true);
  host.fireBuildsChanged(record);

  const parser = new JsonLineParser();
  let stderr = '';
  let report: (message: string) => void = () => undefined;
  const handle = (e: BuildEvent) => {
    record.apply(e);
    const text = renderer.render(e);
    if (text) log(text);
    host.fireBuildEvent(record, e);
    if (e.type === 'step') {
      if (e.status === 'running') report(`[${e.index}/${e.total}] ${e.instruction}`);
      host.fireBuildsChanged(record);
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => parser.push(d).forEach(handle));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    log(d);
  });
  child.on('error', (e) => {
    stderr += `Error: cannot start the Layerwise engine: ${e.message}\n`;
  });
  child.on('close', (code) => {
    parser.end().forEach(handle);
    if (!record.end && !record.cancelled) {
      // the CLI failed before or outside the build (bad flag, unknown command): a build-end of our own
      const line = stderr.split('\n').find((l) => l.startsWith('Error: ') || l.startsWith('layerwise: ')) ?? stderr.trim().split('\n')[0];
      const message = (line ?? '').replace(/^(Error|layerwise): /, '') || `layerwise build exited with code ${code}`;
      handle({ v: 1, type: 'build-end', time: Date.now(), ok: false, duration: (Date.now() - record.startedAt) / 1000, error: { message } });
    }
    runningBuilds.delete(req.dockerfile);
    void vscode.commands.executeCommand('setContext', 'layerwise.building', runningBuilds.size > 0);
    const ok = !record.cancelled && record.end?.ok === true && code === 0;
    if (ok) host.fireImagesChanged();
    host.fireBuildsChanged(record);
    const outcome: BuildOutcome = { ok, cancelled: record.cancelled, record, exitCode: code };
    if (record.end?.imageId) outcome.imageId = record.end.imageId;
    resolveDone(outcome);
  });

  const name = req.tags[0] ?? vscode.workspace.asRelativePath(req.dockerfile);
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Layerwise: building ${name}`, cancellable: true },
    (progress, token) => {
      report = (message) => progress.report({ message });
      token.onCancellationRequested(() => void running.cancel());
      return done;
    },
  );
  void done.then((o) => {
    if (o.cancelled) void vscode.window.showInformationMessage(`Layerwise: build of ${name} cancelled.`);
    else if (!o.ok) {
      void vscode.window.showErrorMessage(`Layerwise: build of ${name} failed: ${record.end?.error?.message ?? 'see the log'}`, 'Show Build Log').then((a) => {
        if (a) out.show(true);
      });
    } else void vscode.window.setStatusBarMessage(`Layerwise: built ${name} — ${record.summary()}`, 10_000);
  });
  return done;
}
