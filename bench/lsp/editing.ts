/**
 * bench/lsp/editing.ts: completion, hover, semantic tokens and formatting latency of our language server and
 * of dockerfile-language-server-nodejs (the peer), side by side, on a 60-line and a ~5,000-line Dockerfile.
 * Both servers run as child processes over stdio and get the same requests through test/helpers/lsp.ts.
 * Each figure is the median round trip of repeated requests on an open, unchanged document (and for
 * completion also right after an edit, when the tree must be rebuilt). Prints; does not pass or fail.
 * `npx tsx bench/lsp/editing.ts [runs]`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateDockerfile } from '../parse/generate';
import { LspClient } from '../../test/helpers/lsp';

const root = join(__dirname, '..', '..');
const runs = Number(process.argv[2] ?? 30);
/** a slow measurement stops after this long (at least 5 runs) */
const budgetMs = 4000;

const CAPABILITIES = {
  workspace: { configuration: true },
  textDocument: {
    completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    formatting: { dynamicRegistration: false },
    semanticTokens: {
      dynamicRegistration: false,
      requests: { full: { delta: true } },
      tokenTypes: ['keyword', 'comment', 'string', 'variable', 'parameter', 'property', 'class', 'operator', 'macro', 'number', 'enumMember', 'namespace'],
      tokenModifiers: ['declaration', 'deprecated', 'readonly', 'defaultLibrary', 'definition', 'documentation'],
      formats: ['relative'],
    },
    publishDiagnostics: {},
    synchronization: { didSave: true },
  },
};

function ours(): LspClient {
  const dist = join(root, 'dist', 'server.js');
  if (existsSync(dist)) return LspClient.spawn(process.execPath, [dist, '--stdio']);
  return LspClient.spawn(process.execPath, ['--import', 'tsx', join(root, 'server', 'server.ts'), '--stdio'], { cwd: root });
}
function peer(): LspClient | undefined {
  const bin = join(root, 'node_modules', 'dockerfile-language-server-nodejs', 'bin', 'docker-langserver');
  if (!existsSync(bin)) return undefined;
  return LspClient.spawn(process.execPath, [bin, '--stdio']);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (i >= 4 && Date.now() - t0 > budgetMs) break;
  }
  return median(times);
}

interface Doc {
  name: string;
  text: string;
  /** the line `COPY --ch` inserted in the middle, for flag completion */
  completionAt: { line: number; character: number };
  /** a RUN keyword in the middle */
  keywordAt: { line: number; character: number };
  /** a `$APP_HOME` in the middle */
  variableAt: { line: number; character: number };
}

function makeDoc(lines: number): Doc {
  const base = generateDockerfile(lines).split('\n');
  const mid = Math.floor(base.length / 2);
  let runLine = base.findIndex((l, i) => i >= mid && l.startsWith('RUN '));
  const copyLine = runLine;
  base.splice(copyLine, 0, 'COPY --ch');
  runLine = copyLine + 1;
  const wd = base.findIndex((l, i) => i >= mid && l.startsWith('WORKDIR $APP_HOME'));
  return {
    name: `${lines}-line`,
    text: base.join('\n'),
    completionAt: { line: copyLine, character: 'COPY --ch'.length },
    keywordAt: { line: runLine, character: 1 },
    variableAt: { line: wd, character: 'WORKDIR $AP'.length },
  };
}

type Row = { feature: string; doc: string; ours?: number; peer?: number };

async function benchServer(client: LspClient, docs: Doc[], rows: Row[], side: 'ours' | 'peer'): Promise<void> {
  await client.initialize({ rootUri: null, capabilities: CAPABILITIES });
  let n = 0;
  for (const d of docs) {
    const uri = `file:///bench/${side}/${n++}/Dockerfile`;
    await client.open(uri, d.text);
    const td = { uri };
    const record = (feature: string, ms: number) => {
      let r = rows.find((x) => x.feature === feature && x.doc === d.name);
      if (!r) rows.push((r = { feature, doc: d.name }));
      r[side] = ms;
    };
    record('completion (flags)', await measure(() => client.request('textDocument/completion', { textDocument: td, position: d.completionAt })));
    record('hover (keyword)', await measure(() => client.request('textDocument/hover', { textDocument: td, position: d.keywordAt })));
    record('hover (variable)', await measure(() => client.request('textDocument/hover', { textDocument: td, position: d.variableAt })));
    record('semantic tokens (full)', await measure(() => client.request('textDocument/semanticTokens/full', { textDocument: td })));
    record('formatting (document)', await measure(() => client.request('textDocument/formatting', { textDocument: td, options: { tabSize: 4, insertSpaces: true } })));
    // an edit, then completion: the tree is rebuilt for the new version
    let toggle = false;
    record(
      'edit + completion',
      await measure(async () => {
        toggle = !toggle;
        const v = (client.versions.get(uri) ?? 1) + 1;
        client.versions.set(uri, v);
        client.notify('textDocument/didChange', {
          textDocument: { uri, version: v },
          contentChanges: [toggle ? { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: ' ' } : { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, text: '' }],
        });
        return client.request('textDocument/completion', { textDocument: td, position: d.completionAt });
      }),
    );
  }
  await client.stop();
}

async function main(): Promise<void> {
  const docs = [makeDoc(60), makeDoc(5000)];
  const rows: Row[] = [];
  await benchServer(ours(), docs, rows, 'ours');
  const p = peer();
  if (p) await benchServer(p, docs, rows, 'peer');
  else console.log('dockerfile-language-server-nodejs is not installed: peer column empty');
  const f = (x?: number) => (x === undefined ? '-' : `${x.toFixed(2)} ms`).padStart(11);
  console.log(`LSP editing latency, median round trip (${runs} runs max, ${budgetMs / 1000} s budget each); ratio = peer / ours`);
  console.log(`${'feature'.padEnd(24)}${'file'.padEnd(12)}${'ours'.padStart(11)}${'peer'.padStart(11)}${'ratio'.padStart(9)}`);
  for (const r of rows) {
    const ratio = r.ours && r.peer ? `${(r.peer / r.ours).toFixed(1)}x` : '-';
    console.log(`${r.feature.padEnd(24)}${r.doc.padEnd(12)}${f(r.ours)}${f(r.peer)}${ratio.padStart(9)}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
