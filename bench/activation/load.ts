/**
 * How long loading dist/extension.js takes (goal: <= 50 ms): fresh Node processes each `require()` the bundle with
 * a stub `vscode` module and report the time of that require alone; median and p90 over the runs. Beside it,
 * for scale, the same for the bundled language client library alone (what activation would cost if it were not
 * deferred). Also prints the bundle's size. Run `npm run build` first (the production bundle: `--production`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'extension.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

// the child: a stub `vscode` (every property a no-op function/proxy), then time require(target)
const CHILD = `
const Module = require('module');
const stub = new Proxy(function () {}, { get: (t, k) => (k === '__esModule' ? false : stub), apply: () => stub, construct: () => stub });
const load = Module._load;
Module._load = function (req, ...rest) { return req === 'vscode' ? stub : load.call(this, req, ...rest); };
const t0 = process.hrtime.bigint();
require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(String(ms));
`;

function measure(target: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['-e', CHILD, target], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`loading ${target} failed:\n${r.stderr}`);
    out.push(Number(r.stdout));
  }
  return out.sort((a, b) => a - b);
}

function stats(xs: number[]): string {
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  return `median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, min ${xs[0]!.toFixed(1)} ms`;
}

if (!fs.existsSync(BUNDLE)) {
  console.log(`${BUNDLE} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const size = fs.statSync(BUNDLE).size;
console.log(`dist/extension.js: ${(size / 1024).toFixed(0)} KiB; ${RUNS} fresh processes each`);
console.log(`  load dist/extension.js            ${stats(measure(BUNDLE))}   (goal <= 50 ms)`);
console.log(`  load dist/client-lazy.js (deferred) ${stats(measure(path.join(ROOT, 'dist', 'client-lazy.js')))}   (loaded after activation, on first use)`);
const lc = require.resolve('vscode-languageclient/node', { paths: [ROOT] });
console.log(`  load vscode-languageclient/node    ${stats(measure(lc))}   (unbundled library, for scale)`);
