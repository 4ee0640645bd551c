/**
 * Section A: syntax and semantic errors. Most come from the parser (`Dockerfile.problems`, one rule per
 * problem code so each has a page and a setting); the rest are checks on the typed tree.
 */
import type { Dockerfile, ParseProblem } from '../../engine/dockerfile/types';
import { parseSignal } from '../../engine/dockerfile/signals';
import { chmodMode } from '../../engine/dockerfile/flags';
import { rule, type Fix, type Rule, type RuleSeverity } from './types';
import { scopesOf } from './scopes';
import { instructionsOf } from './util';

interface ParserCode {
  id: string;
  description: string;
  severity?: RuleSeverity;
  fix?: (p: ParseProblem, file: Dockerfile) => Fix[] | undefined;
}

function keepCase(written: string, suggestion: string): string {
  return written === written.toLowerCase() ? suggestion.toLowerCase() : suggestion.toUpperCase();
}

const PARSER_CODES: ParserCode[] = [
  {
    id: 'UnknownInstruction',
    description: 'The keyword is not a Dockerfile instruction.',
    fix: (p, file) => {
      if (!p.suggestion) return undefined;
      const ins = file.instructions.find((i) => i.keywordToken.range.start.line === p.range.start.line);
      const written = ins?.keywordToken.value ?? '';
      const s = keepCase(written, p.suggestion);
      return [{ title: `Change to ${s}`, edits: [{ range: p.range, newText: s }], preferred: true }];
    },
  },
  { id: 'InstructionBeforeFrom', description: 'Only ARG may come before the first FROM.' },
  { id: 'NoInstructions', description: 'The file has no instructions.' },
  { id: 'UnknownFlag', description: 'The instruction does not take this flag.' },
  { id: 'DuplicateFlag', description: 'A flag is given twice.' },
  { id: 'FlagMissingValue', description: 'A flag needs a value (`--flag=value`).' },
  { id: 'FlagInvalidValue', description: 'A flag value is not valid (boolean, duration, retries, network, ...).' },
  { id: 'InvalidFrom', description: 'FROM takes an image and optionally `AS name`.' },
  { id: 'InvalidStageName', description: 'Stage names start with a letter and contain only letters, digits, `-`, `_` and `.`.' },
  { id: 'ShellNotJSON', description: 'SHELL must be written in JSON form.' },
  { id: 'HeredocDestination', description: 'A COPY/ADD heredoc needs a destination.' },
  { id: 'BlankName', description: 'ENV, LABEL or ARG with an empty name.' },
  { id: 'InvalidArguments', description: 'The arguments do not fit the instruction.' },
  { id: 'ExtraArguments', description: 'The instruction takes fewer arguments.' },
  { id: 'MissingArguments', description: 'The instruction needs (more) arguments.' },
  { id: 'OnbuildChain', description: 'ONBUILD cannot trigger ONBUILD.' },
  { id: 'OnbuildForbidden', description: 'ONBUILD cannot trigger FROM or MAINTAINER.' },
  { id: 'InvalidJSON', description: 'A JSON-form argument list is malformed (single quotes, missing comma, ...).' },
  { id: 'EnvMissingValue', description: 'Legacy `ENV key value` / `LABEL key value` with no value.' },
  { id: 'EnvMissingEquals', description: 'ENV/LABEL `key=value` pairs need an `=`.' },
  { id: 'InvalidMount', description: 'A `RUN --mount` option is unknown or malformed.' },
  { id: 'InvalidDirective', description: 'A parser directive has an invalid value (for example `# escape=x`).' },
  { id: 'DuplicateDirective', description: 'A parser directive is given twice.' },
  { id: 'InvalidHeredoc', description: 'A heredoc word is malformed.' },
  { id: 'UnterminatedHeredoc', description: 'A heredoc has no terminator line.' },
];

const KNOWN = new Set(PARSER_CODES.map((c) => c.id));
/** codes handled by other rule groups (BuildKit's NoEmptyContinuation) */
const ELSEWHERE = new Set(['NoEmptyContinuation']);

function parserRule(c: ParserCode): Rule {
  return rule({
    id: c.id,
    group: 'syntax',
    severity: c.severity ?? 'error',
    description: c.description,
    check(ctx) {
      for (const p of ctx.file.problems) {
        if (p.code !== c.id) continue;
        const fixes = c.fix?.(p, ctx.file);
        ctx.report({ range: p.range, message: p.message, severity: p.severity === 'warning' ? 'warning' : c.severity ?? 'error', ...(fixes ? { fixes } : {}) });
      }
    },
  });
}

/** Problems whose code no rule knows (a newer parser): reported under their own code. */
const otherParseProblems = rule({
  id: 'ParseError',
  group: 'syntax',
  severity: 'error',
  description: 'Any other problem the parser reports.',
  check(ctx) {
    for (const p of ctx.file.problems) {
      if (KNOWN.has(p.code) || ELSEWHERE.has(p.code)) continue;
      ctx.report({ code: p.code, range: p.range, message: p.message, severity: p.severity });
    }
  },
});

const invalidStopSignal = rule({
  id: 'InvalidStopSignal',
  scope: 'instruction',
  group: 'syntax',
  severity: 'error',
  description: 'STOPSIGNAL takes a signal name (`SIGTERM`) or number.',
  check(ctx) {
    for (const ins of instructionsOf(ctx.file, 'STOPSIGNAL')) {
      if (ins.args.length !== 1) continue;
      const a = ins.args[0]!;
      const v = a.value;
      if (v.includes('$')) continue;
      if (parseSignal(v) !== undefined) continue;
      ctx.report({ range: a.range, message: `"${v}" is not a signal: use a name like SIGTERM or a number` });
    }
  },
});


const chmodIgnored = rule({
  id: 'ChmodIgnored',
  scope: 'instruction',
  group: 'syntax',
  severity: 'warning',
  description: '`--chmod` takes an octal mode as written: Docker 26 ignores any other value (variables are not expanded there), and the files keep their own modes.',
  check(ctx) {
    for (const ins of [...instructionsOf(ctx.file, 'COPY'), ...instructionsOf(ctx.file, 'ADD')]) {
      for (const f of ins.flags) {
        if (f.name !== 'chmod' || f.value === undefined || f.value === '' || chmodMode(f.value) !== undefined) continue;
        const why = f.value.includes('$') ? 'variables are not expanded in --chmod' : `"${f.value}" is not an octal mode like 644 or 0755`;
        ctx.report({ range: f.valueRange ?? f.range, message: `--chmod=${f.value} is ignored: ${why}, so the files keep their own modes (Docker 26)` });
      }
    }
  },
});

const invalidVariableExpansion = rule({
  id: 'InvalidVariableExpansion',
  group: 'syntax',
  severity: 'error',
  description: 'A variable reference or quoting cannot be expanded (unterminated quote, bad `${...}` modifier).',
  check(ctx) {
    const s = scopesOf(ctx.file);
    for (const e of s.expansionErrors) ctx.report({ range: e.range, message: e.message });
  },
});

const invalidImageReference = rule({
  id: 'InvalidImageReference',
  group: 'syntax',
  severity: 'error',
  description: 'The FROM image is not a valid image reference.',
  check(ctx) {
    for (const st of ctx.file.stages) {
      const img = st.from.from?.image;
      if (!img || img.value.includes('$') || st.base.kind !== 'image') continue;
      const problem = imageRefProblem(img.value);
      if (problem) ctx.report({ range: img.range, message: `invalid image reference "${img.value}": ${problem}` });
    }
  },
});

const REF_NAME = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$/;
const REF_TAG = /^[\w][\w.-]{0,127}$/;
const REF_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** Why `ref` is not a valid `name[:tag][@digest]`, or undefined. */
export function imageRefProblem(ref: string): string | undefined {
  if (ref === '') return 'empty name';
  let rest = ref;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!REF_DIGEST.test(rest.slice(at + 1))) return 'invalid digest';
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    if (!REF_TAG.test(rest.slice(colon + 1))) return 'invalid tag';
    rest = rest.slice(0, colon);
  }
  if (!REF_NAME.test(rest)) return rest !== rest.toLowerCase() ? 'repository name must be lowercase' : 'invalid repository name';
  if (rest.length > 255) return 'repository name too long';
  return undefined;
}

export const syntaxRules: Rule[] = [
  ...PARSER_CODES.map(parserRule),
  otherParseProblems,
  invalidStopSignal,
  chmodIgnored,
  invalidVariableExpansion,
  invalidImageReference,
];
