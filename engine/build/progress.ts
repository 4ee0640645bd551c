/**
 * Printing build events: `--progress=json` (one event per line), `--progress=plain` (BuildKit's plain text:
 * `#5 [2/4] RUN make`, `#5 CACHED`, `#5 DONE 0.4s`, plus the reason a step missed the cache), and `auto`
 * (plain without the command output on a terminal, unless a step fails).
 */
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
  const stage = e.stageName && !/^stage-\d+$/.test(e.stageName) ? `${e.stageName} ` : '';
  return `[${stage}${e.index}/${e.total}] ${e.instruction}`;
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
          const where = e.error.file && e.error.range ? ` (${e.error.file}:${e.error.range.start.line + 1})` : '';
          this.out.write(`\nERROR: ${e.error.message}${where}\n`);
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
