/** Starting the real bundled server (dist/server.js) for integration tests; builds it when missing or stale. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LspClient } from '../helpers/lsp';

export const ROOT = resolve(__dirname, '..', '..');
export const SERVER_JS = join(ROOT, 'dist', 'server.js');

function newestSource(dir: string): number {
  let m = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) m = Math.max(m, newestSource(p));
    else if (name.endsWith('.ts')) m = Math.max(m, st.mtimeMs);
  }
  return m;
}

let built = false;
/** dist/server.js, rebuilt when a server/ or engine/ source is newer. */
export function ensureServerBuilt(): void {
  if (built) return;
  const stale = !existsSync(SERVER_JS) || statSync(SERVER_JS).mtimeMs < Math.max(newestSource(join(ROOT, 'server')), newestSource(join(ROOT, 'engine')));
  if (stale) {
    const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  }
  built = true;
}

export function spawnServer(): LspClient {
  ensureServerBuilt();
  return LspClient.spawn(process.execPath, [SERVER_JS, '--stdio'], { cwd: ROOT });
}
