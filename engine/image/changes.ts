/**
 * `docker import -c` / `docker commit -c` changes: Dockerfile instructions applied to an image config. The text
 * is parsed by engine/dockerfile (the one parser); only the instructions Docker allows here are accepted:
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import { parse } from '../dockerfile';
import { envFromRecord, expandWord } from '../dockerfile/shell';
import type { Instruction } from '../dockerfile/types';
import { LayerwiseError } from '../errors';
import type { ContainerConfig } from './types';
import { sortedMap } from './sorted-map';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

function bad(msg: string): LayerwiseError {
  return new LayerwiseError('invalid', msg);
}

function expand(word: string, env: string[]): string {
  const r = expandWord(word, envFromRecord(env));
  if (!r.ok) throw bad(r.error);
  return r.value;
}

function commandOf(ins: Instruction, shell: string[]): string[] {
  const c = ins.command;
  if (!c) return [];
  const words = c.words.map((w) => w.value);
  return c.json ? words : [...shell, words.join(' ')];
}

/** Apply one change line to `cfg` (in place). */
export function applyChange(cfg: ContainerConfig, change: string): void {
  // parsed as the one instruction of a stage, as Docker's BuildFromConfig does
  const df = parse(`FROM scratch\n${change}\n`);
  if (df.instructions.length !== 2) throw bad(`invalid change ${JSON.stringify(change)}: expected one instruction`);
  const ins = df.instructions[1]!;
  const errors = ins.problems.filter((p) => p.severity === 'error');
  if (!ALLOWED.has(ins.keyword)) throw bad(`${ins.keywordToken.value} is not a valid change command`); // as written, as Docker says it
  if (errors.length) throw bad(`invalid change ${JSON.stringify(change)}: ${errors[0]!.message}`);
  const env = cfg.Env ?? [];
  const shell = cfg.Shell ?? ['/bin/sh', '-c'];
  const words = () => ins.args.map((a) => expand(a.value, env));
  switch (ins.keyword) {
    case 'CMD':
      cfg.Cmd = commandOf(ins, shell);
      break;
    case 'ENTRYPOINT':
      cfg.Entrypoint = commandOf(ins, shell);
      break;
    case 'ENV': {
      const next = [...env];
      for (const kv of ins.pairs ?? []) {
        const k = kv.key.value;
        const v = expand(kv.value.value, next);
        const i = next.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) next[i] = `${k}=${v}`;
        else next.push(`${k}=${v}`);
      }
      cfg.Env = next;
      break;
    }
    case 'LABEL': {
      const labels = { ...(cfg.Labels ?? {}) };
      for (const kv of ins.pairs ?? []) labels[expand(kv.key.value, env)] = expand(kv.value.value, env);
      cfg.Labels = sortedMap(labels);
      break;
    }
    case 'EXPOSE': {
      const ports = { ...(cfg.ExposedPorts ?? {}) };
      for (const p of words()) ports[p.includes('/') ? p : `${p}/tcp`] = {};
      cfg.ExposedPorts = sortedMap(ports);
      break;
    }
    case 'VOLUME': {
      const vols = { ...(cfg.Volumes ?? {}) };
      const list = ins.json ? ins.args.map((a) => a.value) : words();
      for (const v of list) vols[v] = {};
      cfg.Volumes = sortedMap(vols);
      break;
    }
    case 'USER':
      cfg.User = words().join(' ');
      break;
    case 'WORKDIR': {
      const w = words().join(' ');
      cfg.WorkingDir = w.startsWith('/') ? w : `${cfg.WorkingDir ?? '/'}${(cfg.WorkingDir ?? '/').endsWith('/') ? '' : '/'}${w}`;
      break;
    }
    case 'STOPSIGNAL':
      cfg.StopSignal = words().join(' ');
      break;
    case 'ONBUILD':
      cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.logical.replace(/^\s*onbuild\s+/i, '')];
      break;
  }
}

export function applyChanges(cfg: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const out: ContainerConfig = JSON.parse(JSON.stringify(cfg)) as ContainerConfig;
  for (const c of changes) applyChange(out, c);
  return out;
}
