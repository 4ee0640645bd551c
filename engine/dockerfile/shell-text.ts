/**
 * Character classes and quoting as Go's `unicode` and `strconv` packages define them, so that shell-word
 * expansion splits, names and reports exactly as BuildKit does.
 */

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;
const PRINTABLE = /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u;

/** unicode.IsSpace */
export function isGoSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** unicode.IsLetter */
export function isGoLetter(c: number): boolean {
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return LETTER.test(String.fromCodePoint(c));
}

/** unicode.IsDigit */
export function isGoDigit(c: number): boolean {
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return DIGIT.test(String.fromCodePoint(c));
}

function hex(c: number, width: number): string {
  return c.toString(16).padStart(width, '0');
}

/** strconv.Quote: a double-quoted Go string literal, printable characters kept as they are. */
export function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; ) {
    let c = s.codePointAt(i)!;
    i += c > 0xffff ? 2 : 1;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate is not text; Go would see U+FFFD
    if (c === 0x22 || c === 0x5c) {
      out += '\\' + String.fromCharCode(c);
    } else if (c === 0x20 || (c > 0x7e && PRINTABLE.test(String.fromCodePoint(c))) || (c > 0x20 && c < 0x7f)) {
      out += String.fromCodePoint(c);
    } else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0b) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + hex(c, 2);
    else if (c < 0x10000) out += '\\u' + hex(c, 4);
    else out += '\\U' + hex(c, 8);
  }
  return out + '"';
}
