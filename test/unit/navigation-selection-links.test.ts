// Selection ranges (innermost to outermost) and document links (image -> registry page). LF and CRLF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SelectionRange } from 'vscode-languageserver';
import { selectionRange } from '../../server/features/selection';
import { documentLinks, registryPage } from '../../server/features/links';
import { textIn, variants } from '../helpers/cursor';

for (const f of variants('FROM alpine AS a\nRUN --mount=type=cache,target=/c$|X \\\n  make\n')) {
  test(`selection expands from a variable to the document (${f.eol})`, () => {
    const chain: string[] = [];
    for (let s: SelectionRange | undefined = selectionRange(f.parsed, f.position); s; s = s.parent) chain.push(textIn(f, s.range));
    assert.deepEqual(chain, ['X', '$X', 'target=/c$X', 'type=cache,target=/c$X', '--mount=type=cache,target=/c$X', 'RUN --mount=type=cache,target=/c$X \\\n  make', 'FROM alpine AS a\nRUN --mount=type=cache,target=/c$X \\\n  make', 'FROM alpine AS a\nRUN --mount=type=cache,target=/c$X \\\n  make\n']);
  });
}

for (const f of variants('# syntax=docker/dockerfile:1\nFROM alpine:3.19 AS a\nFROM a\nFROM ghcr.io/owner/app:1\nFROM $BASE\nFROM quay.io/prometheus/node-exporter@sha256:abc\nFROM scratch\n')) {
  test(`document links (${f.eol})`, () => {
    assert.deepEqual(
      documentLinks(f.parsed).map((l) => `${l.range.start.line} ${textIn(f, l.range)} -> ${l.target}`),
      [
        '0 docker/dockerfile:1 -> https://hub.docker.com/r/docker/dockerfile',
        '1 alpine:3.19 -> https://hub.docker.com/_/alpine',
        '3 ghcr.io/owner/app:1 -> https://ghcr.io/owner/app',
        '5 quay.io/prometheus/node-exporter@sha256:abc -> https://quay.io/repository/prometheus/node-exporter',
      ],
    );
  });
}

test('registry pages', () => {
  assert.equal(registryPage('library/nginx'), 'https://hub.docker.com/_/nginx');
  assert.equal(registryPage('docker.io/bitnami/redis:7'), 'https://hub.docker.com/r/bitnami/redis');
  assert.equal(registryPage('localhost:5000/x'), undefined);
  assert.equal(registryPage('mcr.microsoft.com/dotnet/sdk:8.0'), 'https://mcr.microsoft.com/artifact/mar/dotnet/sdk');
});
