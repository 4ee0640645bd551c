// Document symbols (stage -> instructions -> variables), rendered as an indented outline. LF and CRLF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DocumentSymbol } from 'vscode-languageserver';
import { documentSymbols } from '../../server/features/symbols';
import { variants } from '../helpers/cursor';

function outline(syms: DocumentSymbol[], depth = 0): string[] {
  return syms.flatMap((s) => [`${'  '.repeat(depth)}${s.name} (${s.detail}) ${s.range.start.line}-${s.range.end.line}`, ...outline(s.children ?? [], depth + 1)]);
}

for (const f of variants('ARG BASE=alpine\nFROM $BASE AS build\nENV A=1 B=2\nRUN make \\\n  all\nFROM scratch\nCOPY --from=build /out /\n')) {
  test(`outline (${f.eol})`, () => {
    assert.deepEqual(outline(documentSymbols(f.parsed)), [
      'ARG (BASE=alpine) 0-0',
      '  BASE (alpine) 0-0',
      'build (FROM $BASE) 1-4',
      '  ENV (A=1 B=2) 2-2',
      '    A (1) 2-2',
      '    B (2) 2-2',
      '  RUN (make all) 3-4',
      'stage 1 (FROM scratch) 5-6',
      '  COPY (--from=build /out /) 6-6',
    ]);
  });
}
