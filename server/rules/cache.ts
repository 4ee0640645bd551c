/**
 * Section D: cache-order hints (our own rules). Docker reuses a layer only while every instruction above it
 * is unchanged, so what changes least goes first. Each hint comes with a reorder fix where one is safe.
 */
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { deleteInstructionEdit, instructionText, insertLinesBefore } from './fixes';
import { commandsNamed, commandsOfRun, prependToRun, type RunCommand } from './runHelpers';
import { hasOption } from './shell';
import { rule, type Fix, type Rule, type RuleContext } from './types';
import { eolOf, pos, stageInstructionsOf, stageInstructionsOfAny } from './util';

const BROAD_SOURCES = new Set(['.', './', '*', './*', '/', '.*']);

/** A COPY/ADD of the whole context (or most of it). */
export function isBroadCopy(ins: Instruction): boolean {
  if ((ins.keyword !== 'COPY' && ins.keyword !== 'ADD') || !ins.copy) return false;
  for (let i = 0; i < ins.flags.length; i++) if (ins.flags[i]!.name === 'from') return false;
  const sources = ins.copy.sources;
  for (let i = 0; i < sources.length; i++) if (BROAD_SOURCES.has(sources[i]!.value)) return true;
  return false;
}

export interface Installer {
  tool: string;
  /** the manifest files the install reads (first is the essential one) */
  manifests: string[];
  /** can the install run with only the manifests? */
  manifestOnly: boolean;
}

/** Which dependency install a command is, if any. */
export function installerOf(c: RunCommand): Installer | undefined {
  const a = c.args.map((w) => w.value);
  switch (c.name) {
    case 'npm':
      if (c.sub === 'ci' || ((c.sub === 'install' || c.sub === 'i') && a.filter((v) => !v.startsWith('-')).length === 1))
        return { tool: 'npm', manifests: ['package.json', 'package-lock.json'], manifestOnly: true };
      return undefined;
    case 'yarn':
      if (c.sub === undefined || c.sub === 'install') return { tool: 'yarn', manifests: ['package.json', 'yarn.lock'], manifestOnly: true };
      return undefined;
    case 'pnpm':
      if (c.sub === 'install' || c.sub === 'i') return { tool: 'pnpm', manifests: ['package.json', 'pnpm-lock.yaml'], manifestOnly: true };
      return undefined;
    case 'pip':
    case 'pip3': {
      if (c.sub !== 'install') return undefined;
      const k = a.findIndex((v) => v === '-r' || v === '--requirement');
      const eq = a.find((v) => v.startsWith('--requirement='));
      const file = k >= 0 ? a[k + 1] : eq?.slice('--requirement='.length);
      if (file && !file.includes('$')) return { tool: 'pip', manifests: [file], manifestOnly: true };
      return undefined;
    }
    case 'poetry':
      if (c.sub === 'install') return { tool: 'poetry', manifests: ['pyproject.toml', 'poetry.lock'], manifestOnly: hasOption(c.args, '--no-root') };
      return undefined;
    case 'pipenv':
      if (c.sub === 'install' || c.sub === 'sync') return { tool: 'pipenv', manifests: ['Pipfile', 'Pipfile.lock'], manifestOnly: true };
      return undefined;
    case 'uv':
      if (c.sub === 'sync') return { tool: 'uv', manifests: ['pyproject.toml', 'uv.lock'], manifestOnly: hasOption(c.args, '--no-install-project') };
      return undefined;
    case 'go':
      if (c.sub === 'mod' && a.includes('download')) return { tool: 'go', manifests: ['go.mod', 'go.sum'], manifestOnly: true };
      return undefined;
    case 'cargo':
      if (c.sub === 'fetch') return { tool: 'cargo', manifests: ['Cargo.toml', 'Cargo.lock'], manifestOnly: true };
      return undefined;
    case 'bundle':
    case 'bundler':
      if (c.sub === undefined || c.sub === 'install') return { tool: 'bundler', manifests: ['Gemfile', 'Gemfile.lock'], manifestOnly: true };
      return undefined;
    case 'mvn':
    case 'mvnw':
      if (a.some((v) => /^dependency:(go-offline|resolve)/.test(v))) return { tool: 'maven', manifests: ['pom.xml'], manifestOnly: true };
      return undefined;
    case 'composer':
      if (c.sub === 'install') return { tool: 'composer', manifests: ['composer.json', 'composer.lock'], manifestOnly: hasOption(c.args, '--no-autoloader', '--no-scripts') };
      return undefined;
    default:
      return undefined;
  }
}

function manifestsToCopy(ctx: RuleContext, inst: Installer): string[] {
  const view = ctx.context;
  if (!view) return inst.manifests;
  const present = inst.manifests.filter((m) => view.match(m).length > 0);
  return present.length ? present : inst.manifests.slice(0, 1);
}

const NEUTRAL = new Set(['ENV', 'ARG', 'LABEL', 'EXPOSE', 'STOPSIGNAL', 'HEALTHCHECK', 'CMD', 'ENTRYPOINT', 'VOLUME', 'MAINTAINER']);

/** Instructions between two that a reorder may safely jump over. */
function neutral(ins: Instruction): boolean {
  return NEUTRAL.has(ins.keyword);
}

const copyAllBeforeInstall = rule({
  id: 'CopyAllBeforeInstall',
  group: 'cache',
  severity: 'warning',
  description: 'Copy only the dependency manifests before installing dependencies, then copy the rest.',
  check(ctx) {
    // the COPY/ADD instructions of each stage, in order (each body below is one place `i` in its stage)
    for (const { stage: st, pos: i } of stageInstructionsOfAny(ctx.file, ['COPY', 'ADD'])) {
      const list = st.instructions;
      {
        const copy = list[i]!;
        if (!isBroadCopy(copy)) continue;
        for (let j = i + 1; j < list.length; j++) {
          const run = list[j]!;
          if (run.keyword !== 'RUN') continue;
          const cmd = commandsOfRun(ctx.file, run).find((c) => installerOf(c));
          if (!cmd) continue;
          const inst = installerOf(cmd)!;
          const manifests = manifestsToCopy(ctx, inst);
          const fixes: Fix[] = [];
          const between = list.slice(i + 1, j);
          if (inst.manifestOnly && between.every(neutral) && copy.copy?.dest) {
            const dest = copy.copy.dest.value === '.' ? './' : copy.copy.dest.value;
            const kw = copy.keywordToken.value === copy.keywordToken.value.toLowerCase() ? 'copy' : 'COPY';
            const flags = copy.flags.map((f) => f.raw).join(' ');
            const copyLine = `${kw} ${flags ? flags + ' ' : ''}${manifests.join(' ')} ${dest}`;
            fixes.push({
              title: `Copy ${manifests.join(', ')} first, install, then copy the rest`,
              edits: [insertLinesBefore(ctx.file, copy, [copyLine, instructionText(ctx.file, run)]), deleteInstructionEdit(ctx.file, run)],
              preferred: true,
            });
          }
          ctx.report({
            range: copy.range,
            message: `${copy.keyword} of the whole context before \`${cmd.name}${cmd.sub ? ' ' + cmd.sub : ''}\` (line ${run.startLine + 1}): any source change re-runs the install. Copy ${manifests.join(', ')} first, install, then copy the rest`,
            fixes,
          });
          break;
        }
      }
    }
  },
});

function isAptUpdate(c: RunCommand): boolean {
  return (c.name === 'apt-get' || c.name === 'apt') && c.sub === 'update';
}
function isAptInstall(c: RunCommand): boolean {
  return (c.name === 'apt-get' || c.name === 'apt') && (c.sub === 'install' || c.sub === 'upgrade' || c.sub === 'dist-upgrade');
}

const aptUpdateSeparate = rule({
  id: 'AptUpdateSeparate',
  scope: 'stage',
  group: 'cache',
  severity: 'warning',
  description: '`apt-get update` in a RUN of its own goes stale in the cache: run it in the same RUN as `apt-get install`.',
  check(ctx) {
    // the RUNs with an `apt-get update` (the commands come in file order: a RUN's are together)
    let last: Instruction | undefined;
    for (const c of commandsNamed(ctx.file, ['apt-get', 'apt'], ['update'])) {
      if (c.ins === last) continue;
      last = c.ins;
      const { stage: st, ins } = c;
      {
        const cmds = commandsOfRun(ctx.file, ins);
        if (cmds.some(isAptInstall)) continue;
        const i = st.instructions.indexOf(ins);
        const later = st.instructions.slice(i + 1).find((x) => x.keyword === 'RUN' && commandsOfRun(ctx.file, x).some(isAptInstall));
        if (!later) continue;
        const fixes: Fix[] = [];
        const onlyUpdate = cmds.every(isAptUpdate);
        const pre = prependToRun(later, 'apt-get update && ');
        if (onlyUpdate && pre && ins.flags.length === 0) {
          fixes.push({ title: `Merge into the apt-get install RUN (line ${later.startLine + 1})`, edits: [deleteInstructionEdit(ctx.file, ins), pre], preferred: true });
        }
        ctx.report({
          range: ins.range,
          message: `\`apt-get update\` runs apart from \`apt-get install\` (line ${later.startLine + 1}): the cached update goes stale and installs fail or get old packages. Update and install in one RUN`,
          fixes,
        });
      }
    }
  },
});

const VOLATILE_NAME = /(^|_)(BUILD|BUILD_ID|BUILD_NUMBER|BUILD_DATE|BUILDTIME|BUILD_TIME|DATE|TIME|TIMESTAMP|COMMIT|COMMIT_SHA|SHA|GIT_SHA|GIT_COMMIT|GIT_REF|REVISION|REV|VCS_REF|VERSION|RELEASE|CI_PIPELINE_ID|CI_JOB_ID|RUN_NUMBER|RUN_ID)($|_)/i;

export function isVolatileName(name: string): boolean {
  return VOLATILE_NAME.test(name);
}

const WORD = /^[A-Za-z0-9_]+$/;

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** `/\$\{?NAME(?![A-Za-z0-9_])/.test(text)` for a NAME of word characters, without a regular expression. */
function refersTo(text: string, name: string): boolean {
  for (let i = text.indexOf('$'); i !== -1; i = text.indexOf('$', i + 1)) {
    for (const at of text.charCodeAt(i + 1) === 0x7b ? [i + 2, i + 1] : [i + 1]) {
      if (text.startsWith(name, at) && !isWordChar(text.charCodeAt(at + name.length))) return true;
    }
  }
  return false;
}

function usesVar(ins: Instruction, name: string): boolean {
  if (!ins.logical.includes(name) && !ins.heredocs.some((h) => h.content.includes(name))) return false;
  if (WORD.test(name)) return refersTo(ins.logical, name) || ins.heredocs.some((h) => refersTo(h.content, name));
  // any other name is read as a pattern, as it always was
  const re = new RegExp(`\\$\\{?${name}(?![A-Za-z0-9_])`);
  return re.test(ins.logical) || ins.heredocs.some((h) => re.test(h.content));
}

const EXPENSIVE = new Set(['RUN', 'COPY', 'ADD']);

function moveBeforeFix(file: Dockerfile, ins: Instruction, target: Instruction | undefined, st: Stage, what: string): Fix {
  if (target) {
    return { title: `Move ${what} down to line ${target.startLine + 1}, where it is first used`, edits: [insertLinesBefore(file, target, [instructionText(file, ins)]), deleteInstructionEdit(file, ins)], preferred: true };
  }
  // to the end of the stage
  const last = st.instructions[st.instructions.length - 1] ?? st.from;
  const eol = eolOf(file);
  const after = last.endLine + 1;
  const atEof = after >= file.lineStarts.length;
  const insertAt = atEof ? { line: last.endLine, character: file.text.length - file.lineStarts[last.endLine]! } : pos(after, 0);
  const text = atEof ? eol + instructionText(file, ins) : instructionText(file, ins) + eol;
  return { title: `Move ${what} to the end of the stage`, edits: [{ range: { start: insertAt, end: insertAt }, newText: text }, deleteInstructionEdit(file, ins)], preferred: true };
}

const volatileArgEarly = rule({
  id: 'VolatileArgEarly',
  scope: 'stage',
  group: 'cache',
  severity: 'info',
  description: 'An ARG/ENV whose value changes per build (version, date, commit) declared before RUNs that do not use it: move it down to its first use.',
  check(ctx) {
    for (const { stage: st, ins, pos: i } of stageInstructionsOfAny(ctx.file, ['ARG', 'ENV'])) {
      const list = st.instructions;
      {
        const names = ins.keyword === 'ARG' ? (ins.argDeclarations ?? []).map((d) => d.name) : (ins.pairs ?? []).map((p) => p.key);
        for (const name of names) {
          if (!isVolatileName(name.value)) continue;
          // the first instruction below that uses it, and the RUNs before that one
          let use = -1;
          for (let j = i + 1; j < list.length; j++) {
            if (usesVar(list[j]!, name.value)) {
              use = j;
              break;
            }
          }
          if (use < 0) continue;
          const firstUse = list[use]!;
          let skipped = 0;
          for (let j = i + 1; j < use; j++) if (list[j]!.keyword === 'RUN') skipped++;
          if (skipped === 0) continue;
          const fixes = names.length === 1 ? [moveBeforeFix(ctx.file, ins, firstUse, st, ins.keyword)] : [];
          ctx.report({
            range: name.range,
            instruction: ins,
            message: `${ins.keyword} ${name.value} looks like it changes per build; declared here, every change re-runs the ${skipped} RUN instruction${skipped > 1 ? 's' : ''} below it that do not use it. Declare it just before line ${firstUse.startLine + 1}`,
            fixes,
          });
        }
      }
    }
  },
});

const VOLATILE_VALUE = /\b\d{4}-\d{2}-\d{2}\b|^[0-9a-f]{7,40}$|\$\{?[A-Za-z0-9_]*(BUILD|DATE|TIME|COMMIT|SHA|REVISION|VCS_REF|GIT)[A-Za-z0-9_]*/i;

const volatileLabelEarly = rule({
  id: 'VolatileLabelEarly',
  scope: 'stage',
  group: 'cache',
  severity: 'info',
  description: 'LABEL with per-build values (dates, commit ids) early in a stage: put it at the end.',
  check(ctx) {
    for (const { stage: st, ins, pos: i } of stageInstructionsOf(ctx.file, 'LABEL')) {
      const list = st.instructions;
      {
        const pair = (ins.pairs ?? []).find((p) => VOLATILE_VALUE.test(p.value.value.replace(/^"|"$/g, '')));
        if (!pair) continue;
        const below = list.slice(i + 1).filter((x) => EXPENSIVE.has(x.keyword));
        if (below.length === 0) continue;
        ctx.report({
          range: ins.range,
          message: `LABEL ${pair.key.value} changes per build; ${below.length} RUN/COPY/ADD instruction${below.length > 1 ? 's' : ''} below it lose the cache when it does (the classic builder keys on it, and so does the ARG it reads). Move it to the end of the stage`,
          fixes: [moveBeforeFix(ctx.file, ins, undefined, st, 'LABEL')],
        });
      }
    }
  },
});

/** System package installs and tool downloads: they never read the build context. */
function contextFree(c: RunCommand): boolean {
  if (['apt-get', 'apt', 'apk', 'yum', 'dnf', 'microdnf', 'zypper'].includes(c.name)) return true;
  if (c.name === 'rm' || c.name === 'mkdir' || c.name === 'useradd' || c.name === 'groupadd' || c.name === 'adduser' || c.name === 'addgroup') return true;
  if (c.name === 'npm' && hasOption(c.args, '-g', '--global')) return true;
  return false;
}

const independentAfterVolatileCopy = rule({
  id: 'IndependentAfterVolatileCopy',
  scope: 'stage',
  group: 'cache',
  severity: 'info',
  description: 'A RUN that does not need the copied sources comes after a COPY of the whole context: move it above.',
  check(ctx) {
    // the first broad COPY/ADD of each stage
    let done: Stage | undefined;
    for (const { stage: st, ins: copy, pos: i } of stageInstructionsOfAny(ctx.file, ['COPY', 'ADD'])) {
      if (st === done || !isBroadCopy(copy)) continue;
      done = st;
      const list = st.instructions;
      for (let j = i + 1; j < list.length; j++) {
        const ins = list[j]!;
        if (ins.keyword === 'USER' || ins.keyword === 'WORKDIR') break;
        if (ins.keyword !== 'RUN' || ins.heredocs.length) continue;
        const cmds = commandsOfRun(ctx.file, ins);
        if (cmds.length === 0 || !cmds.every(contextFree)) continue;
        // it must not use variables declared between the COPY and it
        const declared = list.slice(i + 1, j).flatMap((x) => [...(x.argDeclarations ?? []).map((d) => d.name.value), ...(x.keyword === 'ENV' ? (x.pairs ?? []).map((p) => p.key.value) : [])]);
        if (declared.some((n) => usesVar(ins, n))) continue;
        ctx.report({
          range: ins.range,
          message: `This RUN does not use the files copied at line ${copy.startLine + 1}, but runs after them: every source change re-runs it. Move it above the ${copy.keyword}`,
          fixes: [{ title: `Move above the ${copy.keyword} at line ${copy.startLine + 1}`, edits: [insertLinesBefore(ctx.file, copy, [instructionText(ctx.file, ins)]), deleteInstructionEdit(ctx.file, ins)], preferred: true }],
        });
      }
    }
  },
});


export const cacheRules: Rule[] = [copyAllBeforeInstall, aptUpdateSeparate, volatileArgEarly, volatileLabelEarly, independentAfterVolatileCopy];
