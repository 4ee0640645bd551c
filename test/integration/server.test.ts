/**
 * The real server (dist/server.js over stdio): diagnostics on open and on incremental edits, code actions
 * applied through the protocol, per-resource settings, watched-file changes, custom messages, and a rule that
 * throws (in-process, same wiring).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LspClient, type LspDiagnostic } from '../helpers/lsp';
import { allRules } from '../../server/rules/index';
import { rule } from '../../server/rules/types';
import { spawnServer } from './server-harness';

const show = (ds: LspDiagnostic[]): string[] => ds.map((d) => `${d.range.start.line + 1}:${d.range.start.character} ${String(d.code)}`);

describe('language server over stdio', () => {
  let client: LspClient;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lw-srv-'));
    client = spawnServer();
    client.settings = { layerwise: { rules: {} } };
    const init = await client.initialize({ rootUri: pathToFileURL(dir).href });
    assert.equal((init.capabilities.textDocumentSync as { change: number }).change, 2, 'incremental sync');
    assert.ok(init.capabilities.codeActionProvider);
  });
  after(async () => {
    await client.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes diagnostics on open, versioned, with source, code and link', async () => {
    const uri = pathToFileURL(join(dir, 'a.Dockerfile')).href;
    const d = await client.open(uri, 'FROM alpine:3\nENDPOINT ["x"]\nMAINTAINER me\n');
    assert.equal(d.version, 1);
    assert.deepEqual(show(d.diagnostics), ['2:0 UnknownInstruction', '3:0 MaintainerDeprecated']);
    for (const x of d.diagnostics) {
      assert.equal(x.source, 'layerwise');
      assert.match(x.codeDescription!.href, /^file:\/\/.*\/docs\/rules\/.*\.md$/);
    }
    client.close(uri);
  });

  it('follows incremental edits (LF and CRLF documents)', async () => {
    for (const eol of ['\n', '\r\n']) {
      const uri = pathToFileURL(join(dir, `edit${eol.length}.Dockerfile`)).href;
      let d = await client.open(uri, `FROM alpine:3${eol}RUN apk add curl${eol}`);
      assert.deepEqual(show(d.diagnostics), ['2:4 DL3018', '2:4 DL3019']);
      // insert --no-cache after "add"
      d = await client.change(uri, [{ range: { start: { line: 1, character: 11 }, end: { line: 1, character: 11 } }, text: ' --no-cache' }]);
      assert.equal(d.version, 2);
      assert.deepEqual(show(d.diagnostics), ['2:4 DL3018']);
      // pin it
      d = await client.change(uri, [{ range: { start: { line: 1, character: 26 }, end: { line: 1, character: 26 } }, text: '=8.5.0-r0' }]);
      assert.deepEqual(show(d.diagnostics), []);
      client.close(uri);
    }
  });

  it('code actions through the protocol: apply the fix, diagnostics go away', async () => {
    const uri = pathToFileURL(join(dir, 'fix.Dockerfile')).href;
    const text = 'FROM alpine:3\nENDPOINT ["x"]\n';
    const d = await client.open(uri, text);
    const diag = d.diagnostics.find((x) => x.code === 'UnknownInstruction')!;
    const actions = await client.request<{ title: string; isPreferred?: boolean; edit?: { changes: Record<string, { range: LspDiagnostic['range']; newText: string }[]> }; command?: { command: string; arguments: unknown[] } }[]>(
      'textDocument/codeAction',
      { textDocument: { uri }, range: diag.range, context: { diagnostics: [diag] } },
    );
    assert.deepEqual(actions.map((a) => a.title), ['Change to ENTRYPOINT', 'Turn off UnknownInstruction in settings (layerwise.rules.UnknownInstruction)']);
    assert.equal(actions[1]!.command!.command, 'layerwise.setRuleSeverity');
    const edits = actions[0]!.edit!.changes[uri]!;
    const after = TextDocument.applyEdits(TextDocument.create(uri, 'dockerfile', 1, text), edits);
    assert.equal(after, 'FROM alpine:3\nENTRYPOINT ["x"]\n');
    const d2 = await client.change(uri, [{ text: after }]);
    assert.deepEqual(show(d2.diagnostics), []);
    client.close(uri);
  });

  it('per-resource settings: workspace/configuration, re-read on didChangeConfiguration', async () => {
    const uri = pathToFileURL(join(dir, 'settings.Dockerfile')).href;
    const d = await client.open(uri, 'FROM alpine\n');
    assert.deepEqual(d.diagnostics.map((x) => `${String(x.code)}:${x.severity}`), ['DL3006:2']);
    client.settings = { layerwise: { rules: { DL3006: 'error' } } };
    const next = client.nextDiagnostics(uri);
    client.notify('workspace/didChangeConfiguration', { settings: null });
    assert.deepEqual((await next).diagnostics.map((x) => `${String(x.code)}:${x.severity}`), ['DL3006:1']);
    client.settings = { layerwise: { rules: { DL3006: 'off' } } };
    const off = client.nextDiagnostics(uri);
    client.notify('workspace/didChangeConfiguration', { settings: null });
    assert.deepEqual((await off).diagnostics, []);
    client.settings = { layerwise: { rules: {} } };
    client.close(uri);
  });

  it('re-validates when .dockerignore changes (workspace/didChangeWatchedFiles)', async () => {
    writeFileSync(join(dir, 'app.txt'), 'x');
    const uri = pathToFileURL(join(dir, 'Dockerfile')).href;
    const d = await client.open(uri, 'FROM alpine:3\nCOPY app.txt missing.txt /x/\n');
    assert.deepEqual(show(d.diagnostics), ['2:13 CopySourceNotFound']);
    writeFileSync(join(dir, '.dockerignore'), 'app.txt\n');
    writeFileSync(join(dir, 'missing.txt'), 'now here');
    const next = client.nextDiagnostics(uri);
    client.notify('workspace/didChangeWatchedFiles', {
      changes: [
        { uri: pathToFileURL(join(dir, '.dockerignore')).href, type: 1 },
        { uri: pathToFileURL(join(dir, 'missing.txt')).href, type: 1 },
      ],
    });
    assert.deepEqual(show((await next).diagnostics), ['2:5 CopyIgnoredFile']);
    client.close(uri);
  });

  it('layerwise/predictedCache answers from the engine: unknown with the reason when it cannot know; ruleCatalogue lists rules', async () => {
    const uri = pathToFileURL(join(dir, 'cache.Dockerfile')).href;
    const storeRoot = join(dir, 'no-store-here');
    client.settings = { layerwise: { rules: {}, storeRoot } };
    await client.notify('workspace/didChangeConfiguration', { settings: {} });
    await client.open(uri, 'FROM alpine:3\nENV A=1\nRUN true\nCOPY . /x\n');
    type Pred = { version: number; entries: { keyword: string; status: string; reason: string; range: LspDiagnostic['range'] }[] };
    const r = await client.request<Pred>('layerwise/predictedCache', { uri });
    assert.deepEqual(r.entries.map((e) => `${e.range.start.line}:${e.keyword}:${e.status}:${e.reason}`), [
      '2:RUN:unknown:no build yet: the engine store is empty',
      '3:COPY:unknown:no build yet: the engine store is empty',
    ]);
    // a store without the base image: the engine says which image is missing
    const { openStore } = await import('../../engine/store');
    await openStore(storeRoot);
    const r2 = await client.request<Pred>('layerwise/predictedCache', { uri });
    assert.equal(r2.entries.length, 2);
    for (const e of r2.entries) assert.match(`${e.status}: ${e.reason}`, /^unknown: cannot predict: .*alpine:3/);
    const cat = await client.request<{ code: string }[]>('layerwise/ruleCatalogue', null);
    assert.equal(cat.length, allRules.length);
    client.close(uri);
  });
});

describe('a rule that throws (in-process server, same wiring)', () => {
  it('is logged once and skipped; diagnostics keep coming', async () => {
    const boom = rule({ id: 'Boom', group: 'bestpractice', severity: 'warning', description: 'throws on purpose', check() { throw new Error('kaboom'); } });
    const client = await LspClient.inProcess({ rules: [boom, ...allRules] });
    try {
      await client.initialize();
      const uri = 'file:///nowhere/Dockerfile';
      const d1 = await client.open(uri, 'FROM alpine\n');
      assert.deepEqual(show(d1.diagnostics), ['1:5 DL3006']);
      const d2 = await client.change(uri, [{ text: 'FROM alpine:3\n' }]);
      assert.deepEqual(show(d2.diagnostics), []);
      const boomLogs = client.logs.filter((l) => l.includes('rule Boom failed'));
      assert.equal(boomLogs.length, 1);
      assert.match(boomLogs[0]!, /kaboom/);
    } finally {
      await client.stop();
    }
  });
});
