/**
 * Extension-host test entry (bundled to .vscode-test/suite/index.js by test/e2e/bundle.mjs): `run()` runs the
 * mocha suites chosen by LAYERWISE_E2E_SUITE (`main`: commands, builds, decorations, trees, cancel, tasks;
 * `trust`: the untrusted-workspace gate) inside VS Code.
 */
import type MochaType from 'mocha';
import { format } from 'node:util';

export function run(): Promise<void> {
  // the workbench forwards console arguments unformatted: format them here (mocha's reporter uses '%s')
  for (const k of ['log', 'info', 'warn', 'error'] as const) {
    const orig = console[k].bind(console);
    console[k] = (...a: unknown[]) => orig(format(...a));
  }
  // loaded after the console is wrapped: mocha's reporters keep a reference to console.log
  const Mocha = require('mocha') as typeof MochaType;
  (Mocha.reporters.Base as unknown as { consoleLog: (...a: unknown[]) => void }).consoleLog = (...a: unknown[]) => console.log(format(...a));
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  mocha.suite.emit('pre-require', globalThis, 'layerwise-e2e', mocha);
  const suite = process.env.LAYERWISE_E2E_SUITE ?? 'main';
  // required after pre-require: their describe()/it() calls register with this mocha
  if (suite === 'trust') require('./trust.e2e');
  else {
    require('./commands.e2e');
    require('./realEngine.e2e');
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
  });
}
