/**
 * Every rule has its page in docs/rules/<code>.md (the link each diagnostic carries), in sync with the rule's
 * data and fixtures. `UPDATE_DOCS=1 node scripts/test.mjs test/unit/rules-docs.test.ts` rewrites the pages.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { renderRulePage } from '../../server/rules/docsPage';
import { allRules } from '../../server/rules/index';
import { CASES } from './rules-cases';
import { runRule, stripMarkers } from './rules-harness';

const DOCS = resolve(__dirname, '..', '..', 'docs', 'rules');

function renderIndex(): string {
  const groups: [string, string][] = [
    ['syntax', 'Syntax and semantic errors'],
    ['buildkit', 'BuildKit build checks'],
    ['bestpractice', 'Best practice (hadolint codes)'],
    ['cache', 'Cache-order hints'],
  ];
  const out = [
    '# Layerwise diagnostics',
    '',
    'One page per diagnostic code. Each diagnostic in the editor links here (`codeDescription.href` is the',
    '`file://` URL of this folder inside the installed extension, so VS Code opens the page in a tab; when the',
    'folder is missing the link points at the repository copy).',
    '',
    'Severity per rule: `"layerwise.rules": { "<code>": "off" | "hint" | "info" | "warning" | "error" }`.',
    'In the file: `# check=skip=<codes>|all` and `# check=error=true` (first lines, as BuildKit), and',
    '`# hadolint ignore=DLxxxx[,…]` on the line above an instruction.',
  ];
  for (const [g, title] of groups) {
    out.push('', `## ${title}`, '', '| code | severity | what |', '| --- | --- | --- |');
    for (const r of allRules.filter((x) => x.group === g)) out.push(`| [${r.id}](${r.id}.md) | ${r.severity} | ${r.description.replace(/\|/g, '\\|')} |`);
  }
  return out.join('\n') + '\n';
}

describe('docs/rules pages', () => {
  it('README.md indexes every rule', () => {
    const path = join(DOCS, 'README.md');
    const page = renderIndex();
    if (process.env.UPDATE_DOCS) writeFileSync(path, page);
    assert.equal(readFileSync(path, 'utf8'), page, `${path} is stale (UPDATE_DOCS=1 rewrites it)`);
  });
  for (const rule of allRules) {
    it(`${rule.id}.md`, () => {
      const ex = CASES[rule.id];
      const hasFix = !!ex?.bad.some((b) => runRule(rule.id, stripMarkers(b)).findings.some((f) => (f.fixes ?? []).length > 0));
      const page = renderRulePage(rule, ex, hasFix);
      const path = join(DOCS, `${rule.id}.md`);
      if (process.env.UPDATE_DOCS) writeFileSync(path, page);
      assert.ok(existsSync(path), `missing ${path} (UPDATE_DOCS=1 writes it)`);
      assert.equal(readFileSync(path, 'utf8'), page, `${path} is stale (UPDATE_DOCS=1 rewrites it)`);
    });
  }
});
