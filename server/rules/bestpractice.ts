/** Section C, structure: hadolint's DL rules about images, users, COPY/ADD, RUN hygiene and shells. */
import type { Dockerfile, Instruction, Stage } from '../../engine/dockerfile/types';
import { instructionText, insertLinesBefore, indentOf } from './fixes';
import { allRunCommands, fixOf, insertAfterWord, prependToRun, reportCommand } from './runHelpers';
import { hasOption, runScripts } from './shell';
import { rule, type Rule } from './types';
import { eolOf, instructionsOf, stageInstructionsOf } from './util';

const POINTLESS = new Set(['ssh', 'vim', 'shutdown', 'service', 'ps', 'free', 'top', 'kill', 'mount', 'ifconfig']);

const dl3001 = rule({
  id: 'DL3001',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'info',
  description: 'Commands like ssh, vim, shutdown, service, ps, free, top, kill, mount, ifconfig make no sense in a build.',
  check(ctx) {
    for (const c of allRunCommands(ctx.file)) {
      if (POINTLESS.has(c.name)) reportCommand(ctx, c, `For some bash commands it makes no sense running them in a Docker container like ${c.name}`);
    }
  },
});

const dl3002 = rule({
  id: 'DL3002',
  group: 'bestpractice',
  severity: 'warning',
  description: 'The last USER of the final stage should not be root.',
  check(ctx) {
    const last = ctx.file.stages[ctx.file.stages.length - 1];
    if (!last) return;
    const users = last.instructions.filter((i) => i.keyword === 'USER');
    const u = users[users.length - 1];
    const who = u?.args[0]?.value.split(':')[0];
    if (u && (who === 'root' || who === '0')) ctx.report({ range: u.range, message: 'Last USER should not be root' });
  },
});

const dl3003 = rule({
  id: 'DL3003',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Use WORKDIR to switch to a directory, not `cd` in RUN.',
  check(ctx) {
    for (const c of allRunCommands(ctx.file)) if (c.name === 'cd') reportCommand(ctx, c, 'Use WORKDIR to switch to a directory');
  },
});

const dl3004 = rule({
  id: 'DL3004',
  group: 'bestpractice',
  severity: 'error',
  description: 'Do not use sudo: builds run as root (or switch with USER).',
  check(ctx) {
    for (const c of allRunCommands(ctx.file)) {
      // `sudo` is never the command name: only a command with words before its name can start with it
      if (c.nameWord === c.cmd.words[0]) continue;
      const w = c.cmd.words[0];
      if (w && w.value === 'sudo') reportCommand(ctx, c, 'Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce root');
    }
  },
});

function imageOf(st: Stage): string | undefined {
  if (st.base.kind !== 'image') return undefined;
  const v = st.base.ref;
  return v.includes('$') ? undefined : v;
}

const dl3006 = rule({
  id: 'DL3006',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Always tag the image version explicitly (`FROM debian:12`).',
  check(ctx) {
    for (const st of ctx.file.stages) {
      const img = imageOf(st);
      if (!img || img.includes('@')) continue;
      const name = img.slice(img.lastIndexOf('/') + 1);
      if (!name.includes(':')) ctx.report({ range: st.from.from!.image!.range, message: `Always tag the version of an image explicitly (${img} has no tag)` });
    }
  },
});

const dl3007 = rule({
  id: 'DL3007',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Avoid `:latest`: pin a version so builds are reproducible.',
  check(ctx) {
    for (const st of ctx.file.stages) {
      const img = imageOf(st);
      if (img && !img.includes('@') && img.endsWith(':latest'))
        ctx.report({ range: st.from.from!.image!.range, message: 'Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag' });
    }
  },
});

const dl3011 = rule({
  id: 'DL3011',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'error',
  description: 'EXPOSE ports must be valid UNIX ports (0 to 65535).',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'EXPOSE')) {
      for (const a of ins.args) {
        if (a.value.includes('$')) continue;
        const portPart = a.value.slice(a.value.lastIndexOf(':') + 1).split('/')[0]!;
        const m = /^(\d+)(?:-(\d+))?$/.exec(portPart);
        if (!m) {
          ctx.report({ range: a.range, message: `"${a.value}" is not a valid port` });
          continue;
        }
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : Number(m[2]);
        if (lo > 65535 || hi > 65535 || hi < lo) ctx.report({ range: a.range, message: `Valid UNIX ports range from 0 to 65535 ("${a.value}")` });
        const proto = a.value.split('/')[1];
        if (proto !== undefined && !['tcp', 'udp', 'sctp'].includes(proto.toLowerCase()))
          ctx.report({ range: a.range, message: `Unknown protocol "${proto}": use tcp, udp or sctp` });
      }
    }
  },
});

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|gz|bz2|xz|zst)$/i;

const dl3020 = rule({
  id: 'DL3020',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'error',
  description: 'Use COPY for files and folders; ADD only for URLs and archives to extract.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'ADD')) {
      if (!ins.copy || ins.heredocs.length) continue;
      if (ins.flags.some((f) => ['checksum', 'keep-git-dir', 'unpack'].includes(f.name))) continue;
      if (ins.copy.sources.some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s.value) || s.value.startsWith('git@') || ARCHIVE.test(s.value) || s.value.includes('$')))
        continue;
      const kw = ins.keywordToken.value === 'add' ? 'copy' : 'COPY';
      ctx.report({
        range: ins.range,
        message: 'Use COPY instead of ADD for files and folders',
        fixes: [{ title: 'Use COPY', edits: [{ range: ins.keywordToken.range, newText: kw }], preferred: true }],
      });
    }
  },
});

const dl3021 = rule({
  id: 'DL3021',
  group: 'bestpractice',
  severity: 'error',
  description: 'COPY with more than one source needs a destination folder ending in `/`.',
  notes:
    "BuildKit does not refuse it (the old builder did): it copies the sources one after another to the same path. The first file becomes `/dest`, each next one replaces it, so only the last file is left; a directory's content after a file fails with `cannot copy to non-directory`. With the `/`, `/dest/` is a folder holding every source.",
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'COPY')) {
      const c = ins.copy;
      if (!c?.dest || c.sources.length < 2 || ins.json) continue;
      if (c.dest.value.endsWith('/') || c.dest.value.includes('$')) continue;
      ctx.report({
        range: c.dest.range,
        message: 'COPY with more than 2 arguments requires the last argument to end with /',
        fixes: [{ title: `Change to ${c.dest.value}/`, edits: [{ range: { start: c.dest.range.end, end: c.dest.range.end }, newText: '/' }], preferred: true }],
      });
    }
  },
});

function copyFromChecks(file: Dockerfile, report: (id: 'DL3022' | 'DL3023', ins: Instruction, range: import('../../engine/dockerfile/types').Range, msg: string) => void): void {
  for (const { stage: st, ins } of stageInstructionsOf(file, 'COPY')) {
    {
      let f: Instruction['flags'][number] | undefined;
      for (let i = 0; i < ins.flags.length; i++) if (ins.flags[i]!.name === 'from') { f = ins.flags[i]; break; }
      if (!f?.value || f.value.includes('$')) continue;
      const v = f.value.toLowerCase();
      const range = f.valueRange ?? f.range;
      if (/^\d+$/.test(v)) {
        const n = Number(v);
        if (n === st.index) report('DL3023', ins, range, 'COPY --from should reference a previously defined FROM alias, not its own stage');
        else if (n > st.index) report('DL3022', ins, range, `COPY --from=${v} refers to a stage that is not defined before it`);
        continue;
      }
      if (st.name === v) {
        report('DL3023', ins, range, `COPY --from cannot reference its own FROM alias "${f.value}"`);
        continue;
      }
      const earlier = file.stages.slice(0, st.index).some((s) => s.name === v);
      if (earlier) continue;
      if (/[:/@.]/.test(v)) continue; // an image reference
      const later = file.stages.slice(st.index + 1).some((s) => s.name === v);
      report('DL3022', ins, range, later ? `COPY --from=${f.value} refers to a stage defined later in the file` : `COPY --from=${f.value} does not reference a stage defined before it (an image would need a tag)`);
    }
  }
}

const dl3022 = rule({
  id: 'DL3022',
  group: 'bestpractice',
  severity: 'warning',
  description: '`COPY --from` should name a stage defined before it.',
  check(ctx) {
    copyFromChecks(ctx.file, (id, ins, range, message) => id === 'DL3022' && ctx.report({ range, instruction: ins, message }));
  },
});

const dl3023 = rule({
  id: 'DL3023',
  group: 'bestpractice',
  severity: 'error',
  description: '`COPY --from` cannot copy from the stage it is in.',
  check(ctx) {
    copyFromChecks(ctx.file, (id, ins, range, message) => id === 'DL3023' && ctx.report({ range, instruction: ins, message }));
  },
});

const dl3044 = rule({
  id: 'DL3044',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'error',
  description: 'Do not refer to an ENV variable in the same ENV statement that defines it: it is not set yet.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'ENV')) {
      const pairs = ins.pairs ?? [];
      // the first pair cannot refer to one before it, and a value without `$` refers to nothing
      let defined: Set<string> | undefined;
      for (const kv of pairs) {
        if (defined && kv.value.value.includes('$')) {
          for (const m of kv.value.value.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
            if (defined.has(m[1]!))
              ctx.report({ range: kv.value.range, message: `It is not possible to reference an ENV variable (${m[1]}) in the same ENV statement where it is defined` });
          }
        }
        (defined ??= new Set()).add(kv.key.value);
      }
    }
  },
});

const dl3045 = rule({
  id: 'DL3045',
  group: 'bestpractice',
  severity: 'warning',
  description: '`COPY` to a relative destination without a WORKDIR set depends on the base image.',
  check(ctx) {
    const setIn = new Map<number, boolean>();
    // the WORKDIRs and COPYs of each stage (both lists are in stage order)
    const workdirs = stageInstructionsOf(ctx.file, 'WORKDIR');
    const copies = stageInstructionsOf(ctx.file, 'COPY');
    let w = 0;
    let c = 0;
    for (const st of ctx.file.stages) {
      const inherited = st.base.kind === 'stage' ? setIn.get(st.base.stage) ?? false : false;
      // where the stage's first WORKDIR is: COPYs after it have one set
      let firstWorkdir = Infinity;
      if (w < workdirs.length && workdirs[w]!.stage === st) firstWorkdir = workdirs[w]!.pos;
      for (; w < workdirs.length && workdirs[w]!.stage === st; w++);
      for (; c < copies.length && copies[c]!.stage === st; c++) {
        if (inherited || copies[c]!.pos > firstWorkdir) continue;
        const d = copies[c]!.ins.copy?.dest;
        if (!d || d.value.startsWith('/') || d.value.startsWith('$') || /^[A-Za-z]:[\\/]/.test(d.value)) continue;
        ctx.report({ range: d.range, message: '`COPY` to a relative destination without `WORKDIR` set' });
      }
      setIn.set(st.index, inherited || firstWorkdir !== Infinity);
    }
  },
});

const dl3046 = rule({
  id: 'DL3046',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'warning',
  description: '`useradd` with a high UID needs `-l` (`--no-log-init`), or the lastlog file bloats the image.',
  check(ctx) {
    for (const c of allRunCommands(ctx.file)) {
      if (c.name !== 'useradd' || hasOption(c.args, '-l', '--no-log-init')) continue;
      const k = c.args.findIndex((a) => a.value === '-u' || a.value === '--uid' || a.value.startsWith('--uid='));
      if (k < 0) continue;
      const a = c.args[k]!;
      const uid = a.value.startsWith('--uid=') ? a.value.slice(6) : c.args[k + 1]?.value ?? '';
      if (!/^\d+$/.test(uid) || uid.length < 6) continue;
      const edit = insertAfterWord(ctx.file, c, c.nameWord, ' -l');
      reportCommand(ctx, c, '`useradd` without flag `-l` and high UID will result in excessively large Image', fixOf('Add -l', edit));
    }
  },
});

const dl3047 = rule({
  id: 'DL3047',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'info',
  description: '`wget` without `--progress` floods the build log.',
  check(ctx) {
    for (const c of allRunCommands(ctx.file)) {
      if (c.name !== 'wget') continue;
      if (hasOption(c.args, '--progress', '-q', '--quiet', '-nv', '--no-verbose', '-o', '--output-file', '-a', '--append-output')) continue;
      reportCommand(ctx, c, 'Avoid use of wget without progress bar. Use `wget --progress=dot:giga <url>`', fixOf('Add --progress=dot:giga', insertAfterWord(ctx.file, c, c.nameWord, ' --progress=dot:giga')));
    }
  },
});

const RESERVED_LABEL_NS = /^(com\.docker\.|io\.docker\.|org\.dockerproject\.)/;

const dl3048 = rule({
  id: 'DL3048',
  scope: 'instruction',
  group: 'bestpractice',
  severity: 'info',
  description: 'Label keys: lowercase letters, digits, `.` and `-`, not in the reserved docker namespaces.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'LABEL')) {
      for (const kv of ins.pairs ?? []) {
        const k = kv.key.value.replace(/^"(.*)"$/, '$1');
        if (k.includes('$')) continue;
        let why: string | undefined;
        if (RESERVED_LABEL_NS.test(k)) why = 'uses a reserved namespace';
        else if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(k)) why = 'should use lowercase letters, digits, dots and dashes, starting and ending with a letter or digit';
        else if (/[.-]{2}/.test(k)) why = 'should not contain consecutive dots or dashes';
        if (why) ctx.report({ range: kv.key.range, message: `Invalid label key "${k}": ${why}` });
      }
    }
  },
});

/** A plain shell-form RUN without flags or heredocs (safe to merge). */
function mergeable(ins: Instruction): boolean {
  return ins.keyword === 'RUN' && !ins.json && ins.flags.length === 0 && ins.heredocs.length === 0 && ins.comments.length === 0 && !!ins.command?.words[0];
}

const dl3059 = rule({
  id: 'DL3059',
  scope: 'stage',
  group: 'bestpractice',
  severity: 'info',
  description: 'Consecutive RUN instructions could be one: fewer layers.',
  check(ctx) {
    // consecutive RUNs: neighbours in the RUN list, in the same stage, one place apart
    const runs = stageInstructionsOf(ctx.file, 'RUN');
    for (let k = 1; k < runs.length; k++) {
      {
        if (runs[k]!.stage !== runs[k - 1]!.stage || runs[k]!.pos !== runs[k - 1]!.pos + 1) continue;
        const prev = runs[k - 1]!.ins;
        const ins = runs[k]!.ins;
        // hadolint: flags apart (different mounts) are fine
        if (prev.flags.length || ins.flags.length) continue;
        let fixes;
        if (mergeable(prev) && mergeable(ins)) {
          const eol = eolOf(ctx.file);
          const a = prev.command!.words[0]!;
          const b = ins.command!.words[0]!;
          // replace from the end of prev's command to the end of ins's command: ` \⏎    && <b>`
          fixes = [
            {
              title: 'Merge with the RUN above',
              edits: [{ range: { start: a.range.end, end: b.range.end }, newText: ` ${ctx.file.escape}${eol}${indentOf(ctx.file, prev)}    && ${instructionArgsText(ctx.file, ins)}` }],
            },
          ];
        }
        ctx.report({ range: ins.range, message: 'Multiple consecutive `RUN` instructions. Consider consolidation.', ...(fixes ? { fixes } : {}) });
      }
    }
  },
});

/** The command text of a shell-form RUN as written (continuations kept). */
function instructionArgsText(file: Dockerfile, ins: Instruction): string {
  const w = ins.command!.words[0]!;
  const start = file.lineStarts[w.range.start.line]! + w.range.start.character;
  const end = file.lineStarts[w.range.end.line]! + w.range.end.character;
  return file.text.slice(start, end);
}

const dl4001 = rule({
  id: 'DL4001',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Use either wget or curl, not both.',
  check(ctx) {
    const firstByStage = new Map<Stage, string>();
    for (const c of allRunCommands(ctx.file)) {
      if (c.name !== 'wget' && c.name !== 'curl') continue;
      const first = firstByStage.get(c.stage);
      if (first === undefined) firstByStage.set(c.stage, c.name);
      else if (first !== c.name) reportCommand(ctx, c, `Either use wget or curl but not both (${first} is used above)`);
    }
  },
});

const dl4005 = rule({
  id: 'DL4005',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Use SHELL to change the default shell, not `ln -sf ... /bin/sh`.',
  check(ctx) {
    for (const c of allRunCommands(ctx.file)) {
      if (c.name === 'ln' && c.args.some((a) => a.value === '/bin/sh')) reportCommand(ctx, c, 'Use SHELL to change the default shell');
    }
  },
});

function pipefailShell(file: Dockerfile, st: Stage, ins: Instruction): 'pipefail' | 'other' | 'none' {
  let state: 'pipefail' | 'other' | 'none' = 'none';
  const visit = (list: Instruction[], stop?: Instruction): void => {
    for (const i of list) {
      if (i === stop) break;
      if (i.keyword !== 'SHELL' || !i.command) continue;
      const words = i.command.words.map((w) => w.value);
      const sh = (words[0] ?? '').replace(/^.*\//, '');
      if (/^(pwsh|powershell|cmd)(\.exe)?$/i.test(sh)) state = 'other';
      else if (words.includes('pipefail')) state = 'pipefail';
      else state = 'none';
    }
  };
  if (st.base.kind === 'stage') {
    const parent = file.stages[st.base.stage];
    if (parent && parent !== st) visit(parent.instructions);
  }
  visit(st.instructions, ins);
  return state;
}

const dl4006 = rule({
  id: 'DL4006',
  group: 'bestpractice',
  severity: 'warning',
  description: 'Set `-o pipefail` before a RUN with a pipe, or a failing command before `|` goes unnoticed.',
  check(ctx) {
    for (const { stage: st, ins } of stageInstructionsOf(ctx.file, 'RUN')) {
      {
        if (ins.json) continue;
        const scripts = runScripts(ins);
        let piped = false;
        for (let i = 0; i < scripts.length && !piped; i++) {
          const cs = scripts[i]!.commands;
          for (let j = 0; j < cs.length; j++) if (cs[j]!.after === '|') piped = true;
        }
        if (!piped) continue;
        if (scripts.some((s) => /set\s+-[a-zA-Z]*o\s+pipefail|set\s+-o\s+pipefail|-o\s+pipefail/.test(s.text))) continue;
        if (pipefailShell(ctx.file, st, ins) !== 'none') continue;
        const fixes = [];
        const pre = prependToRun(ins, 'set -o pipefail && ');
        if (pre) fixes.push({ title: 'Add `set -o pipefail &&`', edits: [pre], preferred: true });
        fixes.push({ title: 'Add SHELL ["/bin/bash", "-o", "pipefail", "-c"] above', edits: [insertLinesBefore(ctx.file, ins, [`${indentOf(ctx.file, ins)}SHELL ["/bin/bash", "-o", "pipefail", "-c"]`])] });
        ctx.report({ range: ins.range, message: 'Set the SHELL option -o pipefail before RUN with a pipe in it', fixes });
      }
    }
  },
});

export const structureRules: Rule[] = [
  dl3001, dl3002, dl3003, dl3004, dl3006, dl3007, dl3011, dl3020, dl3021, dl3022, dl3023, dl3044, dl3045, dl3046, dl3047, dl3048, dl3059,
  dl4001, dl4005, dl4006,
];

export { instructionText };
