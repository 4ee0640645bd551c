/**
 * The workspace-trust gate, in a VS Code started with workspace trust on (the folder opens untrusted): nothing
 * builds or runs (the CLI is never started), the views are empty and their welcome text explains why, and the
 * language features keep working.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, cliCalls, scripted, until, workspaceDir } from './util';

describe('Layerwise in an untrusted workspace', function () {
  it('the workspace is untrusted', function () {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('no command builds or runs anything: the engine is never started', async function () {
    const lw = await api();
    lw.host.prompts = scripted([]); // any question would fail the test
    const dockerfile = path.join(workspaceDir(), 'Dockerfile');
    assert.equal(await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile, useDefaults: true }), undefined);
    assert.equal(await vscode.commands.executeCommand('layerwise.buildImageNoCache', { dockerfile, useDefaults: true }), undefined);
    assert.equal(await vscode.commands.executeCommand('layerwise.tagImage', { source: 'a:1', target: 'b:1' }), undefined);
    assert.equal(await vscode.commands.executeCommand('layerwise.removeImage', { ref: 'a:1', confirm: false }), false);
    assert.equal(await vscode.commands.executeCommand('layerwise.pruneImages', { confirm: false }), undefined);
    assert.equal(await vscode.commands.executeCommand('layerwise.inspectImage', { ref: 'a:1' }), undefined);
    const terminals = vscode.window.terminals.length;
    assert.equal(await vscode.commands.executeCommand('layerwise.runImage', { ref: 'a:1' }), undefined);
    assert.equal(vscode.window.terminals.length, terminals, 'no terminal was opened');
    assert.deepEqual(cliCalls(), [], 'the CLI was never run');
    assert.match(lw.host.whyNoEngine() ?? '', /untrusted workspace/);
  });

  it('the views are empty (their welcome text says why)', async function () {
    const lw = await api();
    assert.deepEqual((await lw.buildTree()).getChildren(), []);
    assert.deepEqual(await (await lw.imagesTree()).getChildren(), []);
    const ext = vscode.extensions.getExtension('layerwise.layerwise')!;
    const welcome = (ext.packageJSON as { contributes: { viewsWelcome: { view: string; when: string; contents: string }[] } }).contributes.viewsWelcome;
    for (const view of ['layerwise.build', 'layerwise.images']) {
      const w = welcome.find((x) => x.view === view && x.when === '!isWorkspaceTrusted');
      assert.match(w?.contents ?? '', /untrusted workspace/);
    }
  });

  it('language features keep working: diagnostics from the server', async function () {
    const doc = await vscode.workspace.openTextDocument({ language: 'dockerfile', content: 'FORM busybox\n' });
    await vscode.window.showTextDocument(doc);
    const diags = await until(vscode.languages.onDidChangeDiagnostics, () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'layerwise');
      return d.length ? d : undefined;
    }, 'diagnostics in an untrusted workspace');
    assert.equal(diags[0]!.range.start.line, 0);
  });
});
