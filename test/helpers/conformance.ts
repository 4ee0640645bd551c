/** Where the peers' conformance data lives: ../shared/conformance from the repository root, or
 *  $LAYERWISE_CONFORMANCE. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export function conformanceDir(): string {
  const fromEnv = process.env.LAYERWISE_CONFORMANCE;
  if (fromEnv) return fromEnv;
  const candidates = [resolve(__dirname, '../../../shared/conformance'), resolve(process.cwd(), '../shared/conformance')];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`conformance data not found (looked in ${candidates.join(', ')}); set LAYERWISE_CONFORMANCE`);
}
