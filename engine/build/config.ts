/**
 * The image config as a build changes it, instruction by instruction, with the history entries BuildKit writes
 * (`created_by`, `empty_layer`, comment `buildkit.dockerfile.v0`).
 */
import type { Expanded } from '../dockerfile/scope';
import { parseGoDuration } from '../dockerfile/instructions';
import type { Instruction } from '../dockerfile/types';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../image/types';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
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
    : { architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [] }, config: {} };
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
  return `map[${ports.map((p) => `${p}:{}`).join(' ')}]`;
}

function jsonish(args: string[]): string {
  return '[' + args.map((a) => JSON.stringify(a)).join(' ') + ']';
}

/** BuildKit's form of a command for CMD/ENTRYPOINT history and config: exec form as is, shell form wrapped. */
export function commandArgs(ins: Instruction, shell: string[]): string[] {
  const words = ins.command?.words.map((w) => w.value) ?? [];
  return ins.command?.json ? words : [...shell, words.join(' ')];
}

function nanos(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = parseGoDuration(v);
  return ms === undefined ? undefined : Math.round(ms * 1e6);
}

/**
 * Applies a metadata instruction (ENV, LABEL, EXPOSE, USER, VOLUME, CMD, ENTRYPOINT, HEALTHCHECK, STOPSIGNAL,
 * SHELL, ONBUILD, MAINTAINER, ARG, WORKDIR's config part) to the stage config; returns the history text.
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
      return 'LABEL ' + ex.pairs.map((p) => `${p.key}=${p.value}`).join(' ');
    case 'EXPOSE': {
      c.ExposedPorts ??= {};
      const ports: string[] = [];
      for (const w of ex.words) {
        const [port, proto] = w.value.split('/');
        const key = `${port}/${(proto ?? 'tcp').toLowerCase()}`;
        c.ExposedPorts[key] = {};
        ports.push(key);
      }
      return 'EXPOSE ' + goMapPorts(ports);
    }
    case 'USER':
      c.User = ex.words[0]?.value ?? '';
      return 'USER ' + c.User;
    case 'VOLUME':
      c.Volumes ??= {};
      for (const w of ex.words) if (w.value) c.Volumes[w.value] = {};
      return 'VOLUME ' + '[' + ex.words.map((w) => w.value).join(' ') + ']';
    case 'CMD':
      c.Cmd = commandArgs(ins, shell);
      st.cmdSet = true;
      return 'CMD ' + jsonish(c.Cmd);
    case 'ENTRYPOINT':
      c.Entrypoint = commandArgs(ins, shell);
      if (!st.cmdSet) c.Cmd = null;
      return 'ENTRYPOINT ' + jsonish(c.Entrypoint);
    case 'STOPSIGNAL':
      c.StopSignal = ex.words[0]?.value ?? '';
      return 'STOPSIGNAL ' + c.StopSignal;
    case 'SHELL':
      c.Shell = ins.command?.words.map((w) => w.value) ?? [];
      return 'SHELL ' + jsonish(c.Shell);
    case 'ONBUILD': {
      const expr = ins.logical.replace(/^\s*ONBUILD\s*/i, '');
      const full = ins.heredocs.length ? expr + ins.heredocs.map((h) => '\n' + h.content + h.name).join('') : expr;
      c.OnBuild = [...(c.OnBuild ?? []), full];
      return 'ONBUILD ' + full;
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
        if (rt) hc.Retries = Number.parseInt(rt, 10);
        c.Healthcheck = hc;
      }
      return 'HEALTHCHECK ' + JSON.stringify(c.Healthcheck);
    }
    case 'ARG':
      return 'ARG ' + (ins.argDeclarations ?? []).map((d) => d.name.value + (d.defaultValue ? '=' + d.defaultValue.value : '')).join(' ');
    default:
      return ins.keyword + ' ' + (ins.argsToken?.value ?? '');
  }
}

export function historyEntry(createdBy: string, created: string, emptyLayer: boolean): HistoryEntry {
  const h: HistoryEntry = { created, created_by: createdBy, comment: HISTORY_COMMENT };
  if (emptyLayer) h.empty_layer = true;
  return h;
}
