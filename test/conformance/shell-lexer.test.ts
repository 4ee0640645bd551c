/**
 * BuildKit's shell-lexer corpus (../shared/conformance/shell-lexer, see its README): every `A` and `U` line
 * of envVarTest and every case of wordsTest, each as its own test named after its input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { envFromRecord, expandWord, expandWords } from '../../engine/dockerfile/shell';

const root = process.env.LAYERWISE_CONFORMANCE ?? path.resolve(__dirname, '../../../shared/conformance');
const dir = path.join(root, 'shell-lexer');

function lines(file: string): string[] {
  return readFileSync(path.join(dir, file), 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
}

// Go's strings.TrimSpace (JS trim() also strips U+FEFF, which Go keeps)
function goTrim(s: string): string {
  return s.replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, '');
}

if (!existsSync(dir)) {
  test('shell-lexer corpus', (t) => t.skip(`corpus not found at ${dir} (set LAYERWISE_CONFORMANCE)`));
} else {
  const envVarEnv = envFromRecord({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });

  test('envVarTest', async (t) => {
    let count = 0;
    for (const [i, raw] of lines('envVarTest').entries()) {
      if (raw.startsWith('#')) continue;
      const line = goTrim(raw);
      if (line === '') continue;
      const fields = line.split('|');
      const platform = goTrim(fields[0]);
      const source = goTrim(fields[1] ?? '');
      const expected = goTrim(fields[2] ?? '');
      if (platform === 'W') {
        await t.test(source, { skip: 'Windows-only case (W)' }, () => {});
        continue;
      }
      count++;
      await t.test(source, () => {
        assert.equal(fields.length, 3, `line ${i + 1}: expected 3 fields`);
        assert.ok(platform === 'A' || platform === 'U', `line ${i + 1}: platform ${platform}`);
        const r = expandWord(source, envVarEnv);
        if (expected === 'error') {
          assert.equal(r.ok, false, `line ${i + 1}: ${JSON.stringify(source)} should fail, got ${JSON.stringify(r.ok && r.value)}`);
          assert.match((r as { error: string }).error, /^failed to process "/);
        } else {
          assert.ok(r.ok, `line ${i + 1}: ${r.ok ? '' : r.error}`);
          assert.equal(r.value, expected, `line ${i + 1}`);
        }
      });
    }
    assert.ok(count > 100, `only ${count} cases read from envVarTest`);
  });

  test('wordsTest', async (t) => {
    const env: string[] = [];
    let count = 0;
    for (const [i, line] of lines('wordsTest').entries()) {
      if (line.startsWith('#')) continue;
      if (i === lines('wordsTest').length - 1 && line === '') continue; // the file's final newline
      if (line.startsWith('ENV ')) {
        env.push(line.slice(3).replace(/^ +/, ''));
        continue;
      }
      const fields = line.split('|');
      const source = goTrim(fields[0]);
      const expected = (fields[1] ?? '').replace(/^ +/, '').split(',');
      const snapshot = envFromRecord([...env]);
      count++;
      await t.test(source, () => {
        assert.equal(fields.length, 2, `line ${i + 1}: expected exactly one |`);
        const r = expandWords(source, snapshot);
        assert.deepEqual(r.ok ? r.words : ['error'], expected, `line ${i + 1}`);
      });
    }
    assert.ok(count > 20, `only ${count} cases read from wordsTest`);
  });
}
