// A real OCI distribution registry (Debian's `docker-registry`, distribution 2.8) on 127.0.0.1 for tests.
//
//   const reg = await startRegistry();
//   if (!reg) t.skip(registryUnavailableReason());
//   ... push to `${reg.url}/name:tag` ...
//   await reg.stop();            // also happens at process exit
//
// Each call starts its own registry: a free port, storage in a fresh temp folder, deletes enabled, no auth.
// Docker treats 127.0.0.0/8 registries as insecure (plain HTTP) by default; skopeo needs --tls-verify=false.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startServerProcess } from './peer-process';

const REGISTRY_BIN = process.env.LAYERWISE_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export interface RegistryPeer {
  /** `127.0.0.1:PORT`, to prefix image references with. */
  readonly url: string;
  /** The registry's storage folder (filesystem driver root). */
  readonly root: string;
  /** With `auth: 'htpasswd'`: the user the registry made for itself (Basic auth, checked on every request). */
  readonly credentials?: { username: string; password: string };
  /** Stops the registry (its process group) and removes its storage. Idempotent. */
  stop(): Promise<void>;
}

let lastReason: string | undefined;

/** Why the registry peer cannot run here, or undefined when it can. */
export function registryUnavailableReason(): string | undefined {
  return lastReason ?? staticReason();
}

function staticReason(): string | undefined {
  try {
    fs.accessSync(REGISTRY_BIN, fs.constants.X_OK);
    return undefined;
  } catch {
    return `${REGISTRY_BIN} is missing (apt-get install docker-registry)`;
  }
}

/**
 * Starts a registry and resolves once `GET /v2/` answers 200; undefined (with registryUnavailableReason())
 * when the binary is missing. Rejects with the registry's log when it does not come up.
 */
export async function startRegistry(opts: { auth?: 'htpasswd' } = {}): Promise<RegistryPeer | undefined> {
  lastReason = staticReason();
  if (lastReason) return undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), opts);
    } catch (e) {
      lastError = e;
      // Another process took the port between freePort() and the registry's bind: try another one.
      if (!(e instanceof Error && /address already in use/.test(e.message))) throw e;
    }
  }
  throw lastError;
}

async function startOnce(port: number, opts: { auth?: 'htpasswd' }): Promise<RegistryPeer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-registry-'));
  const root = path.join(dir, 'storage');
  fs.mkdirSync(root);
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(root)}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      // htpasswd auth: the file is missing, so the registry makes one with a user "docker" and a random password,
      // which it logs (distribution 2.8)
      ...(opts.auth === 'htpasswd' ? ['auth:', '  htpasswd:', '    realm: layerwise-test', `    path: ${JSON.stringify(path.join(dir, 'htpasswd'))}`] : []),
      '',
    ].join('\n'),
  );
  const url = `127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'docker-registry',
    file: REGISTRY_BIN,
    args: ['serve', config],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    dir,
    logFile: path.join(dir, 'registry.log'),
    healthUrl: `http://${url}/v2/`,
    ...(opts.auth ? { healthStatus: 401 } : {}),
    timeoutMs: 30_000,
  });
  let credentials: { username: string; password: string } | undefined;
  if (opts.auth === 'htpasswd') {
    const log = fs.readFileSync(path.join(dir, 'registry.log'), 'utf8');
    const m = /password=(\S+) user=(\S+)/.exec(log);
    if (!m) {
      server.stop();
      throw new Error(`the registry did not log the password of the user it made:\n${log}`);
    }
    credentials = { username: m[2]!, password: m[1]! };
  }
  return {
    url,
    root,
    ...(credentials ? { credentials } : {}),
    stop: async () => server.stop(),
  };
}
