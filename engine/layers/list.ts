/** listLayer: the entries of a layer (any compression), for history views and layer trees. */
import type { LayerEntry } from './index';
import { readLayer } from './tarentry';

/**
 * Yields every entry of a layer. Whiteouts come back with `whiteout` set and `path` naming what they remove
 * (for opaque markers, the directory). Throws LayerwiseError('corrupt') for a malformed or truncated tar,
 * and 'unsafe' for entries that escape the root (`..`); absolute names are made relative.
 */
export async function* listLayer(input: NodeJS.ReadableStream): AsyncIterable<LayerEntry> {
  // readLayer is callback-driven; bridge it to an async iterator with a one-slot hand-off.
  const queue: LayerEntry[] = [];
  let wake: (() => void) | null = null;
  let pull: (() => void) | null = null;
  let finished = false;
  let stopped = false;
  let failure: unknown;
  const STOP = new Error('listing stopped');
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const reading = readLayer(input, async ({ entry }) => {
    if (stopped) throw STOP;
    queue.push(entry);
    notify();
    if (queue.length >= 64) await new Promise<void>((r) => (pull = r));
    if (stopped) throw STOP;
  }).then(
    () => {
      finished = true;
      notify();
    },
    (e: unknown) => {
      failure = e;
      finished = true;
      notify();
    },
  );
  try {
    for (;;) {
      if (queue.length) {
        const e = queue.shift()!;
        if (queue.length < 32 && pull) {
          const p: () => void = pull;
          pull = null;
          p();
        }
        yield e;
        continue;
      }
      if (finished) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure !== undefined) throw failure;
  } finally {
    // the consumer may stop early: the reader stops at its next entry and closes the input
    stopped = true;
    const p = pull as (() => void) | null;
    if (p) p();
    await reading.catch(() => undefined);
  }
}
