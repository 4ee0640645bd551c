/**
 * Fuzz: mutated corpus files (byte inserts, deletes, swaps, joined and duplicated lines, special characters)
 * never make the parser throw, and every range it returns lies inside the text, with start <= end, and the
 * instructions come in source order without overlapping. FUZZ_CASES sets the count (5,000 by default;
 * `npm run fuzz` runs 100,000). FUZZ_SEED replays a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Dockerfile, type Range } from '../../engine/dockerfile';
import { conformanceDir } from '../helpers/conformance';
import { prng as rng } from '../helpers/prng';

const CASES = Number(process.env.FUZZ_CASES ?? 5000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);


const dir = join(conformanceDir(), 'buildkit-parser', 'testfiles');
const corpus = readdirSync(dir).map((d) => readFileSync(join(dir, d, 'Dockerfile'), 'utf8'));
corpus.push(
  'FROM a AS b\nRUN <<EOF cat <<-"X" > /f\nbody $x\nEOF\n\tother\n\tX\nCOPY --from=b --chmod=755 <<A <<B /d/\nA\nB\n',
  '# escape=`\nFROM x\nRUN echo `\n  # c\n\n  done\nONBUILD COPY <<E /x\nE\n',
  '\ufeff# syntax=docker/dockerfile:1\n# check=skip=all\nARG V=1\nFROM b:${V}\nHEALTHCHECK --interval=5s CMD ["x"]\n',
);
const SPECIALS = ['\\', '`', '\n', '\r\n', '<<', '<<-', '"', "'", '[', ']', '=', '--', '#', '$', '${', '}', ' ', '\t', '\u00a0', 'é', '😀', '\ufeff', 'EOF'];

function mutate(text: string, r: () => number): string {
  let t = text;
  const ops = 1 + Math.floor(r() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(r() * (t.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0: // insert a special token
        t = t.slice(0, at) + SPECIALS[Math.floor(r() * SPECIALS.length)] + t.slice(at);
        break;
      case 1: // delete a run
        t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 8));
        break;
      case 2: {
        // swap two characters
        const b = Math.floor(r() * t.length);
        if (at < t.length && b < t.length) {
          const a = Math.min(at, b);
          const c = Math.max(at, b);
          t = t.slice(0, a) + t[c] + t.slice(a + 1, c) + t[a] + t.slice(c + 1);
        }
        break;
      }
      case 3: {
        // join two lines
        const nl = t.indexOf('\n', at);
        if (nl !== -1) t = t.slice(0, nl) + t.slice(nl + 1);
        break;
      }
      case 4: {
        // duplicate a line
        const s = t.lastIndexOf('\n', at - 1) + 1;
        const e = t.indexOf('\n', at);
        const line = t.slice(s, e === -1 ? t.length : e + 1);
        t = t.slice(0, s) + line + line + t.slice(s + line.length);
        break;
      }
      default: // insert a random code unit
        t = t.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x3000)) + t.slice(at);
    }
  }
  return t;
}

function checkRanges(df: Dockerfile, text: string): void {
  const lines = text.split('\n');
  const inside = (r: Range, what: string): void => {
    for (const p of [r.start, r.end]) {
      assert.ok(p.line >= 0 && p.line < lines.length, `${what}: line ${p.line} outside 0..${lines.length - 1}`);
      assert.ok(p.character >= 0 && p.character <= lines[p.line]!.length, `${what}: column ${p.character} outside line ${p.line}`);
    }
    assert.ok(r.start.line < r.end.line || (r.start.line === r.end.line && r.start.character <= r.end.character), `${what}: start after end`);
  };
  let prevEnd = -1;
  for (const ins of df.instructions) {
    inside(ins.range, 'instruction');
    assert.ok(ins.startLine > prevEnd, 'instructions overlap or are out of order');
    prevEnd = ins.endLine;
    inside(ins.keywordToken.range, 'keyword');
    for (const f of ins.flags) {
      inside(f.range, 'flag');
      inside(f.nameRange, 'flag name');
      if (f.valueRange) inside(f.valueRange, 'flag value');
    }
    for (const a of ins.args) inside(a.range, 'arg');
    for (const h of ins.heredocs) {
      inside(h.delimiterRange, 'heredoc word');
      inside(h.bodyRange, 'heredoc body');
      if (h.terminatorRange) inside(h.terminatorRange, 'heredoc terminator');
    }
    for (const m of ins.mounts ?? []) for (const o of m.options) inside(o.range, 'mount option');
    for (const kv of ins.pairs ?? []) inside(kv.range, 'pair');
  }
  for (const p of df.problems) inside(p.range, `problem ${p.code}`);
  for (const c of df.comments) inside(c.range, 'comment');
  for (const d of df.directives) inside(d.range, 'directive');
}

test(`fuzz: ${CASES} mutated Dockerfiles parse without throwing, ranges inside the text (seed ${SEED})`, () => {
  const r = rng(SEED);
  for (let i = 0; i < CASES; i++) {
    const base = corpus[Math.floor(r() * corpus.length)]!;
    const text = mutate(r() < 0.3 ? base.replace(/\n/g, '\r\n') : base, r);
    let df: Dockerfile;
    try {
      df = parse(text);
    } catch (e) {
      assert.fail(`case ${i} threw ${(e as Error).stack}\n--- input ---\n${JSON.stringify(text)}`);
    }
    try {
      checkRanges(df, text);
    } catch (e) {
      assert.fail(`case ${i}: ${(e as Error).message}\n--- input ---\n${JSON.stringify(text)}`);
    }
  }
});
