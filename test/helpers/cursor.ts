/**
 * Inline fixtures with a cursor marker for the editing-feature tests: `fixture('COPY --fr|')` gives the text
 * without the marker and the marker's position; `variants` runs a fixture with LF and with CRLF line ends.
 */
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parse } from '../../engine/dockerfile/index';
import type { Dockerfile, Position, Range } from '../../engine/dockerfile/types';

export interface Fixture {
  text: string;
  position: Position;
  doc: TextDocument;
  parsed: Dockerfile;
  eol: 'LF' | 'CRLF';
}

export function fixture(marked: string, eol: 'LF' | 'CRLF' = 'LF', marker = '|'): Fixture {
  const at = marked.indexOf(marker);
  const raw = at < 0 ? marked : marked.slice(0, at) + marked.slice(at + marker.length);
  const before = at < 0 ? raw : raw.slice(0, at);
  const lines = before.split('\n');
  const position = { line: lines.length - 1, character: lines[lines.length - 1]!.length };
  const text = eol === 'CRLF' ? raw.replace(/\n/g, '\r\n') : raw;
  const doc = TextDocument.create('file:///work/Dockerfile', 'dockerfile', 1, text);
  return { text, position, doc, parsed: parse(text), eol };
}

/** Both line-end variants of a fixture. */
export function variants(marked: string, marker = '|'): Fixture[] {
  return [fixture(marked, 'LF', marker), fixture(marked, 'CRLF', marker)];
}

/** `3:4-3:9` for a range, as tests print them. */
export function showRange(r: Range): string {
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

/** The text a range covers in a fixture (line ends shown as \n). */
export function textIn(f: Fixture, r: Range): string {
  return f.doc.getText(r).replace(/\r\n/g, '\n');
}
