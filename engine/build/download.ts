/**
 * HTTP(S) GET for `ADD <url>`: follows redirects as BuildKit's HTTP source does (at most 10, relative
 * `Location`s resolved), and trusts the system's certificates plus the extra ones the user configured.
 *
 * Extra certificates: `NODE_EXTRA_CA_CERTS` is honoured by node itself when the CLI is started with it; the
 * `layerwise` launcher (bin/layerwise) hands it over as `LAYERWISE_EXTRA_CA_CERTS` instead, because node reads
 * that file at every start-up (~75 ms for a system bundle) and most commands never open a TLS connection. The file
 * is read here, when one is opened.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { LayerwiseError } from '../errors';

export interface Downloaded {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** the URL the body came from, after redirects */
  url: string;
}

const MAX_REDIRECTS = 10;

let extraCa: { file: string; certs: string[] } | undefined;

/** The certificates to trust when `LAYERWISE_EXTRA_CA_CERTS` names extra ones: node's roots plus those. */
export async function trustedCertificates(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  const file = env.LAYERWISE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  if (extraCa?.file !== file) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (e) {
      throw new LayerwiseError('invalid', `cannot read the extra CA certificates (LAYERWISE_EXTRA_CA_CERTS) ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    const { rootCertificates } = require('node:tls') as typeof import('node:tls');
    extraCa = { file, certs: [...rootCertificates, ...certs] };
  }
  return extraCa.certs;
}

/** GETs `url` (http or https), following redirects; any status is returned, network errors throw. */
export async function httpGet(url: string, opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<Downloaded> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await request(current, opts);
    const location = res.headers.location;
    if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current);
      continue;
    }
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', resolve);
      res.once('error', reject);
      res.once('aborted', () => reject(new Error('connection closed before the whole response arrived')));
    });
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: current.href };
  }
}

async function request(url: URL, opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv }): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported URL scheme ${url.protocol}`);
  const https = url.protocol === 'https:';
  // (require, not import(): dynamic import() fails in code loaded from the launcher's code cache)
  const mod = https ? (require('node:https') as typeof import('node:https')) : (require('node:http') as typeof import('node:http'));
  const ca = https ? await trustedCertificates(opts.env) : undefined;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = mod.get(url, { ...(ca ? { ca } : {}), ...(opts.signal ? { signal: opts.signal } : {}), headers: { 'user-agent': 'layerwise' } }, resolve);
    req.once('error', reject);
  });
}
