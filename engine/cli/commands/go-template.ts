/**
 * A small subset of Go's text/template, for `--format`: `{{.Field.Sub}}`, `{{.}}`, `{{json .X}}`,
 * `{{index .X 0}}` / `{{index .Labels "k"}}`, `{{join .X ","}}`, `{{len .X}}`, `{{upper .X}}`, `{{lower .X}}`,
 * `{{println .X}}`, `{{range .X}}…{{end}}`, `{{if .X}}…{{else}}…{{end}}`, and `{{- … -}}` trimming.
 * Values print as Go prints them: slices as `[a b]`, maps as `map[k:v]`, nil as `<no value>`/`<nil>`.
 */
import { LayerwiseError } from '../../errors';

type Node =
  | { t: 'text'; s: string }
  | { t: 'expr'; e: string }
  | { t: 'range'; e: string; body: Node[]; els: Node[] }
  | { t: 'if'; e: string; body: Node[]; els: Node[] };

function bad(msg: string): LayerwiseError {
  return new LayerwiseError('usage', `template: ${msg}`);
}

function tokenize(src: string): { kind: 'text' | 'action'; s: string }[] {
  const out: { kind: 'text' | 'action'; s: string }[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ kind: 'text', s: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw bad('unclosed action');
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('-') && /^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let trimRight = false;
    if (/\s-$/.test(inner)) {
      trimRight = true;
      inner = inner.slice(0, -1);
    }
    if (text) out.push({ kind: 'text', s: text });
    out.push({ kind: 'action', s: inner.trim() });
    i = close + 2;
    if (trimRight) while (i < src.length && /\s/.test(src[i]!)) i++;
  }
  return out;
}

function parseNodes(toks: { kind: 'text' | 'action'; s: string }[], pos: { i: number }, stopAt: string[]): { nodes: Node[]; stop?: string } {
  const nodes: Node[] = [];
  while (pos.i < toks.length) {
    const tk = toks[pos.i++]!;
    if (tk.kind === 'text') {
      nodes.push({ t: 'text', s: tk.s });
      continue;
    }
    const a = tk.s;
    const word = a.split(/\s+/)[0]!;
    if (stopAt.includes(word)) return { nodes, stop: word };
    if (word === 'range' || word === 'if') {
      const body = parseNodes(toks, pos, ['end', 'else']);
      let els: Node[] = [];
      if (body.stop === 'else') els = parseNodes(toks, pos, ['end']).nodes;
      else if (body.stop !== 'end') throw bad(`unexpected EOF in ${word}`);
      nodes.push({ t: word, e: a.slice(word.length).trim(), body: body.nodes, els });
      continue;
    }
    if (word === 'end' || word === 'else') throw bad(`unexpected {{${word}}}`);
    if (a.startsWith('/*')) continue;
    nodes.push({ t: 'expr', e: a });
  }
  return { nodes };
}

function splitArgs(e: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g;
  for (const m of e.matchAll(re)) out.push(m[0]);
  return out;
}

function field(dot: unknown, path: string): unknown {
  if (path === '.') return dot;
  let v: unknown = dot;
  for (const part of path.split('.').filter(Boolean)) {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'object') throw bad(`can't evaluate field ${part} in type ${typeof v}`);
    const rec = v as Record<string, unknown>;
    if (!(part in rec) && !Array.isArray(v)) {
      // Go would fail on an unknown struct field; maps give no value
      if (Object.getPrototypeOf(rec) === Object.prototype && !isMapLike(rec)) throw bad(`can't evaluate field ${part}`);
    }
    v = rec[part];
  }
  return v;
}

/** objects we present as Go maps (labels, exposed ports…) have lower-case or non-identifier keys */
function isMapLike(o: Record<string, unknown>): boolean {
  const keys = Object.keys(o);
  return keys.length === 0 || keys.some((k) => !/^[A-Z]/.test(k));
}

function arg(dot: unknown, a: string): unknown {
  if (a.startsWith('"')) return JSON.parse(a) as string;
  if (a.startsWith('`')) return a.slice(1, -1);
  if (/^-?\d+$/.test(a)) return Number(a);
  if (a === 'true' || a === 'false') return a === 'true';
  if (a === 'nil') return null;
  if (a.startsWith('.')) return field(dot, a);
  throw bad(`function "${a}" not defined`);
}

export function goString(v: unknown, top = true): string {
  if (v === undefined) return top ? '<no value>' : '<nil>';
  if (v === null) return top ? '<no value>' : '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => goString(x, false)).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (isMapLike(o)) {
      return `map[${Object.keys(o).sort().map((k) => `${k}:${goString(o[k], false)}`).join(' ')}]`;
    }
    return `{${Object.keys(o).map((k) => goString(o[k], false)).join(' ')}}`;
  }
  return String(v);
}

function evalExpr(dot: unknown, e: string): unknown {
  // pipelines: `.X | json` — the value feeds the next command as its last argument
  const stages = e.split(/\s\|\s/).map((s) => s.trim());
  let val: unknown;
  let first = true;
  for (const st of stages) {
    const args = splitArgs(st);
    if (!first) args.push('\u0000prev');
    const get = (a: string) => (a === '\u0000prev' ? val : arg(dot, a));
    const fn = args[0]!;
    const rest = args.slice(1);
    switch (fn) {
      case 'json':
        val = JSON.stringify(get(rest[0]!) ?? null);
        break;
      case 'index': {
        let v = get(rest[0]!);
        for (const k of rest.slice(1)) {
          const key = get(k);
          if (v === null || v === undefined) throw bad('index of untyped nil');
          if (Array.isArray(v)) {
            if (typeof key !== 'number' || key < 0 || key >= v.length) throw bad(`error calling index: index out of range: ${String(key)}`);
            v = v[key];
          } else v = (v as Record<string, unknown>)[String(key)];
        }
        val = v;
        break;
      }
      case 'join': {
        const list = get(rest[0]!);
        val = Array.isArray(list) ? list.map((x) => goString(x, false)).join(String(get(rest[1]!))) : '';
        break;
      }
      case 'len': {
        const v = get(rest[0]!);
        val = Array.isArray(v) ? v.length : typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0;
        break;
      }
      case 'upper':
        val = goString(get(rest[0]!)).toUpperCase();
        break;
      case 'lower':
        val = goString(get(rest[0]!)).toLowerCase();
        break;
      case 'println':
        val = rest.map((a) => goString(get(a))).join(' ') + '\n';
        break;
      case 'print':
        val = rest.map((a) => goString(get(a))).join('');
        break;
      default:
        if (rest.length) throw bad(`can't give argument to non-function ${fn}`);
        val = get(fn);
    }
    first = false;
  }
  return val;
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function exec(nodes: Node[], dot: unknown, out: string[]): void {
  for (const n of nodes) {
    if (n.t === 'text') out.push(n.s);
    else if (n.t === 'expr') out.push(goString(evalExpr(dot, n.e)));
    else if (n.t === 'if') exec(truthy(evalExpr(dot, n.e)) ? n.body : n.els, dot, out);
    else {
      const v = evalExpr(dot, n.e);
      const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v as object).sort().map((k) => (v as Record<string, unknown>)[k]) : [];
      if (items.length === 0) exec(n.els, dot, out);
      for (const it of items) exec(n.body, it, out);
    }
  }
}

export interface Template {
  render(data: unknown): string;
}

export function compileTemplate(src: string): Template {
  const toks = tokenize(src);
  const { nodes, stop } = parseNodes(toks, { i: 0 }, []);
  if (stop) throw bad(`unexpected {{${stop}}}`);
  return {
    render(data: unknown): string {
      const out: string[] = [];
      exec(nodes, data, out);
      return out.join('');
    },
  };
}
