// Completion on inline fixtures with a cursor marker; items rendered as `label => inserted text`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompletionItem } from 'vscode-languageserver';
import { completion, type CompletionEnv, type ImageFact } from '../../server/features/completion';
import { variants } from '../helpers/cursor';

function labels(items: CompletionItem[]): string[] {
  return items.map((i) => i.label);
}
function inserted(items: CompletionItem[], label: string): string {
  const it = items.find((i) => i.label === label);
  assert.ok(it, `no item ${label} in ${labels(items).join(', ')}`);
  const e = it.textEdit as { newText: string; range: { start: { character: number }; end: { character: number } } };
  return `${e.newText} @${e.range.start.character}-${e.range.end.character}`;
}

const cases = (name: string, marked: string, check: (items: CompletionItem[], env: CompletionEnv) => void, env: CompletionEnv = {}) => {
  for (const f of variants(marked)) {
    test(`${name} (${f.eol})`, () => check(completion(f.parsed, f.doc, f.position, env), env));
  }
};

cases('first instruction: only FROM and ARG', '|', (items) => {
  assert.deepEqual([...new Set(items.map((i) => i.filterText))].sort(), ['ARG', 'FROM']);
  assert.equal(inserted(items, 'FROM image AS name'), 'FROM ${1:image} AS ${2:name} @0-0');
});

cases('after FROM: every instruction, typed prefix replaced', 'FROM alpine\nRU|', (items) => {
  assert.equal(new Set(items.map((i) => i.filterText)).size, 18);
  assert.equal(inserted(items, 'RUN command'), 'RUN ${1:command} @0-2');
});

cases('after ONBUILD: no FROM, MAINTAINER or ONBUILD', 'FROM alpine\nONBUILD |', (items) => {
  const kws = new Set(items.map((i) => i.filterText));
  assert.equal(kws.has('FROM'), false);
  assert.equal(kws.has('ONBUILD'), false);
  assert.equal(kws.has('MAINTAINER'), false);
  assert.equal(kws.has('COPY'), true);
});

cases('COPY --fr| completes flag names', 'FROM alpine AS build\nFROM alpine\nCOPY --fr|', (items) => {
  assert.equal(inserted(items, '--from'), '--from=$1 @5-9');
  assert.ok(labels(items).includes('--chmod'));
  assert.ok(!labels(items).includes('--checksum'), 'ADD-only flag not offered for COPY');
});

cases('COPY --from= completes earlier stage names', 'FROM alpine AS build\nFROM alpine AS tools\nFROM alpine\nCOPY --from=|', (items) => {
  assert.deepEqual(labels(items), ['build', 'tools']);
  assert.equal(inserted(items, 'build'), 'build @12-12');
});

cases('RUN flags and values', 'FROM alpine\nRUN --network=|', (items) => {
  assert.deepEqual(labels(items), ['default', 'none', 'host']);
});

cases('RUN --mount keys depend on the type', 'FROM alpine\nRUN --mount=type=cache,|', (items) => {
  assert.deepEqual(labels(items), ['target', 'source', 'from', 'readonly', 'id', 'sharing', 'mode', 'uid', 'gid']);
  assert.equal(inserted(items, 'target'), 'target= @23-23');
});

cases('RUN --mount=type= values', 'FROM alpine\nRUN --mount=type=|', (items) => {
  assert.deepEqual(labels(items), ['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
});

cases('RUN --mount sharing values and from= stages', 'FROM alpine AS deps\nRUN --mount=type=cache,target=/c,sharing=|', (items) => {
  assert.deepEqual(labels(items), ['shared', 'private', 'locked']);
});

cases('RUN --mount from= stage', 'FROM alpine AS deps\nFROM alpine\nRUN --mount=from=d|', (items) => {
  assert.deepEqual(labels(items), ['deps']);
  assert.equal(inserted(items, 'deps'), 'deps @17-18');
});

cases('FROM --platform= values', 'FROM --platform=|', (items) => {
  assert.ok(labels(items).includes('$BUILDPLATFORM'));
  assert.ok(labels(items).includes('linux/arm64'));
});

cases('HEALTHCHECK options and CMD/NONE', 'FROM alpine\nHEALTHCHECK |', (items) => {
  assert.deepEqual(labels(items), ['--interval', '--timeout', '--start-period', '--start-interval', '--retries', 'CMD', 'NONE']);
});

cases('variables after $ in scope, with predefined ARGs', 'ARG VERSION=1\nFROM alpine\nARG VERSION\nENV APP_HOME=/app\nRUN echo $|', (items) => {
  assert.deepEqual(labels(items).slice(0, 2), ['VERSION', 'APP_HOME']);
  assert.ok(labels(items).includes('TARGETPLATFORM'));
});

cases('variables after ${ with a typed prefix; later definitions are not in scope', 'FROM alpine\nENV A_ONE=1\nWORKDIR ${A_|}\nENV A_TWO=2', (items) => {
  const local = items.filter((i) => i.sortText?.startsWith('0'));
  assert.deepEqual(labels(local), ['A_ONE']);
  assert.equal(inserted(items, 'A_ONE'), 'A_ONE @10-12');
});

cases('FROM sees only global ARGs', 'ARG BASE=alpine\nFROM scratch\nARG LOCAL=1\nFROM $|', (items) => {
  const local = items.filter((i) => i.sortText?.startsWith('0'));
  assert.deepEqual(labels(local), ['BASE']);
});

cases('an escaped dollar is not a variable', 'FROM alpine\nRUN echo \\$|', (items) => {
  assert.deepEqual(items, []);
});

cases('STOPSIGNAL signals', 'FROM alpine\nSTOPSIGNAL SIGQ|', (items) => {
  assert.equal(labels(items)[0], 'SIGTERM');
  assert.equal(inserted(items, 'SIGQUIT'), 'SIGQUIT @11-15');
});

cases('EXPOSE protocols after the slash', 'FROM alpine\nEXPOSE 53/|', (items) => {
  assert.deepEqual(labels(items), ['tcp', 'udp', 'sctp']);
});

cases('directive names at the top, values after =', '# |\nFROM alpine', (items) => {
  assert.deepEqual(labels(items), ['syntax', 'escape', 'check']);
});
cases('directive values', '# syntax=|\nFROM alpine', (items) => {
  assert.deepEqual(labels(items), ['docker/dockerfile:1', 'docker/dockerfile:1-labs']);
});

const images: ImageFact[] = [
  { repository: 'alpine', tag: '3.19', id: 'sha256:' + 'a'.repeat(64), size: 7_300_000, layers: 1 },
  { repository: 'alpine', tag: 'latest', id: 'sha256:' + 'b'.repeat(64), size: 7_400_000, layers: 1 },
  { repository: 'ghcr.io/me/app', tag: 'dev', id: 'sha256:' + 'c'.repeat(64), size: 52_000_000, layers: 5 },
];
const env: CompletionEnv = { images: { images: () => images } };

cases('FROM image names from the local store, and earlier stages', 'FROM golang AS build\nFROM |', (items) => {
  assert.deepEqual(labels(items), ['alpine:3.19', 'alpine:latest', 'ghcr.io/me/app:dev', 'scratch', 'build']);
  assert.match(items[0]!.detail ?? '', /local image a{12}, 7\.3 MB, 1 layer$/);
}, env);

cases('FROM image tags after the colon', 'FROM alpine:|', (items) => {
  assert.deepEqual(labels(items), ['3.19', 'latest']);
  assert.equal(inserted(items, 'latest'), 'latest @12-12');
}, env);

cases('FROM image AS', 'FROM alpine |', (items) => {
  assert.deepEqual(labels(items), ['AS']);
}, env);

const ctx: CompletionEnv = {
  context: {
    list: (dir: string) =>
      dir === ''
        ? [
            { name: 'src', directory: true },
            { name: 'package.json', directory: false },
          ]
        : dir === 'src'
          ? [{ name: 'main.ts', directory: false }]
          : [],
  },
};
cases('COPY sources from the build context', 'FROM alpine\nCOPY |', (items) => {
  assert.ok(labels(items).includes('--from'), 'flags offered before the sources');
}, ctx);
cases('COPY source path completion inside a folder', 'FROM alpine\nCOPY ./src/m|', (items) => {
  assert.deepEqual(labels(items), ['main.ts']);
  assert.equal(inserted(items, 'main.ts'), 'main.ts @11-12');
}, ctx);
cases('COPY --from=stage: no context paths', 'FROM alpine AS a\nFROM alpine\nCOPY --from=a s|', (items) => {
  assert.deepEqual(items, []);
}, ctx);

cases('heredoc bodies complete only variables', 'FROM alpine\nARG V=1\nRUN <<EOF\necho $|\nEOF', (items) => {
  assert.equal(labels(items)[0], 'V');
});
