/**
 * Small string helpers that behave like their Go counterparts, because `.dockerignore` semantics are defined by
 * Go code (moby/patternmatcher): `path.Clean`, `strings.TrimSpace`, and byte-order comparison of UTF-8 strings.
 */

/** Go's unicode.IsSpace: Latin-1 spaces plus the Unicode White_Space property (not U+FEFF, unlike String#trim). */
export function isGoSpace(cp: number): boolean {
  switch (cp) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

/** Go's strings.TrimSpace. */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end) {
    const cp = s.codePointAt(start)!;
    if (!isGoSpace(cp)) break;
    start += cp > 0xffff ? 2 : 1;
  }
  while (end > start) {
    // no White_Space code point lies outside the BMP, so stepping one UTF-16 unit back is safe
    if (!isGoSpace(s.charCodeAt(end - 1))) break;
    end--;
  }
  return s.slice(start, end);
}

/** Go's path.Clean (and filepath.Clean on Unix): lexical shortest path, "." for empty. */
export function goCleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      // '..' at the root of a rooted path is dropped
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's filepath.Dir for slash paths: everything but the last element, cleaned. */
export function goDir(p: string): string {
  const i = p.lastIndexOf('/');
  return goCleanPath(p.slice(0, i + 1));
}

/**
 * Compares two strings by the bytes of their UTF-8 encoding (Go's string order, `sort.Strings`).
 * JavaScript's `<` compares UTF-16 code units, which differs only for astral characters against U+E000–U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (astral code points) sort after every BMP code point in UTF-8
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
