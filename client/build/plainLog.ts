/**
 * Renders build events as BuildKit's plain progress text (`--progress=plain`), for the output channel:
 *
 *   #3 [build 2/4] RUN make
 *   #3 0.412 cc -o app main.c
 *   #3 DONE 1.2s
 *
 * Stateful (it prints each step's header once and times log lines from it); `now` is injectable for tests.
 */
import type { BuildEvent, StepEvent } from '../../engine/build/events';
import { shortDigest } from './format';

export class PlainLogRenderer {
  private readonly seen = new Map<number, number>(); // id -> time the header was printed (ms)
  private readonly finished = new Set<number>();
  private last = -1;

  constructor(
    private readonly now: () => number = Date.now,
    /** the Dockerfile's lines, to quote the failing line like BuildKit does */
    private readonly sourceLines?: () => string[] | undefined,
  ) {}

  render(e: BuildEvent): string {
    switch (e.type) {
      case 'build-start': {
        const tags = e.tags.length ? ` -t ${e.tags.join(' -t ')}` : '';
        const target = e.target ? ` --target ${e.target}` : '';
        return `#0 building with "layerwise" (bundled engine)\n#0 layerwise build -f ${e.dockerfile}${tags}${target} ${e.context}\n#0 DONE 0.0s\n`;
      }
      case 'step':
        return this.step(e);
      case 'log': {
        if (e.id === 0) return `${e.text}\n`;
        let out = this.switchTo(e.id);
        const t0 = this.seen.get(e.id);
        const elapsed = t0 === undefined ? '' : `${((this.now() - t0) / 1000).toFixed(3)} `;
        for (const line of e.text.replace(/\n$/, '').split('\n')) out += `#${e.id} ${elapsed}${line}\n`;
        return out;
      }
      case 'build-end': {
        if (e.ok) {
          const id = e.imageId ? `#${this.last + 1 > 0 ? this.last + 1 : 1} writing image ${e.imageId} done\n` : '';
          const counts = e.steps ? ` (${e.steps.cached} cached, ${e.steps.built} built, ${e.steps.total} steps)` : '';
          return `\n${id}Build finished in ${e.duration.toFixed(1)}s${counts}\n`;
        }
        let out = '';
        const err = e.error;
        if (err?.range) {
          const lines = this.sourceLines?.();
          const file = err.file ? err.file.split(/[\\/]/).pop() : 'Dockerfile';
          out += `${file}:${err.range.start.line + 1}\n`;
          if (lines) {
            out += '--------------------\n';
            for (let l = Math.max(0, err.range.start.line - 2); l <= Math.min(lines.length - 1, err.range.end.line + 1); l++) {
              const mark = l >= err.range.start.line && l <= err.range.end.line ? '>>>' : '   ';
              out += `${String(l + 1).padStart(4)} | ${mark} ${lines[l]}\n`;
            }
            out += '--------------------\n';
          }
        }
        out += `ERROR: failed to solve: ${err?.message ?? 'build failed'}\n`;
        return out;
      }
    }
  }

  private switchTo(id: number): string {
    const out = this.last !== -1 && this.last !== id ? '\n' : '';
    this.last = id;
    return out;
  }

  private header(e: StepEvent): string {
    const name = e.stageName ?? (e.stage > 0 ? `stage-${e.stage}` : '');
    return `#${e.id} [${name ? name + ' ' : ''}${e.index}/${e.total}] ${e.instruction}\n`;
  }

  private step(e: StepEvent): string {
    if (this.finished.has(e.id)) return '';
    let out = this.switchTo(e.id);
    if (!this.seen.has(e.id)) {
      this.seen.set(e.id, this.now());
      out += this.header(e);
    }
    switch (e.status) {
      case 'running':
        return out;
      case 'cached':
        this.finished.add(e.id);
        return out + `#${e.id} CACHED\n`;
      case 'done':
        this.finished.add(e.id);
        return (
          out +
          (e.layer ? `#${e.id} layer ${shortDigest(e.layer.digest)} ${e.layer.size} bytes\n` : '') +
          `#${e.id} DONE ${(e.duration ?? 0).toFixed(1)}s\n`
        );
      case 'error':
        this.finished.add(e.id);
        return out + `#${e.id} ERROR: ${e.error ?? 'failed'}\n`;
    }
  }
}
