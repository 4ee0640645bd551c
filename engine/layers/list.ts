import { LayerwiseError } from '../errors';
import type { LayerEntry } from './index';

// eslint-disable-next-line require-yield
export async function* listLayer(input: NodeJS.ReadableStream): AsyncIterable<LayerEntry> {
  void input;
  throw new LayerwiseError('internal', 'listLayer: not implemented yet');
}
