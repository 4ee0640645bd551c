/**
 * LSP benchmark harness: the same requests against our server (dist/server.js) and the peer
 * (dockerfile-language-server-nodejs's docker-langserver), both over stdio, timed from the client.
 *
 * Reusable: a row is a `Measurement` (a name and a function timing one operation on an opened document).
 * `measureOpen` and `measureEdit` time didOpen/didChange -> publishDiagnostics; `measureRequest` times any
 * request (completion, hover, semanticTokens, formatting...): pass the method and a params builder. Call
 * `runRows(rows, sizes)` to print a table of medians and ratios.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LspClient, type ContentChange } from '../../test/helpers/lsp';
import { generateDockerfile } from './generate';

export const ROOT = resolve(__dirname, '..', '..');

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
}

export const OURS: ServerSpec = { name: 'layerwise', command: process.execPath, args: [join(ROOT, 'dist', 'server.js'), '--stdio'] };
export const PEER: ServerSpec = {
  name: 'docker-langserver 0.15.0',
  command: process.execPath,
  args: [join(ROOT, 'node_modules', 'dockerfile-language-server-nodejs', 'bin', 'docker-langserver'), '--stdio'],
};

/** One started server, its sync kind, and a counter for fresh document URIs. */
export interface Session {
  spec: ServerSpec;
  client: LspClient;
  /** 1 = full, 2 = incremental (what the server asked for) */
  syncKind: number;
  nextUri(): string;
}

export async function startSession(spec: ServerSpec): Promise<Session> {
  const client = LspClient.spawn(spec.command, spec.args, { cwd: ROOT });
  client.settings = { layerwise: {}, docker: { languageserver: {} } };
  const init = await client.initialize({ rootUri: null });
  const sync = init.capabilities.textDocumentSync;
  const syncKind = typeof sync === 'number' ? sync : ((sync as { change?: number } | undefined)?.change ?? 1);
  let n = 0;
  return { spec, client, syncKind, nextUri: () => `file:///bench/${spec.name.replace(/\W+/g, '-')}/${n++}/Dockerfile` };
}

/** Time one async operation in milliseconds. */
export async function time(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A benchmark row: `prepare` opens what it needs once; `run` times one operation (ms). */
export interface Measurement {
  name: string;
  prepare?(s: Session, text: string): Promise<unknown>;
  run(s: Session, text: string, iteration: number): Promise<number>;
}

/**
 * The text for the i-th open: every single-line RUN gets a comment naming the iteration, so that no server can
 * answer an open from what it kept of an earlier document with the same text (a first open is measured cold).
 */
export function openVariant(text: string, i: number): string {
  return text.replace(/^(RUN (?![^\n]*<<)[^\n\\]*?)$/gm, `$1 # open ${i}`);
}

/** didOpen of a fresh document (text not seen before) -> its first publishDiagnostics. */
export const measureOpen: Measurement = {
  name: 'didOpen -> publishDiagnostics',
  async run(s, text, i) {
    const uri = s.nextUri();
    const variant = openVariant(text, i);
    const ms = await time(() => s.client.open(uri, variant));
    s.client.close(uri);
    return ms;
  },
};

const editDocs = new WeakMap<Session, { uri: string; lines: string[] }>();

/** One-character incremental edit in the middle of an open document -> publishDiagnostics for it. */
export const measureEdit: Measurement = {
  name: 'edit -> publishDiagnostics',
  async prepare(s, text) {
    const uri = s.nextUri();
    await s.client.open(uri, text);
    editDocs.set(s, { uri, lines: text.split('\n') });
  },
  async run(s, _text, i) {
    const d = editDocs.get(s)!;
    const line = Math.floor(d.lines.length / 2);
    const l = d.lines[line]!;
    // alternately append and remove a space at the end of the middle line
    const add = i % 2 === 0;
    const change: ContentChange = add
      ? { range: { start: { line, character: l.length }, end: { line, character: l.length } }, text: ' ' }
      : { range: { start: { line, character: l.length - 1 }, end: { line, character: l.length } }, text: '' };
    d.lines[line] = add ? l + ' ' : l.slice(0, -1);
    const changes = s.syncKind === 2 ? [change] : [{ text: d.lines.join('\n') }];
    return time(() => s.client.change(d.uri, changes));
  },
};

/** Edits before `measureEditSteady` times any: a session's first edits of a big file run while the JIT is still
 *  compiling the incremental paths (and its first few before the server primed them), later ones do not. */
export const STEADY_AFTER = 100;

/** measureEdit after STEADY_AFTER untimed edits of the same document: the figure of a session in full swing. */
export const measureEditSteady: Measurement = {
  name: `edit -> publishDiagnostics, after ${STEADY_AFTER} edits`,
  async prepare(s, text) {
    await measureEdit.prepare!(s, text);
    for (let i = 0; i < STEADY_AFTER; i++) await measureEdit.run(s, text, i);
  },
  // (an even count of edits before: the line is as it was, and the next edit appends again)
  run: (s, text, i) => measureEdit.run(s, text, STEADY_AFTER + i),
};

/**
 * Any request on an open document, e.g.
 * `measureRequest('completion', 'textDocument/completion', (uri, text) => ({ textDocument: { uri }, position }))`.
 */
export function measureRequest(name: string, method: string, params: (uri: string, text: string) => unknown): Measurement {
  const docs = new WeakMap<Session, string>();
  return {
    name,
    async prepare(s, text) {
      const uri = s.nextUri();
      await s.client.open(uri, text);
      docs.set(s, uri);
    },
    async run(s, text) {
      const uri = docs.get(s)!;
      return time(() => s.client.request(method, params(uri, text)));
    },
  };
}

export interface Size {
  label: string;
  lines: number;
  iterations: number;
  warmup: number;
}

// Warm-up to the steady state of an editor session, for both servers: over the first ~10 opens of the 5,000-line
// file the JIT is still compiling the parser and the rules and the heap is still growing (our didOpen: 355, 229,
// 228, 155, 113 ... ms, then 60-100 ms from the 10th on), so three warm-up runs measured the start-up.
export const SIZES: Size[] = [
  { label: '60 lines', lines: 60, iterations: 40, warmup: 15 },
  { label: '5,000 lines', lines: 5000, iterations: 12, warmup: 15 },
];

export function ensureBuilt(): void {
  if (existsSync(OURS.args[0]!)) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}

export interface RowResult {
  row: string;
  size: string;
  ours: number;
  peer: number;
}

/** Runs every row at every size on both servers and prints medians and ratios (ours / peer). */
export async function runRows(rows: Measurement[], sizes: Size[] = SIZES, servers: [ServerSpec, ServerSpec] = [OURS, PEER]): Promise<RowResult[]> {
  ensureBuilt();
  const results: RowResult[] = [];
  for (const size of sizes) {
    const text = generateDockerfile(size.lines);
    for (const row of rows) {
      const medians: number[] = [];
      for (const spec of servers) {
        const s = await startSession(spec);
        try {
          await row.prepare?.(s, text);
          const xs: number[] = [];
          for (let i = 0; i < size.warmup + size.iterations; i++) {
            const ms = await row.run(s, text, i);
            if (i >= size.warmup) xs.push(ms);
          }
          medians.push(median(xs));
        } finally {
          await s.client.stop();
        }
      }
      results.push({ row: row.name, size: size.label, ours: medians[0]!, peer: medians[1]! });
    }
  }
  printTable(results, servers);
  return results;
}

export function printTable(results: RowResult[], servers: [ServerSpec, ServerSpec] = [OURS, PEER]): void {
  const head = ['measurement', 'file', `${servers[0].name} (median ms)`, `${servers[1].name} (median ms)`, 'ratio ours/peer'];
  const rows = results.map((r) => [r.row, r.size, r.ours.toFixed(2), r.peer.toFixed(2), `${(r.ours / r.peer).toFixed(3)}x`]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
