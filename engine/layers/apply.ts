import { LayerwiseError } from '../errors';
import type { ApplyOptions, ApplyResult } from './index';

export async function applyLayer(input: NodeJS.ReadableStream, target: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  void input;
  void target;
  void opts;
  throw new LayerwiseError('internal', 'applyLayer: not implemented yet');
}

export async function extractLayerTo(input: NodeJS.ReadableStream, dest: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  return applyLayer(input, dest, opts);
}
