/**
 * RUN scripts as rules need them: split into simple commands (words with quotes removed, each with its offset
 * in the script) and the operator between commands. Not a shell: enough to see `apt-get install -y foo`,
 * `&&`, `|`, `;` and comments reliably. Dockerfile syntax itself is the parser's job; this only looks inside
 * the script the parser hands over.
 */
import type { Dockerfile, Instruction, Range, Token } from '../../engine/dockerfile/types';
import { movedFrom } from '../incrementalParse';
import { tokenSubRange } from './util';

export interface ShellWord {
  /** quotes and escapes removed */
  value: string;
  /** the word as written */
  raw: string;
  start: number;
  end: number;
}

export type Operator = '&&' | '||' | ';' | '|' | '&' | '\n' | '(' | ')' | '';

export interface SimpleCommand {
  words: ShellWord[];
  /** the operator before this command ('' at the start) */
  before: Operator;
  /** the operator after it ('' at the end) */
  after: Operator;
  start: number;
  end: number;
}

/** The operator starting at `i`, if any (`&&` `||` `;` `|` `&` newline `(` `)`). */
function opAt(s: string, i: number): Operator | undefined {
  switch (s.charCodeAt(i)) {
    case 38: // &
      return s.charCodeAt(i + 1) === 38 ? '&&' : '&';
    case 124: // |
      return s.charCodeAt(i + 1) === 124 ? '||' : '|';
    case 59:
      return ';';
    case 10:
      return '\n';
    case 40:
      return '(';
    case 41:
      return ')';
    default:
      return undefined;
  }
}

export function splitCommands(script: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  let words: ShellWord[] = [];
  let before: Operator = '';
  let i = 0;
  const n = script.length;
  const flush = (op: Operator): void => {
    if (words.length) {
      out.push({ words, before, after: op, start: words[0]!.start, end: words[words.length - 1]!.end });
      words = [];
    }
    before = op;
  };
  while (i < n) {
    const c = script.charCodeAt(i);
    // space, tab, CR
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    // an escaped line end
    if (c === 92 && (script.charCodeAt(i + 1) === 10 || (script.charCodeAt(i + 1) === 13 && script.charCodeAt(i + 2) === 10))) {
      i += script.charCodeAt(i + 1) === 10 ? 2 : 3;
      continue;
    }
    // a comment, to the line end
    if (c === 35) {
      const e = script.indexOf('\n', i);
      i = e < 0 ? n : e;
      continue;
    }
    const op = opAt(script, i);
    if (op) {
      if (op === '&' && script[i + 1] === '>') {
        // `&>file` redirection: part of a word
      } else {
        if (!(op === '\n' && words.length === 0)) flush(op);
        i += op.length;
        continue;
      }
    }
    // a word
    const start = i;
    // fast path: a plain word (no quotes, escapes or substitutions) is a slice of the script
    let j = i;
    while (j < n) {
      const cc = script.charCodeAt(j);
      // space tab lf cr ; | ( ) & " ' \ $
      if (cc === 32 || cc === 9 || cc === 10 || cc === 13 || cc === 59 || cc === 124 || cc === 40 || cc === 41 || cc === 38 || cc === 34 || cc === 39 || cc === 92 || cc === 36) break;
      j++;
    }
    const stop = script.charCodeAt(j);
    if (j > i && (j >= n || stop === 32 || stop === 9 || stop === 10 || stop === 13 || stop === 59 || stop === 124 || stop === 40 || stop === 41 || (stop === 38 && script.charCodeAt(j + 1) !== 62))) {
      const raw = script.slice(i, j);
      words.push({ value: raw, raw, start: i, end: j });
      i = j;
      continue;
    }
    let value = '';
    let depth = 0;
    while (i < n) {
      const ch = script[i]!;
      if (depth === 0 && (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === ';' || ch === '|' || ch === '(' || ch === ')')) break;
      if (depth === 0 && ch === '&' && script[i + 1] !== '>') break;
      if (ch === '\\') {
        if (script[i + 1] === '\n') {
          i += 2;
          continue;
        }
        value += script[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (ch === "'") {
        const e = script.indexOf("'", i + 1);
        const stop = e < 0 ? n : e;
        value += script.slice(i + 1, stop);
        i = stop + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        while (i < n && script[i] !== '"') {
          if (script[i] === '\\' && i + 1 < n) {
            value += script[i + 1];
            i += 2;
          } else value += script[i++];
        }
        i++;
        continue;
      }
      if (ch === '$' && script[i + 1] === '(') {
        depth++;
        value += '$(';
        i += 2;
        continue;
      }
      if (depth > 0 && ch === ')') depth--;
      value += ch;
      i++;
    }
    words.push({ value, raw: script.slice(start, Math.min(i, n)), start, end: Math.min(i, n) });
  }
  flush('');
  return out;
}

/** A RUN script and where it lives: the shell-form command token (positions mappable) or a heredoc body. */
export interface RunScript {
  text: string;
  /** the command token (shell form); undefined for heredoc bodies and exec form */
  token: Token | undefined;
  commands: SimpleCommand[];
  /** where findings about this script go */
  anchor: Range;
  /** its commands that have a name, with it (made on first use: an instruction an edit kept keeps them) */
  named: NamedCommand[] | undefined;
}

/** A simple command with its name (after `sudo`, `env`, assignments...), the words after it and its subcommand. */
export interface NamedCommand {
  cmd: SimpleCommand;
  name: string;
  args: ShellWord[];
  sub: string | undefined;
  nameWord: ShellWord;
}

/** The commands of a script that have a name (computed once per script). */
export function namedCommands(script: RunScript): NamedCommand[] {
  let named = script.named;
  if (named) return named;
  named = [];
  for (const cmd of script.commands) {
    const k = commandNameIndex(cmd);
    if (k < 0) continue;
    const nameWord = cmd.words[k]!;
    const args = cmd.words.slice(k + 1);
    named.push({ cmd, name: baseName(nameWord.value), args, sub: firstNonOption(args), nameWord });
  }
  script.named = named;
  return named;
}

const cache = new WeakMap<Instruction, RunScript[]>();
/** The shell scripts of a RUN: its command line and heredoc bodies fed to the shell. */
export function runScripts(ins: Instruction): RunScript[] {
  const hit = cache.get(ins);
  if (hit) return hit;
  // The commands carry offsets into their script only: an instruction an edit moved or re-parsed unchanged (the
  // incremental parse says which it stands for) has the same scripts, and shares their split.
  const was = movedFrom.get(ins);
  const before = was && cache.get(was);
  let k = 0;
  const commandsOf = (text: string): SimpleCommand[] => {
    const b = before?.[k++];
    return b && b.text === text ? b.commands : splitCommands(text);
  };
  const out: RunScript[] = [];
  const cmd = ins.command;
  if (cmd && cmd.words.length) {
    if (cmd.json) {
      // exec form: ["sh", "-c", "script"] is a script; otherwise one command
      const vals = cmd.words.map((w) => w.value);
      const c = vals.indexOf('-c');
      if (c >= 1 && /(^|\/)(ba|da|a)?sh$/.test(vals[0]!) && vals[c + 1] !== undefined) {
        const text = vals[c + 1]!;
        out.push({ text, token: undefined, commands: commandsOf(text), anchor: ins.range, named: undefined });
      } else {
        const text = vals.join(' ');
        out.push({ text, token: undefined, commands: [{ words: vals.map((v, k) => ({ value: v, raw: v, start: k, end: k })), before: '', after: '', start: 0, end: 0 }], anchor: ins.range, named: undefined });
      }
    } else {
      const token = cmd.words[0]!;
      out.push({ text: token.value, token, commands: commandsOf(token.value), anchor: ins.range, named: undefined });
    }
  }
  for (const h of ins.heredocs) {
    out.push({ text: h.content, token: undefined, commands: commandsOf(h.content), anchor: h.bodyRange, named: undefined });
  }
  // (and their named commands, when their predecessor's were made)
  if (before) for (let i = 0; i < out.length; i++) if (before[i] && before[i]!.commands === out[i]!.commands) out[i]!.named = before[i]!.named;
  cache.set(ins, out);
  return out;
}

/** All simple commands of a RUN, with their script. */
export function runCommands(ins: Instruction): { cmd: SimpleCommand; script: RunScript }[] {
  const out: { cmd: SimpleCommand; script: RunScript }[] = [];
  for (const s of runScripts(ins)) for (const c of s.commands) out.push({ cmd: c, script: s });
  return out;
}

/** `^[A-Za-z_][A-Za-z0-9_]*=`: a `VAR=x` assignment word. */
function isAssignment(v: string): boolean {
  const c0 = v.charCodeAt(0);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122) || c0 === 95)) return false;
  for (let i = 1; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 61) return true;
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return false;
}

/** The index of the word holding the command name (after `sudo`, `env X=1`, `VAR=x` prefixes and `exec`/`command`), or -1. */
export function commandNameIndex(cmd: SimpleCommand): number {
  let k = 0;
  const w = cmd.words;
  while (k < w.length) {
    const v = w[k]!.value;
    if (isAssignment(v)) k++;
    else if (v === 'sudo' || v === 'exec' || v === 'command' || v === 'nohup' || v === 'time') {
      k++;
      while (k < w.length && w[k]!.value.startsWith('-')) k++;
    } else if (v === 'env') {
      k++;
      while (k < w.length && (w[k]!.value.startsWith('-') || isAssignment(w[k]!.value))) k++;
    } else break;
  }
  return k < w.length ? k : -1;
}

/** A command word without its directory: what `v.replace(/^.*\//, '')` gives (`.` stops at line ends). */
export function baseName(v: string): string {
  let lim = v.length;
  for (let i = 0; i < lim; i++) {
    const c = v.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0x2028 || c === 0x2029) lim = i;
  }
  const slash = lim === 0 ? -1 : v.lastIndexOf('/', lim - 1);
  return slash < 0 ? v : v.slice(slash + 1);
}

/** The command name, skipping `sudo`, `env X=1`, `VAR=x` prefixes and `exec`/`command`. */
export function commandName(cmd: SimpleCommand): { name: string; index: number } | undefined {
  const k = commandNameIndex(cmd);
  if (k < 0) return undefined;
  return { name: baseName(cmd.words[k]!.value), index: k };
}

/** The first word that is not an option (`-x`, `--x`), if any. */
export function firstNonOption(args: readonly ShellWord[]): string | undefined {
  for (let i = 0; i < args.length; i++) if (!args[i]!.value.startsWith('-')) return args[i]!.value;
  return undefined;
}

/** The words after the command name, and the subcommand (first non-option word) if any. */
export function commandArgs(cmd: SimpleCommand): { name: string; args: ShellWord[]; sub?: string } | undefined {
  const cn = commandName(cmd);
  if (!cn) return undefined;
  const args = cmd.words.slice(cn.index + 1);
  const sub = firstNonOption(args);
  return sub === undefined ? { name: cn.name, args } : { name: cn.name, args, sub };
}

/** Document range of a word of a script (falls back to the script's anchor). */
export function wordRange(file: Dockerfile, script: RunScript, from: number, to: number): Range {
  if (script.token) return tokenSubRange(file, script.token, from, to) ?? script.anchor;
  return script.anchor;
}

/** A command's range in the document. */
export function commandRange(file: Dockerfile, script: RunScript, cmd: SimpleCommand): Range {
  return wordRange(file, script, cmd.start, cmd.end);
}

export function hasOption(args: ShellWord[], ...names: string[]): boolean {
  for (const a of args) {
    const v = a.value;
    for (const n of names) {
      if (n.startsWith('--')) {
        if (v === n || v.startsWith(n + '=')) return true;
      } else if (n.startsWith('-') && n.length === 2) {
        // short option, possibly combined (-qy)
        if (v === n || (/^-[A-Za-z]+$/.test(v) && v.includes(n[1]!))) return true;
      } else if (v === n) return true;
    }
  }
  return false;
}
