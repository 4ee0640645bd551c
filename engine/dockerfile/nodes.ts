/**
 * BuildKit's low-level line parsers: a logical line -> keyword, raw flags and argument words, as BuildKit's
 * `newNodeFromLine` and its dispatch table produce them (what `Node.Dump` prints). Every piece keeps its offsets
 * in the logical line. Never throws: a BuildKit parse error becomes `error` and the words found so far are kept.
 */
import { goQuote, isGoSpace, isGoSpaceCode, isSplitSpace } from './text';

/**
 * The pieces (keyword-line words with their offsets) of the lines one parse reads, kept flat: piece i is
 * `values[i]` from `starts[i]` to `ends[i]` in the logical line. A node names its flags and arguments as index
 * ranges. Nodes and pieces live until the next line: `parseNode` reuses both (the instruction layer takes what
 * it keeps), so that a parse makes no object per word and none per line here.
 */
export class Pieces {
  values: string[] = [];
  starts: number[] = [];
  ends: number[] = [];
  n = 0;
  /** nodes by nesting depth (ONBUILD's trigger is one deeper) */
  pool: RawNode[] = [];
  depth = 0;

  push(value: string, start: number, end: number): void {
    const i = this.n;
    if (i === this.values.length) {
      this.values.push(value);
      this.starts.push(start);
      this.ends.push(end);
    } else {
      this.values[i] = value;
      this.starts[i] = start;
      this.ends[i] = end;
    }
    this.n = i + 1;
  }
}

export interface RawNode {
  /** the keyword as written */
  cmd: string;
  cmdStart: number;
  cmdEnd: number;
  /** the flags: pieces [flagsFrom, flagsTo) */
  flagsFrom: number;
  flagsTo: number;
  /** the rest after the flags, trimmed */
  rest: string;
  restStart: number;
  restEnd: number;
  /** the arguments: pieces [argsFrom, argsTo) */
  argsFrom: number;
  argsTo: number;
  json: boolean;
  /** ENV/LABEL: the words were `k=v` (not the legacy form) */
  keyValueForm: boolean | undefined;
  child: RawNode | undefined;
  error: { message: string; start: number; end: number } | undefined;
}

type LineParser = (rest: string, base: number, esc: string, node: RawNode, ps: Pieces) => void;

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

/**
 * BuildKit's newNodeFromLine on `line`, whose offset 0 is `base` in the logical line. At depth 0 this starts a
 * new line: the pieces and the node of the previous one are reused.
 */
export function parseNode(line: string, base: number, esc: string, ps: Pieces): RawNode {
  if (ps.depth === 0) ps.n = 0;
  let node = ps.pool[ps.depth];
  if (!node) {
    node = {
      cmd: '',
      cmdStart: 0,
      cmdEnd: 0,
      flagsFrom: 0,
      flagsTo: 0,
      rest: '',
      restStart: 0,
      restEnd: 0,
      argsFrom: 0,
      argsTo: 0,
      json: false,
      keyValueForm: undefined,
      child: undefined,
      error: undefined,
    };
    ps.pool[ps.depth] = node;
  }
  const ts = trimStart(line, 0, line.length);
  const te = trimEnd(line, ts, line.length);
  let ce = ts;
  while (ce < te && !isSplitSpace(line[ce]!)) ce++;
  let rs = ce;
  while (rs < te && isSplitSpace(line[rs]!)) rs++;
  const cmd = line.slice(ts, ce);
  node.cmd = cmd;
  node.cmdStart = base + ts;
  node.cmdEnd = base + ce;
  node.flagsFrom = node.flagsTo = ps.n;
  node.json = false;
  node.keyValueForm = undefined;
  node.child = undefined;
  node.error = undefined;
  if (rs < te) {
    const argsStart = extractFlags(line, rs, te, esc, base, ps);
    node.flagsTo = ps.n;
    const as = trimStart(line, argsStart, te);
    const ae = trimEnd(line, as, te);
    node.rest = line.slice(as, ae);
    node.restStart = base + as;
    node.restEnd = base + ae;
  } else {
    node.rest = '';
    node.restStart = node.restEnd = base + te;
  }
  node.argsFrom = node.argsTo = ps.n;
  const fn = PARSERS.get(cmd) ?? PARSERS.get(cmd.toLowerCase());
  if (fn) {
    ps.depth++;
    try {
      fn(node.rest, node.restStart, esc, node, ps);
    } finally {
      ps.depth--;
    }
  }
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
 * BuildKit's extractBuilderFlags over line[from, to): the flags are added to `ps`; returns where the arguments
 * start. A flag word's value has its quotes and escapes processed; a word without either (nearly all) is sliced
 * from the line instead of being built up character by character.
 */
function extractFlags(line: string, from: number, to: number, esc: string, base: number, ps: Pieces): number {
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
    if (word !== '--' && (blankOK || word.length > 0)) ps.push(word, base + wordStart, base + pos);
    if (pos >= to) return to;
  }
}

/**
 * BuildKit's parseWords, into `ps`: words split on white space, quotes and escapes kept. A word's value is its source text,
 * except that an escape character ending the input is dropped; so words are sliced, not built up.
 */
function parseWords(rest: string, base: number, esc: string, ps: Pieces): void {
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
    if (blankOK || stop > start) ps.push(rest.slice(start, stop), base + start, base + pos);
  }
}

/** BuildKit's splitting on `[\t\v\f\r ]+` (at most `limit` parts), into `ps`. */
function splitWhitespace(rest: string, base: number, ps: Pieces, limit = Infinity): void {
  let count = 0;
  let start = 0;
  let i = 0;
  while (i < rest.length && count < limit - 1) {
    if (isSplitSpace(rest[i]!)) {
      let j = i;
      while (j < rest.length && isSplitSpace(rest[j]!)) j++;
      ps.push(rest.slice(start, i), base + start, base + i);
      count++;
      start = j;
      i = j;
    } else i++;
  }
  ps.push(start === 0 ? rest : rest.slice(start), base + start, base + rest.length);
}

/** The arguments are the pieces from `from` to the last one added. */
function setArgs(node: RawNode, from: number, ps: Pieces): void {
  node.argsFrom = from;
  node.argsTo = ps.n;
}

function parseWhitespaceDelimited(rest: string, base: number, _esc: string, node: RawNode, ps: Pieces): void {
  if (rest === '') return;
  const from = ps.n;
  splitWhitespace(rest, base, ps);
  setArgs(node, from, ps);
}

function parseString(rest: string, base: number, _esc: string, node: RawNode, ps: Pieces): void {
  if (rest === '') return;
  const from = ps.n;
  ps.push(rest, base, base + rest.length);
  setArgs(node, from, ps);
}

function parseSubCommand(rest: string, base: number, esc: string, node: RawNode, ps: Pieces): void {
  if (rest === '') return;
  node.child = parseNode(rest, base, esc, ps);
  if (node.child.error && !node.error) node.error = node.child.error;
}

const JSON_OK = 0;
const JSON_NOT = 1;
const JSON_NOT_STRINGS = 2;

/** BuildKit's parseJSON: a JSON array of strings (Go's encoding/json grammar); its elements, with their offsets,
 *  are added to `ps` when it is one. */
function parseJSONArray(rest: string, base: number, ps: Pieces): number {
  let i = 0;
  while (i < rest.length && isGoSpace(rest[i]!)) i++;
  if (rest[i] !== '[') return JSON_NOT;
  const text = i === 0 ? rest : rest.slice(i);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return JSON_NOT;
  }
  if (!Array.isArray(value)) return JSON_NOT;
  for (const v of value) if (typeof v !== 'string') return JSON_NOT_STRINGS;
  // locate each string element
  let p = i + 1;
  for (const v of value as string[]) {
    while (p < rest.length && rest[p] !== '"') p++;
    const s = p;
    p++;
    while (p < rest.length && rest[p] !== '"') p += rest[p] === '\\' ? 2 : 1;
    p++;
    ps.push(v, base + s, base + p);
  }
  return JSON_OK;
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

function parseMaybeJSON(rest: string, base: number, _esc: string, node: RawNode, ps: Pieces): void {
  if (rest === '') return;
  const from = ps.n;
  const r = parseJSONArray(rest, base, ps);
  if (r === JSON_OK) {
    setArgs(node, from, ps);
    node.json = true;
    return;
  }
  if (r === JSON_NOT_STRINGS) node.error = { message: NOT_STRINGS, start: base, end: base + rest.length };
  ps.push(rest, base, base + rest.length);
  setArgs(node, from, ps);
}

function parseMaybeJSONToList(rest: string, base: number, esc: string, node: RawNode, ps: Pieces): void {
  const from = ps.n;
  const r = parseJSONArray(rest, base, ps);
  if (r === JSON_OK) {
    setArgs(node, from, ps);
    node.json = true;
    return;
  }
  if (r === JSON_NOT_STRINGS) node.error = { message: NOT_STRINGS, start: base, end: base + rest.length };
  parseWhitespaceDelimited(rest, base, esc, node, ps);
}

function parseNameOrNameVal(rest: string, base: number, esc: string, node: RawNode, ps: Pieces): void {
  const from = ps.n;
  parseWords(rest, base, esc, ps);
  setArgs(node, from, ps);
}

function parseNameVal(rest: string, base: number, esc: string, node: RawNode, ps: Pieces): void {
  const key = knownKeyword(node.cmd) === 'LABEL' ? 'LABEL' : 'ENV';
  const wordsFrom = ps.n;
  parseWords(rest, base, esc, ps);
  const wordsTo = ps.n;
  if (wordsTo === wordsFrom) return;
  if (!ps.values[wordsFrom]!.includes('=')) {
    const from = ps.n;
    splitWhitespace(rest, base, ps, 2);
    if (ps.n - from < 2) {
      node.error = { message: `${key} must have two arguments`, start: base, end: base + rest.length };
      node.argsFrom = from;
      node.argsTo = from + 1;
      return;
    }
    const kEnd = ps.ends[from]!;
    ps.push('', kEnd, kEnd);
    setArgs(node, from, ps);
    node.keyValueForm = false;
    return;
  }
  node.keyValueForm = true;
  const from = ps.n;
  for (let w = wordsFrom; w < wordsTo; w++) {
    const value = ps.values[w]!;
    const start = ps.starts[w]!;
    const end = ps.ends[w]!;
    const eq = value.indexOf('=');
    if (eq === -1) {
      // (the first such word is the one BuildKit names)
      node.error ??= {
        message: `Syntax error - can't find = in ${goQuote(value)}. Must be of the form: name=value`,
        start,
        end,
      };
      ps.push(value, start, end);
      ps.push('', end, end);
      ps.push('', end, end);
      continue;
    }
    // the word's characters map 1:1 to the source except a dropped trailing escape, so offsets hold
    ps.push(value.slice(0, eq), start, start + eq);
    ps.push(value.slice(eq + 1), start + eq + 1, end);
    ps.push('=', start + eq, start + eq + 1);
  }
  setArgs(node, from, ps);
}

function parseHealthConfig(rest: string, base: number, _esc: string, node: RawNode, ps: Pieces): void {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep]!)) sep++;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next]!)) next++;
  if (sep === 0) return;
  const from = ps.n;
  ps.push(rest.slice(0, sep), base, base + sep);
  // the rest is parsed as CMD's arguments would be (parseMaybeJSON), after the type word
  const sub = rest.slice(next);
  const subBase = base + next;
  node.json = false;
  if (sub !== '') {
    const r = parseJSONArray(sub, subBase, ps);
    if (r === JSON_OK) node.json = true;
    else {
      if (r === JSON_NOT_STRINGS) node.error = { message: NOT_STRINGS, start: subBase, end: subBase + sub.length };
      ps.push(sub, subBase, subBase + sub.length);
    }
  }
  setArgs(node, from, ps);
}
