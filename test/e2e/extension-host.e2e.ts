// Extension-host tests (mocha inside a real VS Code: code-server) run through @vscode/test-electron's runTests()
// with vscodeExecutablePath = our code-server adapter. Without a VS Code here (scripts/setup-vscode.sh not run)
// they skip and say why.
import { test } from 'node:test';
import { vscodeUnavailableReason } from '../helpers/vscode';
import { runSuite } from './run-suite';

const why = vscodeUnavailableReason();

test('extension host: every command, decorations, trees, cancel, tasks (recorded engine) + real engine', { skip: why, timeout: 300_000 }, async () => {
  await runSuite('main');
});

test('extension host: the workspace-trust gate', { skip: why, timeout: 300_000 }, async () => {
  await runSuite('trust');
});
