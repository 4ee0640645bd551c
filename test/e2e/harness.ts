/**
 * Shared by the e2e runs: builds the extension (dist/) and the mocha bundle of the extension-host suites, and
 * makes a fresh copy of the sample project to open as the workspace.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(__dirname, 'fixtures');
export const RECORDED_CLI = path.join(FIXTURES, 'recorded-cli.cjs');
export const ADAPTER = path.join(__dirname, 'code-server-adapter.sh');
export const SUITE_BUNDLE = path.join(ROOT, '.vscode-test', 'suite', 'index.js');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let built = false;

/** `npm run build` (dist/extension.js, server.js, cli.js) and the suite bundle, once per process. */
export async function buildAll(): Promise<void> {
  if (built) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'esbuild.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`esbuild.mjs failed:\n${r.stdout}${r.stderr}`);
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'suite', 'index.ts')],
    outfile: SUITE_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  built = true;
}

/** A fresh copy of test/e2e/fixtures/sample and an empty state folder for the recorded CLI. */
export function freshWorkspace(): { folder: string; state: string; cleanup(): void } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-e2e-'));
  const folder = path.join(base, 'sample');
  fs.cpSync(path.join(FIXTURES, 'sample'), folder, { recursive: true });
  const state = path.join(base, 'recorded-state');
  fs.mkdirSync(state);
  return { folder, state, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}
