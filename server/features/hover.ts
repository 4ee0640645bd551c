/**
 * Hover: our docs for instructions, flags, mount keys, directives and signals; a variable's value at that
 * point and where it was set; a stage's definition; a local image's facts (size, layers, created).
 */
import { MarkupKind, type Hover, type Position } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { expandWord } from '../../engine/dockerfile/shell';
import type { Dockerfile, Instruction, Range, Stage } from '../../engine/dockerfile/types';
import { PREDEFINED_ARG_DOCS, SIGNALS } from '../docs/args';
import { flagDoc, mountKeyDoc, type FlagDoc, type MountKeyDoc } from '../docs/flags';
import { DIRECTIVES, INSTRUCTION_DOCS, type InstructionDoc } from '../docs/instructions';
import type { CompletionEnv, ImageFact } from './completion';
import { formatSize } from './completion';
import { contains, effective, instructionAtLine } from './cursor';
import { scopeAt, symbolIndex, type VariableDefinition } from './symbolIndex';

const fence = (s: string) => `\`\`\`dockerfile\n${s}\n\`\`\``;

export function instructionMarkdown(d: InstructionDoc): string {
  const forms = d.forms.map((f) => f.label).join('\n');
  return `**${d.keyword}**${d.deprecated ? ' *(deprecated)*' : ''}\n\n${d.summary}\n\n${fence(forms)}\n\nExample:\n\n${fence(d.example)}`;
}

export function flagMarkdown(f: FlagDoc): string {
  let s = `**--${f.name}**${f.boolean ? '' : '=…'} *(${f.instructions.join(', ')})*\n\n${f.summary}`;
  if (f.values?.length && f.valueKind === 'enum') s += '\n\n' + f.values.map((v) => `- \`${v.value}\`: ${v.doc}`).join('\n');
  return `${s}\n\nExample:\n\n${fence(f.example)}`;
}

export function mountKeyMarkdown(k: MountKeyDoc): string {
  let s = `**${k.name}**${k.aliases.length ? ` (also ${k.aliases.map((a) => `\`${a}\``).join(', ')})` : ''} — mount key for type ${k.types.join(', ')}\n\n${k.summary}`;
  if (k.values?.length) s += '\n\n' + k.values.map((v) => `- \`${v.value}\`: ${v.doc}`).join('\n');
  return `${s}\n\nExample:\n\n${fence(`RUN ${k.example} …`)}`;
}

/** The value a definition gives its variable, expanded with what was in scope where it was set. */
export function valueOf(df: Dockerfile, d: VariableDefinition, depth = 0): string | undefined {
  const idx = symbolIndex(df);
  if (d.value === undefined) {
    // `ARG x` in a stage takes the global default
    if (d.kind === 'arg' && d.stage >= 0) {
      const g = scopeAt(df, idx, -1, undefined).get(d.name);
      return g && depth < 8 ? valueOf(df, g, depth + 1) : undefined;
    }
    return undefined;
  }
  if (!d.value.includes('$') && !/["'\\]/.test(d.value)) return d.value;
  const scope = scopeAt(df, idx, d.stage, d.instruction);
  const env = {
    get: (name: string) => {
      const x = scope.get(name);
      return x && depth < 8 ? valueOf(df, x, depth + 1) : undefined;
    },
    keys: () => [...scope.keys()],
  };
  const r = expandWord(d.value, env, { escape: df.escape });
  return r.ok ? r.value : d.value;
}

export function variableMarkdown(df: Dockerfile, d: VariableDefinition): string {
  const value = valueOf(df, d);
  const where = `${d.kind === 'arg' ? 'ARG' : 'ENV'} on line ${d.instruction.startLine + 1}${d.stage < 0 ? ' (global)' : ` in stage ${stageLabel(df.stages[d.stage])}`}`;
  const shown = value === undefined ? '*(no default: set with `--build-arg`)*' : `\`${value.replace(/`/g, "'")}\``;
  const pre = PREDEFINED_ARG_DOCS.get(d.name);
  return `**${d.name}** = ${shown}\n\nSet by ${where}.${pre ? `\n\n${pre.summary}` : ''}`;
}

function stageLabel(s: Stage | undefined): string {
  if (!s) return '?';
  return s.nameToken ? `\`${s.nameToken.value}\`` : `#${s.index}`;
}

function stageMarkdown(s: Stage): string {
  const n = s.instructions.length;
  return `**stage ${stageLabel(s)}** (index ${s.index}), line ${s.from.startLine + 1}\n\n${fence(s.from.logical)}\n\n${n} instruction${n === 1 ? '' : 's'} after FROM.`;
}

export function imageMarkdown(im: ImageFact): string {
  const ref = im.tag ? `${im.repository}:${im.tag}` : im.repository;
  return [
    `**${ref}** — in the local store`,
    '',
    `- id: \`${im.id.replace(/^sha256:/, '').slice(0, 12)}\``,
    `- size: ${formatSize(im.size)}`,
    `- layers: ${im.layers}`,
    ...(im.created ? [`- created: ${im.created}`] : []),
  ].join('\n');
}

const hoverAt = (value: string, range: Range): Hover => ({ contents: { kind: MarkupKind.Markdown, value }, range });

export function hover(df: Dockerfile, doc: TextDocument, pos: Position, env: CompletionEnv = {}): Hover | null {
  void doc;
  for (const d of df.directives) {
    if (contains(d.nameRange, pos)) {
      const dd = DIRECTIVES.find((x) => x.name === d.name);
      if (dd) return hoverAt(`**# ${dd.name}=**\n\n${dd.summary}\n\n${fence(dd.example)}`, d.nameRange);
    }
  }
  const top = instructionAtLine(df, pos.line);
  if (!top) return null;
  const idx = symbolIndex(df);

  // variables (uses and definitions) and stage references come first: they are the most specific
  for (const u of idx.uses) {
    if (u.instruction !== top || !contains(u.fullRange, pos)) continue;
    if (u.definition) return hoverAt(variableMarkdown(df, u.definition), u.fullRange);
    const pre = PREDEFINED_ARG_DOCS.get(u.name);
    if (pre) {
      const note = pre.kind === 'platform' && top.keyword !== 'FROM' ? `\n\nIn a stage, declare \`ARG ${u.name}\` first to use it.` : '';
      return hoverAt(`**${u.name}** *(predefined)*\n\n${pre.summary}\n\nExample value: \`${pre.example}\`${note}`, u.fullRange);
    }
    return hoverAt(`**${u.name}** is not declared before this line${top.keyword === 'FROM' ? ' (FROM lines see only global ARGs)' : ' in this stage'}; it expands to an empty string unless the base image sets it.`, u.fullRange);
  }
  for (const d of idx.definitions) {
    if (d.instruction === top && contains(d.range, pos)) return hoverAt(variableMarkdown(df, d), d.range);
  }
  for (const r of idx.stageRefs) {
    if (contains(r.range, pos) && r.range.start.line >= top.startLine && r.range.end.line <= top.endLine) return hoverAt(stageMarkdown(r.stage), r.range);
  }
  for (const s of df.stages) {
    if (s.nameToken && contains(s.nameToken.range, pos)) return hoverAt(stageMarkdown(s), s.nameToken.range);
  }

  const ins = effective(top);
  for (const t of top === ins ? [top] : [top, ins]) {
    if (contains(t.keywordToken.range, pos)) {
      const d = INSTRUCTION_DOCS.get(t.keyword);
      if (d) return hoverAt(instructionMarkdown(d), t.keywordToken.range);
    }
  }
  for (const f of ins.flags) {
    if (!contains(f.range, pos)) continue;
    if (f.name === 'mount') {
      const m = ins.mounts?.find((x) => contains(x.range, pos));
      const o = m?.options.find((x) => contains(x.range, pos));
      const k = o && mountKeyDoc(o.key);
      if (o && k) return hoverAt(mountKeyMarkdown(k), o.range);
    }
    const d = flagDoc(ins.keyword, f.name);
    if (d) return hoverAt(flagMarkdown(d), f.range);
    return null;
  }
  if (ins.keyword === 'FROM' && ins.from?.image && contains(ins.from.image.range, pos)) {
    const ref = ins.from.image.value;
    const im = findImage(env, ref);
    if (im) return hoverAt(imageMarkdown(im), ins.from.image.range);
    return null;
  }
  if (ins.keyword === 'STOPSIGNAL' && ins.args[0] && contains(ins.args[0].range, pos)) {
    const v = ins.args[0].value.toUpperCase();
    const s = SIGNALS.find((x) => x.name === v || `SIG${v}` === x.name || String(x.number) === v);
    if (s) return hoverAt(`**${s.name}** (${s.number})\n\n${s.summary}`, ins.args[0].range);
  }
  if (ins.keyword === 'HEALTHCHECK' && ins.healthcheckType && contains(ins.healthcheckType.range, pos)) {
    const d = INSTRUCTION_DOCS.get('HEALTHCHECK')!;
    return hoverAt(instructionMarkdown(d), ins.healthcheckType.range);
  }
  return null;
}

/** A local image by reference as written (`alpine`, `alpine:3.19`, `docker.io/library/alpine:3.19`). */
export function findImage(env: CompletionEnv, ref: string): ImageFact | undefined {
  const images = env.images?.images() ?? [];
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const colon = base.lastIndexOf(':');
  const slash = base.lastIndexOf('/');
  const repo = normalizeRepo(colon > slash ? base.slice(0, colon) : base);
  const tag = colon > slash ? base.slice(colon + 1) : 'latest';
  return images.find((im) => normalizeRepo(im.repository) === repo && (im.tag ?? 'latest') === tag);
}

function normalizeRepo(r: string): string {
  return r.replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '').replace(/^library\//, '');
}

export type { Instruction };
