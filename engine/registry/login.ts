/**
 * `login` / `logout`: credentials checked against the registry, then kept where the Docker CLI keeps them, so that
 * docker and layerwise share them: the credential helper the Docker config names for the registry (`credHelpers`,
 * else `credsStore`; `docker-credential-<name> store|erase`), or else `auths` in the config file itself (base64
 * `user:password`, the file written atomically with mode 0600, everything else in it kept).
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { LayerwiseError } from '../errors';
import { authKey, type Credentials } from './auth';
import { RegistryClient } from './client';

interface ConfigFile {
  auths?: Record<string, Record<string, unknown>>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

async function readConfig(file: string): Promise<ConfigFile> {
  try {
    const v = JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as ConfigFile) : {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new LayerwiseError('invalid', `cannot read the Docker config ${file}: ${e instanceof SyntaxError ? 'not valid JSON' : (e as Error).message}`);
  }
}

async function writeConfig(file: string, cfg: ConfigFile): Promise<void> {
  await fsp.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

function helper(program: string, action: 'store' | 'erase', input: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(program, [action], { env, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new LayerwiseError('invalid', `the Docker config names the credential helper ${program}, which is not installed`));
      reject(new LayerwiseError('io', `${program} ${action} failed: ${(stderr || stdout || err.message).trim()}`));
    });
    child.stdin?.end(input);
  });
}

/** Check `creds` against the registry (a 401 means they are wrong). */
export async function checkLogin(domain: string, creds: Credentials, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await new RegistryClient(domain, '', { env, credentials: creds }).ping();
}

/** Keep the credentials for `domain`; returns where (the helper program, or the config file). */
export async function saveCredentials(domain: string, creds: { username: string; password: string }, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = dockerConfigPath(env);
  const cfg = await readConfig(file);
  const key = authKey(domain);
  const name = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[domain] ?? cfg.credsStore;
  if (name) {
    const program = `docker-credential-${name}`;
    await helper(program, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }), env);
    // the config keeps an empty entry, as the Docker CLI does, so that the registry is listed
    cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
    await writeConfig(file, cfg);
    return program;
  }
  cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  await writeConfig(file, cfg);
  return file;
}

/** Forget the credentials for `domain`; false when there were none. */
export async function removeCredentials(domain: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = dockerConfigPath(env);
  const cfg = await readConfig(file);
  const key = authKey(domain);
  const name = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[domain] ?? cfg.credsStore;
  const had = !!cfg.auths && (key in cfg.auths || domain in cfg.auths);
  if (name) await helper(`docker-credential-${name}`, 'erase', key, env).catch(() => undefined);
  if (had) {
    delete cfg.auths![key];
    delete cfg.auths![domain];
    await writeConfig(file, cfg);
  }
  return had || !!name;
}
