/**
 * Diagnostics latency: our server vs dockerfile-language-server-nodejs over stdio, on a generated 60-line and
 * ~5,000-line Dockerfile. Run: `npx tsx bench/lsp/diagnostics.ts` (builds dist/server.js when missing).
 * Prints medians and ratios; it does not pass or fail.
 */
import { measureEdit, measureOpen, runRows } from './harness';

runRows([measureOpen, measureEdit]).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
