/**
 * Lint rules are data: `{ id, severity, description, url, check }`. A rule's `check` walks the parse tree and
 * reports findings; the diagnostics feature turns findings into LSP diagnostics and the code-action feature
 * offers their fixes.
 */
import type { Dockerfile, Instruction, Range } from '../../engine/dockerfile/types';

export type RuleSeverity = 'error' | 'warning' | 'info' | 'hint';

/**
 * syntax: section A (errors the parser or semantics find); buildkit: BuildKit's build checks (section B);
 * bestpractice: hadolint's DL rules (section C); cache: our cache-order hints (section D).
 */
export type RuleGroup = 'syntax' | 'buildkit' | 'bestpractice' | 'cache';

export interface TextEditLike {
  range: Range;
  newText: string;
}

export interface Fix {
  title: string;
  edits: TextEditLike[];
  /** the one fix an editor may apply with "auto fix" */
  preferred?: boolean;
}

export interface Finding {
  /** the diagnostic code: the rule's id (set by the runner unless the rule reports several codes) */
  code: string;
  range: Range;
  message: string;
  fixes?: Fix[];
  /** the instruction the finding belongs to (for per-line suppression) */
  instruction?: Instruction;
  /** overrides the rule's default severity for this finding */
  severity?: RuleSeverity;
}

/** What a rule may know about the build context (the folder COPY sources come from). */
export interface BuildContextView {
  /** absolute path of the context root */
  root: string;
  /** true when `.dockerignore` (or `<Dockerfile>.dockerignore`) excludes this context-relative path */
  isIgnored(path: string): boolean;
  /** context-relative paths (with `/`) matching a COPY source (wildcards allowed); [] when nothing matches */
  match(source: string): string[];
  /** whether a .dockerignore was found */
  hasDockerignore: boolean;
}

/** A platform as OCI image configs and `--platform` spell it. */
export interface PlatformLike {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * What a rule may know about the images in the local engine store, read ahead of the (synchronous) rules:
 * the platform of a base image as the builder would resolve it for an expected platform.
 */
export interface BaseImageView {
  /** the platform of the local image `ref` (an expanded FROM reference) picked for `expected`; undefined when
   *  the image is not in the store (or the store cannot be read) */
  platformOf(ref: string, expected: PlatformLike): PlatformLike | undefined;
}

/** One step of a recorded build, as the rules see the engine's build history (oldest build first). */
export interface HistoryStep {
  stage: number;
  /** the step's index in its stage (FROM is 0) */
  index: number;
  instruction: string;
  cached: boolean;
  /** ms; 0 for cached steps */
  durationMs: number;
  /** why it missed: the builder's reason kind and message (undefined when cached) */
  miss?: { kind: string; message: string; files?: string[]; args?: string[] };
}

export interface HistoryBuild {
  /** ms since the epoch */
  time: number;
  steps: HistoryStep[];
}

/** The engine's recent build records for this Dockerfile (oldest first). */
export interface BuildHistoryView {
  builds: HistoryBuild[];
}

export interface RuleContext {
  file: Dockerfile;
  uri: string;
  /** undefined when the document is not on disk (untitled) or the context could not be read */
  context?: BuildContextView;
  /** the local store's base images (undefined when there is no store) */
  images?: BaseImageView;
  /** the engine's build history for this Dockerfile (undefined when none was recorded) */
  history?: BuildHistoryView;
  report(finding: Omit<Finding, 'code'> & { code?: string }): void;
}

export interface Rule {
  /** the diagnostic code: BuildKit's check name, hadolint's DL code, or our own name */
  id: string;
  group: RuleGroup;
  severity: RuleSeverity;
  /** one line: what the rule says */
  description: string;
  /** the rule's page (relative to the repo: docs/rules/<id>.md); the server turns it into a link */
  url: string;
  /** other codes that mean the same check (hadolint's DL code for a BuildKit check): `# hadolint ignore=` with one of them silences it */
  aliases?: string[];
  /** LSP tags for its diagnostics */
  tags?: ('deprecated' | 'unnecessary')[];
  /** BuildKit marks some checks experimental: off unless enabled by `# check=experimental=...` */
  experimental?: boolean;
  /** needs the build context on disk */
  needsContext?: boolean;
  /** needs the local store's base images */
  needsImages?: boolean;
  /** needs the engine's build history */
  needsHistory?: boolean;
  /**
   * What its findings depend on, when less than the whole file: `instruction` — each instruction's findings only on
   * that instruction's own lines; `stage` — each stage's only on that stage's lines. The server then re-runs it
   * only on what an edit changed (rules/incremental.ts). Unset: the whole file.
   */
  scope?: 'instruction' | 'stage';
  /** more words for the rule's docs page (how it decides) */
  notes?: string;
  check(ctx: RuleContext): void;
}

export function docUrl(id: string): string {
  return `docs/rules/${id}.md`;
}

/** Helper for a rule definition: fills `url` from the id. */
export function rule(def: Omit<Rule, 'url'> & { url?: string }): Rule {
  return { ...def, url: def.url ?? docUrl(def.id) };
}
