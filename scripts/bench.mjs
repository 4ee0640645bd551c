#!/usr/bin/env node
// Runs the benchmarks: every bench/<area>/*.ts entry (helpers named generate/harness/util/common/lib are
// skipped), each printing its figures side by side with a peer. `npm run bench -- parse lsp` runs some areas.
// Benchmarks print; they do not pass or fail.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const HELPERS = /^(generate|harness|util|utils|common|lib|helpers?|peer|fixtures?)[.-]/;
const want = process.argv.slice(2);
const areas = readdirSync('bench').filter((d) => statSync(join('bench', d)).isDirectory() && (want.length === 0 || want.includes(d)));
let failed = 0;
for (const area of areas.sort()) {
  for (const f of readdirSync(join('bench', area)).sort()) {
    if (!f.endsWith('.ts') || HELPERS.test(f)) continue;
    const file = join('bench', area, f);
    console.log(`\n=== ${file}`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
}
if (failed) console.log(`\n${failed} benchmark(s) could not run`);
