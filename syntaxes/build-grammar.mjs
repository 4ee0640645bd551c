#!/usr/bin/env node
// Writes syntaxes/dockerfile.tmLanguage.json. The grammar is kept here as a JS object so that the regular
// expressions need no JSON escaping; run `node syntaxes/build-grammar.mjs` after editing and commit both.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const KEYWORDS = 'FROM|RUN|CMD|LABEL|MAINTAINER|EXPOSE|ENV|ADD|COPY|ENTRYPOINT|VOLUME|USER|WORKDIR|ARG|STOPSIGNAL|HEALTHCHECK|SHELL';
const ws = '[ \\t]';
// The start of an instruction: optional ONBUILD, then the keyword (captures 1: indent, 2: ONBUILD, 3: keyword).
const start = (kw) => `^(${ws}*)(?i:(ONBUILD)${ws}+)?(?i:(${kw}))(?=${ws}|$)`;
const startCaptures = {
  2: { name: 'keyword.other.special-method.onbuild.dockerfile' },
  3: { name: 'keyword.other.special-method.dockerfile' },
};
// An instruction ends at the end of a line that is not continued (a `\\` before the line end, trailing blanks
// allowed; Oniguruma lookbehind needs fixed-length alternatives, so up to 8 blanks are recognised).
const END = `(?<!\\\\${Array.from({ length: 8 }, (_, i) => `|\\\\[ \\t]{${i + 1}}`).join('')})(?=\\n)`;

const NAME = '[A-Za-z_][A-Za-z0-9_.-]*';
/** Heredocs: <<EOF, <<-EOF, <<"EOF", <<'EOF', 3<<EOF. Bodies of RUN are shell; of COPY/ADD, file content
 * where variables expand only when no part of the delimiter is quoted. */
const heredoc = (kind, quoted) => ({
  begin: quoted ? `([0-9]*)(<<-?)(["'])(${NAME})(\\3)` : `([0-9]*)(<<-?)()(${NAME})()`,
  beginCaptures: {
    1: { name: 'constant.numeric.fd.dockerfile' },
    2: { name: 'keyword.operator.heredoc.dockerfile' },
    3: { name: 'punctuation.definition.string.dockerfile' },
    4: { name: 'entity.name.tag.heredoc.dockerfile' },
    5: { name: 'punctuation.definition.string.dockerfile' },
  },
  end: '^\\t*(\\4)$',
  endCaptures: { 1: { name: 'entity.name.tag.heredoc.dockerfile' } },
  name: 'meta.heredoc.dockerfile',
  patterns: [
    // the rest of the instruction line after the delimiter (\\G only matches on the delimiter line); one-line
    // match rules, never zero-width, so that no rule is left open across lines
    { match: '\\G(.+)$', captures: { 1: { patterns: [{ include: '#arguments' }] } } },
    kind === 'shell'
      ? // a begin/end rule (not captures) so that the shell grammar is collected as a dependency and loaded
        { begin: '^(?=.)', end: '$', name: 'meta.embedded.block.shell', patterns: [{ include: 'source.shell' }] }
      : { match: '^(.+)$', captures: { 1: { name: 'string.unquoted.heredoc.dockerfile', patterns: quoted ? [] : [{ include: '#variables' }] } } },
  ],
});

const grammar = {
  $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
  name: 'Dockerfile',
  scopeName: 'source.dockerfile',
  fileTypes: ['Dockerfile', 'Containerfile', 'dockerfile'],
  patterns: [{ include: '#directive' }, { include: '#comment' }, { include: '#instruction' }],
  repository: {
    directive: {
      match: `^(${ws}*)(#)${ws}*((?i:syntax|escape|check))${ws}*(=)${ws}*(.*?)${ws}*$`,
      captures: {
        0: { name: 'meta.directive.dockerfile' },
        2: { name: 'punctuation.definition.directive.dockerfile' },
        3: { name: 'keyword.other.directive.dockerfile' },
        4: { name: 'keyword.operator.assignment.dockerfile' },
        5: { name: 'string.unquoted.directive.dockerfile' },
      },
    },
    comment: {
      match: `^(${ws}*)((#).*)$`,
      captures: { 2: { name: 'comment.line.number-sign.dockerfile' }, 3: { name: 'punctuation.definition.comment.dockerfile' } },
    },
    continuation: {
      match: `(\\\\)${ws}*$`,
      captures: { 1: { name: 'constant.character.escape.continuation.dockerfile' } },
    },
    'inner-comment': {
      // a comment or empty line inside a continued instruction: consumes its line end so the instruction goes on
      match: `^${ws}*(?:((#).*))?\\n`,
      captures: { 1: { name: 'comment.line.number-sign.dockerfile' }, 2: { name: 'punctuation.definition.comment.dockerfile' } },
    },
    flag: {
      match: `(?<=^|${ws})(--)([A-Za-z][A-Za-z0-9-]*)(?:(=)([^ \\t]*))?`,
      captures: {
        1: { name: 'punctuation.definition.flag.dockerfile' },
        2: { name: 'variable.parameter.flag.dockerfile' },
        3: { name: 'keyword.operator.assignment.dockerfile' },
        4: { name: 'string.unquoted.flag-value.dockerfile', patterns: [{ include: '#variables' }] },
      },
    },
    variables: {
      patterns: [
        {
          begin: '(\\$)(\\{)',
          beginCaptures: { 1: { name: 'punctuation.definition.variable.dockerfile' }, 2: { name: 'punctuation.section.variable.begin.dockerfile' } },
          end: '\\}',
          endCaptures: { 0: { name: 'punctuation.section.variable.end.dockerfile' } },
          name: 'variable.other.bracket.dockerfile',
          patterns: [
            { match: '(:?[-+?])', name: 'keyword.operator.expansion.dockerfile' },
            { match: '(#{1,2}|%{1,2}|/{1,2})', name: 'keyword.operator.expansion.dockerfile' },
            { include: '#variables' },
          ],
        },
        { match: '(\\$)[A-Za-z_][A-Za-z0-9_]*', captures: { 1: { name: 'punctuation.definition.variable.dockerfile' } }, name: 'variable.other.dockerfile' },
        { match: '\\\\\\$', name: 'constant.character.escape.dockerfile' },
      ],
    },
    strings: {
      patterns: [
        {
          begin: '"',
          end: '"|$',
          name: 'string.quoted.double.dockerfile',
          patterns: [{ match: '\\\\.', name: 'constant.character.escape.dockerfile' }, { include: '#variables' }],
        },
        { begin: "'", end: "'|$", name: 'string.quoted.single.dockerfile' },
      ],
    },
    'json-array': {
      begin: `(?<=^|${ws})(\\[)(?=${ws}*("|\\]))`,
      beginCaptures: { 1: { name: 'punctuation.definition.array.begin.dockerfile' } },
      end: `(\\])|${END}`,
      endCaptures: { 1: { name: 'punctuation.definition.array.end.dockerfile' } },
      name: 'meta.json-array.dockerfile',
      patterns: [
        { include: '#continuation' },
        {
          begin: '"',
          end: '"|$',
          name: 'string.quoted.double.json.dockerfile',
          patterns: [{ match: '\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})', name: 'constant.character.escape.json.dockerfile' }],
        },
        { match: ',', name: 'punctuation.separator.array.dockerfile' },
      ],
    },
    arguments: {
      patterns: [{ include: '#continuation' }, { include: '#flag' }, { include: '#strings' }, { include: '#variables' }],
    },
    instruction: {
      patterns: [
        {
          // FROM [--platform=…] image [AS name]
          begin: start('FROM'),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.from.dockerfile',
          patterns: [
            { include: '#inner-comment' },
            {
              match: `(?<=${ws})((?i:AS))${ws}+([A-Za-z0-9_.-]+)`,
              captures: { 1: { name: 'keyword.control.as.dockerfile' }, 2: { name: 'entity.name.type.stage.dockerfile' } },
            },
            { include: '#arguments' },
          ],
        },
        {
          // RUN: heredoc bodies are shell
          begin: start('RUN'),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.run.dockerfile',
          patterns: [{ include: '#inner-comment' }, { include: '#json-array' }, heredoc('shell', true), heredoc('shell', false), { include: '#arguments' }],
        },
        {
          begin: start('CMD|ENTRYPOINT|SHELL|VOLUME'),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.dockerfile',
          patterns: [{ include: '#inner-comment' }, { include: '#json-array' }, { include: '#arguments' }],
        },
        {
          // COPY / ADD: heredoc bodies are file contents
          begin: start('COPY|ADD'),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.dockerfile',
          patterns: [{ include: '#inner-comment' }, { include: '#json-array' }, heredoc('file', true), heredoc('file', false), { include: '#arguments' }],
        },
        {
          begin: start('HEALTHCHECK'),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.dockerfile',
          patterns: [
            { include: '#inner-comment' },
            { match: `(?<=${ws})(?i:CMD|NONE)(?=${ws}|$)`, name: 'keyword.other.special-method.dockerfile' },
            { include: '#json-array' },
            { include: '#arguments' },
          ],
        },
        {
          begin: start('ENV|ARG|LABEL'),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.dockerfile',
          patterns: [
            { include: '#inner-comment' },
            {
              match: `(?<=^|${ws})([A-Za-z_][A-Za-z0-9_.-]*)(=)`,
              captures: { 1: { name: 'variable.other.assignment.dockerfile' }, 2: { name: 'keyword.operator.assignment.dockerfile' } },
            },
            { include: '#arguments' },
          ],
        },
        {
          begin: start(`${KEYWORDS}`),
          beginCaptures: startCaptures,
          end: END,
          applyEndPatternLast: true,
          name: 'meta.instruction.dockerfile',
          patterns: [{ include: '#inner-comment' }, { include: '#arguments' }],
        },
        {
          // ONBUILD with no (or an unknown) trigger
          match: `^${ws}*(?i:(ONBUILD))(?=${ws}|$)`,
          captures: { 1: { name: 'keyword.other.special-method.onbuild.dockerfile' } },
        },
      ],
    },
  },
};

const out = fileURLToPath(new URL('./dockerfile.tmLanguage.json', import.meta.url));
writeFileSync(out, JSON.stringify(grammar, null, 2) + '\n');
