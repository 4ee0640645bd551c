/**
 * Splits the CLI's `--progress=json` stdout into build events. Chunks may end mid-line; a line that is not a
 * JSON object of a known event shape becomes a log event (stream 'stdout', id 0) so nothing is lost.
 */
import type { BuildEvent } from '../../engine/build/events';

export class JsonLineParser {
  private rest = '';

  /** Feeds a chunk of stdout; returns the events completed by it. */
  push(chunk: string): BuildEvent[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines.flatMap((l) => parseLine(l));
  }

  /** The last line, if stdout did not end with a newline. */
  end(): BuildEvent[] {
    const l = this.rest;
    this.rest = '';
    return parseLine(l);
  }
}

const TYPES = new Set(['build-start', 'step', 'log', 'build-end']);

export function parseLine(line: string): BuildEvent[] {
  const l = line.replace(/\r$/, '');
  if (!l.trim()) return [];
  if (l.startsWith('{')) {
    try {
      const o: unknown = JSON.parse(l);
      if (typeof o === 'object' && o !== null && TYPES.has((o as { type?: unknown }).type as string)) return [o as BuildEvent];
    } catch {
      /* not JSON: keep it as text */
    }
  }
  return [{ v: 1, type: 'log', id: 0, stream: 'stdout', text: l }];
}
