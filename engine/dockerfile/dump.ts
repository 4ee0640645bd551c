/** Renders a parsed Dockerfile in BuildKit's `Node.Dump()` format (used by the conformance tests and
 *  `layerwise debug parse --format=buildkit`). */
import type { Dockerfile, Instruction } from './types';
import { goQuote } from './text';

export function dumpInstruction(ins: Instruction): string {
  let s = ins.keywordToken.value.toLowerCase();
  if (ins.flags.length) s += ' [' + ins.flags.map((f) => goQuote(f.raw)).join(' ') + ']';
  if (ins.keyword === 'ONBUILD' && ins.trigger) {
    s += ' (' + dumpInstruction(ins.trigger) + ')';
  } else if (ins.known) {
    for (const a of ins.args) s += ' ' + goQuote(a.value);
  } else {
    s += ' ""'; // BuildKit keeps an empty node for an instruction it does not know
  }
  return s.trim();
}

/** The whole file: one `(…)` line per instruction, each followed by a newline. */
export function dumpBuildKit(df: Dockerfile): string {
  return df.instructions.map((i) => '(' + dumpInstruction(i) + ')\n').join('');
}
