/**
 * The editor's cache prediction: for a Dockerfile's current text (saved or not), which steps the next
 * `layerwise build` would take from the cache and which it would rebuild, and why — computed with the builder's
 * own cache-key code (build in predict mode: nothing runs, nothing is written). Never throws: when the store or a
 * base image is missing, or the text does not parse, every step is `unknown` with the reason.
 */
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { parse } from '../dockerfile';
import { LayerwiseError } from '../errors';
import { openStore } from '../store';
import { build, type StepPrediction } from './builder';

export interface PredictOptions {
  /** the store root (the CLI's --root / LAYERWISE_ROOT / default) */
  storeRoot: string;
  dockerfilePath: string;
  /** the document's text, unsaved edits included */
  text: string;
  /** default: the Dockerfile's folder */
  contextDir?: string;
  buildArgs?: Record<string, string>;
  target?: string;
}

const FS_KEYWORDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

function allUnknown(text: string, reason: string): StepPrediction[] {
  const df = parse(text);
  const out: StepPrediction[] = [];
  for (const st of df.stages) {
    let index = 1;
    for (const ins of st.instructions) {
      if (!FS_KEYWORDS.has(ins.keyword)) continue;
      index++;
      out.push({ stage: st.index, index, keyword: ins.keyword, instruction: ins.logical, range: ins.range, status: 'unknown', reason });
    }
  }
  return out;
}

export async function predictCache(opts: PredictOptions): Promise<StepPrediction[]> {
  if (!existsSync(join(opts.storeRoot, 'oci-layout'))) return allUnknown(opts.text, 'no build yet: the engine store is empty');
  try {
    const store = await openStore(opts.storeRoot, { create: false });
    const r = await build({
      store,
      predict: true,
      contextDir: opts.contextDir ?? dirname(opts.dockerfilePath),
      dockerfile: opts.dockerfilePath,
      dockerfileText: opts.text,
      ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
      ...(opts.target ? { target: opts.target } : {}),
    });
    return r.predictions ?? [];
  } catch (e) {
    const reason = e instanceof LayerwiseError ? e.message : e instanceof Error ? e.message : String(e);
    return allUnknown(opts.text, `cannot predict: ${reason}`);
  }
}
