/**
 * Signature help for instructions with several forms (HEALTHCHECK, COPY, ADD, RUN, CMD, ENTRYPOINT, …) and
 * for RUN --mount (one signature per mount type, the key under the cursor active).
 */
import { MarkupKind, type Position, type SignatureHelp, type SignatureInformation } from 'vscode-languageserver';
import type { Dockerfile, Instruction } from '../../engine/dockerfile/types';
import { MOUNT_KEYS, MOUNT_TYPES, mountKeyDoc, type MountType } from '../docs/flags';
import { INSTRUCTION_DOCS } from '../docs/instructions';
import { contains, effective, heredocBodyAt, instructionAtLine } from './cursor';

function mountSignatures(): { sig: SignatureInformation; keys: string[] }[] {
  return MOUNT_TYPES.map((t) => {
    const type = t.value as MountType;
    const keys = MOUNT_KEYS.filter((k) => k.types.includes(type));
    const parts = keys.map((k) => {
      if (k.name === 'type') return `type=${type}`;
      if (k.boolean) return `[,${k.name}]`;
      const v = k.values ? k.values.map((x) => x.value).join('|') : `<${k.name}>`;
      return k.name === 'target' ? `,target=<path>` : `[,${k.name}=${v}]`;
    });
    const label = `--mount=${parts.join('')}`;
    return {
      sig: {
        label,
        documentation: { kind: MarkupKind.Markdown, value: t.doc },
        parameters: parts.map((p, i) => ({ label: p, documentation: { kind: MarkupKind.Markdown, value: keys[i]!.summary } })),
      },
      keys: keys.map((k) => k.name),
    };
  });
}

const MOUNT_SIGS = mountSignatures();

/** Which form of an instruction is written. */
function formIndex(ins: Instruction): number {
  switch (ins.keyword) {
    case 'COPY':
      return ins.json ? 1 : ins.heredocs.length ? 2 : 0;
    case 'ADD':
    case 'RUN':
    case 'VOLUME':
      return ins.json ? 1 : 0;
    case 'CMD':
      return ins.json ? 0 : 2;
    case 'ENTRYPOINT':
      return ins.json ? 0 : 1;
    case 'ENV':
      return ins.pairs?.some((p) => p.legacy) ? 1 : 0;
    case 'HEALTHCHECK':
      return ins.healthcheckType?.value.toUpperCase() === 'NONE' ? 1 : 0;
    default:
      return 0;
  }
}

export function signatureHelp(df: Dockerfile, pos: Position): SignatureHelp | null {
  const top = instructionAtLine(df, pos.line);
  if (!top || heredocBodyAt(top, pos.line)) return null;
  if (pos.line === top.keywordToken.range.start.line && pos.character <= top.keywordToken.range.end.character) return null;
  const ins = effective(top);
  if (ins !== top && pos.line === ins.keywordToken.range.start.line && pos.character <= ins.keywordToken.range.end.character) return null;

  // RUN --mount=…
  const mountFlag = ins.keyword === 'RUN' ? ins.flags.find((f) => f.name === 'mount' && contains(f.range, pos)) : undefined;
  if (mountFlag) {
    const m = ins.mounts?.find((x) => contains(x.range, pos));
    const type = (m?.type || 'bind').toLowerCase();
    const active = Math.max(0, MOUNT_TYPES.findIndex((t) => t.value === type));
    const opt = m?.options.find((o) => contains(o.range, pos));
    const key = opt ? mountKeyDoc(opt.key)?.name : undefined;
    const keyIdx = key ? MOUNT_SIGS[active]!.keys.indexOf(key) : -1;
    return { signatures: MOUNT_SIGS.map((s) => s.sig), activeSignature: active, activeParameter: keyIdx >= 0 ? keyIdx : 0 };
  }

  const doc = INSTRUCTION_DOCS.get(ins.keyword);
  if (!doc || (doc.forms.length < 2 && doc.forms[0]!.parameters.length < 2)) return null;
  const form = Math.min(formIndex(ins), doc.forms.length - 1);
  const params = doc.forms[form]!.parameters;
  let active = -1;
  const flag = ins.flags.find((f) => contains(f.range, pos));
  if (flag) active = params.findIndex((p) => p.label.startsWith(`--${flag.name}`));
  else {
    const pastFlags = !ins.flags.length || ins.flags.every((f) => f.range.end.line < pos.line || (f.range.end.line === pos.line && f.range.end.character < pos.character));
    if (pastFlags) {
      const nonFlag = params.map((p, i) => ({ p, i })).filter((x) => !x.p.label.startsWith('--'));
      if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
        if (form === 0) {
          const args = ins.args;
          const last = args[args.length - 1];
          const inLast = last && args.length > 1 && contains(last.range, pos);
          const afterAll = last && (last.range.end.line < pos.line || (last.range.end.line === pos.line && last.range.end.character < pos.character));
          const dest = nonFlag.find((x) => x.p.label === '<dest>');
          const src = nonFlag.find((x) => x.p.label.startsWith('<src>'));
          active = (inLast || (afterAll && args.length >= 1) ? dest : src)?.i ?? -1;
        } else active = nonFlag[nonFlag.length - 1]?.i ?? -1;
      } else if (ins.keyword === 'ENV' && form === 1) {
        const key = ins.pairs?.[0]?.key;
        active = key && contains(key.range, pos) ? 0 : 1;
      } else active = nonFlag[0]?.i ?? -1;
    }
  }
  const signatures: SignatureInformation[] = doc.forms.map((f) => ({
    label: f.label,
    documentation: { kind: MarkupKind.Markdown, value: f.doc ? `${f.doc} ${doc.summary}` : doc.summary },
    parameters: f.parameters.map((p) => ({ label: p.label, documentation: { kind: MarkupKind.Markdown, value: p.doc } })),
  }));
  return { signatures, activeSignature: form, activeParameter: Math.max(0, active) };
}
