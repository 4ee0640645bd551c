/**
 * Go to definition, find references, rename and document highlight for build stages (FROM … AS x, FROM x,
 * COPY --from=x, --mount from=x) and for ARG/ENV variables (declarations and every `$x`/`${x}` use; a
 * global ARG and its re-declarations in stages are one symbol: one build argument).
 */
import { DocumentHighlightKind, type DocumentHighlight, type Position, type Range, type TextEdit } from 'vscode-languageserver';
import type { Dockerfile, Stage } from '../../engine/dockerfile/types';
import { contains } from './cursor';
import { symbolIndex } from './symbolIndex';

export type SymbolAt =
  | { kind: 'stage'; stage: Stage; range: Range }
  | { kind: 'variable'; symbol: string; name: string; range: Range; definition?: Range };

export function symbolAt(df: Dockerfile, pos: Position): SymbolAt | undefined {
  for (const s of df.stages) {
    if (s.nameToken && contains(s.nameToken.range, pos)) return { kind: 'stage', stage: s, range: s.nameToken.range };
  }
  const idx = symbolIndex(df);
  for (const r of idx.stageRefs) if (contains(r.range, pos)) return { kind: 'stage', stage: r.stage, range: r.range };
  for (const d of idx.definitions) if (contains(d.range, pos)) return { kind: 'variable', symbol: d.symbol, name: d.name, range: d.range, definition: d.range };
  for (const u of idx.uses) {
    if (contains(u.fullRange, pos)) {
      const s: SymbolAt = { kind: 'variable', symbol: u.symbol, name: u.name, range: u.range };
      if (u.definition) s.definition = u.definition.range;
      return s;
    }
  }
  return undefined;
}

export function definition(df: Dockerfile, pos: Position): Range[] {
  const s = symbolAt(df, pos);
  if (!s) return [];
  if (s.kind === 'stage') return [s.stage.nameToken ? s.stage.nameToken.range : s.stage.from.keywordToken.range];
  return s.definition ? [s.definition] : [];
}

interface Occurrence {
  range: Range;
  write: boolean;
  /** not renameable (a stage referenced by index) */
  fixed?: boolean;
}

function occurrences(df: Dockerfile, s: SymbolAt): Occurrence[] {
  const idx = symbolIndex(df);
  const out: Occurrence[] = [];
  if (s.kind === 'stage') {
    if (s.stage.nameToken) out.push({ range: s.stage.nameToken.range, write: true });
    for (const r of idx.stageRefs) if (r.stage === s.stage) out.push({ range: r.range, write: false, fixed: r.numeric });
  } else {
    for (const d of idx.definitions) if (d.symbol === s.symbol) out.push({ range: d.range, write: true });
    for (const u of idx.uses) if (u.symbol === s.symbol) out.push({ range: u.range, write: false });
  }
  return out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}

export function references(df: Dockerfile, pos: Position, includeDeclaration: boolean): Range[] {
  const s = symbolAt(df, pos);
  if (!s) return [];
  return occurrences(df, s)
    .filter((o) => includeDeclaration || !o.write)
    .map((o) => o.range);
}

export function highlights(df: Dockerfile, pos: Position): DocumentHighlight[] {
  const s = symbolAt(df, pos);
  if (!s) return [];
  return occurrences(df, s).map((o) => ({ range: o.range, kind: o.write ? DocumentHighlightKind.Write : DocumentHighlightKind.Read }));
}

export function prepareRename(df: Dockerfile, pos: Position): { range: Range; placeholder: string } | null {
  const s = symbolAt(df, pos);
  if (!s) return null;
  if (s.kind === 'stage') {
    if (!s.stage.nameToken) return null;
    // a reference written as an index cannot be renamed from
    const idx = symbolIndex(df);
    if (idx.stageRefs.some((r) => r.numeric && contains(r.range, pos))) return null;
    return { range: s.range, placeholder: s.stage.nameToken.value };
  }
  if (s.symbol.startsWith('undeclared:')) return null;
  return { range: s.range, placeholder: s.name };
}

const STAGE_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The edits of a rename, or an error message when the new name is not valid. */
export function rename(df: Dockerfile, pos: Position, newName: string): { edits: TextEdit[] } | { error: string } | null {
  const s = symbolAt(df, pos);
  if (!s || !prepareRename(df, pos)) return null;
  if (s.kind === 'stage' && !STAGE_NAME.test(newName)) return { error: `"${newName}" is not a valid stage name (letters, digits, "_", "-", "."; starting with a letter)` };
  if (s.kind === 'variable' && !VAR_NAME.test(newName)) return { error: `"${newName}" is not a valid variable name` };
  return { edits: occurrences(df, s).filter((o) => !o.fixed).map((o) => ({ range: o.range, newText: newName })) };
}
