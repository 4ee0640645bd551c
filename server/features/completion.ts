/**
 * Completion: a pure function of the tree, the document, the position and what the environment knows
 * (images in the local store, files of the build context). Aware of where the cursor is: directives at the
 * top, instruction keywords (only ARG/FROM before the first FROM, no FROM/MAINTAINER/ONBUILD after ONBUILD),
 * flags and their values (RUN --mount keys and values), stage names, variables after `$`/`${`, signals,
 * protocols, image names and tags, context paths.
 */
import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem, type Position } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Dockerfile, Instruction } from '../../engine/dockerfile/types';
import { PREDEFINED_ARGS, SIGNALS } from '../docs/args';
import { flagDoc, flagsFor, mountKeyDoc, MOUNT_KEYS, PROTOCOLS, type FlagDoc, type MountType } from '../docs/flags';
import { DIRECTIVES, INSTRUCTIONS } from '../docs/instructions';
import { heredocBodyAt, instructionAtLine, lastInstructionBefore, lineText } from './cursor';
import { flagMarkdown, instructionMarkdown, mountKeyMarkdown, variableMarkdown } from './hover';
import { scopeAt, symbolIndex } from './symbolIndex';

/** One image of the local store, as completion and hover show it. */
export interface ImageFact {
  /** familiar repository name: `alpine`, `ghcr.io/me/app` */
  repository: string;
  tag?: string;
  digest?: string;
  id: string;
  size: number;
  layers: number;
  created?: string;
}

/** Read-only access to the images the engine has locally; never the network. */
export interface ImageCatalog {
  images(): readonly ImageFact[];
}

/** The build context, already filtered by .dockerignore. `dir` is slash-separated, relative, '' for the root. */
export interface ContextLister {
  list(dir: string): readonly { name: string; directory: boolean }[];
}

export interface CompletionEnv {
  images?: ImageCatalog;
  context?: ContextLister;
}

const range = (line: number, from: number, to: number) => ({ start: { line, character: from }, end: { line, character: to } });

export function completion(df: Dockerfile, doc: TextDocument, pos: Position, env: CompletionEnv = {}): CompletionItem[] {
  void doc;
  const line = lineText(df, pos.line);
  const before = line.slice(0, pos.character);
  const ins = instructionAtLine(df, pos.line);

  if (!ins) {
    if (/^\s*#/.test(before)) return directiveCompletion(df, pos, before);
    const m = /^\s*([A-Za-z]*)$/.exec(before);
    if (!m) return [];
    return keywordItems(df, pos, pos.character - m[1]!.length, 'top');
  }

  // heredoc bodies: only variables
  if (heredocBodyAt(ins, pos.line)) return variableCompletion(df, ins, pos, before) ?? [];
  // a comment line inside a continuation
  if (pos.line !== ins.startLine && /^\s*#/.test(before)) return [];

  // the keyword itself
  if (pos.line === ins.keywordToken.range.start.line && pos.character <= ins.keywordToken.range.end.character) {
    return keywordItems(df, pos, ins.keywordToken.range.start.character, 'top');
  }
  let target: Instruction = ins;
  if (ins.keyword === 'ONBUILD') {
    const trig = ins.trigger;
    const m = /^\s*ONBUILD\s+([A-Za-z]*)$/i.exec(before);
    if (m) return keywordItems(df, pos, pos.character - m[1]!.length, 'onbuild');
    if (!trig) return [];
    target = trig;
  }

  const v = variableCompletion(df, ins, pos, before);
  if (v) return v;

  const wordStart = Math.max(before.lastIndexOf(' '), before.lastIndexOf('\t')) + 1;
  const word = before.slice(wordStart);
  const afterFlags = argsStarted(target, pos);

  if (word.startsWith('--') && !afterFlags) return flagCompletion(df, target, pos, word, wordStart);
  if (word === '' && !afterFlags && flagsFor(target.keyword).length > 0 && target.keyword !== 'FROM') {
    const flags = flagItems(target, pos, wordStart, '');
    if (target.keyword === 'HEALTHCHECK') return [...flags, ...healthcheckTypes(pos, wordStart, '')];
    return flags;
  }
  return argumentCompletion(df, target, pos, word, wordStart, env);
}

/** True when the cursor is past the flags: some argument word starts before it. */
function argsStarted(ins: Instruction, pos: Position): boolean {
  const first = ins.args[0];
  if (!first) return false;
  const s = first.range.start;
  return s.line < pos.line || (s.line === pos.line && s.character < pos.character && !(first.value.startsWith('--') && pos.character <= first.range.end.character));
}

function keywordItems(df: Dockerfile, pos: Position, from: number, where: 'top' | 'onbuild'): CompletionItem[] {
  const prior = lastInstructionBefore(df, pos.line - 1);
  const hasFrom = df.instructions.slice(0, prior + 1).some((i) => i.keyword === 'FROM');
  const out: CompletionItem[] = [];
  for (const d of INSTRUCTIONS) {
    if (where === 'onbuild' && !d.onbuild) continue;
    if (where === 'top' && !hasFrom && d.keyword !== 'FROM' && d.keyword !== 'ARG') continue;
    d.snippets.forEach((s, i) => {
      const item: CompletionItem = {
        label: s.label,
        kind: CompletionItemKind.Keyword,
        filterText: d.keyword,
        sortText: `${d.keyword === 'FROM' && !hasFrom ? '0' : '1'}${d.keyword}${i}`,
        insertTextFormat: InsertTextFormat.Snippet,
        textEdit: { range: range(pos.line, from, pos.character), newText: s.body },
        documentation: { kind: MarkupKind.Markdown, value: instructionMarkdown(d) },
      };
      if (d.deprecated) item.tags = [1];
      out.push(item);
    });
  }
  return out;
}

function directiveCompletion(df: Dockerfile, pos: Position, before: string): CompletionItem[] {
  // directives only before any instruction and before any other comment line
  const first = df.instructions[0];
  if (first && first.startLine < pos.line) return [];
  const m = /^\s*#\s*([a-zA-Z]*)$/.exec(before);
  if (m) {
    return DIRECTIVES.filter((d) => !df.directives.some((x) => x.name === d.name && x.range.start.line !== pos.line)).map((d) => ({
      label: d.name,
      kind: CompletionItemKind.Property,
      textEdit: { range: range(pos.line, pos.character - m[1]!.length, pos.character), newText: `${d.name}=` },
      documentation: { kind: MarkupKind.Markdown, value: `${d.summary}\n\n\`\`\`dockerfile\n${d.example}\n\`\`\`` },
      command: { title: 'values', command: 'editor.action.triggerSuggest' },
    }));
  }
  const v = /^\s*#\s*([a-zA-Z]+)\s*=\s*(\S*)$/.exec(before);
  const d = v && DIRECTIVES.find((x) => x.name === v[1]!.toLowerCase());
  if (!v || !d) return [];
  return d.values.map((x) => ({
    label: x.value,
    kind: CompletionItemKind.Value,
    detail: x.doc,
    textEdit: { range: range(pos.line, pos.character - v[2]!.length, pos.character), newText: x.value },
  }));
}

function variableCompletion(df: Dockerfile, ins: Instruction, pos: Position, before: string): CompletionItem[] | undefined {
  const m = /\$(\{?)([A-Za-z0-9_]*)$/.exec(before);
  if (!m) return undefined;
  // `\$` is a literal dollar
  const dollar = before.length - m[0].length;
  if (dollar > 0 && before[dollar - 1] === df.escape) return undefined;
  const braced = m[1] === '{';
  const typed = m[2]!;
  const from = pos.character - typed.length;
  const idx = symbolIndex(df);
  const stage = idx.stageOf.get(ins) ?? -1;
  const scope = scopeAt(df, idx, ins.keyword === 'FROM' ? -1 : stage, ins);
  const items: CompletionItem[] = [];
  const seen = new Set<string>();
  for (const d of scope.values()) {
    seen.add(d.name);
    items.push({
      label: d.name,
      kind: d.kind === 'env' ? CompletionItemKind.Variable : CompletionItemKind.Constant,
      detail: d.value !== undefined ? `${d.kind.toUpperCase()} ${d.name}=${d.value}` : `ARG ${d.name}`,
      sortText: `0${d.name}`,
      textEdit: { range: range(pos.line, from, pos.character), newText: braced ? d.name : d.name },
      documentation: { kind: MarkupKind.Markdown, value: variableMarkdown(df, d) },
    });
  }
  for (const a of PREDEFINED_ARGS) {
    if (seen.has(a.name)) continue;
    // platform ARGs are set in the global scope (FROM lines); in a stage they need an ARG line, which
    // completion still offers, marked as such
    items.push({
      label: a.name,
      kind: CompletionItemKind.Constant,
      detail: a.kind === 'platform' && ins.keyword !== 'FROM' && stage >= 0 ? 'predefined (declare ARG in this stage)' : 'predefined',
      sortText: `1${a.name}`,
      textEdit: { range: range(pos.line, from, pos.character), newText: a.name },
      documentation: { kind: MarkupKind.Markdown, value: `${a.summary}\n\nExample value: \`${a.example}\`` },
    });
  }
  return items;
}

function flagItems(ins: Instruction, pos: Position, from: number, typed: string): CompletionItem[] {
  const present = new Set(ins.flags.map((f) => f.name));
  const out: CompletionItem[] = [];
  for (const f of flagsFor(ins.keyword)) {
    if (present.has(f.name) && f.name !== 'mount' && f.name !== 'exclude' && !(typed === `--${f.name}`)) continue;
    const body = f.boolean ? `--${f.name}` : `--${f.name}=${f.snippet ?? (f.values?.length ? `\${1|${f.values.map((v) => v.value.replace(/[,|$}\\]/g, (c) => `\\${c}`)).join(',')}|}` : '$1')}`;
    out.push({
      label: `--${f.name}`,
      kind: CompletionItemKind.Property,
      insertTextFormat: InsertTextFormat.Snippet,
      textEdit: { range: range(pos.line, from, pos.character), newText: body },
      documentation: { kind: MarkupKind.Markdown, value: flagMarkdown(f) },
      ...(f.boolean ? {} : { command: { title: 'values', command: 'editor.action.triggerSuggest' } }),
    });
  }
  return out;
}

function flagCompletion(df: Dockerfile, ins: Instruction, pos: Position, word: string, wordStart: number): CompletionItem[] {
  const eq = word.indexOf('=');
  if (eq < 0) return flagItems(ins, pos, wordStart, word);
  const name = word.slice(2, eq);
  const value = word.slice(eq + 1);
  const f = flagDoc(ins.keyword, name);
  if (!f) return [];
  const valueStart = wordStart + eq + 1;
  if (f.name === 'mount') return mountCompletion(df, ins, pos, value, valueStart);
  return flagValueItems(df, ins, f, pos, valueStart);
}

function flagValueItems(df: Dockerfile, ins: Instruction, f: FlagDoc, pos: Position, from: number): CompletionItem[] {
  if (f.valueKind === 'stage') return stageItems(df, ins, pos, from);
  const values = f.boolean ? [{ value: 'true', doc: '' }, { value: 'false', doc: '' }] : f.values ?? [];
  return values.map((v, i) => ({
    label: v.value,
    kind: CompletionItemKind.Value,
    detail: v.doc || undefined,
    sortText: String(i).padStart(3, '0'),
    textEdit: { range: range(pos.line, from, pos.character), newText: v.value },
  }));
}

function stageItems(df: Dockerfile, ins: Instruction, pos: Position, from: number): CompletionItem[] {
  const idx = symbolIndex(df);
  const own = idx.stageOf.get(ins) ?? df.stages.length;
  return df.stages
    .filter((s) => s.index < own && s.name)
    .map((s) => ({
      label: s.nameToken!.value,
      kind: CompletionItemKind.Reference,
      detail: `stage ${s.index}: FROM ${s.from.from?.image?.value ?? ''}`,
      textEdit: { range: range(pos.line, from, pos.character), newText: s.nameToken!.value },
    }));
}

function mountCompletion(df: Dockerfile, ins: Instruction, pos: Position, value: string, valueStart: number): CompletionItem[] {
  const comma = value.lastIndexOf(',');
  const part = value.slice(comma + 1);
  const partStart = valueStart + comma + 1;
  const pieces = value.split(',');
  const typeMatch = pieces.map((p) => /^type=(\w+)$/i.exec(p)).find((m) => m);
  const type = (typeMatch ? typeMatch[1]!.toLowerCase() : 'bind') as MountType;
  const eq = part.indexOf('=');
  if (eq < 0) {
    const used = new Set(pieces.slice(0, -1).map((p) => mountKeyDoc(p.split('=')[0]!)?.name));
    return MOUNT_KEYS.filter((k) => !used.has(k.name) && (k.types.includes(type) || k.name === 'type')).map((k, i) => ({
      label: k.name,
      kind: CompletionItemKind.Property,
      sortText: String(i).padStart(3, '0'),
      insertTextFormat: InsertTextFormat.Snippet,
      textEdit: { range: range(pos.line, partStart, pos.character), newText: k.boolean ? k.name : `${k.name}=` },
      documentation: { kind: MarkupKind.Markdown, value: mountKeyMarkdown(k) },
      ...(k.boolean ? {} : { command: { title: 'values', command: 'editor.action.triggerSuggest' } }),
    }));
  }
  const key = mountKeyDoc(part.slice(0, eq));
  if (!key) return [];
  const from = partStart + eq + 1;
  if (key.stage) return stageItems(df, ins, pos, from);
  const values = key.boolean ? [{ value: 'true', doc: '' }, { value: 'false', doc: '' }] : key.values ?? [];
  return values.map((v, i) => ({
    label: v.value,
    kind: CompletionItemKind.Value,
    detail: v.doc || undefined,
    sortText: String(i).padStart(3, '0'),
    textEdit: { range: range(pos.line, from, pos.character), newText: v.value },
  }));
}

function healthcheckTypes(pos: Position, from: number, typed: string): CompletionItem[] {
  void typed;
  return [
    { label: 'CMD', kind: CompletionItemKind.Keyword, detail: 'the check command', textEdit: { range: range(pos.line, from, pos.character), newText: 'CMD ' } },
    { label: 'NONE', kind: CompletionItemKind.Keyword, detail: 'disable the inherited check', textEdit: { range: range(pos.line, from, pos.character), newText: 'NONE' } },
  ];
}

function argumentCompletion(df: Dockerfile, ins: Instruction, pos: Position, word: string, wordStart: number, env: CompletionEnv): CompletionItem[] {
  const wordIndex = ins.args.filter((a) => a.range.end.line < pos.line || (a.range.end.line === pos.line && a.range.end.character < wordStart)).length;
  const ed = (from: number, text: string) => ({ range: range(pos.line, from, pos.character), newText: text });
  switch (ins.keyword) {
    case 'FROM': {
      if (wordIndex === 0) return [...imageItems(df, ins, pos, word, wordStart, env), ...stageItems(df, ins, pos, wordStart)];
      if (wordIndex === 1) return [{ label: 'AS', kind: CompletionItemKind.Keyword, textEdit: ed(wordStart, 'AS ') }];
      return [];
    }
    case 'STOPSIGNAL':
      if (wordIndex > 0) return [];
      return SIGNALS.map((s, i) => ({ label: s.name, kind: CompletionItemKind.EnumMember, detail: `${s.number}: ${s.summary}`, sortText: String(i).padStart(3, '0'), textEdit: ed(wordStart, s.name) }));
    case 'EXPOSE': {
      const m = /^[0-9]+(?:-[0-9]+)?\/([a-z]*)$/i.exec(word);
      if (!m) return [];
      return PROTOCOLS.map((p) => ({ label: p.value, kind: CompletionItemKind.EnumMember, detail: p.doc, textEdit: ed(pos.character - m[1]!.length, p.value) }));
    }
    case 'HEALTHCHECK':
      return wordIndex === 0 && !ins.healthcheckType?.value.match(/^(CMD|NONE)$/i) ? healthcheckTypes(pos, wordStart, word) : [];
    case 'ARG':
      return PREDEFINED_ARGS.map((a) => ({ label: a.name, kind: CompletionItemKind.Constant, detail: a.summary, textEdit: ed(wordStart, a.name) }));
    case 'COPY':
    case 'ADD': {
      if (ins.json || ins.flags.some((f) => f.name === 'from') || !env.context) return [];
      if (/^[a-z]+:\/\//i.test(word) || word.startsWith('<<')) return [];
      const slash = word.lastIndexOf('/');
      const dir = word.slice(0, slash + 1).replace(/^\.\//, '').replace(/^\/+/, '');
      let entries: readonly { name: string; directory: boolean }[];
      try {
        entries = env.context.list(dir.replace(/\/$/, ''));
      } catch {
        return [];
      }
      return entries.map((e) => ({
        label: e.directory ? `${e.name}/` : e.name,
        kind: e.directory ? CompletionItemKind.Folder : CompletionItemKind.File,
        textEdit: ed(wordStart + slash + 1, e.directory ? `${e.name}/` : e.name),
        ...(e.directory ? { command: { title: 'more', command: 'editor.action.triggerSuggest' } } : {}),
      }));
    }
    default:
      return [];
  }
}

function imageItems(df: Dockerfile, ins: Instruction, pos: Position, word: string, wordStart: number, env: CompletionEnv): CompletionItem[] {
  void df;
  void ins;
  const images = env.images?.images() ?? [];
  const colon = word.lastIndexOf(':');
  const slash = word.lastIndexOf('/');
  const out: CompletionItem[] = [];
  if (colon > slash) {
    // tags of the typed repository
    const repo = word.slice(0, colon);
    const seen = new Set<string>();
    for (const im of images) {
      if (im.repository !== repo || !im.tag || seen.has(im.tag)) continue;
      seen.add(im.tag);
      out.push({ label: im.tag, kind: CompletionItemKind.Value, detail: imageDetail(im), textEdit: { range: range(pos.line, wordStart + colon + 1, pos.character), newText: im.tag } });
    }
    return out;
  }
  const seen = new Set<string>();
  for (const im of images) {
    const ref = im.tag ? `${im.repository}:${im.tag}` : im.repository;
    if (seen.has(ref)) continue;
    seen.add(ref);
    out.push({ label: ref, kind: CompletionItemKind.Module, detail: imageDetail(im), filterText: ref, textEdit: { range: range(pos.line, wordStart, pos.character), newText: ref } });
  }
  out.push({ label: 'scratch', kind: CompletionItemKind.Keyword, detail: 'an empty base', textEdit: { range: range(pos.line, wordStart, pos.character), newText: 'scratch' } });
  return out;
}

export function imageDetail(im: ImageFact): string {
  return `local image ${im.id.replace(/^sha256:/, '').slice(0, 12)}, ${formatSize(im.size)}, ${im.layers} layer${im.layers === 1 ? '' : 's'}`;
}

export function formatSize(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}
