/**
 * Renders a parse tree as readable text for tests: every token with its range and the source text the range
 * covers, so that a wrong range shows as a wrong slice.
 */
import type { Dockerfile, Instruction, Range } from '../../engine/dockerfile';
import { offsetAt } from '../../engine/dockerfile';

export function slice(df: Dockerfile, r: Range): string {
  return df.text.slice(offsetAt(df.lineStarts, r.start, df.text.length), offsetAt(df.lineStarts, r.end, df.text.length));
}

function at(r: Range): string {
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

function show(df: Dockerfile, r: Range): string {
  return `${JSON.stringify(slice(df, r).replace(/\r/g, ''))}@${at(r)}`;
}

export function renderInstruction(df: Dockerfile, ins: Instruction, indent = ''): string[] {
  const out: string[] = [];
  out.push(`${indent}${ins.keyword}${ins.json ? ' (json)' : ''} lines ${ins.startLine}-${ins.endLine} kw=${show(df, ins.keywordToken.range)}`);
  for (const f of ins.flags) out.push(`${indent}  flag ${f.name}=${f.value === undefined ? '<none>' : JSON.stringify(f.value)} ${show(df, f.range)}`);
  if (ins.trigger) {
    out.push(...renderInstruction(df, ins.trigger, indent + '  > '));
  } else {
    for (const a of ins.args) out.push(`${indent}  arg ${JSON.stringify(a.value)} ${show(df, a.range)}`);
  }
  for (const h of ins.heredocs)
    out.push(
      `${indent}  heredoc ${h.name} fd=${h.fd} chomp=${h.chomp} expand=${h.expand} content=${JSON.stringify(h.content.replace(/\r/g, ''))} word=${show(df, h.delimiterRange)} end=${h.terminatorRange ? at(h.terminatorRange) : 'none'}`,
    );
  for (const c of ins.comments) out.push(`${indent}  comment ${JSON.stringify(c.text)}@${c.range.start.line}`);
  return out;
}

export function renderTree(df: Dockerfile): string {
  const out: string[] = [];
  for (const d of df.directives) out.push(`directive ${d.name}=${JSON.stringify(d.value)} value=${show(df, d.valueRange)}`);
  for (const ins of df.instructions) out.push(...renderInstruction(df, ins));
  for (const p of df.problems) out.push(`${p.severity} ${p.code}: ${p.message} ${show(df, p.range)}`);
  return out.join('\n');
}
