/**
 * What the extension knows about a build, folded from its events (pure; no `vscode`): the steps by id with
 * their latest state, grouped by stage, and the outcome. The Build tree, the decorations and the diagnostics
 * all read this.
 */
import type { BuildEndEvent, BuildEvent, BuildStartEvent, StepEvent } from '../../engine/build/events';

export interface StageView {
  index: number;
  name?: string;
  steps: StepEvent[];
}

export class BuildRecord {
  start?: BuildStartEvent;
  end?: BuildEndEvent;
  readonly steps = new Map<number, StepEvent>();
  readonly logs = new Map<number, string[]>();
  /** set when the user cancelled */
  cancelled = false;
  /** the plain (BuildKit-style) log of this build, as written to the output channel */
  plainLog = '';

  constructor(
    readonly dockerfile: string,
    readonly startedAt: number = Date.now(),
  ) {}

  apply(e: BuildEvent): void {
    switch (e.type) {
      case 'build-start':
        this.start = e;
        break;
      case 'step': {
        const prev = this.steps.get(e.id);
        // later events may omit fields an earlier one carried (e.g. cacheKey): keep them
        this.steps.set(e.id, prev ? { ...prev, ...e } : e);
        break;
      }
      case 'log': {
        const l = this.logs.get(e.id) ?? [];
        l.push(e.text);
        this.logs.set(e.id, l);
        break;
      }
      case 'build-end':
        this.end = e;
        break;
    }
  }

  get running(): boolean {
    return this.end === undefined && !this.cancelled;
  }

  /** Steps ordered by stage then index. */
  orderedSteps(): StepEvent[] {
    return [...this.steps.values()].sort((a, b) => a.stage - b.stage || a.index - b.index || a.id - b.id);
  }

  stages(): StageView[] {
    const byStage = new Map<number, StageView>();
    for (const s of this.orderedSteps()) {
      let st = byStage.get(s.stage);
      if (!st) {
        st = { index: s.stage, steps: [] };
        if (s.stageName) st.name = s.stageName;
        byStage.set(s.stage, st);
      }
      st.steps.push(s);
    }
    return [...byStage.values()].sort((a, b) => a.index - b.index);
  }

  /** The step that is running now (for the progress notification), else the last one seen. */
  currentStep(): StepEvent | undefined {
    const all = this.orderedSteps();
    return all.find((s) => s.status === 'running') ?? all[all.length - 1];
  }

  counts(): { cached: number; built: number; errors: number; total: number } {
    let cached = 0;
    let built = 0;
    let errors = 0;
    for (const s of this.steps.values()) {
      if (s.status === 'cached') cached++;
      else if (s.status === 'done' && !s.emptyLayer) built++; // config-only steps (ENV, CMD, ...) are neither
      else if (s.status === 'error') errors++;
    }
    return { cached, built, errors, total: this.steps.size };
  }

  /** One line for the tree and the notification: `ok in 3.2s (4 cached, 2 built)`. */
  summary(): string {
    const c = this.counts();
    const parts = `${c.cached} cached, ${c.built} built`;
    if (this.cancelled) return `cancelled (${parts})`;
    if (!this.end) return `building… (${parts})`;
    if (!this.end.ok) return `failed: ${this.end.error?.message ?? 'unknown error'}`;
    return `ok in ${this.end.duration.toFixed(1)}s (${parts})`;
  }
}
