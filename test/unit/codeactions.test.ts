/**
 * Every quick fix, applied: the text before and after, inline (LF, and the same with CRLF). Plus the actions
 * every finding gets: ignore (hadolint pragma or # check=skip) and turn off in settings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../../engine/dockerfile/index';
import { codeActionsFor } from '../../server/features/codeActions';
import { computeDiagnostics } from '../../server/features/diagnostics';
import { normalizeSettings } from '../../server/settings';
import { applyEdits, expectFix, toCRLF } from './rules-harness';

describe('quick fixes (LF and CRLF)', () => {
  it('UnknownInstruction: ENDPOINT -> ENTRYPOINT (keeps the case)', () => {
    expectFix('UnknownInstruction', 'FROM alpine\nENDPOINT ["x"]\n', 'FROM alpine\nENTRYPOINT ["x"]\n');
    expectFix('UnknownInstruction', 'from alpine\nendpoint ["x"]\n', 'from alpine\nentrypoint ["x"]\n');
  });
  it('ConsistentInstructionCasing: run -> RUN', () => {
    expectFix('ConsistentInstructionCasing', 'FROM alpine\nRUN a\nrun b\n', 'FROM alpine\nRUN a\nRUN b\n');
  });
  it('StageNameCasing: renames the stage and its references', () => {
    expectFix(
      'StageNameCasing',
      'FROM alpine AS Build\nRUN make\nFROM alpine\nCOPY --from=Build /out /out\n',
      'FROM alpine AS build\nRUN make\nFROM alpine\nCOPY --from=build /out /out\n',
    );
  });
  it('FromAsCasing', () => {
    expectFix('FromAsCasing', 'FROM alpine as build\n', 'FROM alpine AS build\n');
  });
  it('MaintainerDeprecated: MAINTAINER -> LABEL', () => {
    expectFix('MaintainerDeprecated', 'FROM alpine\nMAINTAINER Jane Doe <jane@example.org>\n', 'FROM alpine\nLABEL org.opencontainers.image.authors="Jane Doe <jane@example.org>"\n');
  });
  it('LegacyKeyValueFormat: ENV k v -> k=v', () => {
    expectFix('LegacyKeyValueFormat', 'FROM alpine\nENV A 1\n', 'FROM alpine\nENV A=1\n');
    expectFix('LegacyKeyValueFormat', 'FROM alpine\nENV GREETING hello world\n', 'FROM alpine\nENV GREETING="hello world"\n');
  });
  it('JSONArgsRecommended: JSON form for CMD/ENTRYPOINT', () => {
    expectFix('JSONArgsRecommended', 'FROM alpine\nCMD node server.js --port 80\n', 'FROM alpine\nCMD ["node", "server.js", "--port", "80"]\n');
    expectFix('JSONArgsRecommended', 'FROM alpine\nENTRYPOINT nginx -g "daemon off;"\n', 'FROM alpine\nENTRYPOINT ["nginx", "-g", "daemon off;"]\n');
    expectFix('JSONArgsRecommended', 'FROM alpine\nCMD echo $HOME && sleep 1\n', 'FROM alpine\nCMD ["/bin/sh", "-c", "echo $HOME && sleep 1"]\n');
  });
  it('MultipleInstructionsDisallowed: remove the earlier CMD', () => {
    expectFix('MultipleInstructionsDisallowed', 'FROM alpine\nCMD ["a"]\nCMD ["b"]\n', 'FROM alpine\nCMD ["b"]\n');
  });
  it('RedundantTargetPlatform: drop the flag', () => {
    expectFix('RedundantTargetPlatform', 'FROM --platform=$TARGETPLATFORM alpine\n', 'FROM alpine\n');
  });
  it('ExposeProtoCasing and ExposeInvalidFormat', () => {
    expectFix('ExposeProtoCasing', 'FROM alpine\nEXPOSE 53/UDP\n', 'FROM alpine\nEXPOSE 53/udp\n');
    expectFix('ExposeInvalidFormat', 'FROM alpine\nEXPOSE 8080:80\n', 'FROM alpine\nEXPOSE 80\n');
  });
  it('DL3027: apt -> apt-get', () => {
    expectFix('DL3027', 'FROM debian\nRUN apt install -y curl\n', 'FROM debian\nRUN apt-get install -y curl\n');
  });
  it('DL3014: add -y (also on a continuation line)', () => {
    expectFix('DL3014', 'FROM debian\nRUN apt-get install curl\n', 'FROM debian\nRUN apt-get install -y curl\n');
    expectFix(
      'DL3014',
      'FROM debian\nRUN apt-get update && \\\n    apt-get install --no-install-recommends curl\n',
      'FROM debian\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl\n',
    );
  });
  it('DL3015: add --no-install-recommends', () => {
    expectFix('DL3015', 'FROM debian\nRUN apt-get install -y curl\n', 'FROM debian\nRUN apt-get install --no-install-recommends -y curl\n');
  });
  it('DL3009: remove the apt lists in the same RUN', () => {
    expectFix(
      'DL3009',
      'FROM debian\nRUN apt-get update && apt-get install -y curl\n',
      'FROM debian\nRUN apt-get update && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n',
    );
  });
  it('DL3042: pip --no-cache-dir', () => {
    expectFix('DL3042', 'FROM python\nRUN pip install -r requirements.txt\n', 'FROM python\nRUN pip install --no-cache-dir -r requirements.txt\n');
  });
  it('DL3019: apk --no-cache', () => {
    expectFix('DL3019', 'FROM alpine\nRUN apk add curl=8.5.0-r0\n', 'FROM alpine\nRUN apk add --no-cache curl=8.5.0-r0\n');
  });
  it('DL3030 / DL3038 / DL3034: -y for yum, dnf, zypper', () => {
    expectFix('DL3030', 'FROM centos\nRUN yum install httpd-2.4 && yum clean all\n', 'FROM centos\nRUN yum install -y httpd-2.4 && yum clean all\n');
    expectFix('DL3038', 'FROM fedora\nRUN dnf install httpd-2.4 && dnf clean all\n', 'FROM fedora\nRUN dnf install -y httpd-2.4 && dnf clean all\n');
    expectFix('DL3034', 'FROM opensuse/leap\nRUN zypper install httpd=2.4 && zypper clean\n', 'FROM opensuse/leap\nRUN zypper install -y httpd=2.4 && zypper clean\n');
  });
  it('DL3032 / DL3040 / DL3036 / DL3060: clean the package cache', () => {
    expectFix('DL3032', 'FROM centos\nRUN yum install -y httpd-2.4\n', 'FROM centos\nRUN yum install -y httpd-2.4 && yum clean all\n');
    expectFix('DL3040', 'FROM fedora\nRUN dnf install -y httpd-2.4\n', 'FROM fedora\nRUN dnf install -y httpd-2.4 && dnf clean all\n');
    expectFix('DL3036', 'FROM opensuse/leap\nRUN zypper install -y httpd=2.4\n', 'FROM opensuse/leap\nRUN zypper install -y httpd=2.4 && zypper clean\n');
    expectFix('DL3060', 'FROM node\nRUN yarn install\n', 'FROM node\nRUN yarn install && yarn cache clean\n');
  });
  it('DL3020: ADD -> COPY', () => {
    expectFix('DL3020', 'FROM debian\nADD app.py /app/\n', 'FROM debian\nCOPY app.py /app/\n');
  });
  it('DL3021: destination folder gets its /', () => {
    expectFix('DL3021', 'FROM debian\nCOPY a b /dest\n', 'FROM debian\nCOPY a b /dest/\n');
  });
  it('DL3046 / DL3047: useradd -l, wget --progress', () => {
    expectFix('DL3046', 'FROM debian\nRUN useradd -u 123456 app\n', 'FROM debian\nRUN useradd -l -u 123456 app\n');
    expectFix('DL3047', 'FROM debian\nRUN wget https://x/y\n', 'FROM debian\nRUN wget --progress=dot:giga https://x/y\n');
  });
  it('DL3059: merge consecutive RUNs', () => {
    expectFix('DL3059', 'FROM debian\nRUN a\nRUN b\n', 'FROM debian\nRUN a \\\n    && b\n');
  });
  it('DL4006: set -o pipefail, or a SHELL line', () => {
    expectFix('DL4006', 'FROM debian\nRUN curl x | sh\n', 'FROM debian\nRUN set -o pipefail && curl x | sh\n');
    expectFix('DL4006', 'FROM debian\nRUN curl x | sh\n', 'FROM debian\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl x | sh\n', /SHELL/);
  });
  it('CopyAllBeforeInstall: copy the manifests, install, then copy the rest (one edit)', () => {
    expectFix(
      'CopyAllBeforeInstall',
      'FROM node:20\nWORKDIR /app\nCOPY . .\nENV NODE_ENV=production\nRUN npm ci\nCMD ["node", "index.js"]\n',
      'FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nENV NODE_ENV=production\nCMD ["node", "index.js"]\n',
    );
    expectFix(
      'CopyAllBeforeInstall',
      'FROM python:3.12\nWORKDIR /src\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\n',
      'FROM python:3.12\nWORKDIR /src\nCOPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n',
    );
    expectFix(
      'CopyAllBeforeInstall',
      'FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build -o /app\n',
      'FROM golang:1.22\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /app\n',
    );
  });
  it('AptUpdateSeparate: merge update into the install RUN', () => {
    expectFix(
      'AptUpdateSeparate',
      'FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n',
      'FROM debian:12\nRUN apt-get update && apt-get install -y curl\n',
    );
  });
  it('VolatileArgEarly: move the ARG down to its first use', () => {
    expectFix(
      'VolatileArgEarly',
      'FROM debian:12\nARG GIT_SHA\nRUN make deps\nRUN echo $GIT_SHA > /sha\n',
      'FROM debian:12\nRUN make deps\nARG GIT_SHA\nRUN echo $GIT_SHA > /sha\n',
    );
  });
  it('VolatileLabelEarly: move the LABEL to the end of the stage', () => {
    expectFix(
      'VolatileLabelEarly',
      'FROM debian:12\nLABEL org.opencontainers.image.revision=$GIT_COMMIT\nRUN make\n',
      'FROM debian:12\nRUN make\nLABEL org.opencontainers.image.revision=$GIT_COMMIT\n',
    );
    expectFix(
      'VolatileLabelEarly',
      'FROM debian:12 AS a\nLABEL built=2024-01-01\nRUN make\nFROM scratch\n',
      'FROM debian:12 AS a\nRUN make\nLABEL built=2024-01-01\nFROM scratch\n',
    );
  });
  it('IndependentAfterVolatileCopy: move the RUN above the COPY', () => {
    expectFix(
      'IndependentAfterVolatileCopy',
      'FROM debian:12\nCOPY . /src\nRUN apt-get update && apt-get install -y make\nRUN make -C /src\n',
      'FROM debian:12\nRUN apt-get update && apt-get install -y make\nCOPY . /src\nRUN make -C /src\n',
    );
  });
});

function actionsFor(text: string, code: string) {
  const file = parse(text);
  const uri = 'file:///w/Dockerfile';
  const { diagnostics, findings } = computeDiagnostics(file, { uri, settings: normalizeSettings({}) });
  const d = diagnostics.filter((x) => x.code === code);
  assert.ok(d.length > 0, `no ${code} diagnostic`);
  return { actions: codeActionsFor(file, uri, findings, d), uri };
}

function applyAction(text: string, code: string, titleRe: RegExp): string {
  const { actions, uri } = actionsFor(text, code);
  const a = actions.find((x) => titleRe.test(x.title));
  assert.ok(a?.edit?.changes, `no action ${titleRe} among ${JSON.stringify(actions.map((x) => x.title))}`);
  return applyEdits(text, a.edit.changes[uri]!);
}

describe('ignore and turn-off actions', () => {
  for (const eol of ['LF', 'CRLF'] as const) {
    const t = (s: string): string => (eol === 'LF' ? s : toCRLF(s));
    it(`hadolint ignore above the instruction, extended when present (${eol})`, () => {
      const once = applyAction(t('FROM debian:12\n  RUN apt-get install -y curl=1\n'), 'DL3015', /^Ignore DL3015/);
      assert.equal(once, t('FROM debian:12\n  # hadolint ignore=DL3015\n  RUN apt-get install -y curl=1\n'));
      const ext = applyAction(t('FROM debian:12\n# hadolint ignore=DL3015\nRUN apt-get update && apt-get install -y curl=1\n'), 'DL3009', /^Ignore DL3009/);
      assert.equal(ext, t('FROM debian:12\n# hadolint ignore=DL3015,DL3009\nRUN apt-get update && apt-get install -y curl=1\n'));
      // and the result is quiet for that rule
      const after = computeDiagnostics(parse(ext), { uri: 'file:///w/Dockerfile', settings: normalizeSettings({}) });
      assert.deepEqual(after.diagnostics.filter((d) => d.code === 'DL3009' || d.code === 'DL3015'), []);
    });
    it(`# check=skip for BuildKit and cache rules: new, appended, or added to a check directive (${eol})`, () => {
      assert.equal(applyAction(t('FROM alpine AS Build\n'), 'StageNameCasing', /^Ignore/), t('# check=skip=StageNameCasing\nFROM alpine AS Build\n'));
      assert.equal(
        applyAction(t('# syntax=docker/dockerfile:1\n# check=skip=FromAsCasing\nFROM alpine AS Build\n'), 'StageNameCasing', /^Ignore/),
        t('# syntax=docker/dockerfile:1\n# check=skip=FromAsCasing,StageNameCasing\nFROM alpine AS Build\n'),
      );
      assert.equal(applyAction(t('# check=error=true\nFROM alpine AS Build\n'), 'StageNameCasing', /^Ignore/), t('# check=error=true;skip=StageNameCasing\nFROM alpine AS Build\n'));
    });
  }
  it('syntax errors cannot be ignored, but every finding can be turned off in settings', () => {
    const { actions } = actionsFor('FROM alpine\nENDPOINT x\n', 'UnknownInstruction');
    assert.deepEqual(
      actions.map((a) => a.title),
      ['Change to ENTRYPOINT', 'Turn off UnknownInstruction in settings (layerwise.rules.UnknownInstruction)'],
    );
    const off = actions[1]!;
    assert.deepEqual(off.command, {
      title: 'Turn off UnknownInstruction',
      command: 'layerwise.setRuleSeverity',
      arguments: [{ code: 'UnknownInstruction', severity: 'off', uri: 'file:///w/Dockerfile' }],
    });
  });
});
