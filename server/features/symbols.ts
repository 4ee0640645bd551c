/** Document symbols: each stage with its instructions; ARG/ENV variables under their instruction. */
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import type { Dockerfile, Instruction } from '../../engine/dockerfile/types';

function short(s: string, max = 60): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

function instructionSymbol(ins: Instruction): DocumentSymbol {
  const detail = short(ins.logical.slice(ins.keywordToken.value.length));
  const sym: DocumentSymbol = {
    name: ins.keyword,
    detail,
    kind: ins.keyword === 'ARG' || ins.keyword === 'ENV' ? SymbolKind.Variable : SymbolKind.Function,
    range: ins.range,
    selectionRange: ins.keywordToken.range,
  };
  const vars = [...(ins.argDeclarations ?? []).map((a) => ({ tok: a.name, range: a.range, value: a.defaultValue?.value })), ...(ins.pairs ?? []).map((p) => ({ tok: p.key, range: p.range, value: p.value.value }))];
  if (vars.length) {
    sym.children = vars.map((v) => ({
      name: v.tok.value,
      detail: v.value ?? '',
      kind: ins.keyword === 'ARG' ? SymbolKind.Constant : SymbolKind.Variable,
      range: v.range,
      selectionRange: v.tok.range,
    }));
  }
  return sym;
}

export function documentSymbols(df: Dockerfile): DocumentSymbol[] {
  const out: DocumentSymbol[] = df.globalArgs.map(instructionSymbol);
  for (const st of df.stages) {
    const image = st.from.from?.image?.value ?? '';
    out.push({
      name: st.nameToken ? st.nameToken.value : `stage ${st.index}`,
      detail: `FROM ${image}`,
      kind: SymbolKind.Class,
      range: st.range,
      selectionRange: st.nameToken ? st.nameToken.range : st.from.keywordToken.range,
      children: st.instructions.map(instructionSymbol),
    });
  }
  return out;
}
