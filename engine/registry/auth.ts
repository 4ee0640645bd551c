/**
 * Registry credentials and the distribution auth protocol, as the Docker CLI and daemon do them:
 *  - credentials from the Docker CLI's config file (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`):
 *    `credHelpers[host]` or `credsStore` (the `docker-credential-<name> get` program), else `auths[host].auth`
 *    (base64 `user:password`) or `username`/`password`, or `identitytoken`. Docker Hub's entry is
 *    `https://index.docker.io/v1/`; other registries are found by host, with or without a scheme.
 *  - the challenge (`WWW-Authenticate: Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`) of a 401,
 *    and the token request of https://distribution.github.io/distribution/spec/auth/token/ (GET with Basic
 *    credentials when there are some; `token` or `access_token` in the answer; OAuth2 POST with a refresh token
 *    when the config holds an identity token).
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LayerwiseError } from '../errors';
import { exchange, readBody } from './http';

export interface Credentials {
  username?: string;
  password?: string;
  /** an OAuth2 refresh token (`identitytoken` in the config) */
  identityToken?: string;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** The `WWW-Authenticate` challenges of a response (RFC 7235 auth-params, quoted strings unescaped). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of Array.isArray(header) ? header : header ? [header] : []) {
    let i = 0;
    let current: Challenge | undefined;
    while (i < h.length) {
      while (i < h.length && (h[i] === ' ' || h[i] === ',')) i++;
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)/.exec(h.slice(i));
      if (!m) break;
      const token = m[1]!;
      i += token.length;
      let j = i;
      while (h[j] === ' ') j++;
      if (h[j] === '=') {
        // a parameter of the current challenge
        i = j + 1;
        while (h[i] === ' ') i++;
        let value = '';
        if (h[i] === '"') {
          i++;
          while (i < h.length && h[i] !== '"') {
            if (h[i] === '\\' && i + 1 < h.length) i++;
            value += h[i++];
          }
          i++;
        } else {
          const v = /^[^,\s]*/.exec(h.slice(i))![0];
          value = v;
          i += v.length;
        }
        if (current) current.params[token.toLowerCase()] = value;
      } else {
        const scheme = token.toLowerCase();
        current = scheme === 'bearer' || scheme === 'basic' ? { scheme, params: {} } : undefined;
        if (current) out.push(current);
      }
    }
  }
  return out;
}

function configDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The config file's key for a registry host: Docker Hub has its legacy URL. */
export function authKey(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' || domain === 'registry-1.docker.io' ? DOCKER_HUB_AUTH_KEY : domain;
}

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

async function fromHelper(helper: string, key: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(program, ['get'], { env, timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        // "credentials not found in native keychain": no credentials, not a failure
        if (/credentials not found/i.test(`${stdout}${stderr}`)) resolve('');
        else if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new LayerwiseError('invalid', `the Docker config names the credential helper "${helper}", but ${program} is not installed`));
        else reject(new LayerwiseError('invalid', `${program} get failed: ${(stderr || stdout || err.message).trim()}`));
      } else resolve(stdout);
    });
    child.stdin?.end(key);
  });
  if (!out.trim()) return undefined;
  let v: { Username?: string; Secret?: string };
  try {
    v = JSON.parse(out) as { Username?: string; Secret?: string };
  } catch {
    throw new LayerwiseError('invalid', `${program} get printed something that is not JSON`);
  }
  if (!v.Secret) return undefined;
  // a helper stores an identity token with the user name "<token>"
  return v.Username === '<token>' ? { identityToken: v.Secret } : { username: v.Username ?? '', password: v.Secret };
}

/** The credentials the Docker CLI would use for `domain`, or undefined (anonymous). */
export async function credentialsFor(domain: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const file = join(configDir(env), 'config.json');
  let cfg: ConfigFile;
  try {
    cfg = JSON.parse(await fsp.readFile(file, 'utf8')) as ConfigFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LayerwiseError('invalid', `cannot read the Docker config ${file}: ${e instanceof SyntaxError ? 'not valid JSON' : (e as Error).message}`);
  }
  const key = authKey(domain);
  const helper = cfg.credHelpers?.[key] ?? cfg.credHelpers?.[domain] ?? cfg.credsStore;
  if (helper) {
    const c = await fromHelper(helper, key, env);
    if (c) return c;
  }
  const auths = cfg.auths ?? {};
  const entry = auths[key] ?? Object.entries(auths).find(([k]) => hostOfKey(k) === hostOfKey(key))?.[1];
  if (!entry) return undefined;
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0) throw new LayerwiseError('invalid', `the Docker config's auth for ${key} is not base64 of user:password`);
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (entry.username !== undefined || entry.password !== undefined) return { username: entry.username ?? '', password: entry.password ?? '' };
  return undefined;
}

export function basicHeader(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64');
}

/** Ask the challenge's token service for a token for `scopes`. */
export async function fetchToken(
  challenge: Challenge,
  scopes: string[],
  creds: Credentials | undefined,
  opts: { insecure: boolean; env?: NodeJS.ProcessEnv },
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new LayerwiseError('network', 'the registry asked for a token but named no token service (no realm)');
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new LayerwiseError('network', `the registry's token service is not a URL: ${realm}`);
  }
  const service = challenge.params.service;
  let res;
  if (creds?.identityToken) {
    // OAuth2 with the refresh token (the Docker CLI's identity token)
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'layerwise', ...(service ? { service } : {}) });
    if (scopes.length) form.set('scope', scopes.join(' '));
    res = await exchange({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), insecure: opts.insecure, ...(opts.env ? { env: opts.env } : {}) });
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers = creds && (creds.username || creds.password) ? { authorization: basicHeader(creds) } : undefined;
    res = await exchange({ method: 'GET', url, ...(headers ? { headers } : {}), insecure: opts.insecure, ...(opts.env ? { env: opts.env } : {}) });
  }
  const body = await readBody(res, 1 << 20);
  if (res.status === 401 || res.status === 403) {
    throw new LayerwiseError('network', `authentication to ${url.host} failed (${res.status}): ${errorText(body) || 'unauthorized'}`);
  }
  if (res.status !== 200) throw new LayerwiseError('network', `the token service ${url.host} answered ${res.status}: ${errorText(body)}`);
  let v: { token?: string; access_token?: string };
  try {
    v = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
  } catch {
    throw new LayerwiseError('network', `the token service ${url.host} answered something that is not JSON`);
  }
  const token = v.token || v.access_token;
  if (!token) throw new LayerwiseError('network', `the token service ${url.host} gave no token`);
  return token;
}

/** The message of a registry's error body (`{"errors":[{"code","message"}]}`), or its text. */
export function errorText(body: Buffer): string {
  const s = body.toString('utf8').trim();
  try {
    const v = JSON.parse(s) as { errors?: { code?: string; message?: string; detail?: unknown }[]; details?: string };
    if (Array.isArray(v.errors) && v.errors.length) {
      return v.errors.map((e) => [e.code?.toLowerCase().replace(/_/g, ' '), e.message].filter(Boolean).join(': ')).join('; ');
    }
    if (typeof v.details === 'string') return v.details;
  } catch {
    /* not JSON */
  }
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}
