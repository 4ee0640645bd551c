/**
 * A client of one repository of an OCI distribution registry (https://github.com/opencontainers/distribution-spec):
 * manifests by tag or digest, blobs (HEAD, GET with redirects, upload), with the registry's auth (engine/registry/auth.ts).
 *
 * Which scheme: HTTPS, except for an insecure registry, which gets HTTPS without a certificate check and, when that
 * cannot connect, plain HTTP, as the Docker daemon does. Insecure, as in Docker's defaults: hosts on loopback
 * (`localhost`, 127.0.0.0/8, ::1), plus those listed in LAYERWISE_INSECURE_REGISTRIES (comma-separated
 * `host[:port]`, Docker's `--insecure-registry`).
 */
import type { Readable } from 'node:stream';
import { LayerwiseError } from '../errors';
import { credentialsFor, basicHeader, errorText, fetchToken, parseChallenges, type Challenge, type Credentials } from './auth';
import { discard, exchange, readBody, type HttpRequest, type HttpResponse } from './http';

/** The Accept header of a manifest GET: every manifest and index type we read. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryOptions {
  env?: NodeJS.ProcessEnv;
  /** credentials to use instead of the Docker config's */
  credentials?: Credentials;
}

function hostOnly(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(0, domain.indexOf(']') + 1);
  const c = domain.lastIndexOf(':');
  return c >= 0 ? domain.slice(0, c) : domain;
}

/** Whether Docker would talk to `domain` as an insecure registry (loopback, or listed). */
export function isInsecureRegistry(domain: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const host = hostOnly(domain).toLowerCase();
  if (host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  const listed = (env.LAYERWISE_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return listed.includes(domain.toLowerCase()) || listed.includes(host);
}

/** The host an API request goes to: Docker Hub's API is on registry-1.docker.io. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

function networkError(domain: string, e: unknown): LayerwiseError {
  if (e instanceof LayerwiseError) return e;
  const err = e as NodeJS.ErrnoException;
  const what =
    err.code === 'ECONNREFUSED'
      ? 'connection refused'
      : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
        ? 'no such host'
        : err.code === 'ETIMEDOUT'
          ? 'timed out'
          : err.message;
  return new LayerwiseError('network', `cannot reach the registry ${domain}: ${what}`, { cause: e });
}

/** A registry's error answer: its status and what it said. */
export class RegistryError extends LayerwiseError {
  constructor(
    message: string,
    readonly status: number,
    /** the registry's own words (`manifest unknown: manifest unknown`), '' when it said nothing */
    readonly text: string,
  ) {
    super(status === 404 ? 'not-found' : 'network', message);
  }
}

export interface ManifestResponse {
  bytes: Buffer;
  mediaType: string;
  /** the registry's Docker-Content-Digest header, when given */
  digest: string | undefined;
}

export class RegistryClient {
  readonly host: string;
  private scheme: 'https:' | 'http:' | undefined;
  private readonly insecure: boolean;
  private readonly env: NodeJS.ProcessEnv;
  private creds: Credentials | undefined | null = null;
  private readonly tokens = new Map<string, string>();
  private challenge: Challenge | undefined;

  constructor(
    readonly domain: string,
    /** the repository path (`library/busybox`) */
    readonly repo: string,
    opts: RegistryOptions = {},
  ) {
    this.env = opts.env ?? process.env;
    this.host = apiHost(domain);
    this.insecure = isInsecureRegistry(domain, this.env);
    if (opts.credentials) this.creds = opts.credentials;
  }

  private async credentials(): Promise<Credentials | undefined> {
    if (this.creds === null) this.creds = await credentialsFor(this.domain, this.env);
    return this.creds;
  }

  private scopeFor(push: boolean): string {
    return `repository:${this.repo}:${push ? 'pull,push' : 'pull'}`;
  }

  private async authHeader(push: boolean): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      const creds = await this.credentials();
      return creds ? basicHeader(creds) : undefined;
    }
    // (a client of no repository, as login's, asks for a token of no scope)
    const scope = this.repo ? this.scopeFor(push) : '';
    let t = this.tokens.get(scope);
    if (!t) {
      t = await fetchToken(c, scope ? [scope] : [], await this.credentials(), { insecure: this.insecure, env: this.env });
      this.tokens.set(scope, t);
    }
    return `Bearer ${t}`;
  }

  /** Which scheme answers: https, or for an insecure registry whose https cannot connect, http. */
  private async base(): Promise<string> {
    if (!this.scheme) {
      if (!this.insecure) this.scheme = 'https:';
      else {
        try {
          const res = await exchange({ method: 'GET', url: new URL(`https://${this.host}/v2/`), insecure: true, env: this.env, idleTimeout: 10_000 });
          discard(res);
          this.scheme = 'https:';
        } catch {
          this.scheme = 'http:';
        }
      }
    }
    return `${this.scheme}//${this.host}`;
  }

  /**
   * One API call under `/v2/<repo>/…` (or an absolute URL the registry gave, such as an upload location): with
   * the auth the registry asks for (a 401 is answered once with credentials), following redirects (credentials
   * only to the same host).
   */
  async call(method: HttpRequest['method'], pathOrUrl: string, opts: { headers?: Record<string, string>; body?: HttpRequest['body']; push?: boolean } = {}): Promise<HttpResponse> {
    const base = await this.base();
    let url = /^https?:\/\//.test(pathOrUrl) ? new URL(pathOrUrl) : new URL(`${base}/v2/${this.repo}/${pathOrUrl}`);
    const push = opts.push ?? false;
    for (let attempt = 0, hops = 0; ; ) {
      const sameHost = url.host === new URL(base).host;
      const auth = sameHost ? await this.authHeader(push) : undefined;
      let res: HttpResponse;
      try {
        res = await exchange({
          method,
          url,
          headers: { ...(opts.headers ?? {}), ...(auth ? { authorization: auth } : {}) },
          ...(opts.body !== undefined ? { body: opts.body } : {}),
          insecure: this.insecure,
          env: this.env,
        });
      } catch (e) {
        throw networkError(this.domain, e);
      }
      if (res.status === 401 && sameHost && attempt === 0) {
        const challenges = parseChallenges(res.headers['www-authenticate']);
        discard(res);
        const c = challenges.find((x) => x.scheme === 'bearer') ?? challenges.find((x) => x.scheme === 'basic');
        if (!c) throw new LayerwiseError('network', `${this.domain} refused the request (401) without saying how to authenticate`);
        this.challenge = c;
        this.tokens.clear();
        attempt++;
        continue;
      }
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location && (method === 'GET' || method === 'HEAD')) {
        discard(res);
        if (++hops > 10) throw new LayerwiseError('network', `${this.domain}: stopped after 10 redirects`);
        url = new URL(res.headers.location, url);
        continue;
      }
      return res;
    }
  }

  /** An error for a failed call: what the registry said, as the Docker CLI words the common cases. */
  async failure(res: HttpResponse, what: string): Promise<RegistryError> {
    const body = res.stream.readableEnded || res.stream.readableFlowing ? Buffer.alloc(0) : await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    const text = errorText(body);
    if (res.status === 401 || res.status === 403) {
      return new RegistryError(`${what}: access to ${this.domain}${this.repo ? `/${this.repo}` : ''} denied (${res.status}): ${text || 'unauthorized'}; are you logged in (credentials in ~/.docker/config.json)?`, res.status, text);
    }
    return new RegistryError(`${what}: ${this.domain} answered ${res.status}${text ? `: ${text}` : ''}`, res.status, text);
  }

  /** `GET /v2/` with the credentials (a token, when the registry wants one): whether the registry takes them. */
  async ping(): Promise<void> {
    const res = await this.call('GET', `${await this.base()}/v2/`);
    if (res.status === 401 || res.status === 403) {
      const text = errorText(await readBody(res, 1 << 20).catch(() => Buffer.alloc(0)));
      throw new RegistryError(`login to ${this.domain} failed: ${text || 'unauthorized: incorrect username or password'}`, res.status, text);
    }
    if (res.status !== 200) throw await this.failure(res, `logging in to ${this.domain}`);
    discard(res);
  }

  /** GET a manifest by tag or digest (a RegistryError with status 404 when the registry does not have it). */
  async getManifest(reference: string): Promise<ManifestResponse> {
    const res = await this.call('GET', `manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status !== 200) throw await this.failure(res, `reading the manifest ${this.repo}:${reference}`);
    const bytes = await readBody(res, 8 << 20);
    const header = res.headers['docker-content-digest'];
    const ct = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { bytes, mediaType: ct, digest: typeof header === 'string' ? header : undefined };
  }

  /** Whether the registry has the blob. */
  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.call('HEAD', `blobs/${digest}`);
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.failure(res, `checking the blob ${digest}`); // (a HEAD has no body)
  }

  /** A blob's bytes, streamed (not verified here: the store verifies what it ingests). */
  async getBlob(digest: string): Promise<Readable> {
    const res = await this.call('GET', `blobs/${digest}`);
    if (res.status !== 200) throw await this.failure(res, `downloading the blob ${digest}`);
    return res.stream;
  }

  /** Upload a blob in one PUT (POST for a session, then PUT with the digest), unless the registry has it. */
  async putBlob(digest: string, size: number, body: () => Readable): Promise<'exists' | 'pushed'> {
    if (await this.hasBlob(digest)) return 'exists';
    const start = await this.call('POST', 'blobs/uploads/', { push: true });
    if (start.status !== 202) throw await this.failure(start, 'starting an upload');
    discard(start);
    const location = start.headers.location;
    if (!location) throw new LayerwiseError('network', `${this.domain} started an upload but gave no location`);
    const url = new URL(location, `${await this.base()}/`);
    url.searchParams.set('digest', digest);
    const put = await this.call('PUT', url.href, { push: true, body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } });
    if (put.status !== 201) throw await this.failure(put, `uploading the blob ${digest}`);
    discard(put);
    return 'pushed';
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry computed. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string | undefined> {
    const res = await this.call('PUT', `manifests/${reference}`, { push: true, body: bytes, headers: { 'content-type': mediaType } });
    if (res.status !== 201) throw await this.failure(res, `writing the manifest ${this.repo}:${reference}`);
    discard(res);
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' ? d : undefined;
  }
}
