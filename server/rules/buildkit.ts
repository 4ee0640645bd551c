/**
 * Section B: BuildKit's build checks, under BuildKit's names, so `# check=skip=<name>` means the same here as
 * in `docker build`. (InvalidBaseImagePlatform reads the local store's image config: storeRules.ts.)
 */
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { contextRules } from './contextRules';
import { rule, type Fix, type Rule } from './types';
import { variableRules } from './variables';
import { deleteInstructionEdit, execFormFix, quoteValue } from './fixes';
import { instructionsOf, isLower, isUpper, stageInstructionsOf, stageInstructionsOfAny } from './util';

const stageNameCasing = rule({
  id: 'StageNameCasing',
  group: 'buildkit',
  severity: 'warning',
  description: 'Stage names should be lowercase.',
  check(ctx) {
    for (const st of ctx.file.stages) {
      const t = st.nameToken;
      if (!t || isLower(t.value)) continue;
      const lower = t.value.toLowerCase();
      const edits = [{ range: t.range, newText: lower }];
      // references: FROM <name>, COPY --from=<name>, RUN --mount=from=<name>
      for (const ins of ctx.file.instructions) {
        if (ins.keyword === 'FROM' && ins.from?.image && ins.from.image.value.toLowerCase() === lower && ins.from.image.value !== lower)
          edits.push({ range: ins.from.image.range, newText: lower });
        for (const f of ins.flags) {
          if (f.name === 'from' && f.value && f.valueRange && f.value.toLowerCase() === lower && f.value !== lower)
            edits.push({ range: f.valueRange, newText: lower });
        }
      }
      ctx.report({
        range: t.range,
        message: `Stage name '${t.value}' should be lowercase`,
        fixes: [{ title: `Rename stage to '${lower}'`, edits, preferred: true }],
      });
    }
  },
});

const fromAsCasing = rule({
  id: 'FromAsCasing',
  group: 'buildkit',
  severity: 'warning',
  description: "The 'as' keyword should match the case of the 'from' keyword.",
  check(ctx) {
    for (const st of ctx.file.stages) {
      const as = st.from.from?.asKeyword;
      const from = st.from.keywordToken.value;
      if (!as) continue;
      let want: string | undefined;
      if (isUpper(from) && !isUpper(as.value)) want = 'AS';
      else if (isLower(from) && !isLower(as.value)) want = 'as';
      if (!want) continue;
      ctx.report({
        range: as.range,
        message: `'${as.value}' and '${from}' keywords' casing do not match`,
        fixes: [{ title: `Change to '${want}'`, edits: [{ range: as.range, newText: want }], preferred: true }],
      });
    }
  },
});

const noEmptyContinuation = rule({
  id: 'NoEmptyContinuation',
  group: 'buildkit',
  severity: 'warning',
  description: 'Empty continuation lines will become errors in a future release.',
  check(ctx) {
    for (const p of ctx.file.problems) {
      if (p.code !== 'NoEmptyContinuation') continue;
      ctx.report({ range: p.range, message: p.message });
    }
  },
});

const consistentInstructionCasing = rule({
  id: 'ConsistentInstructionCasing',
  group: 'buildkit',
  severity: 'warning',
  description: 'All instructions should use the same casing (upper or lower).',
  check(ctx) {
    // the known instructions and their known ONBUILD triggers, in order
    const list = ctx.file.instructions;
    let known = 0;
    let upper = 0;
    let lower = 0;
    const count = (ins: Instruction): void => {
      known++;
      const w = ins.keywordToken.value;
      if (isUpper(w)) upper++;
      else if (isLower(w)) lower++;
    };
    for (let i = 0; i < list.length; i++) {
      const ins = list[i]!;
      if (!ins.known) continue;
      count(ins);
      if (ins.trigger && ins.trigger.known) count(ins.trigger);
    }
    const wantUpper = upper >= lower;
    // all of them in the majority casing: nothing to report
    if ((wantUpper ? upper : lower) === known) return;
    const all: Instruction[] = [];
    for (const ins of list) {
      if (!ins.known) continue;
      all.push(ins);
      if (ins.trigger && ins.trigger.known) all.push(ins.trigger);
    }
    for (const ins of all) {
      const w = ins.keywordToken.value;
      if (wantUpper ? isUpper(w) : isLower(w)) continue;
      const want = wantUpper ? w.toUpperCase() : w.toLowerCase();
      ctx.report({
        range: ins.keywordToken.range,
        instruction: ins,
        message: `Command '${w}' should match the case of the command majority (${wantUpper ? 'uppercase' : 'lowercase'})`,
        fixes: [{ title: `Change to '${want}'`, edits: [{ range: ins.keywordToken.range, newText: want }], preferred: true }],
      });
    }
  },
});

const duplicateStageName = rule({
  id: 'DuplicateStageName',
  group: 'buildkit',
  severity: 'error',
  description: 'Stage names should be unique.',
  check(ctx) {
    const seen = new Set<string>();
    for (const st of ctx.file.stages) {
      if (!st.name || !st.nameToken) continue;
      if (seen.has(st.name)) ctx.report({ range: st.nameToken.range, message: `Duplicate stage name '${st.nameToken.value}', stage names should be unique` });
      seen.add(st.name);
    }
  },
});

const reservedStageName = rule({
  id: 'ReservedStageName',
  group: 'buildkit',
  severity: 'error',
  description: 'Reserved words (`scratch`, `context`) should not be used as stage names.',
  check(ctx) {
    for (const st of ctx.file.stages) {
      if (st.nameToken && (st.name === 'scratch' || st.name === 'context'))
        ctx.report({ range: st.nameToken.range, message: `'${st.nameToken.value}' is reserved and should not be used as a stage name` });
    }
  },
});

/** Does the stage (or a stage it builds on) set SHELL before `ins`? */
function shellSetBefore(file: Dockerfile, st: Stage, ins: Instruction): boolean {
  for (const i of st.instructions) {
    if (i === ins) break;
    if (i.keyword === 'SHELL') return true;
  }
  if (st.base.kind === 'stage') {
    const parent = file.stages[st.base.stage];
    if (parent && parent !== st) return parent.instructions.some((i) => i.keyword === 'SHELL');
  }
  return false;
}

const jsonArgsRecommended = rule({
  id: 'JSONArgsRecommended',
  group: 'buildkit',
  severity: 'warning',
  description: 'Use JSON (exec) form for CMD and ENTRYPOINT so the process gets OS signals.',
  aliases: ['DL3025'],
  check(ctx) {
    for (const { stage: st, ins } of stageInstructionsOfAny(ctx.file, ['CMD', 'ENTRYPOINT'])) {
      if (!ins.command || ins.command.json || ins.command.words.length === 0) continue;
      if (shellSetBefore(ctx.file, st, ins)) continue;
      const fix = execFormFix(ctx.file, ins);
      ctx.report({
        range: ins.range,
        message: `JSON arguments recommended for ${ins.keyword} to prevent unintended behavior related to OS signals`,
        ...(fix ? { fixes: [fix] } : {}),
      });
    }
  },
});

const maintainerDeprecated = rule({
  id: 'MaintainerDeprecated',
  scope: 'instruction',
  group: 'buildkit',
  severity: 'warning',
  description: 'MAINTAINER is deprecated: use `LABEL org.opencontainers.image.authors=...`.',
  tags: ['deprecated'],
  aliases: ['DL4000'],
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'MAINTAINER')) {
      const who = ins.argsToken?.value ?? '';
      const label = ins.keywordToken.value === 'maintainer' ? 'label' : 'LABEL';
      const fixes: Fix[] = [
        {
          title: 'Replace with LABEL org.opencontainers.image.authors',
          edits: [{ range: ins.range, newText: `${label} org.opencontainers.image.authors=${quoteValue(who)}` }],
          preferred: true,
        },
      ];
      ctx.report({ range: ins.range, message: 'Maintainer instruction is deprecated in favor of using label', fixes });
    }
  },
});

const workdirRelativePath = rule({
  id: 'WorkdirRelativePath',
  group: 'buildkit',
  severity: 'warning',
  description: 'A relative WORKDIR with no absolute WORKDIR before it depends on the base image.',
  aliases: ['DL3000'],
  check(ctx) {
    const setIn = new Map<number, boolean>();
    const workdirs = stageInstructionsOf(ctx.file, 'WORKDIR');
    let w = 0;
    for (const st of ctx.file.stages) {
      let set = st.base.kind === 'stage' ? setIn.get(st.base.stage) ?? false : false;
      // this stage's WORKDIRs (the list is in stage order)
      for (; w < workdirs.length && workdirs[w]!.stage === st; w++) {
        const ins = workdirs[w]!.ins;
        const p = ins.args[0];
        if (!set && p && !p.value.startsWith('/') && !p.value.startsWith('$') && !/^[A-Za-z]:[\\/]/.test(p.value)) {
          ctx.report({ range: p.range, message: `Relative workdir "${p.value}" can have unexpected results if the base image changes` });
        }
        set = true;
      }
      setIn.set(st.index, set);
    }
  },
});

const multipleInstructionsDisallowed = rule({
  id: 'MultipleInstructionsDisallowed',
  scope: 'stage',
  group: 'buildkit',
  severity: 'warning',
  description: 'Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect.',
  tags: ['unnecessary'],
  aliases: ['DL4003', 'DL4004', 'DL3012'],
  check(ctx) {
    // per keyword, the stage's instructions but its last
    const byStage = new Map<Stage, Map<string, Instruction[]>>();
    for (const kw of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK']) {
      const l = stageInstructionsOf(ctx.file, kw);
      for (let i = 0; i + 1 < l.length; i++) {
        if (l[i + 1]!.stage !== l[i]!.stage) continue;
        let m = byStage.get(l[i]!.stage);
        if (!m) byStage.set(l[i]!.stage, (m = new Map()));
        const x = m.get(kw);
        if (x) x.push(l[i]!.ins);
        else m.set(kw, [l[i]!.ins]);
      }
    }
    if (byStage.size === 0) return;
    for (const st of ctx.file.stages) {
      const m = byStage.get(st);
      if (!m) continue;
      for (const kw of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK']) {
        for (const ins of m.get(kw) ?? []) {
          ctx.report({
            range: ins.range,
            message: `Multiple ${kw} instructions should not be used in the same stage because only the last one will be used`,
            fixes: [{ title: `Remove this ${kw}`, edits: [deleteInstructionEdit(ctx.file, ins)] }],
          });
        }
      }
    }
  },
});

const legacyKeyValueFormat = rule({
  id: 'LegacyKeyValueFormat',
  scope: 'instruction',
  group: 'buildkit',
  severity: 'warning',
  description: '`ENV key value` / `LABEL key value`: use `key=value`.',
  check(ctx) {
    for (const kw of ['ENV', 'LABEL']) for (const ins of instructionsOf(ctx.file, kw)) {
      const pairs = ins.pairs ?? [];
      let legacy = false;
      for (let i = 0; i < pairs.length; i++) if (pairs[i]!.legacy) legacy = true;
      if (!legacy) continue;
      const p = pairs[0]!;
      const newText = `${p.key.value}=${quoteValue(p.value.value)}`;
      ctx.report({
        range: ins.range,
        message: `"${ins.keyword} key=value" should be used instead of legacy "${ins.keyword} key value" format`,
        fixes: [{ title: `Change to ${ins.keyword} ${newText}`, edits: [{ range: { start: p.key.range.start, end: p.value.range.end }, newText }], preferred: true }],
      });
    }
  },
});

const redundantTargetPlatform = rule({
  id: 'RedundantTargetPlatform',
  group: 'buildkit',
  severity: 'warning',
  description: 'FROM --platform=$TARGETPLATFORM is the default and can go.',
  tags: ['unnecessary'],
  check(ctx) {
    for (const st of ctx.file.stages) {
      const f = st.from.flags.find((x) => x.name === 'platform');
      if (!f?.value || !/^\$\{?TARGETPLATFORM\}?$/.test(f.value)) continue;
      const edit = { range: { start: f.range.start, end: nextNonSpace(ctx.file, f.range.end) }, newText: '' };
      ctx.report({
        range: f.range,
        message: `Setting platform to predefined ${f.value} in FROM is redundant as this is the default behavior`,
        fixes: [{ title: 'Remove the --platform flag', edits: [edit], preferred: true }],
      });
    }
  },
});

function nextNonSpace(file: Dockerfile, p: { line: number; character: number }): { line: number; character: number } {
  const ls = file.lineStarts[p.line]!;
  let c = p.character;
  while (file.text[ls + c] === ' ' || file.text[ls + c] === '\t') c++;
  return { line: p.line, character: c };
}

const SECRET = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW = /(?:_|^)(?:public|file|version)(?:_|$)/i;

export function looksSecret(name: string): boolean {
  return SECRET.test(name) && !SECRET_ALLOW.test(name);
}

const secretsUsedInArgOrEnv = rule({
  id: 'SecretsUsedInArgOrEnv',
  scope: 'instruction',
  group: 'buildkit',
  severity: 'warning',
  description: 'Secrets in ARG or ENV end up in the image metadata: use `RUN --mount=type=secret`.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'ARG')) {
      for (const d of ins.argDeclarations ?? [])
        if (looksSecret(d.name.value)) ctx.report({ range: d.name.range, message: `Do not use ARG or ENV instructions for sensitive data (ARG "${d.name.value}")` });
    }
    for (const ins of instructionsOf(ctx.file, 'ENV')) {
      for (const kv of ins.pairs ?? [])
        if (looksSecret(kv.key.value)) ctx.report({ range: kv.key.range, message: `Do not use ARG or ENV instructions for sensitive data (ENV "${kv.key.value}")` });
    }
  },
});

const fromPlatformFlagConstDisallowed = rule({
  id: 'FromPlatformFlagConstDisallowed',
  group: 'buildkit',
  severity: 'warning',
  description: 'FROM --platform should not be a constant (use $BUILDPLATFORM / $TARGETPLATFORM).',
  check(ctx) {
    for (const st of ctx.file.stages) {
      const f = st.from.flags.find((x) => x.name === 'platform');
      if (!f?.value || f.value.includes('$')) continue;
      const [os = '', arch = ''] = f.value.split('/');
      if (!os) continue;
      const name = st.name ?? '';
      if (name && (name.includes(os) || (arch && name.includes(arch)))) continue;
      ctx.report({ range: f.range, message: `FROM --platform flag should not use constant value "${f.value}"` });
    }
  },
});

const invalidDefinitionDescription = rule({
  id: 'InvalidDefinitionDescription',
  group: 'buildkit',
  severity: 'warning',
  experimental: true,
  description: 'A comment right above a stage or ARG should start with its name: `# <name> <description>`.',
  check(ctx) {
    const commentAt = new Map(ctx.file.comments.filter((c) => !c.inInstruction).map((c) => [c.range.start.line, c]));
    const check = (line: number, name: string, range: import('../../engine/dockerfile/types').Range): void => {
      const c = commentAt.get(line - 1);
      if (!c || /^(hadolint|check|syntax|escape)\b/i.test(c.text)) return;
      const first = c.text.split(/\s+/)[0] ?? '';
      if (first !== name) ctx.report({ range, message: `Comment for ${name} should follow the format: \`# ${name} <description>\`` });
    };
    for (const ins of ctx.file.instructions) {
      if (ins.keyword === 'ARG' && ins.argDeclarations?.length === 1) check(ins.startLine, ins.argDeclarations[0]!.name.value, ins.range);
      if (ins.keyword === 'FROM' && ins.from?.stageName) check(ins.startLine, ins.from.stageName.value, ins.range);
    }
  },
});

/** EXPOSE words: `80`, `80/tcp`, `8000-8010/udp`; `$PORT` skipped. */
const exposeProtoCasing = rule({
  id: 'ExposeProtoCasing',
  scope: 'instruction',
  group: 'buildkit',
  severity: 'warning',
  description: 'EXPOSE protocols should be lowercase.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'EXPOSE')) {
      for (const a of ins.args) {
        const slash = a.value.lastIndexOf('/');
        if (slash < 0) continue;
        const proto = a.value.slice(slash + 1);
        if (proto === proto.toLowerCase()) continue;
        const fixed = a.value.slice(0, slash + 1) + proto.toLowerCase();
        ctx.report({
          range: a.range,
          message: `Defined protocol '${a.value}' in EXPOSE instruction should be lowercase`,
          fixes: [{ title: `Change to ${fixed}`, edits: [{ range: a.range, newText: fixed }], preferred: true }],
        });
      }
    }
  },
});

const exposeInvalidFormat = rule({
  id: 'ExposeInvalidFormat',
  scope: 'instruction',
  group: 'buildkit',
  severity: 'warning',
  description: 'EXPOSE takes container ports only: no IP address, no host:container mapping.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'EXPOSE')) {
      for (const a of ins.args) {
        if (!a.value.includes(':') || a.value.includes('$')) continue;
        const fixed = a.value.slice(a.value.lastIndexOf(':') + 1);
        ctx.report({
          range: a.range,
          message: `EXPOSE instruction should not define an IP address or host-port mapping, found '${a.value}'`,
          fixes: [{ title: `Change to ${fixed}`, edits: [{ range: a.range, newText: fixed }], preferred: true }],
        });
      }
    }
  },
});

export const buildkitRules: Rule[] = [
  ...variableRules,
  ...contextRules,
  stageNameCasing,
  fromAsCasing,
  noEmptyContinuation,
  consistentInstructionCasing,
  duplicateStageName,
  reservedStageName,
  jsonArgsRecommended,
  maintainerDeprecated,
  workdirRelativePath,
  multipleInstructionsDisallowed,
  legacyKeyValueFormat,
  redundantTargetPlatform,
  secretsUsedInArgOrEnv,
  fromPlatformFlagConstDisallowed,
  invalidDefinitionDescription,
  exposeProtoCasing,
  exposeInvalidFormat,
];
