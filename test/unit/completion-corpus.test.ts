// Every editing feature at many positions of every BuildKit corpus Dockerfile (positive and negative cases,
// LF and CRLF): nothing throws, ranges stay inside the document, semantic tokens are well formed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parse } from '../../engine/dockerfile/index';
import type { Range } from '../../engine/dockerfile/types';
import { completion } from '../../server/features/completion';
import { hover } from '../../server/features/hover';
import { signatureHelp } from '../../server/features/signatureHelp';
import { definition, highlights, prepareRename, references } from '../../server/features/navigation';
import { selectionRange } from '../../server/features/selection';
import { documentSymbols } from '../../server/features/symbols';
import { foldingRanges } from '../../server/features/folding';
import { documentLinks } from '../../server/features/links';
import { semanticTokens } from '../../server/features/semanticTokens';

const base = join(__dirname, '..', '..', '..', 'shared', 'conformance', 'buildkit-parser');

function files(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const sub of ['testfiles', 'testfiles-negative']) {
    const dir = join(base, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const f = join(dir, name, 'Dockerfile');
      if (existsSync(f)) out.push({ name: `${sub}/${name}`, text: readFileSync(f, 'utf8') });
    }
  }
  return out;
}

test('all features at every line of every corpus Dockerfile', (t) => {
  const all = files();
  if (all.length === 0) return t.skip('conformance corpus not present at ../shared/conformance');
  let positions = 0;
  for (const { name, text: raw } of all) {
    for (const text of [raw, raw.replace(/\r?\n/g, '\r\n')]) {
      const df = parse(text);
      const doc = TextDocument.create('file:///c/Dockerfile', 'dockerfile', 1, text);
      const lines = df.lineStarts.length;
      const inside = (r: Range, what: string) => {
        assert.ok(r.start.line >= 0 && r.end.line < lines && (r.start.line < r.end.line || r.start.character <= r.end.character), `${name}: ${what} ${JSON.stringify(r)}`);
      };
      for (const s of documentSymbols(df)) inside(s.range, 'symbol');
      for (const f of foldingRanges(df)) assert.ok(f.startLine < f.endLine && f.endLine < lines, `${name}: fold`);
      for (const l of documentLinks(df)) inside(l.range, 'link');
      const data = semanticTokens(df).data;
      assert.equal(data.length % 5, 0);
      for (let i = 2; i < data.length; i += 5) assert.ok(data[i]! > 0, `${name}: empty token`);
      for (let line = 0; line < Math.min(lines, 60); line++) {
        const len = doc.getText({ start: { line, character: 0 }, end: { line, character: 10_000 } }).replace(/\r?\n$/, '').length;
        for (const character of new Set([0, 1, Math.floor(len / 2), Math.max(0, len - 1), len])) {
          const p = { line, character };
          positions++;
          for (const it of completion(df, doc, p)) if (it.textEdit && 'range' in it.textEdit) inside(it.textEdit.range, 'completion edit');
          const h = hover(df, doc, p);
          if (h?.range) inside(h.range, 'hover');
          signatureHelp(df, p);
          for (const r of definition(df, p)) inside(r, 'definition');
          for (const r of references(df, p, true)) inside(r, 'reference');
          highlights(df, p);
          prepareRename(df, p);
          for (let s: ReturnType<typeof selectionRange> | undefined = selectionRange(df, p); s; s = s.parent) inside(s.range, 'selection');
        }
      }
    }
  }
  assert.ok(positions > 1000, `${positions} positions`);
});
