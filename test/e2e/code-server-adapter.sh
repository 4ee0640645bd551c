#!/usr/bin/env bash
# A stand-in for the VS Code executable, for @vscode/test-electron's runTests({ vscodeExecutablePath }): it takes
# VS Code's command-line arguments and runs the extension tests in code-server (see code-server-adapter.ts).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
exec node --import tsx "$root/test/e2e/code-server-adapter.ts" "$@"
