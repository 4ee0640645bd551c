/**
 * Build events: the contract between the builder and everything that shows a build (the CLI's plain and TTY
 * output, `--progress=json` for the extension). One JSON object per line with `--progress=json`.
 *
 * Schema version 1. Fields are only ever added; a consumer ignores what it does not know.
 *
 *   {"v":1,"type":"build-start","time":…,"dockerfile":"/abs/Dockerfile","context":"/abs","target":"x","tags":["a:b"]}
 *   {"v":1,"type":"step","id":5,"stage":0,"stageName":"build","index":2,"total":4,"instruction":"RUN make",
 *    "range":{…},"status":"running"|"cached"|"done"|"error","cacheKey":"sha256:…","duration":0.41,
 *    "layer":{"digest":"sha256:…","diffId":"sha256:…","size":1234},"miss":{"kind":"…","detail":"…"},"error":"…"}
 *   {"v":1,"type":"log","id":5,"stream":"stdout"|"stderr","text":"…"}
 *   {"v":1,"type":"build-end","time":…,"ok":true,"imageId":"sha256:…","duration":3.2,"error":{…}}
 */
import type { Range } from '../dockerfile/types';

export const EVENTS_VERSION = 1;

/** Why a step missed the cache. */
export type MissReason =
  | { kind: 'no-cache'; detail: string } // --no-cache / --no-cache-filter
  | { kind: 'first-build'; detail: string } // nothing was ever built for this step
  | { kind: 'instruction-changed'; detail: string; before?: string }
  | { kind: 'build-arg-changed'; detail: string; args: string[] }
  | { kind: 'env-changed'; detail: string }
  | { kind: 'files-changed'; detail: string; added: string[]; changed: string[]; removed: string[] }
  | { kind: 'parent-changed'; detail: string }
  | { kind: 'base-image-changed'; detail: string }
  | { kind: 'not-cacheable'; detail: string }
  | { kind: 'unknown'; detail: string };

export type StepStatus = 'running' | 'cached' | 'done' | 'error';

export interface StepEvent {
  v: 1;
  type: 'step';
  /** a build-wide step number (BuildKit's `#N`) */
  id: number;
  stage: number;
  stageName?: string;
  /** the Dockerfile has more than one stage: plain progress labels unnamed stages `stage-N`, as BuildKit does */
  multiStage?: boolean;
  /** 1-based position within the stage, and the stage's step count (BuildKit's `[2/4]`) */
  index: number;
  total: number;
  /** the instruction as written, continuations joined (e.g. `RUN make`) */
  instruction: string;
  /** where it is in the Dockerfile */
  range: Range;
  status: StepStatus;
  cacheKey?: string;
  /** seconds */
  duration?: number;
  layer?: { digest: string; diffId: string; size: number };
  /** metadata-only steps (ENV, LABEL, …) make no layer */
  emptyLayer?: boolean;
  miss?: MissReason;
  error?: string;
}

export interface BuildStartEvent {
  v: 1;
  type: 'build-start';
  time: number;
  dockerfile: string;
  context: string;
  target?: string;
  tags: string[];
}

export interface LogEvent {
  v: 1;
  type: 'log';
  id: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface BuildEndEvent {
  v: 1;
  type: 'build-end';
  time: number;
  ok: boolean;
  imageId?: string;
  /** seconds */
  duration: number;
  error?: { message: string; range?: Range; file?: string };
  /** counts of steps by status */
  steps?: { cached: number; built: number; total: number };
}

export type BuildEvent = BuildStartEvent | StepEvent | LogEvent | BuildEndEvent;

export type EventSink = (e: BuildEvent) => void;
