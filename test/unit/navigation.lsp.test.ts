// The editing features through the real language server (in process, over JSON-RPC streams): capabilities,
// and one request of each kind against an open document, results rendered as text.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspClient } from '../helpers/lsp';

let client: LspClient;
let dir: string;
let uri: string;
let caps: Record<string, unknown>;
const text = [
  'ARG BASE=alpine:3.19',
  'FROM ${BASE} AS build',
  'ARG BASE',
  'RUN echo $BASE',
  'from build',
  'COPY --from=build /out /app',
  'COPY ./s',
  '',
].join('\n');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lw-editing-'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'secret'));
  writeFileSync(join(dir, '.dockerignore'), 'secret\n');
  uri = pathToFileURL(join(dir, 'Dockerfile')).href;
  writeFileSync(join(dir, 'Dockerfile'), text);
  process.env.LAYERWISE_ROOT = join(dir, 'no-store');
  client = await LspClient.inProcess();
  caps = (await client.initialize({ rootUri: pathToFileURL(dir).href })).capabilities;
  await client.open(uri, text);
});
after(async () => {
  await client.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('capabilities are declared', async () => {
  for (const k of ['completionProvider', 'hoverProvider', 'signatureHelpProvider', 'definitionProvider', 'referencesProvider', 'documentHighlightProvider', 'renameProvider', 'documentSymbolProvider', 'foldingRangeProvider', 'documentLinkProvider', 'selectionRangeProvider', 'semanticTokensProvider', 'documentFormattingProvider', 'documentRangeFormattingProvider', 'documentOnTypeFormattingProvider']) {
    assert.ok(caps[k], `${k} declared`);
  }
  const tokens = await client.request<{ data: number[] }>('textDocument/semanticTokens/full', { textDocument: { uri } });
  assert.ok(tokens.data.length > 0 && tokens.data.length % 5 === 0);
});

test('hover on a variable shows its value and where it was set', async () => {
  const h = await client.request<{ contents: { value: string } }>('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 11 } });
  assert.match(h.contents.value, /\*\*BASE\*\* = `alpine:3\.19`/);
  assert.match(h.contents.value, /ARG on line 3 in stage `build`/);
});

test('definition, references and rename of a stage', async () => {
  const defs = await client.request<{ range: { start: { line: number; character: number } } }[]>('textDocument/definition', { textDocument: { uri }, position: { line: 5, character: 14 } });
  assert.deepEqual(defs.map((d) => `${d.range.start.line}:${d.range.start.character}`), ['1:16']);
  const refs = await client.request<{ range: { start: { line: number } } }[]>('textDocument/references', { textDocument: { uri }, position: { line: 1, character: 17 }, context: { includeDeclaration: true } });
  assert.deepEqual(refs.map((r) => r.range.start.line), [1, 4, 5]);
  const edit = await client.request<{ changes: Record<string, { newText: string; range: { start: { line: number } } }[]> }>('textDocument/rename', { textDocument: { uri }, position: { line: 4, character: 6 }, newName: 'builder' });
  assert.deepEqual(edit.changes[uri]!.map((e) => `${e.range.start.line}:${e.newText}`), ['1:builder', '4:builder', '5:builder']);
  await assert.rejects(client.request('textDocument/rename', { textDocument: { uri }, position: { line: 4, character: 6 }, newName: '9bad' }), /not a valid stage name/);
});

test('COPY source completion lists the context through .dockerignore', async () => {
  const items = await client.request<{ label: string }[]>('textDocument/completion', { textDocument: { uri }, position: { line: 6, character: 8 } });
  const labels = items.map((i) => i.label);
  assert.ok(labels.includes('src/'), labels.join(','));
  assert.ok(!labels.includes('secret/'), 'ignored by .dockerignore');
});

test('formatting, symbols, folding, links, selection, signature help answer', async () => {
  const edits = await client.request<{ newText: string }[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 4, insertSpaces: true } });
  assert.deepEqual(edits.map((e) => e.newText), ['FROM']);
  const symbols = await client.request<{ name: string; children?: { name: string }[] }[]>('textDocument/documentSymbol', { textDocument: { uri } });
  assert.deepEqual(symbols.map((s) => `${s.name}[${(s.children ?? []).map((c) => c.name).join(',')}]`), ['ARG[BASE]', 'build[ARG,RUN]', 'stage 1[COPY,COPY]']);
  const links = await client.request<{ target: string }[]>('textDocument/documentLink', { textDocument: { uri } });
  assert.deepEqual(links, []);
  const sel = await client.request<{ range: { start: { character: number }; end: { character: number } } }[]>('textDocument/selectionRange', { textDocument: { uri }, positions: [{ line: 5, character: 8 }] });
  assert.equal(sel.length, 1);
  const sig = await client.request<{ activeSignature: number; activeParameter: number; signatures: { label: string }[] }>('textDocument/signatureHelp', { textDocument: { uri }, position: { line: 5, character: 19 } });
  assert.match(sig.signatures[sig.activeSignature]!.label, /^COPY \[--from=<stage>\]/);
});

test('semantic tokens delta after an edit is one small edit', async () => {
  const full = await client.request<{ resultId: string; data: number[] }>('textDocument/semanticTokens/full', { textDocument: { uri } });
  await client.change(uri, [{ range: { start: { line: 3, character: 4 }, end: { line: 3, character: 4 } }, text: 'true && ' }]);
  const delta = await client.request<{ edits: { start: number; deleteCount: number; data: number[] }[] }>('textDocument/semanticTokens/full/delta', { textDocument: { uri }, previousResultId: full.resultId });
  assert.equal(delta.edits.length, 1);
  assert.ok(delta.edits[0]!.data.length <= 10, `small edit: ${JSON.stringify(delta.edits)}`);
});
