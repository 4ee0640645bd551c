/**
 * Every Layerwise command in a real VS Code, against the RECORDED engine (test/e2e/fixtures/recorded-cli.cjs
 * replays build events recorded to the events.ts schema): build with pickers and remembered defaults, decorations
 * after a build (built, then cached), diagnostics from a failed build, the Build and Images trees, tag, inspect,
 * remove, prune, the build log, cancel (process group gone, no temp file left), the `layerwise` task type, and the
 * language server (diagnostics, predicted cache status shown honestly as unknown).
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LayerwiseApi } from '../../../client/extension';
import { alive, api, cliCalls, gone, recordedState, scripted, until, waitFor, workspaceDir } from './util';

describe('Layerwise commands (recorded engine)', function () {
  let lw: LayerwiseApi;
  let dockerfile: vscode.Uri;
  let editor: vscode.TextEditor;

  before(async function () {
    assert.ok(process.env.LAYERWISE_CLI?.endsWith('recorded-cli.cjs'), 'LAYERWISE_CLI points at the recorded CLI');
    lw = await api();
    dockerfile = vscode.Uri.file(path.join(workspaceDir(), 'Dockerfile'));
    editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(dockerfile));
    assert.equal(editor.document.languageId, 'dockerfile');
  });

  it('contributes every command under the "Layerwise" category, all registered', async function () {
    const ext = vscode.extensions.getExtension('layerwise.layerwise')!;
    const contributed = (ext.packageJSON as { contributes: { commands: { command: string; category: string }[] } }).contributes.commands;
    const all = new Set(await vscode.commands.getCommands(true));
    for (const id of ['buildImage', 'buildImageNoCache', 'tagImage', 'removeImage', 'pruneImages', 'inspectImage', 'runImage', 'pullImage', 'pushImage', 'containerShell', 'containerLogs', 'stopContainer', 'startContainer', 'removeContainer', 'showBuildLog', 'cancelBuild']) {
      const c = contributed.find((x) => x.command === `layerwise.${id}`);
      assert.ok(c, `layerwise.${id} is contributed`);
      assert.equal(c.category, 'Layerwise');
      assert.ok(all.has(`layerwise.${id}`), `layerwise.${id} is registered`);
    }
  });

  it('starts the language server: diagnostics for a bad instruction; predicted cache status shown as unknown', async function () {
    const bad = await vscode.workspace.openTextDocument({ language: 'dockerfile', content: 'FORM busybox\n' });
    const diags = await until(vscode.languages.onDidChangeDiagnostics, () => {
      const d = vscode.languages.getDiagnostics(bad.uri).filter((x) => x.source === 'layerwise');
      return d.length ? d : undefined;
    }, 'diagnostics from the language server');
    assert.equal(diags[0]!.range.start.line, 0);
    // no build of the sample yet: the server says "unknown" and the editor says so, per step that makes a layer
    // (WORKDIR, COPY, RUN, COPY --from; FROM and CMD have no cache status of their own)
    const deco = await lw.decorations();
    const shown = await until(deco.onDidApply, () => {
      const d = deco.decorationsFor(dockerfile);
      return d.length && d.every((x) => x.source === 'predicted') ? d : undefined;
    }, 'predicted cache decorations');
    assert.deepEqual([...new Set(shown.map((d) => d.kind))], ['predicted-unknown']);
    assert.deepEqual(shown.map((d) => d.line), [1, 2, 3, 6]);
    assert.match(shown[0]!.text, /^cache status unknown/);
  });

  it('forwards settings to the server: a rule turned off in layerwise.rules disappears', async function () {
    const doc = await vscode.workspace.openTextDocument({ language: 'dockerfile', content: 'FROM busybox\nRUN apt-get install curl\nMAINTAINER me\n' });
    const lint = await until(vscode.languages.onDidChangeDiagnostics, () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'layerwise' && x.code !== undefined);
      return d.length ? d : undefined;
    }, 'lint diagnostics');
    const codeOf = (d: vscode.Diagnostic) => String(typeof d.code === 'object' ? d.code.value : d.code);
    const code = codeOf(lint[0]!);
    const cfg = vscode.workspace.getConfiguration('layerwise');
    await cfg.update('rules', { ...(cfg.get<Record<string, string>>('rules') ?? {}), [code]: 'off' }, vscode.ConfigurationTarget.Workspace);
    try {
      await until(vscode.languages.onDidChangeDiagnostics, () => (vscode.languages.getDiagnostics(doc.uri).some((d) => codeOf(d) === code) ? undefined : true), `${code} to disappear`);
    } finally {
      await cfg.update('rules', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('the language client restarts a crashed server at most 5 times in 3 minutes', async function () {
    const m = await lw.internals();
    let gaveUp = 0;
    const h = new m.BoundedRestarts(() => gaveUp++);
    const actions = Array.from({ length: m.MAX_RESTARTS + 1 }, () => (h.closed() as { action: number }).action);
    // CloseAction: 1 = DoNotRestart, 2 = Restart
    assert.deepEqual(actions, [...Array(m.MAX_RESTARTS).fill(2), 1]);
    assert.equal(gaveUp, 1);
  });

  it('Build Image: asks context, tag, build args and target; builds; remembers the answers', async function () {
    const asked: string[] = [];
    lw.host.prompts = scripted(
      [
        { pick: (items) => items[0] }, // context: default (the Dockerfile's folder)
        { input: (o) => (assert.equal(o.value, `${path.basename(workspaceDir()).toLowerCase()}:latest`), 'sample:e2e') },
        { input: (o) => (assert.equal(o.value, ''), 'GREETING=hi') },
        { pick: (items) => (assert.deepEqual(items.map((i) => i.label), ['(last stage)', 'build']), items[0]) },
      ],
      asked,
    );
    const outcome = (await vscode.commands.executeCommand('layerwise.buildImage')) as { ok: boolean } | undefined;
    assert.equal(asked.length, 4, asked.join('\n'));
    assert.ok(outcome?.ok, 'the build succeeded');
    const call = cliCalls().pop()!;
    assert.equal(call, `build --progress=json -f ${dockerfile.fsPath} -t sample:e2e --build-arg GREETING=hi ${workspaceDir()}`);
    // the next build asks nothing with useDefaults and uses the remembered answers
    lw.host.prompts = scripted([]);
    const again = (await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile: dockerfile.fsPath, useDefaults: true })) as { ok: boolean };
    assert.ok(again.ok);
    assert.equal(cliCalls().pop(), call);
  });

  it('decorations after a build: built (time, size, miss reason) then cached; gutter per status', async function () {
    lw.host.prompts = scripted([]);
    const deco = await lw.decorations();
    await vscode.commands.executeCommand('layerwise.buildImageNoCache', { dockerfile: dockerfile.fsPath, useDefaults: true });
    const built = deco.decorationsFor(dockerfile);
    assert.ok(built.every((d) => d.source === 'build'));
    const byLine = new Map(built.map((d) => [d.line, d]));
    assert.equal(byLine.get(0)!.kind, 'cached');
    assert.equal(byLine.get(2)!.kind, 'built');
    assert.equal(byLine.get(2)!.text, 'built in 0.2s · 190 B');
    assert.match(byLine.get(2)!.hover, /cache miss: files changed: hello\.txt/);
    assert.equal(byLine.get(3)!.text, 'built in 1.4s · 201 B');
    assert.match(byLine.get(3)!.hover, /the step above it was rebuilt/);
    assert.equal(byLine.get(7)!.text, 'config only · no layer');
    await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile: dockerfile.fsPath, useDefaults: true });
    const cached = deco.decorationsFor(dockerfile);
    assert.deepEqual(cached.map((d) => `${d.line}:${d.kind}`), ['0:cached', '1:cached', '2:cached', '3:cached', '5:cached', '6:cached', '7:cached']);
    assert.equal(cached[0]!.text, 'cached · 2.15 MB');
    // editing the file switches to the (predicted) status of the edited text
    await editor.edit((e) => e.insert(new vscode.Position(4, 0), '# comment\n'));
    const predicted = await until(deco.onDidApply, () => {
      const d = deco.decorationsFor(dockerfile);
      return d.length && d[0]!.source === 'predicted' ? d : undefined;
    }, 'predictions for the edited text');
    assert.ok(predicted.some((d) => d.line === 7) && !predicted.some((d) => d.line === 6), 'predictions follow the edit (COPY --from is on line 7 now)');
    await vscode.commands.executeCommand('undo');
    await editor.document.save();
  });

  it('Build tree: the last build per Dockerfile -> stages -> steps', async function () {
    const tree = await lw.buildTree();
    const text = await tree.render();
    const lines = text.split('\n');
    assert.match(lines[0]!, /^Dockerfile — ok in 0\.1s \(7 cached, 0 built\)$/);
    assert.deepEqual(lines.slice(1).map((l) => l.replace(/ · [0-9a-f]{12}$/, '')), [
      '  stage build — 4 steps, 4 cached',
      '    [1/4] FROM busybox AS build — cached · 2.15 MB',
      '    [2/4] WORKDIR /src — cached · 93 B',
      '    [3/4] COPY hello.txt . — cached · 190 B',
      '    [4/4] RUN cat hello.txt > out.txt — cached · 201 B',
      '  stage 1 — 3 steps, 3 cached',
      '    [1/3] FROM busybox — cached · 2.15 MB',
      '    [2/3] COPY --from=build /src/out.txt /out.txt — cached · 195 B',
      '    [3/3] CMD ["cat", "/out.txt"] — cached',
    ]);
  });

  it('Images tree: tags -> layers (instruction, size, +/~/-) -> files', async function () {
    const tree = await lw.imagesTree();
    const text = await tree.render(3);
    assert.match(text, /^sample:e2e — [0-9a-f]{12} · 2\.15MB · Less than a second ago$/m);
    assert.match(text, /^ {2}BusyBox 1\.36\.1 \(glibc\), Debian 12 — 2\.15 MB · \+3 ~0 -0$/m);
    assert.match(text, /^ {2}COPY --from=build \/src\/out\.txt \/out\.txt # buildkit — 195 B · \+1 ~0 -0$/m);
    assert.match(text, /^ {4}out\.txt — added · 6 B$/m);
    assert.match(text, /^ {4}bin\/busybox — added · 1\.15 MB$/m);
  });

  it('Tag Image tags and the Images tree refreshes from the event', async function () {
    const tree = await lw.imagesTree();
    const refreshed = waitFor(tree.onDidChangeTreeData, () => true, 'an Images tree refresh');
    const tagged = await vscode.commands.executeCommand('layerwise.tagImage', { source: 'sample:e2e', target: 'sample:tagged' });
    assert.equal(tagged, 'sample:tagged');
    await refreshed;
    assert.match(await tree.render(1), /^sample:tagged — /m);
  });

  it('Tag Image from the palette: picks the image, asks the new tag', async function () {
    lw.host.prompts = scripted([
      { pick: (items) => items.find((i) => i.label === 'sample:tagged') },
      { input: () => 'sample:picked' },
    ]);
    assert.equal(await vscode.commands.executeCommand('layerwise.tagImage'), 'sample:picked');
    assert.equal(cliCalls().pop(), 'tag sample:tagged sample:picked');
  });

  it('Inspect Image opens the JSON in an editor', async function () {
    const doc = (await vscode.commands.executeCommand('layerwise.inspectImage', { ref: 'sample:e2e' })) as vscode.TextDocument;
    assert.equal(doc.languageId, 'json');
    const o = JSON.parse(doc.getText()) as { Id: string; RepoTags: string[] }[];
    assert.match(o[0]!.Id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(o[0]!.RepoTags.includes('sample:e2e'));
    assert.equal(vscode.window.activeTextEditor?.document, doc);
  });

  it('Remove Image asks first; no means nothing is removed', async function () {
    lw.host.prompts = scripted([{ confirm: false }]);
    assert.equal(await vscode.commands.executeCommand('layerwise.removeImage', { ref: 'sample:picked' }), false);
    assert.notEqual(cliCalls().pop()?.split(' ')[0], 'rmi');
    lw.host.prompts = scripted([{ confirm: true }]);
    assert.equal(await vscode.commands.executeCommand('layerwise.removeImage', { ref: 'sample:picked' }), true);
    assert.equal(cliCalls().pop(), 'rmi sample:picked');
    assert.doesNotMatch(await (await lw.imagesTree()).render(1), /sample:picked/);
  });

  it('Prune Images runs image prune after confirmation', async function () {
    lw.host.prompts = scripted([{ confirm: true }]);
    const out = (await vscode.commands.executeCommand('layerwise.pruneImages')) as string;
    assert.match(out, /Total reclaimed space/);
    assert.equal(cliCalls().pop(), 'image prune --force');
  });

  it('a failed build puts a diagnostic on the failing line', async function () {
    const outcome = (await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile: dockerfile.fsPath, useDefaults: true, buildArgs: { FAIL: '1' } })) as { ok: boolean };
    assert.equal(outcome.ok, false);
    const diags = vscode.languages.getDiagnostics(dockerfile).filter((d) => d.source === 'layerwise build');
    assert.equal(diags.length, 1, JSON.stringify(diags));
    assert.equal(diags[0]!.range.start.line, 3);
    assert.match(diags[0]!.message, /did not complete successfully: exit code: 1/);
    const byLine = new Map((await lw.decorations()).decorationsFor(dockerfile).map((d) => [d.line, d]));
    assert.equal(byLine.get(3)!.kind, 'error');
    // a good build clears it (FAIL=1 is remembered as the default now: say otherwise)
    const good = (await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile: dockerfile.fsPath, useDefaults: true, buildArgs: {} })) as { ok: boolean };
    assert.ok(good.ok);
    assert.equal(vscode.languages.getDiagnostics(dockerfile).filter((d) => d.source === 'layerwise build').length, 0);
  });

  it('Show Build Log: the BuildKit-style plain log rendered from the events', async function () {
    await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile: dockerfile.fsPath, useDefaults: true, buildArgs: { FAIL: '1' } });
    await vscode.commands.executeCommand('layerwise.showBuildLog');
    // what the output channel got for that build (the workbench does not expose channel text to extensions)
    const text = lw.host.builds.get(dockerfile.fsPath)!.plainLog;
    assert.match(text, /^#4 \[build 4\/4\] RUN cat hello\.txt > out\.txt$/m);
    assert.match(text, /^#3 CACHED$/m);
    assert.match(text, /^#4 \d+\.\d{3} cat: can't open 'hello\.txt': No such file or directory$/m);
    assert.match(text, /^#4 ERROR: process "\/bin\/sh -c cat hello.txt > out.txt" did not complete/m);
    assert.match(text, /^ERROR: failed to solve: process "\/bin\/sh -c cat hello.txt > out.txt" did not complete successfully: exit code: 1$/m);
    assert.match(text, /^ {3}4 \| >>> RUN cat hello\.txt > out\.txt$/m);
  });

  it('Cancel stops the build: the CLI and its RUN process are gone, no temp file is left', async function () {
    process.env.LAYERWISE_RECORDED_HANG = '1';
    try {
      const running = lw.host.onBuildEvent;
      const started = waitFor(running, ({ event }) => event.type === 'step' && event.status === 'running' && event.instruction.startsWith('RUN'), 'the RUN step to start');
      const done = vscode.commands.executeCommand('layerwise.buildImageNoCache', { dockerfile: dockerfile.fsPath, useDefaults: true, buildArgs: {} }) as Thenable<{ ok: boolean; cancelled: boolean; exitCode: number | null }>;
      await started;
      const hang = JSON.parse(fs.readFileSync(path.join(recordedState(), 'hang.json'), 'utf8')) as { cli: number; step: number; temp: string };
      assert.ok(alive(hang.cli) && alive(hang.step), 'the CLI and its RUN step run');
      assert.ok(fs.existsSync(hang.temp));
      assert.equal(await vscode.commands.executeCommand('layerwise.cancelBuild'), 1);
      const outcome = await done;
      assert.deepEqual({ ok: outcome.ok, cancelled: outcome.cancelled }, { ok: false, cancelled: true });
      assert.ok(await gone(hang.cli), 'the CLI exited');
      assert.ok(await gone(hang.step), 'the RUN step process (same process group) exited');
      assert.equal(outcome.exitCode, 130, `the CLI exited through its SIGTERM handler (calls: ${cliCalls().join(' | ')})`);
      assert.equal(fs.existsSync(hang.temp), false, 'the CLI left no temp state');
      assert.match((await (await lw.buildTree()).render()).split('\n')[0]!, /— cancelled \(/);
    } finally {
      delete process.env.LAYERWISE_RECORDED_HANG;
    }
  });

  it('the layerwise task type: one per Dockerfile and the tasks.json ones; runs the CLI', async function () {
    const tasks = await vscode.tasks.fetchTasks({ type: 'layerwise' });
    assert.deepEqual(tasks.map((t) => t.name).sort(), ['build Dockerfile', 'e2e task']);
    const task = tasks.find((t) => t.name === 'e2e task')!; // from .vscode/tasks.json
    const ended = waitFor(vscode.tasks.onDidEndTaskProcess, (e) => e.execution.task.name === 'e2e task', 'the task to end');
    await vscode.tasks.executeTask(task);
    const e = await ended;
    assert.equal(e.exitCode, 0);
    assert.equal(cliCalls().pop(), `build --progress=plain -f ${dockerfile.fsPath} -t sample:task --build-arg GREETING=task ${workspaceDir()}`);
  });

  it('Set Rule Severity (from the server\'s code actions) writes layerwise.rules', async function () {
    await vscode.commands.executeCommand('layerwise.setRuleSeverity', { code: 'DL3008', severity: 'off', uri: dockerfile.toString() });
    assert.equal(vscode.workspace.getConfiguration('layerwise', dockerfile).get<Record<string, string>>('rules')?.DL3008, 'off');
  });
});
