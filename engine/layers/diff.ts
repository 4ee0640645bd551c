import type { Readable } from 'node:stream';
import { LayerwiseError } from '../errors';
import type { LayerWriteOptions, LayerWriteResult } from './index';

export function writeDiffLayer(lower: string, upper: string, opts: LayerWriteOptions): { stream: Readable; done: Promise<LayerWriteResult> } {
  void lower;
  void upper;
  void opts;
  throw new LayerwiseError('internal', 'writeDiffLayer: not implemented yet');
}
