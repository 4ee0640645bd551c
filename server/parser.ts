/**
 * The one place the server gets its parser from. TEMPORARY until engine/dockerfile/index.ts lands: an empty
 * tree (no diagnostics), so the server wiring can be built and tested. Replaced by a re-export of
 * engine/dockerfile's `parse`.
 */
import type { Dockerfile } from '../engine/dockerfile/types';

export function parse(text: string): Dockerfile {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) lineStarts.push(i + 1);
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) lineStarts.push(i + 1);
  }
  return {
    text,
    escape: '\\',
    directives: [],
    comments: [],
    instructions: [],
    globalArgs: [],
    stages: [],
    problems: [],
    bom: text.charCodeAt(0) === 0xfeff,
    lineStarts,
  };
}
