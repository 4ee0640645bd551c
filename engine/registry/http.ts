/**
 * One HTTP(S) exchange with a registry, on node's own http/https: request headers and a body (bytes or a stream)
 * out, the response (status, headers, a streamed body) back. No redirects here (the client follows them, dropping
 * credentials when the host changes), a timeout on connecting and on silence, certificates as for ADD <url>
 * (the system's plus LAYERWISE_EXTRA_CA_CERTS), and, for an insecure registry, no certificate check.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { trustedCertificates } from '../build/download';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: OutgoingHttpHeaders;
  /** bytes, or a stream made fresh for this request (a retry asks for a new one) */
  body?: Buffer | (() => Readable);
  /** skip the certificate check (an insecure registry) */
  insecure?: boolean;
  env?: NodeJS.ProcessEnv;
  /** ms without a byte either way before the exchange fails (default 60 s) */
  idleTimeout?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** the body, not yet read: read it, or `discard()` it */
  stream: IncomingMessage;
  url: URL;
}

export async function exchange(r: HttpRequest): Promise<HttpResponse> {
  const https = r.url.protocol === 'https:';
  if (!https && r.url.protocol !== 'http:') throw new Error(`unsupported URL scheme ${r.url.protocol}`);
  // (require, not import(): dynamic import() fails in code loaded from the launcher's code cache)
  const mod = https ? (require('node:https') as typeof import('node:https')) : (require('node:http') as typeof import('node:http'));
  const ca = https && !r.insecure ? await trustedCertificates(r.env) : undefined;
  const headers: OutgoingHttpHeaders = { 'user-agent': 'layerwise', ...(r.headers ?? {}) };
  if (Buffer.isBuffer(r.body)) headers['content-length'] = r.body.length;
  else if (r.body === undefined && (r.method === 'PUT' || r.method === 'POST' || r.method === 'PATCH')) headers['content-length'] = 0;
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = mod.request(
      r.url,
      {
        method: r.method,
        headers,
        ...(https ? { rejectUnauthorized: !r.insecure, ...(ca ? { ca } : {}) } : {}),
      },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: res, url: r.url }),
    );
    req.setTimeout(r.idleTimeout ?? 60_000, () => req.destroy(new Error(`no answer from ${r.url.host} for ${Math.round((r.idleTimeout ?? 60_000) / 1000)} s`)));
    req.once('error', reject);
    if (r.body === undefined || Buffer.isBuffer(r.body)) req.end(r.body);
    else {
      const src = r.body();
      src.once('error', (e) => req.destroy(e));
      src.pipe(req);
    }
  });
}

/** The whole body of a response (at most `max` bytes). */
export async function readBody(res: HttpResponse, max = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.stream) {
    const b = c as Buffer;
    n += b.length;
    if (n > max) {
      res.stream.destroy();
      throw new Error(`the answer of ${res.url.host} is larger than ${max} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Read and drop a body nobody needs (so that the connection can be reused). */
export function discard(res: HttpResponse): void {
  res.stream.resume();
}
