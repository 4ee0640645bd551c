/** uid/gid translation between a user namespace and the host. */
import type { IdMap, IdMapping } from './index';

export const NOBODY = 65534;

/** container id -> host id */
export function toHost(ranges: IdMapping[], id: number): number {
  for (const r of ranges) if (id >= r.containerId && id < r.containerId + r.size) return r.hostId + (id - r.containerId);
  return NOBODY;
}

/** host id -> container id */
export function toContainer(ranges: IdMapping[], id: number): number {
  for (const r of ranges) if (id >= r.hostId && id < r.hostId + r.size) return r.containerId + (id - r.hostId);
  return NOBODY;
}

export function mapOwner(map: IdMap | undefined, dir: 'toHost' | 'toContainer', uid: number, gid: number): { uid: number; gid: number } {
  if (!map) return { uid, gid };
  const f = dir === 'toHost' ? toHost : toContainer;
  return { uid: f(map.uids, uid), gid: f(map.gids, gid) };
}
