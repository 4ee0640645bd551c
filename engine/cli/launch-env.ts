/**
 * The environment to start the CLI with (what bin/layerwise does for a shell): NODE_EXTRA_CA_CERTS, which node
 * reads at every start-up (75 ms for a system bundle), is handed over as LAYERWISE_EXTRA_CA_CERTS, which the CLI
 * reads only when it opens a TLS connection (engine/build/download.ts).
 */
export function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const extra = env.NODE_EXTRA_CA_CERTS;
  if (!extra) return env;
  const out = { ...env };
  delete out.NODE_EXTRA_CA_CERTS;
  if (!out.LAYERWISE_EXTRA_CA_CERTS) out.LAYERWISE_EXTRA_CA_CERTS = extra;
  return out;
}
