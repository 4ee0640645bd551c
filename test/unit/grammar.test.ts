// The TextMate grammar (syntaxes/dockerfile.tmLanguage.json) tokenized by vscode-textmate with the real
// Oniguruma (WASM) engine; tokens rendered as `text → scope` lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as vsctm from 'vscode-textmate';
import * as oniguruma from 'vscode-oniguruma';

const root = join(__dirname, '..', '..');
const require_ = createRequire(__filename);

async function loadGrammar(): Promise<vsctm.IGrammar> {
  const wasm = readFileSync(require_.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName: string) => {
      if (scopeName === 'source.shell') {
        // VS Code supplies the real shell grammar; a one-rule stand-in shows that heredoc bodies embed it
        return vsctm.parseRawGrammar(JSON.stringify({ scopeName: 'source.shell', patterns: [{ match: '\\becho\\b', name: 'support.function.builtin.shell' }] }), 'shell.json');
      }
      if (scopeName !== 'source.dockerfile') return null;
      const path = join(root, 'syntaxes', 'dockerfile.tmLanguage.json');
      return vsctm.parseRawGrammar(readFileSync(path, 'utf8'), path);
    },
  });
  const g = await registry.loadGrammar('source.dockerfile');
  if (!g) throw new Error('grammar did not load');
  return g;
}

const grammarP = loadGrammar();

/** Every non-blank token as `text → innermost scope` (the source.dockerfile root left out). */
async function render(text: string): Promise<string> {
  const g = await grammarP;
  const out: string[] = [];
  let state = vsctm.INITIAL;
  for (const line of text.split(/\r?\n/)) {
    const r = g.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const s = line.slice(t.startIndex, t.endIndex);
      if (!s.trim()) continue;
      out.push(`${s} → ${t.scopes[t.scopes.length - 1]}`);
    }
    state = r.ruleStack;
  }
  return out.join('\n');
}

/** The scopes (all of them) of the first token whose text is `needle` on any line. */
async function scopesOf(text: string, needle: string, nth = 0): Promise<string[]> {
  const g = await grammarP;
  let state = vsctm.INITIAL;
  let seen = 0;
  for (const line of text.split(/\r?\n/)) {
    const r = g.tokenizeLine(line, state);
    for (const t of r.tokens) {
      if (line.slice(t.startIndex, t.endIndex) === needle && seen++ === nth) return t.scopes;
    }
    state = r.ruleStack;
  }
  throw new Error(`no token ${JSON.stringify(needle)}`);
}

const both = (name: string, text: string, fn: (text: string) => Promise<void>) => {
  test(`${name} (LF)`, () => fn(text));
  test(`${name} (CRLF)`, () => fn(text.replace(/\n/g, '\r\n')));
};

both('instructions, directives and comments', '# syntax=docker/dockerfile:1\n# a comment\nfrom alpine:3.19 AS base\nRUN echo hi\n', async (t) => {
  assert.equal(
    await render(t),
    [
      '# → punctuation.definition.directive.dockerfile',
      'syntax → keyword.other.directive.dockerfile',
      '= → keyword.operator.assignment.dockerfile',
      'docker/dockerfile:1 → string.unquoted.directive.dockerfile',
      '# → punctuation.definition.comment.dockerfile',
      ' a comment → comment.line.number-sign.dockerfile',
      'from → keyword.other.special-method.dockerfile',
      ' alpine:3.19  → meta.instruction.from.dockerfile',
      'AS → keyword.control.as.dockerfile',
      'base → entity.name.type.stage.dockerfile',
      'RUN → keyword.other.special-method.dockerfile',
      ' echo hi → meta.instruction.run.dockerfile',
    ].join('\n'),
  );
});

both('flags with values and variables', 'COPY --from=build --chown=${USER}:app --link src/ /app/\n', async (t) => {
  const r = await render(t);
  assert.match(r, /^-- → punctuation\.definition\.flag\.dockerfile$/m);
  assert.match(r, /^from → variable\.parameter\.flag\.dockerfile$/m);
  assert.match(r, /^build → string\.unquoted\.flag-value\.dockerfile$/m);
  assert.match(r, /^USER → variable\.other\.bracket\.dockerfile$/m);
  assert.match(r, /^link → variable\.parameter\.flag\.dockerfile$/m);
});

both('continuation lines stay in the instruction; comments and empty lines inside do not end it', 'RUN apt-get update \\  \n# note\n\n    && apt-get install -y $PKG\nUSER app\n', async (t) => {
  assert.deepEqual(await scopesOf(t, '\\'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'constant.character.escape.continuation.dockerfile']);
  assert.deepEqual(await scopesOf(t, ' note'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'comment.line.number-sign.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'PKG'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'variable.other.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'USER'), ['source.dockerfile', 'meta.instruction.dockerfile', 'keyword.other.special-method.dockerfile']);
});

both('JSON form', 'CMD ["nginx", "-g", "daemon off;"]\n', async (t) => {
  const r = await render(t);
  assert.match(r, /^\[ → punctuation\.definition\.array\.begin\.dockerfile$/m);
  assert.match(r, /^nginx → string\.quoted\.double\.json\.dockerfile$/m);
  assert.match(r, /^daemon off; → string\.quoted\.double\.json\.dockerfile$/m);
  assert.match(r, /^, → punctuation\.separator\.array\.dockerfile$/m);
  assert.match(r, /^\] → punctuation\.definition\.array\.end\.dockerfile$/m);
});

both('strings with variables and escapes', 'ENV A="x $B \\" y" C=\'$D\'\n', async (t) => {
  const r = await render(t);
  assert.match(r, /^A → variable\.other\.assignment\.dockerfile$/m);
  assert.match(r, /^B → variable\.other\.dockerfile$/m);
  assert.match(r, /^\\" → constant\.character\.escape\.dockerfile$/m);
  assert.match(r, /^\$D → string\.quoted\.single\.dockerfile$/m);
});

both('RUN heredoc: the body is embedded shell, the terminator ends it', 'RUN <<EOF\nset -e\necho $HOME\nEOF\nWORKDIR /x\n', async (t) => {
  assert.deepEqual(await scopesOf(t, '<<'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'meta.heredoc.dockerfile', 'keyword.operator.heredoc.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'set -e'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'meta.heredoc.dockerfile', 'meta.embedded.block.shell']);
  assert.deepEqual(await scopesOf(t, 'echo'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'meta.heredoc.dockerfile', 'meta.embedded.block.shell', 'support.function.builtin.shell']);
  assert.deepEqual(await scopesOf(t, 'EOF', 1), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'meta.heredoc.dockerfile', 'entity.name.tag.heredoc.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'WORKDIR'), ['source.dockerfile', 'meta.instruction.dockerfile', 'keyword.other.special-method.dockerfile']);
});

both('COPY heredoc: body is file content; variables only when the delimiter is unquoted', 'COPY <<-"END" /etc/conf\n\tkey=$V\n\tEND\nCOPY <<END /b\nx=$W\nEND\n', async (t) => {
  assert.deepEqual(await scopesOf(t, ' /etc/conf'), ['source.dockerfile', 'meta.instruction.dockerfile', 'meta.heredoc.dockerfile']);
  assert.deepEqual(await scopesOf(t, '\tkey=$V'), ['source.dockerfile', 'meta.instruction.dockerfile', 'meta.heredoc.dockerfile', 'string.unquoted.heredoc.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'W'), ['source.dockerfile', 'meta.instruction.dockerfile', 'meta.heredoc.dockerfile', 'string.unquoted.heredoc.dockerfile', 'variable.other.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'COPY', 1), ['source.dockerfile', 'meta.instruction.dockerfile', 'keyword.other.special-method.dockerfile']);
});

both('ONBUILD and HEALTHCHECK sub-keywords', 'ONBUILD RUN make\nHEALTHCHECK --interval=5s CMD curl -f localhost\n', async (t) => {
  assert.deepEqual(await scopesOf(t, 'ONBUILD'), ['source.dockerfile', 'meta.instruction.run.dockerfile', 'keyword.other.special-method.onbuild.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'CMD'), ['source.dockerfile', 'meta.instruction.dockerfile', 'keyword.other.special-method.dockerfile']);
  assert.deepEqual(await scopesOf(t, 'interval'), ['source.dockerfile', 'meta.instruction.dockerfile', 'variable.parameter.flag.dockerfile']);
});

test('every BuildKit corpus Dockerfile tokenizes without stopping early, and ends outside any instruction', async () => {
  const g = await grammarP;
  const dir = join(root, '..', 'shared', 'conformance', 'buildkit-parser', 'testfiles');
  const { readdirSync, existsSync } = await import('node:fs');
  if (!existsSync(dir)) return void test.skip?.('corpus not present');
  let files = 0;
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name, 'Dockerfile'), 'utf8');
    let state = vsctm.INITIAL;
    for (const line of text.split(/\r?\n/)) {
      const r = g.tokenizeLine(line, state);
      assert.equal(r.stoppedEarly, false, `${name}: ${line}`);
      state = r.ruleStack;
    }
    // a file that ends on a continuation legitimately leaves the instruction open
    if (/\\[ \t]*\r?\n?$/.test(text)) continue;
    const closing = g.tokenizeLine('FROM x', state);
    assert.equal(closing.tokens[0]?.scopes.at(-1), 'keyword.other.special-method.dockerfile', `${name}: state after the file`);
    files++;
  }
  assert.ok(files >= 30, `corpus read (${files} files)`);
});
