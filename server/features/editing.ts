/**
 * REGISTRATION HOOK for the editing features (issue 4: completion, hover, symbols, semantic tokens,
 * formatting). Owned by the issue-4 engineer from here on. Declare capabilities with `ctx.addCapabilities`
 * and register handlers on `ctx.connection`; get trees with `ctx.documents.getDocument(uri)`.
 */
import type { ServerContext } from '../context';

export function registerEditingFeatures(ctx: ServerContext): void {
  void ctx;
}
