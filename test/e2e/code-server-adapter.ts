/**
 * The adapter behind code-server-adapter.sh. Accepts the arguments runTests() gives VS Code
 * (`--extensionDevelopmentPath=`, `--extensionTestsPath=`, `--user-data-dir=`, `--extensions-dir=`, a folder,
 * and flags it ignores), starts code-server (test/helpers/vscode.ts), runs the tests through the page URL, prints
 * their output and exits with the exit code the test harness reported.
 *
 * Environment: LAYERWISE_* variables are passed on to the extension host. LAYERWISE_E2E_WORKSPACE_TRUST=1
 * starts code-server with workspace trust on (the folder then opens untrusted), for the trust-gate suite.
 */
import * as path from 'node:path';
import { runExtensionTests, startCodeServer, vscodeUnavailableReason } from '../helpers/vscode';

function parse(argv: string[]): { dev?: string; tests?: string; folder?: string } {
  const out: { dev?: string; tests?: string; folder?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (name: string): string | undefined => {
      if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
      if (a === `--${name}`) return argv[++i];
      return undefined;
    };
    const dev = val('extensionDevelopmentPath');
    if (dev !== undefined) {
      out.dev = path.resolve(dev);
      continue;
    }
    const tests = val('extensionTestsPath');
    if (tests !== undefined) {
      out.tests = path.resolve(tests);
      continue;
    }
    if (val('user-data-dir') !== undefined || val('extensions-dir') !== undefined) continue;
    if (a.startsWith('-')) continue; // --no-sandbox, --disable-updates, --skip-welcome, ...
    out.folder = path.resolve(a);
  }
  return out;
}

async function main(): Promise<number> {
  const a = parse(process.argv.slice(2));
  if (!a.dev || !a.tests) {
    process.stderr.write('code-server-adapter: --extensionDevelopmentPath and --extensionTestsPath are required\n');
    return 2;
  }
  const server = await startCodeServer({ workspaceTrust: process.env.LAYERWISE_E2E_WORKSPACE_TRUST === '1' });
  if (!server) {
    process.stderr.write(`code-server-adapter: cannot run VS Code here: ${vscodeUnavailableReason()}\n`);
    return 3;
  }
  try {
    const extensionEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith('LAYERWISE_') && v !== undefined) extensionEnv[k] = v;
    const r = await runExtensionTests(server, {
      extensionDevelopmentPath: a.dev,
      extensionTestsPath: a.tests,
      ...(a.folder ? { folder: a.folder } : {}),
      extensionEnv,
      timeoutMs: Number(process.env.LAYERWISE_E2E_TIMEOUT_MS ?? 240_000),
      onLog: (line) => process.stdout.write(line + '\n'),
    });
    return r.code;
  } finally {
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`code-server-adapter: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
