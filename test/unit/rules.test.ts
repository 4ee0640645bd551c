/**
 * Every rule: fixtures that trigger it (`[[...]]` marks each expected finding) and near-misses that must not.
 * Each fixture runs with LF and CRLF (see rules-harness.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allRules } from '../../server/rules/index';
import { expectMarked, runRule, toCRLF } from './rules-harness';

type Cases = Record<string, { bad: string[]; good: string[] }>;

export const CASES: Cases = {
  // ---- A: syntax (parser problems and semantic checks) ----
  UnknownInstruction: { bad: ['FROM alpine\n[[ENDPOINT]] ["x"]\n'], good: ['FROM alpine\nENTRYPOINT ["x"]\n'] },
  InstructionBeforeFrom: { bad: ['[[RUN]] echo\nFROM alpine\n'], good: ['ARG V=1\nFROM alpine:$V\n'] },
  NoInstructions: { bad: ['[[# only a comment\n]]'], good: ['FROM alpine\n'] },
  UnknownFlag: { bad: ['FROM alpine\nCOPY --[[frm]]=a x y\n'], good: ['FROM alpine\nCOPY --from=a x y\n'] },
  DuplicateFlag: { bad: ['FROM alpine\nCOPY --chown=a [[--chown=b]] x y\n'], good: ['FROM alpine\nCOPY --chown=a --chmod=644 x y\n'] },
  FlagMissingValue: { bad: ['FROM alpine\nCOPY [[--from]] x y\n'], good: ['FROM alpine\nCOPY --link x y\n'] },
  FlagInvalidValue: { bad: ['FROM alpine\nRUN --network=[[wifi]] true\n'], good: ['FROM alpine\nRUN --network=none true\n'] },
  InvalidFrom: { bad: ['FROM [[alpine AS]]\n'], good: ['FROM alpine AS base\n'] },
  InvalidStageName: { bad: ['FROM alpine AS [[1st]]\n'], good: ['FROM alpine AS first\n'] },
  ShellNotJSON: { bad: ['FROM alpine\nSHELL [[/bin/bash -c]]\n'], good: ['FROM alpine\nSHELL ["/bin/bash", "-c"]\n'] },
  MissingArguments: { bad: ['FROM alpine\n[[RUN]]\n'], good: ['FROM alpine\nRUN true\n'] },
  EnvMissingValue: { bad: ['FROM alpine\nENV [[A]]\n', 'FROM alpine\nLABEL [[a]]\n'], good: ['FROM alpine\nENV A=\n'] },
  EnvMissingEquals: { bad: ['FROM alpine\nENV a=b [[c]]\n'], good: ['FROM alpine\nENV a=b c=d\n'] },
  BlankName: { bad: ['FROM alpine\nARG [[=x]]\n'], good: ['FROM alpine\nARG x=\n'] },
  ExtraArguments: { bad: ['FROM alpine\nHEALTHCHECK NONE[[ x]]\n'.replace('NONE[[ x]]', '[[NONE x]]')], good: ['FROM alpine\nHEALTHCHECK NONE\n'] },
  OnbuildChain: { bad: ['FROM alpine\nONBUILD [[ONBUILD]] RUN x\n'], good: ['FROM alpine\nONBUILD RUN x\n'] },
  OnbuildForbidden: { bad: ['FROM alpine\nONBUILD [[FROM]] debian\n'], good: ['FROM alpine\nONBUILD COPY . /app\n'] },
  InvalidMount: { bad: ['FROM alpine\nRUN --mount=[[type=cash]] true\n'], good: ['FROM alpine\nRUN --mount=type=cache,target=/root/.cache true\n'] },
  InvalidDirective: { bad: ['# escape=[[x]]\nFROM alpine\n'], good: ['# escape=`\nFROM alpine\n'] },
  DuplicateDirective: { bad: ['# escape=\\\n[[# escape=`]]\nFROM alpine\n'], good: ['# escape=\\\n# syntax=docker/dockerfile:1\nFROM alpine\n'] },
  UnterminatedHeredoc: { bad: ['FROM alpine\nRUN [[<<EOF]]\necho hi\n'], good: ['FROM alpine\nRUN <<EOF\necho hi\nEOF\n'] },
  InvalidStopSignal: { bad: ['FROM alpine\nSTOPSIGNAL [[SIGFOO]]\n'], good: ['FROM alpine\nSTOPSIGNAL SIGTERM\n', 'FROM alpine\nSTOPSIGNAL 9\n', 'FROM alpine\nSTOPSIGNAL $SIG\n'] },
  InvalidVariableExpansion: { bad: ['FROM alpine\nENV A=[[${B:=x}]]\n'], good: ['FROM alpine\nENV A=${B:-x}\n'] },
  InvalidImageReference: { bad: ['FROM [[Alpine:3]]\n', 'FROM [[alpine:bad tag]]\n'.replace(' tag', '%tag')], good: ['FROM alpine:3.20\n', 'FROM ghcr.io/owner/app:1@sha256:' + 'a'.repeat(64) + '\n', 'FROM $BASE\n'] },

  // ---- B: BuildKit checks ----
  StageNameCasing: { bad: ['FROM alpine AS [[Build]]\n'], good: ['FROM alpine AS build\n'] },
  FromAsCasing: { bad: ['FROM alpine [[as]] build\n', 'from alpine [[AS]] build\n'], good: ['FROM alpine AS build\n', 'from alpine as build\n'] },
  NoEmptyContinuation: { bad: ['FROM alpine\nRUN echo a \\\n[[]]\n  b\n'], good: ['FROM alpine\nRUN echo a \\\n  b\n'] },
  ConsistentInstructionCasing: { bad: ['FROM alpine\nRUN a\n[[run]] b\n'], good: ['from alpine\nrun a\n', 'FROM alpine\nRUN a\n'] },
  DuplicateStageName: { bad: ['FROM alpine AS a\nFROM alpine AS [[a]]\n'], good: ['FROM alpine AS a\nFROM alpine AS b\n'] },
  ReservedStageName: { bad: ['FROM alpine AS [[scratch]]\n', 'FROM alpine AS [[context]]\n'], good: ['FROM alpine AS scratcher\n'] },
  JSONArgsRecommended: { bad: ['FROM alpine\n[[CMD node index.js]]\n', 'FROM alpine\n[[ENTRYPOINT nginx -g daemon]]\n'], good: ['FROM alpine\nCMD ["node", "index.js"]\n', 'FROM alpine\nSHELL ["/bin/bash", "-c"]\nCMD node index.js\n'] },
  MaintainerDeprecated: { bad: ['FROM alpine\n[[MAINTAINER me <me@example.org>]]\n'], good: ['FROM alpine\nLABEL org.opencontainers.image.authors="me"\n'] },
  UndefinedArgInFrom: { bad: ['FROM alpine:[[$VERSON]]\n'.replace('[[$VERSON]]', '$VERSON').replace('alpine:$VERSON', '[[alpine:$VERSON]]')], good: ['ARG VERSION=3\nFROM alpine:$VERSION\n', 'FROM --platform=$BUILDPLATFORM alpine\n'] },
  WorkdirRelativePath: { bad: ['FROM alpine\nWORKDIR [[app]]\n'], good: ['FROM alpine\nWORKDIR /app\nWORKDIR sub\n'] },
  UndefinedVar: { bad: ['FROM alpine\nARG NAME=x\nCOPY [[$NAEM]] /x\n'], good: ['FROM alpine\nARG NAME=x\nCOPY $NAME /x\n', 'FROM alpine\nENV PATH=$PATH:/opt/bin\n', 'FROM alpine\nRUN echo $UNSET_IN_SHELL\n'] },
  MultipleInstructionsDisallowed: { bad: ['FROM alpine\n[[CMD ["a"]]]\nCMD ["b"]\n'], good: ['FROM alpine\nCMD ["a"]\nFROM alpine\nCMD ["b"]\n'] },
  LegacyKeyValueFormat: { bad: ['FROM alpine\n[[ENV A 1]]\n', 'FROM alpine\n[[LABEL a b c]]\n'], good: ['FROM alpine\nENV A=1\n', 'FROM alpine\nLABEL a="b c"\n'] },
  RedundantTargetPlatform: { bad: ['FROM [[--platform=$TARGETPLATFORM]] alpine\n'], good: ['FROM --platform=$BUILDPLATFORM alpine\n'] },
  SecretsUsedInArgOrEnv: { bad: ['FROM alpine\nARG [[API_TOKEN]]\n', 'FROM alpine\nENV [[DB_PASSWORD]]=x\n'], good: ['FROM alpine\nARG MONKEY=1\n', 'FROM alpine\nENV KEY_FILE=/run/key\n', 'FROM alpine\nARG PUBLIC_KEY\n'] },
  InvalidDefaultArgInFrom: { bad: ['ARG TAG\nFROM [[alpine:$TAG]]\n', 'ARG IMG=\nFROM [[$IMG]]\n'], good: ['ARG TAG=3\nFROM alpine:$TAG\n', 'ARG TAG\nFROM alpine${TAG:+:$TAG}\n'] },
  FromPlatformFlagConstDisallowed: { bad: ['FROM [[--platform=linux/amd64]] alpine\n'], good: ['FROM --platform=linux/amd64 alpine AS build-amd64\n', 'FROM --platform=$BUILDPLATFORM alpine\n'] },
  InvalidDefinitionDescription: {
    bad: ['# check=experimental=InvalidDefinitionDescription\nFROM alpine\n# the version to use\n[[ARG VERSION=1]]\n'],
    good: ['# check=experimental=InvalidDefinitionDescription\nFROM alpine\n# VERSION the version to use\nARG VERSION=1\n', 'FROM alpine\n# the version to use\nARG VERSION=1\n'],
  },
  ExposeProtoCasing: { bad: ['FROM alpine\nEXPOSE [[53/UDP]]\n'], good: ['FROM alpine\nEXPOSE 53/udp\n'] },
  ExposeInvalidFormat: { bad: ['FROM alpine\nEXPOSE [[8080:80]]\n', 'FROM alpine\nEXPOSE [[127.0.0.1:80:80]]\n'], good: ['FROM alpine\nEXPOSE 80 443/tcp\n'] },

  // ---- C: hadolint best practice ----
  DL3027: { bad: ['FROM debian\nRUN [[apt install -y curl]]\n'], good: ['FROM debian\nRUN apt-get install -y curl\n', 'FROM debian\nRUN apt-cache policy\n'] },
  DL3014: { bad: ['FROM debian\nRUN [[apt-get install curl]]\n'], good: ['FROM debian\nRUN apt-get install -y curl\n', 'FROM debian\nRUN apt-get -qq install curl\n', 'FROM debian\nRUN apt-get install --yes curl\n'] },
  DL3015: { bad: ['FROM debian\nRUN [[apt-get install -y curl]]\n'], good: ['FROM debian\nRUN apt-get install -y --no-install-recommends curl\n'] },
  DL3008: { bad: ['FROM debian\nRUN [[apt-get install -y curl]]\n'], good: ['FROM debian\nRUN apt-get install -y curl=7.88.1-10\n', 'FROM debian\nRUN apt-get install -y ./pkg.deb\n'] },
  DL3009: { bad: ['FROM debian\nRUN [[apt-get update]] && apt-get install -y curl\n'], good: ['FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n', 'FROM debian\nRUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y curl\n', 'FROM debian AS build\nRUN apt-get update\nFROM debian\n'] },
  DL3042: { bad: ['FROM python\nRUN [[pip install -r requirements.txt]]\n', 'FROM python\nRUN [[python3 -m pip install flask==3.0]]\n'], good: ['FROM python\nRUN pip install --no-cache-dir -r requirements.txt\n', 'FROM python\nENV PIP_NO_CACHE_DIR=1\nRUN pip install -r r.txt\n', 'FROM python\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r r.txt\n'] },
  DL3013: { bad: ['FROM python\nRUN [[pip install --no-cache-dir flask]]\n'], good: ['FROM python\nRUN pip install --no-cache-dir flask==3.0.0\n', 'FROM python\nRUN pip install --no-cache-dir -r requirements.txt\n', 'FROM python\nRUN pip install --no-cache-dir .\n'] },
  DL3016: { bad: ['FROM node\nRUN [[npm install -g typescript]]\n'], good: ['FROM node\nRUN npm install -g typescript@5.4.0\n', 'FROM node\nRUN npm install\n', 'FROM node\nRUN npm ci\n'] },
  DL3018: { bad: ['FROM alpine\nRUN [[apk add --no-cache curl]]\n'], good: ['FROM alpine\nRUN apk add --no-cache curl=8.5.0-r0\n'] },
  DL3019: { bad: ['FROM alpine\nRUN [[apk add curl=8.5.0-r0]]\n'], good: ['FROM alpine\nRUN apk add --no-cache curl=8.5.0-r0\n', 'FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk apk add curl=8.5.0-r0\n'] },
  DL3028: { bad: ['FROM ruby\nRUN [[gem install rails]]\n'], good: ['FROM ruby\nRUN gem install rails:7.1.0\n', 'FROM ruby\nRUN gem install rails -v 7.1.0\n'] },
  DL3030: { bad: ['FROM centos\nRUN [[yum install httpd-2.4]] && yum clean all\n'], good: ['FROM centos\nRUN yum install -y httpd-2.4 && yum clean all\n'] },
  DL3032: { bad: ['FROM centos\nRUN [[yum install -y httpd-2.4]]\n'], good: ['FROM centos\nRUN yum install -y httpd-2.4 && yum clean all\n'] },
  DL3033: { bad: ['FROM centos\nRUN [[yum install -y httpd]] && yum clean all\n'], good: ['FROM centos\nRUN yum install -y httpd-2.4.6 && yum clean all\n'] },
  DL3038: { bad: ['FROM fedora\nRUN [[dnf install httpd-2.4]] && dnf clean all\n'], good: ['FROM fedora\nRUN dnf install -y httpd-2.4 && dnf clean all\n'] },
  DL3040: { bad: ['FROM fedora\nRUN [[dnf install -y httpd-2.4]]\n'], good: ['FROM fedora\nRUN dnf install -y httpd-2.4 && dnf clean all\n'] },
  DL3041: { bad: ['FROM fedora\nRUN [[dnf install -y httpd]] && dnf clean all\n'], good: ['FROM fedora\nRUN dnf install -y httpd-2.4 && dnf clean all\n'] },
  DL3034: { bad: ['FROM opensuse/leap\nRUN [[zypper install httpd=2.4]] && zypper clean\n'], good: ['FROM opensuse/leap\nRUN zypper install -y httpd=2.4 && zypper clean\n', 'FROM opensuse/leap\nRUN zypper -n install httpd=2.4 && zypper clean\n'] },
  DL3035: { bad: ['FROM opensuse/leap\nRUN [[zypper dist-upgrade]]\n'], good: ['FROM opensuse/leap\nRUN zypper refresh\n'] },
  DL3036: { bad: ['FROM opensuse/leap\nRUN [[zypper install -y httpd=2.4]]\n'], good: ['FROM opensuse/leap\nRUN zypper install -y httpd=2.4 && zypper clean\n'] },
  DL3037: { bad: ['FROM opensuse/leap\nRUN [[zypper install -y httpd]] && zypper clean\n'], good: ['FROM opensuse/leap\nRUN zypper install -y httpd=2.4 && zypper clean\n'] },
  DL3060: { bad: ['FROM node\nRUN [[yarn install]]\n'], good: ['FROM node\nRUN yarn install && yarn cache clean\n'] },
  DL3062: { bad: ['FROM golang\nRUN [[go install example.com/tool@latest]]\n'], good: ['FROM golang\nRUN go install example.com/tool@v1.2.3\n'] },
  DL3001: { bad: ['FROM debian\nRUN [[service nginx start]]\n'], good: ['FROM debian\nRUN echo service\n'] },
  DL3002: { bad: ['FROM debian\nUSER app\n[[USER root]]\n'], good: ['FROM debian\nUSER root\nRUN x\nUSER app\n', 'FROM debian AS a\nUSER root\nFROM debian\nUSER app\n'] },
  DL3003: { bad: ['FROM debian\nRUN [[cd /app]] && make\n'], good: ['FROM debian\nWORKDIR /app\nRUN make\n'] },
  DL3004: { bad: ['FROM debian\nRUN [[sudo apt-get update]]\n'], good: ['FROM debian\nRUN apt-get update\n'] },
  DL3006: { bad: ['FROM [[debian]]\n'], good: ['FROM debian:12\n', 'FROM scratch\n', 'FROM debian:12 AS a\nFROM a\n', 'FROM $IMG\n', 'FROM localhost:5000/app:1\n'] },
  DL3007: { bad: ['FROM [[debian:latest]]\n'], good: ['FROM debian:12\n'] },
  DL3011: { bad: ['FROM debian\nEXPOSE [[70000]]\n', 'FROM debian\nEXPOSE [[80/http]]\n'], good: ['FROM debian\nEXPOSE 80 8000-8010/udp $PORT\n'] },
  DL3020: { bad: ['FROM debian\n[[ADD app.py /app/]]\n'], good: ['FROM debian\nADD https://example.com/a.tgz /tmp/\n', 'FROM debian\nADD rootfs.tar.gz /\n', 'FROM debian\nCOPY app.py /app/\n'] },
  DL3021: { bad: ['FROM debian\nCOPY a b [[/dest]]\n'], good: ['FROM debian\nCOPY a b /dest/\n', 'FROM debian\nCOPY a /dest\n'] },
  DL3022: { bad: ['FROM debian\nCOPY --from=[[builder]] /a /a\nFROM debian AS builder\n'], good: ['FROM debian AS builder\nFROM debian\nCOPY --from=builder /a /a\n', 'FROM debian\nCOPY --from=nginx:1.25 /etc/nginx /etc/nginx\n'] },
  DL3023: { bad: ['FROM debian AS app\nCOPY --from=[[app]] /a /b\n'], good: ['FROM debian AS base\nFROM debian AS app\nCOPY --from=base /a /b\n'] },
  DL3044: { bad: ['FROM debian\nENV A=1 B=[[$A/x]]\n'], good: ['FROM debian\nENV A=1\nENV B=$A/x\n'] },
  DL3045: { bad: ['FROM debian\nCOPY a [[app/]]\n'], good: ['FROM debian\nWORKDIR /app\nCOPY a app/\n', 'FROM debian\nCOPY a /app/\n'] },
  DL3046: { bad: ['FROM debian\nRUN [[useradd -u 123456 app]]\n'], good: ['FROM debian\nRUN useradd -l -u 123456 app\n', 'FROM debian\nRUN useradd -u 1000 app\n'] },
  DL3047: { bad: ['FROM debian\nRUN [[wget https://x/y]]\n'], good: ['FROM debian\nRUN wget -q https://x/y\n', 'FROM debian\nRUN wget --progress=dot:giga https://x/y\n'] },
  DL3048: { bad: ['FROM debian\nLABEL [[Maintainer]]=me\n', 'FROM debian\nLABEL [[com.docker.x]]=1\n'], good: ['FROM debian\nLABEL org.opencontainers.image.title=app\n'] },
  DL3059: { bad: ['FROM debian\nRUN a\n[[RUN b]]\n'], good: ['FROM debian\nRUN a\nWORKDIR /x\nRUN b\n', 'FROM debian\nRUN a\nRUN --mount=type=cache,target=/c b\n'] },
  DL4001: { bad: ['FROM debian\nRUN wget -q x\nRUN [[curl -fsSL y]]\n'], good: ['FROM debian\nRUN curl -fsSL x\nRUN curl -fsSL y\n', 'FROM debian AS a\nRUN wget -q x\nFROM debian\nRUN curl -fsSL y\n'] },
  DL4005: { bad: ['FROM debian\nRUN [[ln -sf /bin/bash /bin/sh]]\n'], good: ['FROM debian\nSHELL ["/bin/bash", "-c"]\n'] },
  DL4006: { bad: ['FROM debian\n[[RUN curl x | sh]]\n'], good: ['FROM debian\nRUN set -o pipefail && curl x | sh\n', 'FROM debian\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl x | sh\n', 'FROM debian\nRUN a || b\n'] },

  // ---- D: cache-order hints ----
  CopyAllBeforeInstall: {
    bad: ['FROM node:20\nWORKDIR /app\n[[COPY . .]]\nRUN npm ci\n', 'FROM python:3\n[[COPY . /src]]\nRUN pip install --no-cache-dir -r /src/requirements.txt\n'],
    good: ['FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n', 'FROM node:20\nCOPY . .\nRUN npm run build\n'],
  },
  AptUpdateSeparate: {
    bad: ['FROM debian:12\n[[RUN apt-get update]]\nRUN apt-get install -y curl\n'],
    good: ['FROM debian:12\nRUN apt-get update && apt-get install -y curl\n', 'FROM debian:12\nRUN apt-get update\n'],
  },
  VolatileArgEarly: {
    bad: ['FROM debian:12\nARG [[GIT_SHA]]\nRUN make deps\nRUN echo $GIT_SHA > /sha\n'],
    good: ['FROM debian:12\nRUN make deps\nARG GIT_SHA\nRUN echo $GIT_SHA > /sha\n', 'FROM debian:12\nARG USERNAME=app\nRUN make deps\nRUN echo $USERNAME\n'],
  },
  VolatileLabelEarly: {
    bad: ['FROM debian:12\n[[LABEL org.opencontainers.image.revision=$GIT_COMMIT]]\nRUN make\n'],
    good: ['FROM debian:12\nRUN make\nLABEL org.opencontainers.image.revision=$GIT_COMMIT\n', 'FROM debian:12\nLABEL org.opencontainers.image.title=app\nRUN make\n'],
  },
  IndependentAfterVolatileCopy: {
    bad: ['FROM debian:12\nCOPY . /src\n[[RUN apt-get update && apt-get install -y make]]\nRUN make -C /src\n'],
    good: ['FROM debian:12\nRUN apt-get update && apt-get install -y make\nCOPY . /src\nRUN make -C /src\n', 'FROM debian:12\nCOPY . /src\nRUN make -C /src\n'],
  },
};

/** Rules tested elsewhere (they need a build context on disk): rules-context.test.ts. */
const CONTEXT_RULES = ['CopyIgnoredFile', 'CopySourceNotFound'];
/** Parser codes with no reachable input in the current parser (documented, kept for future parser problems). */
const UNREACHABLE = new Set(['ParseError', 'HeredocDestination', 'InvalidArguments', 'InvalidJSON', 'InvalidHeredoc']);

describe('rules: fixtures per rule (LF and CRLF)', () => {
  for (const [code, c] of Object.entries(CASES)) {
    describe(code, () => {
      c.bad.forEach((marked, k) => it(`triggers #${k + 1}`, () => {
        const findings = expectMarked(code, marked);
        assert.ok(findings.length > 0);
      }));
      c.good.forEach((text, k) => it(`near-miss #${k + 1} stays quiet`, () => {
        for (const t of [text, toCRLF(text)]) assert.deepEqual(runRule(code, t).findings.map((f) => f.message), []);
      }));
    });
  }
});

describe('rules: catalogue', () => {
  it('every rule has fixtures (or is a context rule, tested with a real folder)', () => {
    const missing = allRules.map((r) => r.id).filter((id) => !CASES[id] && !CONTEXT_RULES.includes(id) && !UNREACHABLE.has(id));
    assert.deepEqual(missing, []);
  });
  it('ids are unique and every rule says what it checks', () => {
    const ids = allRules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const r of allRules) assert.ok(r.description.length > 10, r.id);
  });
  it('has all BuildKit checks but InvalidBaseImagePlatform, and at least 30 hadolint rules', () => {
    const bk = allRules.filter((r) => r.group === 'buildkit').map((r) => r.id);
    assert.equal(bk.length, 21);
    assert.ok(allRules.filter((r) => /^DL\d{4}$/.test(r.id)).length >= 30);
  });
});
