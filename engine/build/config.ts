/**
 * The image config as a build changes it, instruction by instruction, with the history entries BuildKit writes
 * (`created_by`, `empty_layer`, comment `buildkit.dockerfile.v0`).
 */
import { LayerwiseError } from '../errors';
import { exposedPorts } from './ports';
import { sortedMap } from '../image/sorted-map';
import { parseSignal } from '../dockerfile/signals';
import type { Expanded } from '../dockerfile/scope';
import { parseGoDuration } from '../dockerfile/instructions';
import type { Instruction } from '../dockerfile/types';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../image/types';

import { DEFAULT_PATH } from '../dockerfile/scope';
export { DEFAULT_PATH };
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

export interface StageConfig {
  config: ImageConfig;
  /** CMD was set in this stage (ENTRYPOINT then keeps it) */
  cmdSet: boolean;
}

export function envGet(env: string[] | undefined, key: string): string | undefined {
  for (const e of env ?? []) if (e.startsWith(key + '=')) return e.slice(key.length + 1);
  return undefined;
}

export function envSet(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => !e.startsWith(key + '='));
  const i = env.findIndex((e) => e.startsWith(key + '='));
  if (i === -1) out.push(`${key}=${value}`);
  else out.splice(i, 0, `${key}=${value}`);
  return out;
}

export function shellOf(c: ContainerConfig | undefined): string[] {
  return c?.Shell?.length ? c.Shell : ['/bin/sh', '-c'];
}

/** A config for a stage that starts from `base` (undefined: scratch). OnBuild triggers are not inherited. */
export function startConfig(base: ImageConfig | undefined, platform: { os: string; architecture: string; variant?: string }): ImageConfig {
  const cfg: ImageConfig = base
    ? (JSON.parse(JSON.stringify(base)) as ImageConfig)
    : { architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [] }, config: { WorkingDir: '/' } }; // BuildKit's empty image
  if (!base && platform.variant) cfg.variant = platform.variant;
  cfg.config ??= {};
  cfg.history ??= [];
  const c = cfg.config;
  if (envGet(c.Env, 'PATH') === undefined) c.Env = [`PATH=${DEFAULT_PATH}`, ...(c.Env ?? [])];
  delete c.OnBuild;
  delete cfg.container_config;
  delete cfg.container;
  return cfg;
}

function goMapPorts(ports: string[]): string {
  return `map[${[...new Set(ports)].sort().map((p) => `${p}:{}`).join(' ')}]`;
}

function jsonish(args: string[]): string {
  return '[' + args.map((a) => JSON.stringify(a)).join(' ') + ']';
}

/** BuildKit's form of a command for CMD/ENTRYPOINT history and config: exec form as is, shell form wrapped. */
export function commandArgs(ins: Instruction, shell: string[]): string[] {
  const words = ins.command?.words.map((w) => w.value) ?? [];
  return ins.command?.json ? words : [...shell, words.join(' ')];
}

/** Go's time.Duration String(): 0s, 500ms, 5s, 1m30s, 1h0m0s. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e9) {
    const [unit, div] = n < 1e3 ? ['ns', 1] : n < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = `${trimFrac(n / div)}${unit}`;
  } else {
    const h = Math.floor(n / 3.6e12);
    n -= h * 3.6e12;
    const m = Math.floor(n / 6e10);
    n -= m * 6e10;
    const sec = `${trimFrac(n / 1e9)}s`;
    out = h ? `${h}h${m}m${sec}` : m ? `${m}m${sec}` : sec;
  }
  return (neg ? '-' : '') + out;
}

function trimFrac(v: number): string {
  return v.toFixed(9).replace(/\.?0+$/, '');
}

/** Go's %q of an int (a rune literal): '\x00', '\n', 'A'. */
function goRune(n: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 39: "\\'", 92: '\\\\' };
  if (named[n]) return `'${named[n]}'`;
  if (n >= 32 && n < 127) return `'${String.fromCharCode(n)}'`;
  if (n < 256) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCodePoint(n)}'`;
}

/** BuildKit's history text for HEALTHCHECK: Go's `%q` of the config struct pointer. */
function goHealthcheck(h: NonNullable<ContainerConfig['Healthcheck']>): string {
  const d = (v: number | undefined) => JSON.stringify(goDuration(v ?? 0));
  const test = '[' + (h.Test ?? []).map((t) => JSON.stringify(t)).join(' ') + ']';
  return `&{${test} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)} ${d(h.StartInterval)} ${goRune(h.Retries ?? 0)}}`;
}

function nanos(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = parseGoDuration(v);
  return ms === undefined ? undefined : Math.round(ms * 1e6);
}

/**
 * Applies a metadata instruction (ENV, LABEL, EXPOSE, USER, VOLUME, CMD, ENTRYPOINT, HEALTHCHECK, STOPSIGNAL,
 * SHELL, ONBUILD, MAINTAINER, ARG, WORKDIR's config part) to the stage config; returns the history text, or ''
 * when Docker writes no history entry for it (ONBUILD, HEALTHCHECK).
 */
export function applyMetadata(st: StageConfig, ins: Instruction, ex: Expanded): string {
  const cfg = st.config;
  const c = (cfg.config ??= {});
  const shell = shellOf(c);
  switch (ins.keyword) {
    case 'ENV': {
      let env = c.Env ?? [];
      for (const p of ex.pairs) env = envSet(env, p.key, p.value);
      c.Env = env;
      return 'ENV ' + ex.pairs.map((p) => `${p.key}=${p.value}`).join(' ');
    }
    case 'LABEL':
      c.Labels ??= {};
      for (const p of ex.pairs) c.Labels[p.key] = p.value;
      c.Labels = sortedMap(c.Labels);
      return 'LABEL ' + ex.pairs.map((p) => `${p.key}=${p.value}`).join(' ');
    case 'EXPOSE': {
      c.ExposedPorts ??= {};
      const ports: string[] = [];
      // every word is checked before any is exposed, as Docker parses them all first
      const keys = ex.words.flatMap((w) => exposedPorts(w.value));
      for (const key of keys) {
        c.ExposedPorts[key] = {};
        ports.push(key);
      }
      c.ExposedPorts = sortedMap(c.ExposedPorts);
      return 'EXPOSE ' + goMapPorts(ports);
    }
    case 'USER':
      c.User = ex.words[0]?.value ?? '';
      return 'USER ' + c.User;
    case 'VOLUME':
      c.Volumes ??= {};
      for (const w of ex.words) if (w.value) c.Volumes[w.value] = {};
      c.Volumes = sortedMap(c.Volumes);
      return 'VOLUME ' + '[' + ex.words.map((w) => w.value).join(' ') + ']';
    case 'CMD':
      c.Cmd = commandArgs(ins, shell);
      c.ArgsEscaped = true; // as BuildKit writes it on Linux (a deprecated Docker field, kept for compatibility)
      st.cmdSet = true;
      return 'CMD ' + jsonish(c.Cmd);
    case 'ENTRYPOINT':
      c.Entrypoint = commandArgs(ins, shell);
      c.ArgsEscaped = true;
      if (!st.cmdSet) c.Cmd = null;
      return 'ENTRYPOINT ' + jsonish(c.Entrypoint);
    case 'STOPSIGNAL': {
      const signal = ex.words[0]?.value ?? '';
      // checked as Docker parses it, kept as written
      if (parseSignal(signal) === undefined) throw new LayerwiseError('build', `invalid signal: ${signal}`);
      c.StopSignal = signal;
      return 'STOPSIGNAL ' + c.StopSignal;
    }
    case 'SHELL':
      c.Shell = ins.command?.words.map((w) => w.value) ?? [];
      return 'SHELL [' + c.Shell.join(' ') + ']'; // Go's %v of the slice
    case 'ONBUILD': {
      c.OnBuild = [...(c.OnBuild ?? []), onbuildTrigger(ins)];
      return ''; // Docker 26 (BuildKit 0.13) writes no history entry for ONBUILD
    }
    case 'MAINTAINER':
      cfg.author = ins.args[0]?.value ?? '';
      return 'MAINTAINER ' + cfg.author;
    case 'HEALTHCHECK': {
      const type = ins.healthcheckType?.value.toUpperCase();
      if (type === 'NONE') {
        c.Healthcheck = { Test: ['NONE'] };
      } else {
        const words = ins.command?.words.map((w) => w.value) ?? [];
        const hc: NonNullable<ContainerConfig['Healthcheck']> = { Test: ins.command?.json ? ['CMD', ...words] : ['CMD-SHELL', words.join(' ')] };
        const flag = (n: string): string | undefined => ins.flags.find((f) => f.name === n)?.value;
        const iv = nanos(flag('interval'));
        const to = nanos(flag('timeout'));
        const sp = nanos(flag('start-period'));
        const si = nanos(flag('start-interval'));
        const rt = flag('retries');
        if (iv) hc.Interval = iv;
        if (to) hc.Timeout = to;
        if (sp) hc.StartPeriod = sp;
        if (si) hc.StartInterval = si;
        // (0 is left out, as Go's omitempty writes it)
        const retries = rt ? Number.parseInt(rt, 10) : 0;
        if (retries) hc.Retries = retries;
        c.Healthcheck = hc;
      }
      return 'HEALTHCHECK ' + goHealthcheck(c.Healthcheck);
    }
    case 'ARG':
      return 'ARG ' + (ins.argDeclarations ?? []).map((d) => d.name.value + (d.defaultValue ? '=' + d.defaultValue.value : '')).join(' ');
    default:
      return ins.keyword + ' ' + (ins.argsToken?.value ?? '');
  }
}

/** The trigger an ONBUILD instruction records in the image config: the instruction after ONBUILD, heredocs
 *  included. */
export function onbuildTrigger(ins: Instruction): string {
  const expr = ins.logical.replace(/^\s*ONBUILD\s*/i, '');
  return ins.heredocs.length ? expr + ins.heredocs.map((h) => '\n' + h.content + h.name).join('') : expr;
}

export function historyEntry(createdBy: string, created: string, emptyLayer: boolean): HistoryEntry {
  const h: HistoryEntry = { created, created_by: createdBy, comment: HISTORY_COMMENT };
  if (emptyLayer) h.empty_layer = true;
  return h;
}
