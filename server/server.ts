/**
 * The language server entry point (bundled to dist/server.js). `createConnection(ProposedFeatures.all)` picks the
 * transport from argv: `--node-ipc` (the extension), `--stdio` (any other editor), `--socket=<port>`.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './wiring';

const connection = createConnection(ProposedFeatures.all);
startServer(connection);
// The server never dies of a bug in one handler: log it and keep serving.
process.on('uncaughtException', (e) => {
  try {
    connection.console.error(`layerwise: uncaught ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  } catch {
    /* the connection is gone */
  }
});
process.on('unhandledRejection', (e) => {
  try {
    connection.console.error(`layerwise: unhandled rejection ${e instanceof Error ? e.message : String(e)}`);
  } catch {
    /* the connection is gone */
  }
});
connection.listen();
