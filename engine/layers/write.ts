import type { Readable } from 'node:stream';
import { LayerwiseError } from '../errors';
import type { LayerWriteOptions, LayerWriteResult } from './index';

export function writeLayer(dir: string, opts: LayerWriteOptions): { stream: Readable; done: Promise<LayerWriteResult> } {
  void dir;
  void opts;
  throw new LayerwiseError('internal', 'writeLayer: not implemented yet');
}
