/**
 * Fuzz through the real server (dist/server.js over stdio): random incremental edits in bursts, across
 * continuations, heredocs, quotes, JSON, CRLF, surrogate pairs. After every burst the diagnostics for the
 * latest version must arrive, with ranges inside the document; the server must never exit or log a failure.
 * FUZZ_EDITS sets the number of edits (default 200); FUZZ_SEED makes a run reproducible.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { ContentChange, LspClient, Range } from '../helpers/lsp';
import { spawnServer } from './server-harness';

const EDITS = Number(process.env.FUZZ_EDITS ?? 200);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

const SNIPPETS = [
  'FROM ', 'alpine:3 AS build\n', 'RUN ', 'apt-get install -y curl', ' && ', ' | ', ' \\\n', '\\\n', '\r\n', '\n', '\n\n', 'COPY . .\n',
  'COPY --from=build /a /b\n', 'ENV A 1\n', 'ENV A=1 B=$A\n', 'ARG V=1\n', '${V:-x}', '${', '}', '$', '"', "'", '[', ']', '["a", "b"]',
  '<<EOF\n', 'EOF\n', '<<-"END"\n\tbody\n\tEND\n', '# check=skip=all\n', '# escape=`\n', '`\n', '# hadolint ignore=DL3008\n',
  'ONBUILD ', 'HEALTHCHECK --interval=5s CMD true\n', 'EXPOSE 80/TCP 8080:80\n', 'WORKDIR app\n', 'CMD node x\n', 'é', '😀', '\t', ' ',
  'MAINTAINER x\n', 'USER root\n', 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n', 'RUN --mount=type=cache,target=/x true\n',
];

const START = 'FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && \\\n    npm run build\nFROM nginx\nCOPY --from=build /app/dist /usr/share/nginx/html\n';

describe(`server fuzz: ${EDITS} random incremental edits (seed ${SEED})`, () => {
  let client: LspClient;
  before(async () => {
    client = spawnServer();
    await client.initialize();
  });
  after(async () => {
    await client.stop();
  });

  it('never crashes; diagnostics for every latest version, ranges inside the text', async () => {
    const random = rng(SEED);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)]!;
    const uri = 'file:///fuzz/Dockerfile';
    let doc = TextDocument.create(uri, 'dockerfile', 1, START);
    await client.open(uri, START);
    let sent = 0;
    let bursts = 0;
    while (sent < EDITS) {
      const burst = 1 + Math.floor(random() * 4);
      const changes: ContentChange[][] = [];
      for (let b = 0; b < burst && sent < EDITS; b++, sent++) {
        const text = doc.getText();
        let a = Math.floor(random() * (text.length + 1));
        let e = Math.min(text.length, a + (random() < 0.5 ? 0 : Math.floor(random() * 12)));
        // sometimes split a surrogate pair or a CRLF on purpose: the server must cope
        if (random() < 0.9) {
          if (a > 0 && /[\uDC00-\uDFFF]/.test(text[a] ?? '')) a--;
          if (e > 0 && /[\uDC00-\uDFFF]/.test(text[e] ?? '')) e--;
        }
        const range: Range = { start: doc.positionAt(a), end: doc.positionAt(Math.max(a, e)) };
        let insert = '';
        const n = Math.floor(random() * 3);
        for (let k = 0; k < n; k++) insert += pick(SNIPPETS);
        const change: ContentChange = random() < 0.03 ? { text: text.slice(0, a) + insert + text.slice(e) } : { range, text: insert };
        doc = TextDocument.create(uri, 'dockerfile', doc.version + 1, change.range ? TextDocument.applyEdits(doc, [{ range, newText: insert }]) : change.text);
        changes.push([change]);
      }
      // send the burst without waiting, then wait for the diagnostics of the last version
      let last: Promise<{ version?: number; diagnostics: { range: Range }[] }> | undefined;
      for (const c of changes) last = client.change(uri, c);
      const d = await last!;
      bursts++;
      assert.equal(d.version, doc.version, `diagnostics for version ${doc.version}`);
      const lines = doc.lineCount;
      for (const x of d.diagnostics) {
        assert.ok(x.range.start.line >= 0 && x.range.end.line < lines + 1, `range inside the document: ${JSON.stringify(x.range)}`);
        assert.ok(x.range.start.line < x.range.end.line || (x.range.start.line === x.range.end.line && x.range.start.character <= x.range.end.character), 'range start <= end');
      }
    }
    assert.equal(client.isClosed, false, 'server still running');
    assert.deepEqual(client.logs.filter((l) => /failed|uncaught|unhandled/i.test(l)), [], 'no rule or handler failures');
    // still answers requests
    const actions = await client.request<unknown[]>('textDocument/codeAction', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: [] } });
    assert.deepEqual(actions, []);
    assert.ok(bursts > 0);
  });
});
