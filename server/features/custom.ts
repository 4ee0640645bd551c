/**
 * Custom messages (server/protocol.ts): layerwise/predictedCache and layerwise/ruleCatalogue.
 */
import type { ServerContext } from '../context';
import {
  PredictedCacheChangedNotification,
  PredictedCacheRequest,
  RuleCatalogueRequest,
  type PredictedCacheParams,
  type PredictedCacheResult,
  type RuleInfo,
} from '../protocol';
import { allRules } from '../rules/index';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { predictCache } from '../../engine/build/predict';
import { storeRootFor } from '../storeWatch';
import type { DiagnosticsService } from './diagnostics';

const FS_KEYWORDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);
import { ruleDocHref } from './diagnostics';

export function registerCustomMessages(ctx: ServerContext, diagnostics?: DiagnosticsService): void {
  ctx.connection.onRequest(PredictedCacheRequest, async (params: PredictedCacheParams): Promise<PredictedCacheResult | null> => {
    const entry = ctx.documents.getDocument(params.uri);
    if (!entry) return null;
    const version = entry.doc.version;
    let path: string | undefined;
    try {
      path = params.uri.startsWith('file:') ? fileURLToPath(params.uri) : undefined;
    } catch {
      path = undefined;
    }
    if (!path) {
      // virtual documents have no build context on disk: nothing can be predicted, and we say so
      const entries = entry.parsed.instructions
        .filter((i) => FS_KEYWORDS.has(i.keyword))
        .map((i) => ({ range: i.range, stage: 0, keyword: i.keyword, status: 'unknown' as const, reason: 'not a file on disk' }));
      return { uri: params.uri, version, entries };
    }
    const settings = await ctx.settings.get(params.uri);
    const buildArgs = settings.raw.buildArgs && typeof settings.raw.buildArgs === 'object' ? (settings.raw.buildArgs as Record<string, string>) : undefined;
    diagnostics?.watchStore(storeRootFor(settings.raw));
    // the same cache-key code as `layerwise build`, in predict mode: nothing runs, nothing is written
    const predictions = await predictCache({
      storeRoot: storeRootFor(settings.raw),
      dockerfilePath: path,
      text: entry.doc.getText(),
      ...(settings.buildContext ? { contextDir: resolve(dirname(path), settings.buildContext) } : {}),
      ...(buildArgs ? { buildArgs } : {}),
    });
    const entries: PredictedCacheResult['entries'] = predictions.map((p) => ({
      range: p.range,
      stage: p.stage,
      keyword: p.keyword,
      status: p.status,
      reason: p.reason,
    }));
    return { uri: params.uri, version, entries };
  });

  // predictions change when the context changes, and when a build (this editor's or any other) records results
  const notifyAll = (): void => {
    for (const d of ctx.documents.all()) void ctx.connection.sendNotification(PredictedCacheChangedNotification, { uri: d.uri });
  };
  diagnostics?.onFilesChanged(() => notifyAll());
  diagnostics?.onStoreChanged(() => notifyAll());
  ctx.connection.onRequest(RuleCatalogueRequest, (): RuleInfo[] =>
    allRules.map((r) => ({ code: r.id, description: r.description, severity: r.severity, group: r.group, url: ruleDocHref(r.id) })),
  );
}
