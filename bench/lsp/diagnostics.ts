/**
 * Diagnostics latency: our server vs dockerfile-language-server-nodejs over stdio, on a generated 60-line and
 * ~5,000-line Dockerfile. Run: `npx tsx bench/lsp/diagnostics.ts` (builds dist/server.js when missing).
 * Prints medians and ratios; it does not pass or fail. The edit row times the edits after the warm-up (15) of a freshly
 * opened document (the goal's figure: on 5,000 lines, edits 16-27); the last row the same after 100 more untimed edits.
 */
import { measureEdit, measureEditSteady, measureOpen, runRows } from './harness';

runRows([measureOpen, measureEdit, measureEditSteady]).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
