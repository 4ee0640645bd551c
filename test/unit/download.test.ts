/**
 * httpGet (ADD <url>): redirects (relative and absolute, a loop stops), statuses returned as they are, and HTTPS
 * trusting a CA that only LAYERWISE_EXTRA_CA_CERTS names (made with openssl; skipped, saying so, without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer as createHttp, type RequestListener, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGet, trustedCertificates } from '../../engine/build/download';
import { findExecutable } from '../../engine/runtime/host-tools';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return String((server.address() as { port: number }).port);
}

const routes: RequestListener = (req, res) => {
  if (req.url === '/file') return void res.writeHead(200, { 'last-modified': 'Mon, 03 Feb 2020 04:05:06 GMT' }).end('the body\n');
  if (req.url === '/rel') return void res.writeHead(302, { location: 'file' }).end();
  if (req.url === '/abs') return void res.writeHead(301, { location: `http://${req.headers.host}/rel` }).end();
  if (req.url === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
  res.writeHead(404).end('no');
};

test('httpGet follows absolute and relative redirects to the body, returns other statuses, stops a redirect loop', async (t) => {
  const server = createHttp(routes);
  const port = await listen(server);
  t.after(() => server.close());
  const r = await httpGet(`http://127.0.0.1:${port}/abs`);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'the body\n');
  assert.equal(r.url, `http://127.0.0.1:${port}/file`);
  assert.equal(r.headers['last-modified'], 'Mon, 03 Feb 2020 04:05:06 GMT');
  assert.equal((await httpGet(`http://127.0.0.1:${port}/missing`)).status, 404);
  await assert.rejects(httpGet(`http://127.0.0.1:${port}/loop`), /stopped after 10 redirects/);
  await assert.rejects(httpGet('ftp://127.0.0.1/x'), /unsupported URL scheme ftp:/);
});

test('httpGet over HTTPS trusts the CA named by LAYERWISE_EXTRA_CA_CERTS, and only then', async (t) => {
  const openssl = findExecutable('openssl');
  if (!openssl) return t.skip('openssl is not installed: no test CA can be made');
  const dir = mkdtempSync(join(tmpdir(), 'lw-dl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const o = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=layerwise test CA');
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  o('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf');
  const server = createHttps({ key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) }, routes);
  const port = await listen(server);
  t.after(() => server.close());
  const url = `https://127.0.0.1:${port}/rel`;
  const base = { ...process.env };
  delete base.LAYERWISE_EXTRA_CA_CERTS;
  await assert.rejects(httpGet(url, { env: base }), (e: NodeJS.ErrnoException) => /certificate/i.test(e.message) || /CERT|SELF_SIGNED/.test(e.code ?? ''));
  const env = { ...base, LAYERWISE_EXTRA_CA_CERTS: join(dir, 'ca.pem') };
  const r = await httpGet(url, { env });
  assert.equal(r.body.toString(), 'the body\n');
  const trusted = (await trustedCertificates(env))!;
  assert.ok(trusted.length >= 2 && trusted.at(-1)!.includes('BEGIN CERTIFICATE'), 'the system roots plus the extra CA');
  await assert.rejects(trustedCertificates({ LAYERWISE_EXTRA_CA_CERTS: join(dir, 'absent.pem') }), /cannot read the extra CA certificates \(LAYERWISE_EXTRA_CA_CERTS\) .*absent\.pem: ENOENT/);
});
