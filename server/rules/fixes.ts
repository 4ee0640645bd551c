/** Edits quick fixes share: delete or move whole instructions, insert lines, exec form, quoting. */
import type { Dockerfile, Instruction, Range } from '../../engine/dockerfile/types';
import { splitCommands } from './shell';
import type { Fix, TextEditLike } from './types';
import { eolOf, offsetOf, pos, positionOf } from './util';

/** The whole lines of an instruction, line end included: [first line start, line after the last). */
export function instructionLines(file: Dockerfile, ins: Instruction): Range {
  const start = pos(ins.startLine, 0);
  const next = ins.endLine + 1;
  if (next < file.lineStarts.length) return { start, end: pos(next, 0) };
  // last line of the file: take the line end before it instead, when there is one
  const endOff = file.text.length;
  const startOff = file.lineStarts[ins.startLine]!;
  if (startOff > 0) {
    let s = startOff;
    if (file.text[s - 1] === '\n') s--;
    if (file.text[s - 1] === '\r') s--;
    return { start: positionOf(file, s), end: positionOf(file, endOff) };
  }
  return { start, end: positionOf(file, endOff) };
}

/** The instruction's text as written (whole lines, without the final line end). */
export function instructionText(file: Dockerfile, ins: Instruction): string {
  const a = file.lineStarts[ins.startLine]!;
  const b = file.lineStarts[ins.endLine + 1] ?? file.text.length;
  return file.text.slice(a, b).replace(/\r?\n$/, '');
}

export function deleteInstructionEdit(file: Dockerfile, ins: Instruction): TextEditLike {
  return { range: instructionLines(file, ins), newText: '' };
}

/** Insert whole lines before an instruction's first line. */
export function insertLinesBefore(file: Dockerfile, ins: Instruction, lines: string[]): TextEditLike {
  const eol = eolOf(file);
  return { range: { start: pos(ins.startLine, 0), end: pos(ins.startLine, 0) }, newText: lines.map((l) => l + eol).join('') };
}

/** The leading white space of an instruction's first line. */
export function indentOf(file: Dockerfile, ins: Instruction): string {
  const a = file.lineStarts[ins.startLine]!;
  return /^[ \t]*/.exec(file.text.slice(a, a + 200))![0];
}

/** `value` as a double-quoted Dockerfile/JSON-safe string when it needs quotes; as-is otherwise. */
export function quoteValue(value: string): string {
  if (/^(["']).*\1$/s.test(value) && value.length >= 2) return value;
  if (!/[\s"'\\]/.test(value) && value !== '') return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const SHELL_SYNTAX = /[$`|&;<>(){}*?~\[\]!#]|\n/;

/** CMD/ENTRYPOINT shell form -> JSON form. Plain commands become their words; anything shell-ish runs via sh -c. */
export function execFormFix(file: Dockerfile, ins: Instruction): Fix | undefined {
  const tok = ins.argsToken;
  const cmdTok = ins.command?.words[0];
  if (!tok || !cmdTok) return undefined;
  const text = cmdTok.value.trim();
  const cmds = splitCommands(text);
  let words: string[];
  let title: string;
  if (cmds.length === 1 && !SHELL_SYNTAX.test(text.replace(/(["'])(?:(?!\1).)*\1/g, ''))) {
    words = cmds[0]!.words.map((w) => w.value);
    title = 'Convert to JSON (exec) form';
  } else {
    words = ['/bin/sh', '-c', text];
    title = 'Convert to JSON form (runs through /bin/sh -c)';
  }
  const json = `[${words.map((w) => JSON.stringify(w)).join(', ')}]`;
  return { title, edits: [{ range: tok.range, newText: json }], preferred: true };
}

/** Offset helpers re-exported for fixes that compute ranges by hand. */
export { offsetOf, positionOf };
