#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) on Node's built-in test runner, TypeScript through tsx.
// Arguments narrow the run to the given files or folders.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const name of readdirSync(p).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue;
      collect(join(p, name), out);
    }
  } else if (/\.test\.(ts|mjs|js)$/.test(p)) out.push(p);
  return out;
}

const roots = process.argv.slice(2);
const files = [];
for (const r of roots.length ? roots : ['test']) collect(r, files);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...files];
if (process.env.TEST_CONCURRENCY) args.splice(2, 0, `--test-concurrency=${process.env.TEST_CONCURRENCY}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
