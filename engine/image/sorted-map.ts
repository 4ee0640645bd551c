/**
 * A config map (Labels, ExposedPorts, Volumes) as Go's encoding/json writes it: keys in sorted order, so that a
 * config's bytes (and its digest), and what `inspect` prints, are laid out as Docker's.
 */
export function sortedMap<T>(m: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = m[k]!;
  return out;
}
