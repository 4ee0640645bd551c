/**
 * Typed instructions: a BuildKit line node (nodes.ts) plus its logical line (lines.ts) become an `Instruction`
 * with ranges, typed views (FROM, COPY, ENV, ARG, RUN mounts, …) and the errors BuildKit's instruction parser
 * gives (argument counts, flags, stage names, ONBUILD triggers, HEALTHCHECK options).
 */
import type { LineMap, LogicalLine, RawHeredoc } from './lines';
import type { Pieces, RawNode } from './nodes';
import { KNOWN_KEYWORDS, knownKeyword } from './nodes';
import { nearest, validateFlags } from './flags';
import type { ArgDeclaration, Comment, Flag, Heredoc, Instruction, KeyValue, Mount, ParseProblem, Range, Token } from './types';

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Piece i as a token. */
function tok(map: LineMap, ps: Pieces, i: number): Token {
  return { value: ps.values[i]!, range: map.range(ps.starts[i]!, ps.ends[i]!) };
}

/** Pieces [from, to) as tokens. */
function toks(map: LineMap, ps: Pieces, from: number, to: number): Token[] {
  if (to <= from) return NO_TOKENS;
  const out: Token[] = new Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = tok(map, ps, i);
  return out;
}

function addProblem(problems: ParseProblem[], code: string, message: string, range: Range, severity: 'error' | 'warning' = 'error', suggestion?: string): void {
  const p: ParseProblem = { code, message, severity, range };
  if (suggestion) p.suggestion = suggestion;
  problems.push(p);
}

/** Reports MissingArguments (on the arguments) unless `cond`; returns `cond`. */
function need(problems: ParseProblem[], argsRange: Range, cond: boolean, message: string): boolean {
  if (!cond) addProblem(problems, 'MissingArguments', message, argsRange);
  return cond;
}

/** Piece i, a flag word, as a Flag. */
function toFlag(map: LineMap, ps: Pieces, i: number): Flag {
  const raw = ps.values[i]!;
  const start = ps.starts[i]!;
  const end = ps.ends[i]!;
  const eq = raw.indexOf('=');
  const name = eq === -1 ? raw.slice(2) : raw.slice(2, eq);
  const range = map.range(start, end);
  const nameEnd = Math.min(end, start + 2 + name.length);
  const flag: Flag = {
    name,
    value: eq === -1 ? undefined : raw.slice(eq + 1),
    raw,
    range,
    nameRange: { start: map.pos(start + 2), end: nameEnd === end ? range.end : map.pos(nameEnd, nameEnd > start + 2) },
    valueRange: undefined,
  };
  // the value ends where the flag ends: the two ranges share that position
  if (eq !== -1) {
    const vs = start + eq + 1;
    flag.valueRange = { start: vs >= end ? range.end : map.pos(vs), end: range.end };
  }
  return flag;
}

/** Empty lists shared by the instructions that have none; frozen, so that nothing can add to them by mistake. */
const NO_FLAGS: Flag[] = Object.freeze([]) as unknown as Flag[];
const NO_HEREDOCS: Heredoc[] = Object.freeze([]) as unknown as Heredoc[];
const NO_COMMENTS: Comment[] = Object.freeze([]) as unknown as Comment[];
const NO_TOKENS: Token[] = Object.freeze([]) as unknown as Token[];
const NO_MOUNTS: Mount[] = Object.freeze([]) as unknown as Mount[];
const NO_PROBLEMS: ParseProblem[] = Object.freeze([]) as unknown as ParseProblem[];
const NETWORK_MODES = ['default', 'none', 'host'];
const SECURITY_MODES = ['sandbox', 'insecure'];

/** The upper-case keyword: one shared string per known keyword. */
function upperKeyword(cmd: string): string {
  return knownKeyword(cmd) ?? cmd.toUpperCase();
}

function toHeredoc(map: LineMap, h: RawHeredoc): Heredoc {
  const d: Heredoc = {
    name: h.name,
    fd: h.fd,
    chomp: h.chomp,
    expand: h.expand,
    content: h.content,
    delimiterRange: map.range(h.wordStart, h.wordStart + h.word.length),
    bodyRange: h.bodyRange,
  };
  if (h.terminatorRange) d.terminatorRange = h.terminatorRange;
  return d;
}

/**
 * A copy of an instruction with other problems. Field by field, in the order of buildInstruction's literal: a spread
 * copy gets a hidden class of its own in V8, and the code that reads instructions (the language server's rules, after
 * every incremental re-parse) would then see two kinds and fall back from its optimised form.
 */
export function withProblems(ins: Instruction, problems: ParseProblem[]): Instruction {
  // every field, optional ones too (`satisfies`): a field added to Instruction and not here is a type error
  const copy: Instruction = {
    keyword: ins.keyword,
    keywordToken: ins.keywordToken,
    known: ins.known,
    range: ins.range,
    startLine: ins.startLine,
    endLine: ins.endLine,
    logical: ins.logical,
    flags: ins.flags,
    args: ins.args,
    json: ins.json,
    heredocs: ins.heredocs,
    comments: ins.comments,
    problems,
    argsToken: ins.argsToken,
    from: ins.from,
    command: ins.command,
    mounts: ins.mounts,
    copy: ins.copy,
    pairs: ins.pairs,
    argDeclarations: ins.argDeclarations,
    healthcheckType: ins.healthcheckType,
    trigger: ins.trigger,
  } satisfies { [K in keyof Required<Instruction>]: unknown };
  return copy;
}

/** The instruction of a node (`ps`: its pieces) and its logical line. */
export function buildInstruction(node: RawNode, ps: Pieces, ll: LogicalLine, isTrigger = false): Instruction {
  const map = ll.map;
  const keyword = upperKeyword(node.cmd);
  const known = knownKeyword(keyword) !== undefined;
  const problems: ParseProblem[] = isTrigger || ll.problems.length === 0 ? [] : ll.problems.slice();
  // the keyword as written is nearly always the upper-case keyword: share that string
  const keywordToken: Token = {
    value: node.cmd === keyword ? keyword : node.cmd,
    range: map.range(node.cmdStart, node.cmdEnd),
  };
  const whole: Range = { start: keywordToken.range.start, end: ll.end };

  let flags = NO_FLAGS;
  if (node.flagsTo > node.flagsFrom) {
    flags = new Array(node.flagsTo - node.flagsFrom);
    for (let i = node.flagsFrom; i < node.flagsTo; i++) flags[i - node.flagsFrom] = toFlag(map, ps, i);
  }
  let heredocs = NO_HEREDOCS;
  if (ll.heredocs.length) {
    heredocs = new Array(ll.heredocs.length);
    for (let i = 0; i < ll.heredocs.length; i++) heredocs[i] = toHeredoc(map, ll.heredocs[i]!);
  }
  const args = toks(map, ps, node.argsFrom, node.argsTo);

  const ins: Instruction = {
    keyword,
    keywordToken,
    known,
    range: whole,
    startLine: ll.firstLine,
    endLine: ll.end.line,
    logical: ll.text,
    flags,
    args,
    json: node.json,
    heredocs,
    comments: ll.comments.length ? ll.comments : NO_COMMENTS,
    problems,
    // every typed view has its slot from the start (undefined when it does not apply): one object shape for
    // all instructions, so that V8 keeps the fields in the object and the rules' reads stay monomorphic
    argsToken: undefined,
    from: undefined,
    command: undefined,
    mounts: undefined,
    copy: undefined,
    pairs: undefined,
    argDeclarations: undefined,
    healthcheckType: undefined,
    trigger: undefined,
  };
  const rest = node.rest;
  if (rest.length) {
    // one argument that is the whole rest (shell-form RUN, WORKDIR, USER, …): one token serves both
    const a0 = node.argsTo - node.argsFrom === 1 ? node.argsFrom : -1;
    ins.argsToken =
      a0 !== -1 && ps.starts[a0] === node.restStart && ps.ends[a0] === node.restEnd && ps.values[a0] === rest
        ? args[0]!
        : { value: rest, range: map.range(node.restStart, node.restEnd) };
  }
  if (node.error) addProblem(problems, errorCode(node.error.message), node.error.message, map.range(node.error.start, node.error.end));

  if (!known) {
    // the suggestion in BuildKit's case: upper case for an upper-case word, else lower case
    const s = nearest(keyword, KNOWN_KEYWORDS);
    addProblem(problems, 'UnknownInstruction', `unknown instruction: ${node.cmd}` + (s ? ` (did you mean ${node.cmd !== node.cmd.toLowerCase() && node.cmd === node.cmd.toUpperCase() ? s.toUpperCase() : s.toLowerCase()}?)` : ''), keywordToken.range, 'error', s);
    return ins;
  }

  const argsRange = ins.argsToken?.range ?? keywordToken.range;

  switch (keyword) {
    case 'FROM': {
      ins.from = {};
      if (args[0]) ins.from.image = args[0];
      if (args.length === 3 && args[1]!.value.toLowerCase() === 'as') {
        ins.from.asKeyword = args[1]!;
        ins.from.stageName = args[2]!;
        if (!VALID_STAGE_NAME.test(args[2]!.value.toLowerCase())) {
          addProblem(problems, 
            'InvalidStageName',
            `invalid name for build stage: "${args[2]!.value}", name can't start with a number or contain symbols`,
            args[2]!.range,
          );
        }
      } else if (args.length !== 1) {
        if (args.length >= 2 && args[1]!.value.toLowerCase() === 'as') {
          ins.from.asKeyword = args[1]!;
          if (args[2]) ins.from.stageName = args[2];
        }
        addProblem(problems, 'InvalidFrom', 'FROM requires either one or three arguments', argsRange);
      }
      break;
    }
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
      ins.command = { json: node.json, words: args };
      if (keyword === 'RUN') {
        // BuildKit takes a RUN with no command (and runs an empty shell command): worth a warning, not an error
        if (args.length === 0 && heredocs.length === 0) addProblem(problems, 'MissingArguments', 'RUN has no command: it runs an empty shell command', argsRange, 'warning');
        // (indexed loops: NO_FLAGS is frozen, and for-of over a frozen array allocates an iterator)
        let count = 0;
        for (let i = 0; i < flags.length; i++) if (flags[i]!.name === 'mount') count++;
        let mounts = NO_MOUNTS;
        if (count) {
          mounts = new Array(count);
          for (let i = 0, j = 0; i < flags.length; i++) if (flags[i]!.name === 'mount') mounts[j++] = parseMountFlag(flags[i]!, problems);
        }
        ins.mounts = mounts;
        for (let i = 0; i < flags.length; i++) {
          const f = flags[i]!;
          if (f.name === 'network' && f.value !== undefined && !NETWORK_MODES.includes(f.value))
            addProblem(problems, 'FlagInvalidValue', `invalid network mode "${f.value}"`, f.valueRange ?? f.range);
          if (f.name === 'security' && f.value !== undefined && !SECURITY_MODES.includes(f.value))
            addProblem(problems, 'FlagInvalidValue', `security mode "${f.value}" is not one of sandbox, insecure`, f.valueRange ?? f.range);
        }
      }
      if (keyword === 'SHELL') {
        if (need(problems, argsRange, args.length > 0, 'SHELL requires at least one argument') && !node.json)
          addProblem(problems, 'ShellNotJSON', 'SHELL requires the arguments to be in JSON form', argsRange);
      }
      break;
    case 'COPY':
    case 'ADD':
      ins.copy = { sources: args.slice(0, -1) };
      if (args.length) ins.copy.dest = args[args.length - 1]!;
      // (the messages built with the keyword are made only when reported)
      if (args.length < 2) addProblem(problems, 'MissingArguments', `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`, argsRange);
      else {
        const dest = args[args.length - 1]!;
        if (/^\d*<<-?\s*[^<]+$/.test(dest.value) && heredocs.some((h) => dest.value.includes(h.name)))
          addProblem(problems, 'HeredocDestination', `${keyword} cannot accept a heredoc as a destination`, dest.range);
      }
      break;
    case 'ENV':
    case 'LABEL': {
      // lists are made at their final size: one grown by push keeps its spare capacity in the tree
      const pairs: KeyValue[] = new Array(Math.floor(args.length / 3));
      for (let i = 0; i + 2 < args.length; i += 3) {
        const k = args[i]!;
        const v = args[i + 1]!;
        const sep = args[i + 2]!;
        pairs[i / 3] = { key: k, value: v, legacy: sep.value === '', range: { start: k.range.start, end: v.range.end } };
        if (k.value.length === 0 && sep.value === '=') addProblem(problems, 'BlankName', `${keyword} names can not be blank`, k.range);
      }
      ins.pairs = pairs;
      if (!node.error && args.length === 0) addProblem(problems, 'MissingArguments', `${keyword} requires at least one argument`, argsRange);
      break;
    }
    case 'ARG': {
      const decls: ArgDeclaration[] = args.map((a) => {
        const eq = a.value.indexOf('=');
        if (eq === -1) return { name: a, range: a.range };
        const d: ArgDeclaration = {
          name: { value: a.value.slice(0, eq), range: subRange(a.range, 0, eq) },
          defaultValue: { value: a.value.slice(eq + 1), range: subRange(a.range, eq + 1, a.value.length) },
          range: a.range,
        };
        if (eq === 0) addProblem(problems, 'BlankName', 'ARG names can not be blank', a.range);
        return d;
      });
      ins.argDeclarations = decls;
      need(problems, argsRange, args.length > 0, 'ARG requires at least one argument');
      break;
    }
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
      if (args.length !== 1) addProblem(problems, 'MissingArguments', `${keyword} requires exactly one argument`, argsRange);
      break;
    case 'EXPOSE':
      need(problems, argsRange, args.length > 0, 'EXPOSE requires at least one argument');
      break;
    case 'VOLUME':
      if (need(problems, argsRange, args.length > 0, 'VOLUME requires at least one argument')) {
        for (const a of args) if (a.value.trim() === '') addProblem(problems, 'InvalidArguments', 'VOLUME specified can not be an empty string', a.range);
      }
      break;
    case 'HEALTHCHECK': {
      const typ = args[0];
      if (!need(problems, argsRange, !!typ, 'HEALTHCHECK requires at least one argument')) break;
      ins.healthcheckType = typ!;
      const t = typ!.value.toUpperCase();
      if (t === 'NONE') {
        if (args.length > 1) addProblem(problems, 'ExtraArguments', 'HEALTHCHECK NONE takes no arguments', argsRange);
      } else if (t === 'CMD') {
        ins.command = { json: node.json, words: args.slice(1) };
        if (args.length < 2) addProblem(problems, 'MissingArguments', 'Missing command after HEALTHCHECK CMD', argsRange);
        for (let i = 0; i < flags.length; i++) checkHealthFlag(flags[i]!, problems);
      } else {
        addProblem(problems, 'InvalidArguments', `Unknown type "${typ!.value}" in HEALTHCHECK (try CMD)`, typ!.range);
      }
      break;
    }
    case 'ONBUILD': {
      if (!node.child) {
        need(problems, argsRange, false, 'ONBUILD requires at least one argument');
        break;
      }
      const trigger = buildInstruction(node.child, ps, ll, true);
      ins.trigger = trigger;
      ins.args = trigger.args;
      const t = trigger.keyword;
      if (t === 'ONBUILD') addProblem(problems, 'OnbuildChain', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', trigger.keywordToken.range);
      else if (t === 'FROM' || t === 'MAINTAINER') addProblem(problems, 'OnbuildForbidden', `${t} isn't allowed as an ONBUILD trigger`, trigger.keywordToken.range);
      for (let i = 0; i < trigger.problems.length; i++) problems.push(trigger.problems[i]!);
      break;
    }
  }
  const flagProblems = validateFlags(keyword, flags, ins.healthcheckType?.value);
  if (flagProblems.length) problems.push(...flagProblems);
  if (problems.length === 0) ins.problems = NO_PROBLEMS;
  return ins;
}

function errorCode(message: string): string {
  if (message.startsWith('when using JSON')) return 'InvalidJSON';
  if (message.includes('must have two arguments')) return 'EnvMissingValue';
  if (message.startsWith('Syntax error')) return 'EnvMissingEquals';
  return 'InvalidArguments';
}

function subRange(r: Range, from: number, to: number): Range {
  if (r.start.line !== r.end.line) return r;
  return { start: { line: r.start.line, character: r.start.character + from }, end: { line: r.start.line, character: r.start.character + to } };
}

const MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const MOUNT_KEYS = [
  'type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'readwrite', 'rw',
  'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid', 'env',
];

/** Splits a CSV record as Go's encoding/csv does (quotes with "" escapes). */
export function csvFields(s: string): { value: string; start: number; end: number }[] | undefined {
  const out: { value: string; start: number; end: number }[] = [];
  let i = 0;
  while (i <= s.length) {
    const start = i;
    let value = '';
    if (s.charCodeAt(i) === 0x22 /* " */) {
      i++;
      // runs between quotes are sliced; `""` adds one quote
      let from = i;
      for (;;) {
        const q = s.indexOf('"', i);
        if (q === -1) return undefined;
        if (s.charCodeAt(q + 1) === 0x22) {
          value += s.slice(from, q + 1);
          i = q + 2;
          from = i;
          continue;
        }
        value += s.slice(from, q);
        i = q + 1;
        break;
      }
      if (i < s.length && s.charCodeAt(i) !== 0x2c /* , */) return undefined;
    } else {
      let c = s.indexOf(',', i);
      if (c === -1) c = s.length;
      value = s.slice(i, c);
      i = c;
    }
    out.push({ value, start, end: i });
    i++;
  }
  return out;
}

function parseMountFlag(f: Flag, problems: ParseProblem[]): Mount {
  const vr = f.valueRange ?? f.range;
  const fields = csvFields(f.value ?? '');
  if (!fields) {
    addProblem(problems, 'InvalidMount', 'failed to parse csv mounts: bare " in non-quoted field', vr);
    return { type: 'bind', options: [], range: f.range };
  }
  // one option a field: the list is made at its final size
  const m: Mount = { type: 'bind', options: new Array(fields.length), range: f.range };
  for (let i = 0; i < fields.length; i++) {
    const fl = fields[i]!;
    const r = subRange(vr, fl.start, fl.end);
    const eq = fl.value.indexOf('=');
    const key = (eq === -1 ? fl.value : fl.value.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? undefined : fl.value.slice(eq + 1);
    m.options[i] = { key, value, range: r };
    if (fl.value === '' && fields.length === 1) continue;
    if (!MOUNT_KEYS.includes(key)) {
      const s = nearest(key, MOUNT_KEYS);
      addProblem(problems, 'InvalidMount', `unexpected key '${key}' in '${fl.value}'` + (s ? ` (did you mean ${s}?)` : ''), r, 'error', s);
      continue;
    }
    if (value === undefined && !['readonly', 'ro', 'readwrite', 'rw', 'required'].includes(key)) {
      addProblem(problems, 'InvalidMount', `invalid field '${fl.value}' must be a key=value pair`, r);
      continue;
    }
    if (key === 'type' && value !== undefined) {
      if (!MOUNT_TYPES.includes(value.toLowerCase())) {
        const s = nearest(value, MOUNT_TYPES);
        addProblem(problems, 'InvalidMount', `unsupported mount type "${value}"` + (s ? ` (did you mean ${s}?)` : ''), r, 'error', s);
      } else m.type = value.toLowerCase();
    }
    if (key === 'sharing' && value !== undefined && !['shared', 'private', 'locked'].includes(value.toLowerCase()))
      addProblem(problems, 'InvalidMount', `unsupported sharing value "${value}"`, r);
    if ((key === 'uid' || key === 'gid') && value !== undefined && !/^\d+$/.test(value) && !value.includes('$'))
      addProblem(problems, 'InvalidMount', `invalid value ${value} for ${key}`, r);
    if (key === 'mode' && value !== undefined && !/^[0-7]+$/.test(value) && !value.includes('$'))
      addProblem(problems, 'InvalidMount', `invalid value ${value} for mode`, r);
    if (key === 'from' && value !== undefined) {
      const idx = value.indexOf('$');
      if (idx !== -1 && idx !== value.length - 1) addProblem(problems, 'InvalidMount', "'from' doesn't support variable expansion, define alias stage instead", r);
    }
  }
  for (const o of m.options) {
    if (o.key === 'required' && m.type !== 'secret' && m.type !== 'ssh')
      addProblem(problems, 'InvalidMount', `unexpected key 'required' for mount type '${m.type}'`, o.range);
    if (o.key === 'size' && m.type !== 'tmpfs') addProblem(problems, 'InvalidMount', `unexpected key 'size' for mount type '${m.type}'`, o.range);
    if (['mode', 'uid', 'gid'].includes(o.key) && !['secret', 'ssh', 'cache'].includes(m.type))
      addProblem(problems, 'InvalidMount', `${o.key} not allowed for "${m.type}" type mounts`, o.range);
    if (o.key === 'sharing' && m.type !== 'cache') addProblem(problems, 'InvalidMount', `invalid cache sharing set for ${m.type} mount`, o.range);
  }
  if (m.type === 'secret') {
    const has = (k: string[]): boolean => m.options.some((o) => k.includes(o.key) && o.value);
    if (has(['from'])) addProblem(problems, 'InvalidMount', 'secret mount should not have a from', vr);
    if (!has(['source', 'src', 'target', 'dst', 'destination', 'id']))
      addProblem(problems, 'InvalidMount', 'invalid secret mount. one of source, target required', vr);
  }
  return m;
}

const DURATION_RE = /^([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$/;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration, in milliseconds; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  // the usual form, digits and one unit (`30s`, `5m`), read directly
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  if (i > 0 && i < s.length && s.length - i <= 2) {
    const unit = UNIT_MS[s.slice(i)];
    if (unit !== undefined) return Number.parseFloat(s.slice(0, i)) * unit;
  }
  return parseDuration(s);
}

function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const neg = s.startsWith('-');
  const body = s.replace(/^[-+]/, '');
  if (!DURATION_RE.test(body)) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  for (const m of body.matchAll(/([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/g)) {
    if (m[1] === '' || m[1] === '.') return undefined;
    total += Number.parseFloat(m[1]!) * unit[m[2]!]!;
  }
  return neg ? -total : total;
}

function checkHealthFlag(f: Flag, problems: ParseProblem[]): void {
  if (f.value === undefined) return;
  const r = f.valueRange ?? f.range;
  if (f.name === 'retries') {
    if (!/^[+-]?\d+$/.test(f.value)) addProblem(problems, 'FlagInvalidValue', `strconv.ParseInt: parsing "${f.value}": invalid syntax`, r);
    else if (Number.parseInt(f.value, 10) < 0) addProblem(problems, 'FlagInvalidValue', `--retries cannot be negative (${f.value})`, r);
    return;
  }
  if (f.value === '') return;
  const ms = parseGoDuration(f.value);
  if (ms === undefined) addProblem(problems, 'FlagInvalidValue', `time: invalid duration "${f.value}"`, r);
  else if (ms !== 0 && ms < 1) addProblem(problems, 'FlagInvalidValue', `Interval "${f.name}" cannot be less than 1ms`, r);
}
