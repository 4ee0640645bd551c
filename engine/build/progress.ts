/**
 * Printing build events: `--progress=json` (one event per line), `--progress=plain` (BuildKit's plain text:
 * `#5 [2/4] RUN make`, `#5 CACHED`, `#5 DONE 0.4s`, plus the reason a step missed the cache), and `auto`
 * (plain without the command output on a terminal, unless a step fails).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { BuildEvent, StepEvent } from './events';

export type ProgressMode = 'plain' | 'json' | 'quiet' | 'tty';

function secs(n: number | undefined): string {
  return `${(n ?? 0).toFixed(1)}s`;
}

function human(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[i]}`;
}

export function stepTitle(e: StepEvent): string {
  // BuildKit labels every stage of a multi-stage build (`builder`, `stage-1`), and none of a single-stage one
  const stage = e.stageName && (e.multiStage || !/^stage-\d+$/.test(e.stageName)) ? `${e.stageName} ` : '';
  return `[${stage}${e.index}/${e.total}] ${e.instruction}`;
}

/**
 * BuildKit's view of where a build failed: `Dockerfile:2`, then the instruction's lines marked `>>>` with two lines
 * either side, between rules. Undefined when the file cannot be read (a Dockerfile from standard input).
 */
export function sourceSnippet(file: string, startLine: number, endLine: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split(/\r?\n/);
  if (startLine < 0 || startLine >= lines.length) return undefined;
  // 1-based, as BuildKit widens the view: four lines of context for a one-line instruction, two for a longer one,
  // taken before and after in turn while there are lines
  const first = startLine + 1;
  const last = Math.min(Math.max(endLine, startLine), lines.length - 1) + 1;
  let from = first;
  let to = last;
  const pad = first === last ? 4 : 2;
  for (let p = 0; p < pad; p++) {
    if (from > 1) {
      from--;
      p++;
    }
    if (to !== lines.length) {
      to++;
      p++;
    }
  }
  const rule = '--------------------';
  const out = [`${basename(file)}:${first}`, rule];
  for (let n = from; n <= to; n++) out.push(`${String(n).padStart(4)} | ${n >= first && n <= last ? '>>>' : '   '} ${lines[n - 1]}`);
  out.push(rule);
  return out.join('\n') + '\n';
}

export class ProgressPrinter {
  private readonly logs = new Map<number, string[]>();
  private readonly started = new Map<number, number>();
  private lastId = 0;
  constructor(private readonly out: NodeJS.WritableStream, private readonly mode: ProgressMode) {}

  handle(e: BuildEvent): void {
    if (this.mode === 'json') {
      this.out.write(JSON.stringify(e) + '\n');
      return;
    }
    if (this.mode === 'quiet') return;
    switch (e.type) {
      case 'build-start':
        this.out.write(`#0 building with "layerwise" instance using rootless driver\n\n`);
        break;
      case 'step':
        this.step(e);
        break;
      case 'log': {
        const t = this.started.get(e.id);
        const at = t === undefined ? 0 : (Date.now() - t) / 1000;
        const lines = e.text.replace(/\n$/, '').split('\n');
        if (this.mode === 'plain') for (const l of lines) this.out.write(`#${e.id} ${at.toFixed(3)} ${l}\n`);
        else this.logs.set(e.id, [...(this.logs.get(e.id) ?? []), ...lines]);
        break;
      }
      case 'build-end':
        if (e.ok) {
          const id = this.lastId + 1;
          this.out.write(`#${id} exporting to image\n#${id} writing image ${e.imageId} done\n#${id} DONE 0.0s\n`);
          if (e.steps) this.out.write(`\n${e.steps.cached} of ${e.steps.total} steps cached, ${e.steps.built} built in ${secs(e.duration)}\n`);
        } else if (e.error) {
          // as BuildKit prints it: the Dockerfile's lines around the failing instruction, then the error
          const snippet = e.error.file && e.error.range ? sourceSnippet(e.error.file, e.error.range.start.line, e.error.range.end.line) : undefined;
          const where = !snippet && e.error.file && e.error.range ? ` (${e.error.file}:${e.error.range.start.line + 1})` : '';
          this.out.write(`\n${snippet ?? ''}ERROR: failed to solve: ${e.error.message}${where}\n`);
        }
        break;
    }
  }

  private step(e: StepEvent): void {
    this.lastId = Math.max(this.lastId, e.id);
    if (e.emptyLayer && e.status === 'done' && !e.layer && !e.cacheKey) return; // metadata steps are not shown, as BuildKit
    switch (e.status) {
      case 'running':
        this.started.set(e.id, Date.now());
        this.out.write(`#${e.id} ${stepTitle(e)}\n`);
        break;
      case 'cached':
        this.out.write(`#${e.id} CACHED\n\n`);
        break;
      case 'done':
        if (e.miss) this.out.write(`#${e.id} cache miss: ${e.miss.detail}\n`);
        this.out.write(`#${e.id} DONE ${secs(e.duration)}${e.layer ? ` (layer ${human(e.layer.size)})` : ''}\n\n`);
        break;
      case 'error':
        for (const l of this.logs.get(e.id) ?? []) this.out.write(`#${e.id} ${l}\n`);
        this.out.write(`#${e.id} ERROR: ${e.error ?? 'failed'}\n\n`);
        break;
    }
  }
}
