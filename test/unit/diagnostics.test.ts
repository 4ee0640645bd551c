/**
 * The diagnostics pipeline: suppression comments, settings overrides, tags, links, a rule that throws, and the
 * rules that read the build context (a real folder with a real .dockerignore).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiagnosticSeverity, DiagnosticTag } from 'vscode-languageserver';
import { parse } from '../../engine/dockerfile/index';
import { computeDiagnostics, ruleDocHref } from '../../server/features/diagnostics';
import { createContextView } from '../../server/rules/buildContext';
import { allRules } from '../../server/rules/index';
import { rule } from '../../server/rules/types';
import { normalizeSettings } from '../../server/settings';
import { expectMarked, toCRLF } from './rules-harness';

const uri = 'file:///w/Dockerfile';
function codes(text: string, settings: unknown = {}): string[] {
  return computeDiagnostics(parse(text), { uri, settings: normalizeSettings(settings) }).diagnostics.map((d) => `${d.range.start.line + 1}:${String(d.code)}`);
}

describe('suppression comments (LF and CRLF)', () => {
  for (const eol of ['LF', 'CRLF'] as const) {
    const t = (s: string): string => (eol === 'LF' ? s : toCRLF(s));
    it(`# check=skip=<names> and skip=all silence BuildKit checks, not syntax errors (${eol})`, () => {
      const src = 'FROM alpine:3 as Build\nENDPOINT x\n';
      assert.deepEqual(codes(t(src)), ['1:FromAsCasing', '1:StageNameCasing', '2:UnknownInstruction']);
      assert.deepEqual(codes(t('# check=skip=StageNameCasing,FromAsCasing\n' + src)), ['3:UnknownInstruction']);
      assert.deepEqual(codes(t('# check=skip=all\n' + src)), ['3:UnknownInstruction']);
      assert.deepEqual(codes(t('# check=skip=stagenamecasing\n' + src)), ['2:FromAsCasing', '3:UnknownInstruction']);
    });
    it(`# check=error=true makes BuildKit checks errors, alone or with skip (${eol})`, () => {
      const sev = (text: string) => computeDiagnostics(parse(t(text)), { uri, settings: normalizeSettings({}) }).diagnostics.map((d) => `${String(d.code)}:${d.severity}`);
      assert.deepEqual(sev('FROM alpine:3 AS Build\n'), [`StageNameCasing:${DiagnosticSeverity.Warning}`]);
      assert.deepEqual(sev('# check=error=true\nFROM alpine:3 AS Build\n'), [`StageNameCasing:${DiagnosticSeverity.Error}`]);
      assert.deepEqual(sev('# check=skip=FromAsCasing;error=true\nFROM alpine:3 as Build\n'), [`StageNameCasing:${DiagnosticSeverity.Error}`]);
      // not the hadolint rules
      assert.deepEqual(sev('# check=error=true\nFROM alpine:latest\n'), [`DL3007:${DiagnosticSeverity.Warning}`]);
    });
    it(`# hadolint ignore= on the line above, several codes, stacked comments, aliases (${eol})`, () => {
      const src = 'FROM debian:12\nRUN apt-get install curl\n';
      assert.deepEqual(codes(t(src)), ['2:DL3014', '2:DL3015', '2:DL3008']);
      assert.deepEqual(codes(t('FROM debian:12\n# hadolint ignore=DL3014,DL3008\nRUN apt-get install curl\n')), ['3:DL3015']);
      assert.deepEqual(codes(t('FROM debian:12\n# hadolint ignore=DL3014\n# why: we need it\nRUN apt-get install curl\n')), ['4:DL3015', '4:DL3008']);
      // only the next instruction
      assert.deepEqual(codes(t('FROM debian:12\n# hadolint ignore=DL3014\nRUN true\nRUN apt-get install -y curl=1\n')), ['4:DL3059', '4:DL3015']);
      // hadolint's DL3025 is BuildKit's JSONArgsRecommended here
      assert.deepEqual(codes(t('FROM debian:12\n# hadolint ignore=DL3025\nCMD node x\n')), []);
    });
  }
});

describe('settings, tags, links', () => {
  it('layerwise.rules.<code> changes the severity or turns the rule off', () => {
    const src = 'FROM debian\nMAINTAINER me\n';
    const d = (s: unknown) => computeDiagnostics(parse(src), { uri, settings: normalizeSettings(s) }).diagnostics.map((x) => `${String(x.code)}:${x.severity}`);
    assert.deepEqual(d({}), [`DL3006:${DiagnosticSeverity.Warning}`, `MaintainerDeprecated:${DiagnosticSeverity.Warning}`]);
    assert.deepEqual(d({ rules: { DL3006: 'off', MaintainerDeprecated: 'error' } }), [`MaintainerDeprecated:${DiagnosticSeverity.Error}`]);
    assert.deepEqual(d({ rules: { DL3006: 'hint', MaintainerDeprecated: 'information' } }), [`DL3006:${DiagnosticSeverity.Hint}`, `MaintainerDeprecated:${DiagnosticSeverity.Information}`]);
    assert.deepEqual(d({ rules: { DL3006: 'bogus' } })[0], `DL3006:${DiagnosticSeverity.Warning}`);
    assert.deepEqual(d({ diagnostics: { enabled: false } }), []);
  });
  it('every diagnostic has source, code, a link to its page, and tags where they fit', () => {
    const { diagnostics } = computeDiagnostics(parse('FROM debian\nMAINTAINER me\nCMD ["a"]\nCMD ["b"]\n'), { uri, settings: normalizeSettings({}) });
    for (const d of diagnostics) {
      assert.equal(d.source, 'layerwise');
      assert.equal(d.codeDescription?.href, ruleDocHref(String(d.code)));
      assert.match(d.codeDescription!.href, new RegExp(`^file:///.*/docs/rules/${String(d.code)}\\.md$`));
    }
    assert.deepEqual(diagnostics.find((d) => d.code === 'MaintainerDeprecated')?.tags, [DiagnosticTag.Deprecated]);
    assert.deepEqual(diagnostics.find((d) => d.code === 'MultipleInstructionsDisallowed')?.tags, [DiagnosticTag.Unnecessary]);
  });
  it('a rule that throws is reported and skipped; the other rules still run', () => {
    const boom = rule({ id: 'Boom', group: 'bestpractice', severity: 'warning', description: 'always throws', check() { throw new Error('kaboom'); } });
    const errors: string[] = [];
    const r = computeDiagnostics(parse('FROM debian\n'), {
      uri,
      settings: normalizeSettings({}),
      rules: [boom, ...allRules],
      onRuleError: (ru, e) => errors.push(`${ru.id}: ${(e as Error).message}`),
    });
    assert.deepEqual(errors, ['Boom: kaboom']);
    assert.deepEqual(r.diagnostics.map((d) => d.code), ['DL3006']);
  });
});

describe('build context rules (a real folder)', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lw-ctx-'));
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'src', 'main.go'), 'package main\n');
    writeFileSync(join(dir, 'go.mod'), 'module x\n');
    writeFileSync(join(dir, 'secrets', 'key.pem'), 'x');
    writeFileSync(join(dir, 'notes.md'), 'x');
    writeFileSync(join(dir, '.dockerignore'), 'secrets\n*.md\n!README.md\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('CopyIgnoredFile: sources that .dockerignore excludes', async () => {
    const view = (await createContextView(dir, join(dir, 'Dockerfile')))!;
    assert.ok(view.hasDockerignore);
    expectMarked('CopyIgnoredFile', 'FROM golang:1.22\nCOPY [[secrets/key.pem]] /k\nCOPY [[notes.md]] src /x/\nCOPY go.mod ./\n', view);
    expectMarked('CopyIgnoredFile', 'FROM golang:1.22\nCOPY --from=build secrets/key.pem /k\nCOPY src/main.go /x\n', view);
  });
  it('CopySourceNotFound: sources missing from the context, wildcards matched', async () => {
    const view = (await createContextView(dir, join(dir, 'Dockerfile')))!;
    expectMarked('CopySourceNotFound', 'FROM golang:1.22\nCOPY [[go.sum]] go.mod ./\nCOPY src/*.go [[src/*.c]] /x/\nCOPY . /src\nADD https://example.com/a /a\n', view);
  });
  it('the Dockerfile-specific ignore file wins (app.Dockerfile.dockerignore)', async () => {
    writeFileSync(join(dir, 'app.Dockerfile.dockerignore'), 'go.mod\n');
    const view = (await createContextView(dir, join(dir, 'app.Dockerfile')))!;
    expectMarked('CopyIgnoredFile', 'FROM golang:1.22\nCOPY [[go.mod]] secrets/key.pem ./\n', view);
  });
  it('the cache-order fix copies only the manifests that exist', async () => {
    const view = (await createContextView(dir, join(dir, 'Dockerfile')))!;
    const f = expectMarked('CopyAllBeforeInstall', 'FROM golang:1.22\nWORKDIR /src\n[[COPY . .]]\nRUN go mod download\n', view);
    assert.match(f[0]!.fixes![0]!.title, /^Copy go\.mod first/);
  });
});
