/**
 * Custom messages (server/protocol.ts): layerwise/predictedCache and layerwise/ruleCatalogue.
 */
import type { ServerContext } from '../context';
import {
  PredictedCacheRequest,
  RuleCatalogueRequest,
  type PredictedCacheParams,
  type PredictedCacheResult,
  type RuleInfo,
} from '../protocol';
import { allRules } from '../rules/index';
import { ruleDocHref } from './diagnostics';

export function registerCustomMessages(ctx: ServerContext): void {
  ctx.connection.onRequest(PredictedCacheRequest, (params: PredictedCacheParams): PredictedCacheResult | null => {
    const entry = ctx.documents.getDocument(params.uri);
    if (!entry) return null;
    const entries: PredictedCacheResult['entries'] = [];
    for (const stage of entry.parsed.stages) {
      for (const ins of [stage.from, ...stage.instructions]) {
        // No cache-key code and no build history yet: the builder fills this in. Never a guess.
        entries.push({ range: ins.range, stage: stage.index, keyword: ins.keyword, status: 'unknown', reason: 'no build yet' });
      }
    }
    return { uri: params.uri, version: entry.doc.version, entries };
  });
  ctx.connection.onRequest(RuleCatalogueRequest, (): RuleInfo[] =>
    allRules.map((r) => ({ code: r.id, description: r.description, severity: r.severity, group: r.group, url: ruleDocHref(r.id) })),
  );
}
