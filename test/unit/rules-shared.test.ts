/**
 * What the rules share per tree (computed once, the first time a rule asks) is what each rule would compute for
 * itself: the RUN command index of server/rules/runHelpers.ts against a direct walk of the RUN scripts, the keyword
 * indexes of server/rules/util.ts against filtering the instruction lists, over
 * generated files, the rule fixtures and random mutations of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../../engine/dockerfile/index';
import type { Dockerfile } from '../../engine/dockerfile/types';
import { generateDockerfile } from '../../bench/lsp/generate';
import { allRunCommands, commandsNamed, commandsOfRun } from '../../server/rules/runHelpers';
import { commandArgs, runCommands } from '../../server/rules/shell';
import { instructionsOf, isLower, isUpper, stageInstructionsOf, stageInstructionsOfAny } from '../../server/rules/util';
import { prng } from '../helpers/prng';
import { CASES } from './rules-cases';

/** Fixtures and generated files, and seeded mutations of them (inserted shell and Dockerfile syntax). */
function corpus(): string[] {
  const base = [generateDockerfile(300)];
  for (const c of Object.values(CASES)) base.push(...c.bad.map((t) => t.replace(/\[\[|\]\]/g, '')), ...c.good);
  base.push(
    'FROM a\nRUN sudo -E env -i A=1 B=2 /usr/bin/apt-get -q install x && cd /x; pip3 install y | tee z\nRUN ["sh", "-c", "apt install q"]\n',
    'FROM a AS b\nRUN <<A <<B\napt-get update\nA\nnpm ci\nB\nFROM b\nRUN "/opt/a b/x" sub\nRUN X=1 Y=2\nRUN exec nohup time -p yum install -y z\n',
  );
  const SNIPPETS = ['RUN ', 'apt-get ', 'install ', '-y ', ' && ', ' | ', '; ', ' \\\n', '\n', 'FROM x\n', '"', "'", '$(', ')', 'sudo ', 'A=1 ', '<<EOF\n', 'EOF\n', '/usr/bin/'];
  const r = prng(0x5eed);
  const out = [...base];
  for (let k = 0; k < 1500; k++) {
    let t = base[Math.floor(r() * base.length)]!;
    for (let j = 1 + Math.floor(r() * 4); j > 0; j--) {
      const at = Math.floor(r() * (t.length + 1));
      t = t.slice(0, at) + SNIPPETS[Math.floor(r() * SNIPPETS.length)] + t.slice(at);
    }
    out.push(t);
  }
  return out;
}

/** The commands of every RUN of every stage, computed directly (what the index replaced). */
function direct(file: Dockerfile): { stage: number; ins: number; cmd: unknown; name: string; args: unknown; sub: string | undefined; nameWord: unknown }[] {
  const out = [];
  for (const stage of file.stages) {
    for (const ins of stage.instructions) {
      if (ins.keyword !== 'RUN') continue;
      for (const { cmd } of runCommands(ins)) {
        const ca = commandArgs(cmd);
        if (!ca) continue;
        out.push({ stage: stage.index, ins: ins.startLine, cmd, name: ca.name, args: ca.args, sub: ca.sub, nameWord: cmd.words[cmd.words.length - ca.args.length - 1] });
      }
    }
  }
  return out;
}

const view = (cs: ReturnType<typeof allRunCommands>) =>
  cs.map((c) => ({ stage: c.stage.index, ins: c.ins.startLine, cmd: c.cmd, name: c.name, args: c.args, sub: c.sub, nameWord: c.nameWord }));

describe('the RUN command index', () => {
  const texts = corpus();
  it('allRunCommands, commandsOfRun and commandsNamed give what a direct walk gives', () => {
    let commands = 0;
    for (const text of texts) {
      const file = parse(text);
      const want = direct(file);
      commands += want.length;
      assert.deepEqual(view(allRunCommands(file)), want, text);
      // per instruction (every instruction: those without commands have none)
      for (const ins of file.instructions) {
        assert.deepEqual(view(commandsOfRun(file, ins)), want.filter((c) => c.ins === ins.startLine && ins.keyword === 'RUN' && file.stages.some((s) => s.instructions.includes(ins))), text);
      }
      // by name, with and without subcommands, one name and several (file order)
      const names = [...new Set(want.map((c) => c.name))];
      for (const n of [...names, 'nope']) {
        assert.deepEqual(view(commandsNamed(file, [n])), want.filter((c) => c.name === n), text);
        assert.deepEqual(view(commandsNamed(file, [n], ['install', 'update'])), want.filter((c) => c.name === n && (c.sub === 'install' || c.sub === 'update')), text);
      }
      const several = names.slice(0, 3);
      const got = view(commandsNamed(file, several, ['install']));
      // name by name, then in file order (a stable sort: ties keep the names' order)
      const exp = several.flatMap((n) => want.filter((c) => c.name === n && c.sub === 'install'));
      exp.sort((a, b) => a.ins - b.ins || (a.cmd as { start: number }).start - (b.cmd as { start: number }).start);
      assert.deepEqual(got, exp, text);
    }
    assert.ok(commands > 2000, `only ${commands} commands`);
  });
});

describe('the keyword indexes', () => {
  const texts = corpus();
  const KEYWORDS = ['RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'FROM', 'WORKDIR', 'CMD', 'ENTRYPOINT', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'NOPE'];
  it('instructionsOf and stageInstructionsOf(Any) give what filtering the lists gives', () => {
    for (const text of texts) {
      const file = parse(text);
      for (const kw of KEYWORDS) {
        assert.deepEqual(instructionsOf(file, kw), file.instructions.filter((i) => i.keyword === kw), text);
        const want = file.stages.flatMap((stage) => stage.instructions.map((ins, pos) => ({ stage, ins, pos })).filter((e) => e.ins.keyword === kw));
        assert.deepEqual(stageInstructionsOf(file, kw), want, text);
      }
      const both = file.stages.flatMap((stage) => stage.instructions.map((ins, pos) => ({ stage, ins, pos })).filter((e) => e.ins.keyword === 'CMD' || e.ins.keyword === 'ENTRYPOINT'));
      assert.deepEqual(stageInstructionsOfAny(file, ['CMD', 'ENTRYPOINT']), both, text);
    }
  });
  it('isUpper and isLower are s === s.toUpperCase() and s === s.toLowerCase()', () => {
    for (const s of ['', 'RUN', 'run', 'Run', 'RUN1', 'ß', 'SS', 'É', 'é', 'İ', 'ǅ', 'A-B_C', 'a-b_c', 'ÀB', 'aÉ', '😀', 'FROMß']) {
      assert.equal(isUpper(s), s === s.toUpperCase(), s);
      assert.equal(isLower(s), s === s.toLowerCase(), s);
    }
  });
});
