/**
 * BuildKit's low-level line parsers: a logical line -> keyword, raw flags and argument words, as BuildKit's
 * `newNodeFromLine` and its dispatch table produce them (what `Node.Dump` prints). Every piece keeps its offsets
 * in the logical line. Never throws: a BuildKit parse error becomes `error` and the words found so far are kept.
 */
import { goQuote, isGoSpace, isGoSpaceCode, isSplitSpace } from './text';

export interface Piece {
  value: string;
  start: number;
  end: number;
}

export interface RawNode {
  cmd: Piece;
  flags: Piece[];
  /** the rest after the flags, trimmed */
  rest: Piece;
  args: Piece[];
  json: boolean;
  /** ENV/LABEL: the words were `k=v` (not the legacy form) */
  keyValueForm?: boolean;
  child?: RawNode;
  error?: { message: string; start: number; end: number };
}

/** Placeholder for a node's rest until it is read. */
const NO_REST: Piece = { value: '', start: 0, end: 0 };

/** The empty list a node starts with (nodes are read only once built). */
const NO_PIECES: Piece[] = Object.freeze([]) as unknown as Piece[];

type LineParser = (rest: string, base: number, esc: string, node: RawNode) => void;

const dispatch: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: parseNameVal,
  expose: parseWhitespaceDelimited,
  from: parseWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: parseNameVal,
  maintainer: parseString,
  onbuild: parseSubCommand,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

export const KNOWN_KEYWORDS = Object.keys(dispatch).map((k) => k.toUpperCase());

/** Known keywords as written in lower or upper case -> the upper-case keyword (one shared string each). */
const KEYWORDS = new Map<string, string>();
/** Known keywords in lower or upper case -> the line parser. */
const PARSERS = new Map<string, LineParser>();
for (const k of Object.keys(dispatch)) {
  const u = k.toUpperCase();
  KEYWORDS.set(k, u).set(u, u);
  PARSERS.set(k, dispatch[k]!).set(u, dispatch[k]!);
}

/** The upper-case keyword when `cmd` is a known one (any case), else undefined. */
export function knownKeyword(cmd: string): string | undefined {
  return KEYWORDS.get(cmd) ?? KEYWORDS.get(cmd.toLowerCase());
}

export function isKnownKeyword(k: string): boolean {
  return knownKeyword(k) !== undefined;
}

/** BuildKit's newNodeFromLine on `line`, whose offset 0 is `base` in the logical line. */
export function parseNode(line: string, base: number, esc: string): RawNode {
  const ts = trimStart(line, 0, line.length);
  const te = trimEnd(line, ts, line.length);
  let ce = ts;
  while (ce < te && !isSplitSpace(line[ce]!)) ce++;
  let rs = ce;
  while (rs < te && isSplitSpace(line[rs]!)) rs++;
  // every slot from the start (one object shape for all nodes); the rest is set once the flags are read
  const node: RawNode = {
    cmd: { value: line.slice(ts, ce), start: base + ts, end: base + ce },
    flags: NO_PIECES,
    rest: NO_REST,
    args: NO_PIECES,
    json: false,
    keyValueForm: undefined,
    child: undefined,
    error: undefined,
  };
  if (rs < te) {
    const argsStart = extractFlags(line, rs, te, esc, base, node);
    const as = trimStart(line, argsStart, te);
    const ae = trimEnd(line, as, te);
    node.rest = { value: line.slice(as, ae), start: base + as, end: base + ae };
  } else {
    node.rest = { value: '', start: base + te, end: base + te };
  }
  const cmd = node.cmd.value;
  const fn = PARSERS.get(cmd) ?? PARSERS.get(cmd.toLowerCase());
  if (fn) fn(node.rest.value, node.rest.start, esc, node);
  return node;
}

function trimStart(s: string, a: number, b: number): number {
  while (a < b && isGoSpaceCode(s.charCodeAt(a))) a++;
  return a;
}

function trimEnd(s: string, a: number, b: number): number {
  while (b > a && isGoSpaceCode(s.charCodeAt(b - 1))) b--;
  return b;
}

/**
 * BuildKit's extractBuilderFlags over line[from, to): the flags go to `node.flags`; returns where the arguments
 * start. A flag word's value has its quotes and escapes processed; a word without either (nearly all) is sliced
 * from the line instead of being built up character by character.
 */
function extractFlags(line: string, from: number, to: number, esc: string, base: number, node: RawNode): number {
  const escCode = esc.charCodeAt(0);
  let pos = from;
  for (;;) {
    while (pos < to && isGoSpaceCode(line.charCodeAt(pos))) pos++;
    if (pos >= to) return to;
    if (line.charCodeAt(pos) !== 0x2d || pos + 1 === to || line.charCodeAt(pos + 1) !== 0x2d) return pos;
    const wordStart = pos;
    // the fast path: no quote and no escape before the next white space
    let q = pos;
    let c = 0;
    while (q < to) {
      c = line.charCodeAt(q);
      if (isGoSpaceCode(c) || c === 0x27 || c === 0x22 || c === escCode) break;
      q++;
    }
    let word: string;
    let blankOK = false;
    if (q === to || isGoSpaceCode(c)) {
      word = line.slice(wordStart, q);
      pos = q;
    } else {
      word = line.slice(wordStart, q);
      pos = q;
      let quote = 0;
      for (; pos < to; pos++) {
        const ch = line.charCodeAt(pos);
        if (quote === 0) {
          if (isGoSpaceCode(ch)) break;
          if (ch === 0x27 || ch === 0x22) {
            quote = ch;
            blankOK = true;
            continue;
          }
          if (ch === escCode) {
            if (pos + 1 === to) continue;
            pos++;
            word += line[pos]!;
            continue;
          }
          word += line[pos]!;
          continue;
        }
        if (ch === quote) {
          quote = 0;
          continue;
        }
        if (ch === escCode) {
          if (pos + 1 === to) {
            quote = 0;
            continue;
          }
          pos++;
          word += line[pos]!;
          continue;
        }
        word += line[pos]!;
      }
    }
    if (pos < to && word === '--') return pos;
    if (word !== '--' && (blankOK || word.length > 0)) {
      if (node.flags === NO_PIECES) node.flags = [];
      node.flags.push({ value: word, start: base + wordStart, end: base + pos });
    }
    if (pos >= to) return to;
  }
}

/**
 * BuildKit's parseWords: words split on white space, quotes and escapes kept. A word's value is its source text,
 * except that an escape character ending the input is dropped; so words are sliced, not built up.
 */
export function parseWords(rest: string, base: number, esc: string): Piece[] {
  const words: Piece[] = [];
  const escCode = esc.charCodeAt(0);
  const n = rest.length;
  let pos = 0;
  while (pos < n) {
    while (pos < n && isGoSpaceCode(rest.charCodeAt(pos))) pos++;
    if (pos >= n) break;
    const start = pos;
    let quote = 0;
    let blankOK = false;
    let end = -1; // where the value stops when the last character (an escape at end of input) is dropped
    for (; pos < n; pos++) {
      const c = rest.charCodeAt(pos);
      if (quote === 0) {
        if (isGoSpaceCode(c)) break;
        if (c === 0x27 || c === 0x22) {
          quote = c;
          blankOK = true;
        } else if (c === escCode) {
          if (pos + 1 === n) {
            end = pos;
            continue;
          }
          pos++;
        }
      } else {
        if (c === quote) quote = 0;
        else if (c === escCode && quote !== 0x27) {
          if (pos + 1 === n) {
            end = pos;
            quote = 0;
            continue;
          }
          pos++;
        }
      }
    }
    const stop = end === -1 ? pos : end;
    if (blankOK || stop > start) words.push({ value: rest.slice(start, stop), start: base + start, end: base + pos });
  }
  return words;
}

function splitWhitespace(rest: string, base: number, limit = Infinity): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  let i = 0;
  while (i < rest.length && out.length < limit - 1) {
    if (isSplitSpace(rest[i]!)) {
      let j = i;
      while (j < rest.length && isSplitSpace(rest[j]!)) j++;
      out.push({ value: rest.slice(start, i), start: base + start, end: base + i });
      start = j;
      i = j;
    } else i++;
  }
  out.push({ value: rest.slice(start), start: base + start, end: base + rest.length });
  return out;
}

function parseWhitespaceDelimited(rest: string, base: number, _esc: string, node: RawNode): void {
  if (rest === '') return;
  node.args = splitWhitespace(rest, base);
}

function parseString(rest: string, base: number, _esc: string, node: RawNode): void {
  if (rest === '') return;
  node.args = [{ value: rest, start: base, end: base + rest.length }];
}

function parseSubCommand(rest: string, base: number, esc: string, node: RawNode): void {
  if (rest === '') return;
  node.child = parseNode(rest, base, esc);
  if (node.child.error && !node.error) node.error = node.child.error;
}

type JSONResult = { kind: 'ok'; elements: Piece[] } | { kind: 'notjson' } | { kind: 'notstrings' };
const NOT_JSON_RESULT: JSONResult = { kind: 'notjson' };
const NOT_STRINGS_RESULT: JSONResult = { kind: 'notstrings' };

/** BuildKit's parseJSON: a JSON array of strings (Go's encoding/json grammar), with element offsets. */
export function parseJSONArray(rest: string, base: number): JSONResult {
  let i = 0;
  while (i < rest.length && isGoSpace(rest[i]!)) i++;
  if (rest[i] !== '[') return NOT_JSON_RESULT;
  const text = rest.slice(i);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_JSON_RESULT;
  }
  if (!Array.isArray(value)) return NOT_JSON_RESULT;
  for (const v of value) if (typeof v !== 'string') return NOT_STRINGS_RESULT;
  // locate each string element
  const elements: Piece[] = [];
  let p = i + 1;
  for (const v of value as string[]) {
    while (p < rest.length && rest[p] !== '"') p++;
    const s = p;
    p++;
    while (p < rest.length && rest[p] !== '"') p += rest[p] === '\\' ? 2 : 1;
    p++;
    elements.push({ value: v, start: base + s, end: base + p });
  }
  return { kind: 'ok', elements };
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

function parseMaybeJSON(rest: string, base: number, _esc: string, node: RawNode): void {
  if (rest === '') return;
  const r = parseJSONArray(rest, base);
  if (r.kind === 'ok') {
    node.args = r.elements;
    node.json = true;
    return;
  }
  if (r.kind === 'notstrings') {
    node.error = { message: NOT_STRINGS, start: base, end: base + rest.length };
  }
  node.args = [{ value: rest, start: base, end: base + rest.length }];
}

function parseMaybeJSONToList(rest: string, base: number, esc: string, node: RawNode): void {
  const r = parseJSONArray(rest, base);
  if (r.kind === 'ok') {
    node.args = r.elements;
    node.json = true;
    return;
  }
  if (r.kind === 'notstrings') node.error = { message: NOT_STRINGS, start: base, end: base + rest.length };
  parseWhitespaceDelimited(rest, base, esc, node);
}

function parseNameOrNameVal(rest: string, base: number, esc: string, node: RawNode): void {
  node.args = parseWords(rest, base, esc);
}

function parseNameVal(rest: string, base: number, esc: string, node: RawNode): void {
  const key = knownKeyword(node.cmd.value) === 'LABEL' ? 'LABEL' : 'ENV';
  const words = parseWords(rest, base, esc);
  if (words.length === 0) return;
  if (!words[0]!.value.includes('=')) {
    const parts = splitWhitespace(rest, base, 2);
    if (parts.length < 2) {
      node.error = { message: `${key} must have two arguments`, start: base, end: base + rest.length };
      node.args = [parts[0]!];
      return;
    }
    const [k, v] = parts as [Piece, Piece];
    node.args = [k, v, { value: '', start: k.end, end: k.end }];
    node.keyValueForm = false;
    return;
  }
  node.keyValueForm = true;
  const args: Piece[] = [];
  for (const w of words) {
    const eq = w.value.indexOf('=');
    if (eq === -1) {
      node.error = {
        message: `Syntax error - can't find = in ${goQuote(w.value)}. Must be of the form: name=value`,
        start: w.start,
        end: w.end,
      };
      args.push({ value: w.value, start: w.start, end: w.end }, { value: '', start: w.end, end: w.end }, { value: '', start: w.end, end: w.end });
      continue;
    }
    // the word's characters map 1:1 to the source except a dropped trailing escape, so offsets hold
    args.push(
      { value: w.value.slice(0, eq), start: w.start, end: w.start + eq },
      { value: w.value.slice(eq + 1), start: w.start + eq + 1, end: w.end },
      { value: '=', start: w.start + eq, end: w.start + eq + 1 },
    );
  }
  node.args = args;
}

function parseHealthConfig(rest: string, base: number, esc: string, node: RawNode): void {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep]!)) sep++;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next]!)) next++;
  if (sep === 0) return;
  const typ: Piece = { value: rest.slice(0, sep), start: base, end: base + sep };
  const sub: RawNode = { ...node, args: [], json: false };
  delete sub.error;
  parseMaybeJSON(rest.slice(next), base + next, esc, sub);
  node.args = [typ, ...sub.args];
  node.json = sub.json;
  if (sub.error) node.error = sub.error;
}
