/**
 * Runs one extension-host suite outside node:test, for working on it:
 *   node --import tsx test/e2e/run-suite.ts main|trust
 * (`npm run test:e2e` runs both through test/e2e/extension-host.e2e.ts.)
 */
import { runTests } from '@vscode/test-electron';
import { ADAPTER, RECORDED_CLI, ROOT, SUITE_BUNDLE, buildAll, freshWorkspace } from './harness';

export async function runSuite(suite: 'main' | 'trust'): Promise<void> {
  await buildAll();
  const ws = freshWorkspace();
  try {
    await runTests({
      vscodeExecutablePath: ADAPTER,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: SUITE_BUNDLE,
      launchArgs: [ws.folder],
      extensionTestsEnv: {
        LAYERWISE_E2E_SUITE: suite,
        LAYERWISE_CLI: RECORDED_CLI,
        LAYERWISE_RECORDED_STATE: ws.state,
        ...(suite === 'trust' ? { LAYERWISE_E2E_WORKSPACE_TRUST: '1' } : {}),
      },
    });
  } finally {
    ws.cleanup();
  }
}

if (require.main === module) {
  const suite = process.argv[2] === 'trust' ? 'trust' : 'main';
  const t0 = Date.now();
  runSuite(suite).then(
    () => console.log(`suite ${suite}: passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`),
    (e: unknown) => {
      console.log(`suite ${suite}: FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${String(e)}`);
      process.exitCode = 1;
    },
  );
}
