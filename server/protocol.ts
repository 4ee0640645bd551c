/**
 * Custom LSP messages between the Layerwise client (extension) and server. The client imports this file for
 * its types and method names only; it holds no runtime code beyond string constants.
 */
import type { Range } from '../engine/dockerfile/types';

/** The diagnostic `source` of every Layerwise diagnostic. */
export const DIAGNOSTIC_SOURCE = 'layerwise';

// ---- layerwise/predictedCache -----------------------------------------------------------------------------

export const PredictedCacheRequest = 'layerwise/predictedCache';

export interface PredictedCacheParams {
  uri: string;
}

export type PredictedCacheStatus = 'hit' | 'miss' | 'unknown';

export interface PredictedCacheEntry {
  /** the instruction's range in the document */
  range: Range;
  /** stage index (0-based) the instruction belongs to */
  stage: number;
  /** upper-cased keyword (`RUN`) */
  keyword: string;
  status: PredictedCacheStatus;
  /** why: `no build yet`, `COPY sources changed: package.json`, `ARG VERSION changed`, ... */
  reason: string;
}

export interface PredictedCacheResult {
  uri: string;
  /** the document version the prediction is for */
  version: number;
  entries: PredictedCacheEntry[];
}

/** Server -> client notification: predictions changed for a document; the client may re-request. */
export const PredictedCacheChangedNotification = 'layerwise/predictedCacheChanged';
export interface PredictedCacheChangedParams {
  uri: string;
}

// ---- layerwise.setRuleSeverity (a command the client implements) ------------------------------------------

/**
 * Command the server puts in "turn off in settings" code actions; the client executes it by writing
 * `layerwise.rules.<code>` to the settings (workspace folder of `uri` when given).
 * arguments: [SetRuleSeverityArgs]
 */
export const SetRuleSeverityCommand = 'layerwise.setRuleSeverity';

export interface SetRuleSeverityArgs {
  /** the diagnostic code: `DL3008`, `JSONArgsRecommended` */
  code: string;
  severity: 'off' | 'hint' | 'info' | 'warning' | 'error';
  /** the document the action came from (to pick the settings scope) */
  uri?: string;
}

// ---- layerwise/ruleCatalogue ------------------------------------------------------------------------------

/** Request: every rule the server knows (for a settings UI or a rules tree). */
export const RuleCatalogueRequest = 'layerwise/ruleCatalogue';

export interface RuleInfo {
  code: string;
  description: string;
  /** default severity */
  severity: 'hint' | 'info' | 'warning' | 'error';
  /** group: `syntax`, `buildkit`, `bestpractice`, `cache` */
  group: string;
  /** link to the rule's page */
  url: string;
}
