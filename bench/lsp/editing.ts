/**
 * bench/lsp/editing.ts: completion, hover, semantic tokens and formatting latency of our language server and
 * of dockerfile-language-server-nodejs, side by side over stdio, on the generated 60-line and ~5,000-line
 * Dockerfiles of bench/lsp/generate.ts. Rows reuse the harness (bench/lsp/harness.ts): each figure is the
 * median client-side round trip of a request on an open, unchanged document; "edit + completion" is a
 * one-character edit followed at once by a completion request (the tree is rebuilt for the new version).
 * The peer's semantic tokens are far slower on 5,000 lines, so that row runs fewer iterations there.
 * Prints; does not pass or fail. `npx tsx bench/lsp/editing.ts`.
 */
import { measureRequest, printTable, runRows, SIZES, time, type Measurement, type RowResult, type Size } from './harness';

/** The position `offset` characters into the first line at or after the middle that starts with `prefix`. */
function at(text: string, prefix: string, offset: number): { line: number; character: number } {
  const lines = text.split('\n');
  const mid = Math.floor(lines.length / 2);
  let line = lines.findIndex((l, i) => i >= mid && l.startsWith(prefix));
  if (line < 0) line = lines.findIndex((l) => l.startsWith(prefix));
  if (line < 0) throw new Error(`no line starting with ${prefix}`);
  return { line, character: offset };
}

const completionFlags = measureRequest('completion (COPY --ch|)', 'textDocument/completion', (uri, text) => ({ textDocument: { uri }, position: at(text, 'COPY --chown', 'COPY --ch'.length) }));
const hoverKeyword = measureRequest('hover (RUN keyword)', 'textDocument/hover', (uri, text) => ({ textDocument: { uri }, position: at(text, 'RUN ', 1) }));
const hoverVariable = measureRequest('hover ($VERSION_n)', 'textDocument/hover', (uri, text) => ({ textDocument: { uri }, position: at(text, 'LABEL org.opencontainers.image.version=$', 'LABEL org.opencontainers.image.version=$V'.length) }));
const tokens = measureRequest('semantic tokens (full)', 'textDocument/semanticTokens/full', (uri) => ({ textDocument: { uri } }));
const formatting = measureRequest('formatting (document)', 'textDocument/formatting', (uri) => ({ textDocument: { uri }, options: { tabSize: 4, insertSpaces: true } }));

const editDocs = new WeakMap<object, { uri: string; version: number }>();
const editThenComplete: Measurement = {
  name: 'edit + completion',
  async prepare(s, text) {
    const uri = s.nextUri();
    await s.client.open(uri, text);
    editDocs.set(s, { uri, version: 1 });
  },
  async run(s, text, i) {
    const d = editDocs.get(s)!;
    const pos = at(text, 'COPY --chown', 'COPY --ch'.length);
    d.version++;
    // alternately append and remove a space at the end of the last line
    const lines = text.split('\n');
    const last = lines.length - 2;
    const len = lines[last]!.length;
    const change =
      i % 2 === 0
        ? { range: { start: { line: last, character: len }, end: { line: last, character: len } }, text: ' ' }
        : { range: { start: { line: last, character: len }, end: { line: last, character: len + 1 } }, text: '' };
    if (i % 2 === 0) lines[last] += ' ';
    const full = lines.join('\n');
    return time(async () => {
      s.client.notify('textDocument/didChange', { textDocument: { uri: d.uri, version: d.version }, contentChanges: [s.syncKind === 2 ? change : { text: full }] });
      await s.client.request('textDocument/completion', { textDocument: { uri: d.uri }, position: pos });
    });
  },
};

async function main(): Promise<void> {
  const results: RowResult[] = [];
  results.push(...(await runRows([completionFlags, hoverKeyword, hoverVariable, formatting, editThenComplete])));
  const tokenSizes: Size[] = SIZES.map((s) => (s.lines > 1000 ? { ...s, iterations: 3, warmup: 1 } : s));
  results.push(...(await runRows([tokens], tokenSizes)));
  console.log('\nAll editing rows (median ms; ratio = ours / peer, below 1 is faster):');
  printTable(results.sort((a, b) => a.size.localeCompare(b.size)));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
