// Bundles the entry points: the extension (vscode external, CommonJS), its lazily loaded part, the language server, the CLI, and the workers the CLI starts.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  external: ['vscode'],
};

const entries = [
  { entryPoints: ['client/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['client/lazy.ts'], outfile: 'dist/client-lazy.js' }, // the extension's heavy parts, loaded on first use
  { entryPoints: ['server/server.ts'], outfile: 'dist/server.js' },
  // the CLI: a small launcher that runs the bundle with a V8 code cache (engine/cli/launcher.ts)
  { entryPoints: ['engine/cli/launcher.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['engine/cli/main.ts'], outfile: 'dist/cli-main.js' },
  // the COPY/ADD worker a build starts: a small bundle of its own, which starts faster than the whole CLI
  { entryPoints: ['engine/build/copy-worker-entry.ts'], outfile: 'dist/copy-worker.js' },
  // the layer writer's worker thread (walks and reads the tree while the main thread hashes and stores)
  { entryPoints: ['engine/layers/write-worker.ts'], outfile: 'dist/layer-worker.js' },
];

import { existsSync } from 'node:fs';
const present = entries.filter((e) => existsSync(e.entryPoints[0]));

if (watch) {
  for (const e of present) {
    const ctx = await esbuild.context({ ...common, ...e });
    await ctx.watch();
  }
} else {
  await Promise.all(present.map((e) => esbuild.build({ ...common, ...e })));
}
