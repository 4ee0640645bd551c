/**
 * The text a build step shows after its line in the editor, its hover, and the same for a predicted status
 * from the language server. Pure, so the wording is unit-tested.
 */
import type { MissReason, StepEvent } from '../../engine/build/events';
import type { PredictedCacheEntry } from '../../server/protocol';
import { formatDuration, formatSize, shortDigest } from './format';

export type StepDecorationKind = 'cached' | 'built' | 'metadata' | 'running' | 'error' | 'predicted-hit' | 'predicted-miss' | 'predicted-unknown';

export interface StepDecoration {
  kind: StepDecorationKind;
  /** shown after the line */
  text: string;
  /** markdown for the hover */
  hover: string;
}

export function describeMiss(m: MissReason): string {
  switch (m.kind) {
    case 'files-changed': {
      const parts: string[] = [];
      if (m.changed.length) parts.push(`changed: ${list(m.changed)}`);
      if (m.added.length) parts.push(`added: ${list(m.added)}`);
      if (m.removed.length) parts.push(`removed: ${list(m.removed)}`);
      return parts.length ? `files ${parts.join('; ')}` : m.detail;
    }
    case 'build-arg-changed':
      return m.args.length ? `build arg changed: ${m.args.join(', ')}` : m.detail;
    default:
      return m.detail;
  }
}

function list(xs: string[], max = 5): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;
}

function sizePart(s: StepEvent): string {
  if (s.emptyLayer) return 'no layer';
  return s.layer ? formatSize(s.layer.size) : '';
}

export function stepDecoration(s: StepEvent): StepDecoration {
  const size = sizePart(s);
  const digest = s.layer ? `\n\nlayer \`${shortDigest(s.layer.digest)}\`` : '';
  switch (s.status) {
    case 'cached':
      return { kind: 'cached', text: ['cached', size].filter(Boolean).join(' · '), hover: `**Layerwise**: cache hit${size ? ` (${size})` : ''}${digest}` };
    case 'done': {
      if (s.emptyLayer) {
        return { kind: 'metadata', text: 'config only · no layer', hover: '**Layerwise**: this instruction changes the image config only: it makes no layer and costs nothing to redo' };
      }
      const took = `built in ${formatDuration(s.duration ?? 0)}`;
      const why = s.miss ? `\n\ncache miss: ${describeMiss(s.miss)}` : '';
      return { kind: 'built', text: [took, size].filter(Boolean).join(' · '), hover: `**Layerwise**: ${took}${size ? `, ${size}` : ''}${why}${digest}` };
    }
    case 'running':
      return { kind: 'running', text: 'building…', hover: `**Layerwise**: building${s.miss ? `\n\ncache miss: ${describeMiss(s.miss)}` : ''}` };
    case 'error':
      return { kind: 'error', text: `failed${s.error ? `: ${firstLine(s.error)}` : ''}`, hover: `**Layerwise**: this step failed\n\n${s.error ?? ''}` };
  }
}

export function predictedDecoration(e: PredictedCacheEntry): StepDecoration {
  switch (e.status) {
    case 'hit':
      return { kind: 'predicted-hit', text: 'will be cached', hover: `**Layerwise** (predicted): cache hit${e.reason ? `\n\n${e.reason}` : ''}` };
    case 'miss':
      return { kind: 'predicted-miss', text: `will rebuild: ${e.reason}`, hover: `**Layerwise** (predicted): cache miss\n\n${e.reason}` };
    default:
      return { kind: 'predicted-unknown', text: `cache status unknown${e.reason ? `: ${e.reason}` : ''}`, hover: `**Layerwise** (predicted): unknown\n\n${e.reason}` };
  }
}

function firstLine(s: string): string {
  const l = s.split('\n')[0] ?? '';
  return l.length > 80 ? l.slice(0, 79) + '…' : l;
}
