/**
 * Shell-word expansion beyond BuildKit's corpus: modifiers and patterns, options (as BuildKit's parser and
 * builder set them), the backtick escape, looked-up variables, reference offsets for the language server,
 * error messages and offsets, and linear running time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { envFromRecord, expandWord, expandWordOr, expandWords, findVariableRefs, type ExpandResult, type LexOptions, type VarRef } from '../../engine/dockerfile/shell';
import { LexError, Lexer } from '../../engine/dockerfile/shell-lexer';
import { prng } from '../helpers/prng';

const env = envFromRecord({
  FOO: 'xxyy',
  EMPTY: '',
  FILE: 'archive.tar.gz',
  URL: 'http://example.com/a/b',
  K: '한국어',
  E: 'a👽',
  ML: 'a\nb',
  B: '[ab]c',
  SP: ' a  b ',
  H: '#*x',
});
const none = envFromRecord({});

function value(word: string, opts?: LexOptions, e = env): string {
  const r = expandWord(word, e, opts);
  assert.ok(r.ok, `${word}: ${r.ok ? '' : r.error}`);
  return r.value;
}

function words(word: string, opts?: LexOptions, e = env): string[] {
  const r = expandWords(word, e, opts);
  assert.ok(r.ok, `${word}: ${r.ok ? '' : r.error}`);
  return r.words;
}

function failure(word: string, e = env, opts?: LexOptions): { error: string; offset?: number } {
  const r: ExpandResult = expandWord(word, e, opts);
  assert.equal(r.ok, false, `${word} should fail, gave ${r.ok ? JSON.stringify(r.value) : ''}`);
  return r as { error: string; offset?: number };
}

describe('modifiers', () => {
  const cases: [string, string][] = [
    ['${FOO:-d}', 'xxyy'],
    ['${NOPE:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${NOPE-d}', 'd'],
    ['${FOO:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${NOPE+alt}', ''],
    ['${FOO?}', 'xxyy'],
    ['${EMPTY?}', ''],
    ['${FOO:?}', 'xxyy'],
    ['${NOPE:-${EMPTY:-${FOO}}}', 'xxyy'],
    ['${FOO#x}', 'xyy'],
    ['${FOO##*x}', 'yy'],
    ['${FOO%y}', 'xxy'],
    ['${FOO%%y*}', 'xx'],
    ['${FOO%%x*}', ''],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FOO/x/-}', '-xyy'],
    ['${FOO//x/-}', '--yy'],
    ['${FOO//?/.}', '....'],
    ['${FOO/#/-}', 'xxyy'], // no anchors in BuildKit: `#` is literal
    ['${URL/http:\\/\\//https://}', 'https://example.com/a/b'],
    ['${URL//\\//|}', 'http:||example.com|a|b'],
    ['${NOPE/a/b}', ''],
    ['${NOPE#a}', ''],
    // no bracket expressions: `[` is literal
    ['${B#[ab]}', 'c'],
    ['${FOO#[x]}', 'xxyy'],
    // `*` and `?` do not cross a newline (Go's `.`)
    ['${ML#*b}', 'a\nb'],
    ['${ML#?}', '\nb'],
    // characters are code points
    ['${K#?}', '국어'],
    ['${E%?}', 'a'],
    ['${E//?/.}', '..'],
    // the replacement of `//` goes through Go's Regexp.Expand: `$0` is the match, `$$` a dollar
    ["${FOO//x/'<$0>'}", '<x><x>yy'],
    ["${FOO//x/'$$'}", '$$yy'],
    ["${FOO//x/'$zz'}", 'yy'],
    // ...but a single `/` replaces literally
    ["${FOO/x/'<$0>'}", '<$0>xyy'],
    // `##`: BuildKit looks at the expanded word
    ['${FOO#$H}', 'yy'],
  ];
  for (const [word, expected] of cases) {
    test(word, () => assert.equal(value(word), expected));
  }
});

describe('errors: BuildKit messages, offset of the problem', () => {
  const cases: [string, string, number][] = [
    ['a${}', 'syntax error: bad substitution', 1],
    ['a ${:-x}', 'syntax error: bad substitution', 2],
    ['ab${', "syntax error: missing '}'", 2],
    ['ab ${FOO:-abc', "syntax error: missing '}'", 3],
    ["x ${FOO:-'abc}", "syntax error: missing '}'", 2],
    ['${FOO/a', "syntax error: missing '/' in ${}", 0],
    ['${FOO//}', "syntax error: missing '/' in ${}", 0],
    ['x ${NOPE:?must be set}', 'NOPE: must be set', 2],
    ['${NOPE?}', 'NOPE: is not allowed to be unset', 0],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty', 0],
    ['${NOPE:?$FOO!}', 'NOPE: xxyy!', 0],
    ['a "abc', 'unexpected end of statement while looking for matching double-quote', 2],
    ['ok \'abc', 'unexpected end of statement while looking for matching single-quote', 3],
    ['"abc\\"', 'unexpected end of statement while looking for matching double-quote', 0],
    ['${FOO:=x}', 'unsupported modifier (:=) in substitution', 5],
    ['${FOO=x}', 'unsupported modifier (=) in substitution', 5],
    ['${FOO:#x}', 'unsupported modifier (:#) in substitution', 5],
    ['${FOO:%%}', 'unsupported modifier (:%) in substitution', 5],
    ['${.}', 'unsupported modifier (.) in substitution', 2],
    // BuildKit names the end of input as the modifier (Go's EOF rune printed as U+FFFD)
    ['ab${FOO', 'unsupported modifier (\uFFFD) in substitution', 2],
    ['${FOO#\\x}', "invalid pattern (\\x) in substitution: invalid escape '\\x'", 0],
    // `%` matches the reversed pattern against the reversed value; BuildKit's message shows it reversed
    ['${FOO%b\\a}', "invalid pattern (\\ab) in substitution: invalid escape '\\a'", 0],
    // an escaped `}` does not close the modifier word
    ['${FOO%a\\}', "syntax error: missing '}'", 0],
  ];
  for (const [word, message, offset] of cases) {
    test(word, () => {
      const f = failure(word);
      assert.equal(f.error, `failed to process ${JSON.stringify(word)}: ${message}`);
      assert.equal(f.offset, offset);
    });
  }

  test('the word is quoted as Go %q does', () => {
    assert.equal(failure('\t${}\u0000é').error, 'failed to process "\\t${}\\x00é": syntax error: bad substitution');
    assert.equal(failure('\u00a0"\\').error, 'failed to process "\\u00a0\\"\\\\": unexpected end of statement while looking for matching double-quote');
  });

  test('offsets are UTF-16 indexes', () => {
    assert.equal(failure('👽${}').offset, 2);
  });

  test('deep nesting is refused, not a stack overflow', () => {
    const deep = '${A:-'.repeat(5000) + 'x' + '}'.repeat(5000);
    const f = failure(deep);
    assert.match(f.error, /too deeply nested$/);
    const ok = '${A:-'.repeat(500) + 'x' + '}'.repeat(500);
    assert.equal(value(ok), 'x');
  });

  test('never throws on arbitrary input', () => {
    const alphabet = ['$', '{', '}', ':', '-', '+', '?', '#', '%', '/', '\\', '`', "'", '"', ' ', 'a', '*', '<', '\ud83d', '👽'];
    let seed = 7;
    for (let i = 0; i < 3000; i++) {
      let w = '';
      for (let j = 0; j < 10; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        w += alphabet[seed % alphabet.length];
      }
      for (const opts of [{}, { escape: '`' as const, rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }, { skipProcessQuotes: true }]) {
        const r = expandWord(w, env, opts);
        assert.equal(typeof r.ok, 'boolean');
        if (!r.ok && r.offset !== undefined) assert.ok(r.offset >= 0 && r.offset <= w.length, `${w}: offset ${r.offset}`);
        findVariableRefs(w, opts);
      }
    }
  });
});

describe('word splitting', () => {
  test('blanks split, quotes and escapes join', () => {
    assert.deepEqual(words('a  b\\ c "d  e" \'f g\'h'), ['a', 'b c', 'd  e', 'f gh']);
  });
  test('unquoted expansions split, quoted ones do not', () => {
    assert.deepEqual(words('x${SP}y "${SP}"'), ['x', 'a', 'b', 'y', ' a  b ']);
  });
  test("Go's unicode.IsSpace, not JavaScript's", () => {
    assert.deepEqual(words('a\u00a0b\u2003c\u0085d\ufeffe\u200bf'), ['a', 'b', 'c', 'd\ufeffe\u200bf']);
  });
  test('an empty quoted word is no word', () => {
    assert.deepEqual(words('"" a \'\''), ['a']);
  });
  test('BuildKit quirk: a modifier word empties the outer word gathered so far', () => {
    assert.deepEqual(words('he${NOPE:-a b}c d'), ['a', 'bc', 'd']);
    assert.equal(value('he${NOPE:-a b}c d'), 'hea bc d');
  });
  test('`<<` keeps the blanks after it in the same word', () => {
    assert.deepEqual(words('cat <<  EOF > out'), ['cat', '<<  EOF', '>', 'out']);
  });
  test('a byte-order mark at the start is dropped', () => {
    assert.equal(value('\ufeff$FOO\ufeff'), 'xxyy\ufeff');
  });
});

describe('options', () => {
  test('rawQuotes keeps quote characters', () => {
    assert.equal(value(`a"b c"'d'`, { rawQuotes: true }), `a"b c"'d'`);
    assert.equal(value(`a"b c"'d'`), 'ab cd');
    assert.deepEqual(words(`a"b c"'d' e`, { rawQuotes: true }), [`a"b c"'d'`, 'e']);
  });
  test('rawEscapes keeps escape characters', () => {
    assert.equal(value('a\\ b\\$c', { rawEscapes: true }), 'a\\ b\\$c');
    assert.deepEqual(words('a\\ b\\$c', { rawEscapes: true }), ['a\\ b\\$c']);
    assert.equal(value('a\\ b\\$c'), 'a b$c');
    // inside double quotes, an escape before an ordinary character is doubled (as BuildKit)
    assert.equal(value('"a\\tb\\"c"', { rawEscapes: true }), 'a\\\\tb\\"c');
    assert.equal(value('"a\\tb\\"c"'), 'a\\tb"c');
  });
  test('skipProcessQuotes makes quotes ordinary', () => {
    assert.equal(value(`"$FOO" '$FOO'`, { skipProcessQuotes: true }), `"xxyy" 'xxyy'`);
    assert.equal(value(`"a`, { skipProcessQuotes: true }), `"a`);
  });
  test('skipUnsetEnv leaves references to unset variables', () => {
    assert.equal(
      value('$NOPE ${NOPE} ${NOPE:-d} ${NOPE%x} ${NOPE/a/b} $FOO ${EMPTY:-e}', { skipUnsetEnv: true }),
      '$NOPE ${NOPE} ${NOPE:-d} ${NOPE%x} ${NOPE/a/b} xxyy e',
    );
    // BuildKit rebuilds `//` as `/`, and keeps modifiers it would reject
    assert.equal(value('${NOPE//a/b} ${NOPE:=x}', { skipUnsetEnv: true }), '${NOPE/a/b} ${NOPE:=x}');
    assert.equal(failure('${FOO:=x}', env, { skipUnsetEnv: true }).offset, 5);
  });

  // BuildKit's parser: heredocsFromLine splits the line with raw quotes, raw escapes and unset variables
  // kept; heredocFromMatch expands the delimiter with and without raw quotes and, when the quote counts
  // differ, marks the body as not expanded.
  function heredocs(line: string): { name: string; expand: boolean }[] {
    const r = expandWords(line, none, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
    const out: { name: string; expand: boolean }[] = [];
    for (const word of r.ok ? r.words : []) {
      const m = /^(\d*)<<(-?)\s*([^<]*)$/.exec(word);
      if (!m || m[3] === '') continue;
      const plain = expandWords(m[3], none, { skipUnsetEnv: true });
      const raw = expandWords(m[3], none, { skipUnsetEnv: true, rawQuotes: true });
      assert.ok(plain.ok && raw.ok);
      if (plain.words.length !== 1) continue;
      const quotes = (s: string) => s.split('').filter((c) => c === '"' || c === "'").length;
      out.push({ name: plain.words[0], expand: quotes(plain.words[0]) === quotes(raw.words[0]) });
    }
    return out;
  }
  const heredocCases: [string, { name: string; expand: boolean }[]][] = [
    ['<<EOF', [{ name: 'EOF', expand: true }]],
    ['<<"EOF"', [{ name: 'EOF', expand: false }]],
    ["<<-'EOF'", [{ name: 'EOF', expand: false }]],
    ["<<eo'f'", [{ name: 'eof', expand: false }]],
    ["<<eo\\'f", [{ name: "eo'f", expand: true }]],
    ["<<'e'o\\'f", [{ name: "eo'f", expand: false }]],
    ["<<'one two'", [{ name: 'one two', expand: false }]],
    ['<<$EOF', [{ name: '$EOF', expand: true }]],
    ['<<  EOF  > /foo', [{ name: 'EOF', expand: true }]],
    ['<<FILE1 <<"FILE2" /dest', [{ name: 'FILE1', expand: true }, { name: 'FILE2', expand: false }]],
    ['"<<NOHEREDOC"', []],
  ];
  for (const [line, expected] of heredocCases) {
    test(`heredoc detection: ${line}`, () => assert.deepEqual(heredocs(line), expected));
  }
});

describe('backtick escape', () => {
  const bt: LexOptions = { escape: '`' };
  test('backslash is an ordinary character', () => {
    assert.equal(value('C:\\path\\$FOO', bt), 'C:\\path\\xxyy');
    assert.equal(value('"C:\\dir\\"', bt), 'C:\\dir\\');
  });
  test('backtick escapes', () => {
    assert.equal(value('a`$FOO b` c', bt), 'a$FOO b c');
    assert.deepEqual(words('a` b', bt), ['a b']);
    assert.equal(value('"`"`$FOO``"', bt), '"$FOO`');
    assert.equal(value('a`', bt), 'a');
  });
  test('patterns keep backslash escapes', () => {
    assert.equal(value('${FOO%%\\*}', bt, envFromRecord({ FOO: 'a*' })), 'a');
  });
});

describe('looked-up variables', () => {
  const e = envFromRecord({ FOO: 'x', A: 'a', EMPTY: '' });
  function sets(word: string): [string[], string[]] {
    const r = expandWord(word, e);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return [[...r.matched].sort(), [...r.unmatched].sort()];
  }
  test('set and unset, including modifier words that are not used', () => {
    assert.deepEqual(sets('${FOO:-$A} ${NOPE:+$B} $EMPTY'), [['A', 'EMPTY', 'FOO'], ['B', 'NOPE']]);
  });
  test('not in single quotes, not escaped; yes in double quotes', () => {
    assert.deepEqual(sets(`'$A' \\$B "$FOO"`), [['FOO'], []]);
  });
  test('positional and special parameters are looked up like names', () => {
    assert.deepEqual(sets('$1 ${@} $$'), [[], ['$', '1', '@']]);
  });
  test('a bare $ is no reference', () => {
    assert.deepEqual(sets('$ $. a$'), [[], []]);
  });
});

describe('findVariableRefs', () => {
  function ref(word: string, text: string, name: string, modifier?: string, from = 0): VarRef {
    const start = word.indexOf(text, from);
    assert.ok(start >= 0, `${text} not in ${word}`);
    const nameStart = word.indexOf(name, start);
    const r: VarRef = { name, start, end: start + text.length, braced: text[1] === '{', nameStart, nameEnd: nameStart + name.length };
    if (modifier !== undefined) r.modifier = modifier;
    return r;
  }

  test('plain, braced, in double quotes; not in single quotes, not escaped', () => {
    const w = `a $FOO-x "\${BAR:-y}z" '$NOPE' \\$ESC "\\$ESC2" \${BAZ}`;
    assert.deepEqual(findVariableRefs(w), [ref(w, '$FOO', 'FOO'), ref(w, '${BAR:-y}', 'BAR', ':-'), ref(w, '${BAZ}', 'BAZ')]);
  });

  test('nested references and every modifier', () => {
    const w = '${A:-$B}${C-x}${D:+x}${E+x}${F:?m}${G?m}${H#p}${I##p}${J%p}${K%%p}${L/p/$R}${M//p/r}';
    const got = findVariableRefs(w);
    assert.deepEqual(
      got.map((r) => [r.name, r.modifier ?? '']),
      [['A', ':-'], ['B', ''], ['C', '-'], ['D', ':+'], ['E', '+'], ['F', ':?'], ['G', '?'], ['H', '#'], ['I', '##'], ['J', '%'], ['K', '%%'], ['L', '/'], ['R', ''], ['M', '//']],
    );
    assert.deepEqual(got[0], ref(w, '${A:-$B}', 'A', ':-'));
    assert.deepEqual(got[1], ref(w, '$B', 'B'));
    assert.deepEqual(got[12], ref(w, '$R', 'R'));
  });

  test('UTF-16 offsets', () => {
    const w = '👽 한$KOREAN_X "${👽}"';
    const got = findVariableRefs(w);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], { name: 'KOREAN_X', start: 4, end: 13, braced: false, nameStart: 5, nameEnd: 13 });
    // `${👽}` is no name: an error (unsupported modifier), so scanning stops there
    assert.equal(expandWord(w, none).ok, false);
  });

  test('a non-BMP letter in a name', () => {
    const w = '$a𝒜b.';
    assert.deepEqual(findVariableRefs(w), [{ name: 'a𝒜b', start: 0, end: 5, braced: false, nameStart: 1, nameEnd: 5 }]);
  });

  test('escape option and skipProcessQuotes', () => {
    assert.deepEqual(findVariableRefs('`$A $B \\$C', { escape: '`' }).map((r) => r.name), ['B', 'C']);
    assert.deepEqual(findVariableRefs(`'$A'`, { skipProcessQuotes: true }).map((r) => r.name), ['A']);
    assert.deepEqual(findVariableRefs(`'$A'`).map((r) => r.name), []);
  });

  test('on a syntax error: the references before it', () => {
    assert.deepEqual(findVariableRefs('$A ${B:-$C ${} $D').map((r) => r.name), ['A', 'C']);
    assert.deepEqual(findVariableRefs('$A "$B').map((r) => r.name), ['A', 'B']);
  });

  test('value-dependent failures do not stop the scan', () => {
    assert.deepEqual(findVariableRefs('${A:?} ${B#\\x} $C').map((r) => r.name), ['A', 'B', 'C']);
  });

  test('agrees with the variables expandWord looks up', () => {
    const wordsToCheck = [
      'a $FOO "${BAR:-$Q}" \'$X\' \\$Y ${Z//a/$W} ${1} $@ ${V%%$U}',
      '${A:+${B:-${C}}} "$D"${E}',
      '<<$EOF "\\$F" \\\\$G',
    ];
    for (const w of wordsToCheck) {
      const r = expandWord(w, none);
      assert.ok(r.ok, r.ok ? '' : r.error);
      const looked = [...r.unmatched, ...r.matched].sort();
      assert.deepEqual([...new Set(findVariableRefs(w).map((x) => x.name))].sort(), looked, w);
    }
  });
});

describe('words with nothing to expand', () => {
  /** what the scanner itself gives (expandWord answers plain words without it) */
  function scanned(word: string, opts: LexOptions): ExpandResult {
    const lx = new Lexer(word, env, opts);
    try {
      const { value, words } = lx.run();
      return { ok: true, value, words, matched: lx.matched ?? new Set(), unmatched: lx.unmatched ?? new Set() };
    } catch (e) {
      if (e instanceof LexError) return { ok: false, error: e.message, offset: e.offset };
      throw e;
    }
  }
  const norm = (r: ExpandResult) => (r.ok ? { ok: true, value: r.value, words: r.words, matched: [...r.matched], unmatched: [...r.unmatched] } : { ok: false, offset: r.offset });
  test('give what the scanner gives, for random words and every option', () => {
    const r = prng(0x5eed);
    const CHARS = ['a', 'Z', '0', '/', '.', '-', '=', ':', ' ', '\t', '\n', '\u00a0', '\u2003', '\ufeff', 'é', '😀', '$', '{', '}', '"', "'", '\\', '`', '<', '#'];
    const OPTS: LexOptions[] = [{}, { escape: '`' }, { rawQuotes: true }, { rawEscapes: true }, { skipProcessQuotes: true }, { skipUnsetEnv: true }, { escape: '`', skipProcessQuotes: true }];
    let plain = 0;
    for (let k = 0; k < 20000; k++) {
      let w = '';
      const len = Math.floor(r() * 12);
      // mostly ordinary characters, so that plain words are common
      for (let i = 0; i < len; i++) w += r() < 0.8 ? CHARS[Math.floor(r() * 12)]! : CHARS[Math.floor(r() * CHARS.length)]!;
      for (const o of OPTS) {
        const want = scanned(w, o);
        if (want.ok && want.matched.size === 0 && want.unmatched.size === 0 && want.value === w) plain++;
        assert.deepEqual(norm(expandWord(w, env, o)), norm(want), JSON.stringify(w) + ' ' + JSON.stringify(o));
        assert.deepEqual(norm(expandWords(w, env, o)), norm(want), JSON.stringify(w) + ' ' + JSON.stringify(o));
        assert.equal(expandWordOr(w, env, o, '\u0000failed'), want.ok ? want.value : '\u0000failed', JSON.stringify(w) + ' ' + JSON.stringify(o));
      }
    }
    assert.ok(plain > 10000, `only ${plain} plain words`);
  });
});

describe('running time', () => {
  test('a 256 KB word expands in linear time', () => {
    const unit = 'x$FOO "${NOPE:-y}" \\$z ${FILE%.*} ';
    const big = unit.repeat(Math.ceil((1 << 18) / unit.length));
    const t0 = performance.now();
    const r = expandWord(big, env);
    const refs = findVariableRefs(big);
    const ms = performance.now() - t0;
    assert.ok(r.ok);
    assert.equal(refs.length, (big.length / unit.length) * 3);
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  });

  test('patterns that make backtracking engines explode are matched in linear time', () => {
    const e = envFromRecord({ V: 'a'.repeat(5000), P: '*a*a*a*a*a*a*a*a*a*a*b' });
    const t0 = performance.now();
    assert.equal(value('${V##$P}', undefined, e), 'a'.repeat(5000));
    assert.equal(value('${V%%$P}', undefined, e), 'a'.repeat(5000));
    assert.equal(value('${V//$P/x}', undefined, e), 'a'.repeat(5000));
    assert.equal(value('${V//a/b}', undefined, e), 'b'.repeat(5000));
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  });
});

describe('envFromRecord', () => {
  test('record, Map and KEY=VALUE list', () => {
    assert.equal(envFromRecord(new Map([['A', '1']])).get('A'), '1');
    const l = envFromRecord(['A=1', 'B', 'A=2=3']);
    assert.equal(l.get('A'), '2=3');
    assert.equal(l.get('B'), '');
    assert.deepEqual(l.keys(), ['A', 'B']);
    const r = envFromRecord({ A: 'x' });
    assert.equal(r.get('constructor'), undefined);
    assert.equal(r.get('__proto__'), undefined);
  });
});
