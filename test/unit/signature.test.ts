// Signature help: the form written and the parameter under the cursor, rendered as `label [active param]`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signatureHelp } from '../../server/features/signatureHelp';
import { variants } from '../helpers/cursor';

function check(name: string, marked: string, expected: string | null): void {
  for (const f of variants(marked)) {
    test(`${name} (${f.eol})`, () => {
      const h = signatureHelp(f.parsed, f.position);
      if (expected === null) return assert.equal(h, null);
      assert.ok(h);
      const sig = h.signatures[h.activeSignature ?? 0]!;
      const p = sig.parameters?.[h.activeParameter ?? 0];
      assert.equal(`${sig.label} [${p ? (p.label as string) : ''}]`, expected);
    });
  }
}

const COPY0 = 'COPY [--from=<stage>] [--chown=<user>:<group>] [--chmod=<perms>] [--link] [--parents] [--exclude=<path>] <src>... <dest>';
check('COPY: on a flag', 'FROM a\nCOPY --ch|own=1 a b', `${COPY0} [--chown=<user>:<group>]`);
check('COPY: a source', 'FROM a\nCOPY a| b c', `${COPY0} [<src>...]`);
check('COPY: the destination', 'FROM a\nCOPY a b c|', `${COPY0} [<dest>]`);
check('COPY: after the last word, a new word', 'FROM a\nCOPY a |', `${COPY0} [<dest>]`);
check('COPY: JSON form', 'FROM a\nCOPY ["a",| "b"]', 'COPY [--from=<stage>] [--chown=<user>:<group>] ["<src>", ... "<dest>"] [["<src>", ... "<dest>"]]');
check('COPY: heredoc form', 'FROM a\nCOPY <<EOF /x|\nhi\nEOF', 'COPY <<EOF <dest> [<dest>]');
check(
  'HEALTHCHECK: options form',
  'FROM a\nHEALTHCHECK --retries=|3 CMD true',
  'HEALTHCHECK [--interval=<d>] [--timeout=<d>] [--start-period=<d>] [--start-interval=<d>] [--retries=<n>] CMD <command> [--retries=<n>]',
);
check('HEALTHCHECK NONE', 'FROM a\nHEALTHCHECK NO|NE', 'HEALTHCHECK NONE [NONE]');
check('RUN --mount: cache keys, the key under the cursor', 'FROM a\nRUN --mount=type=cache,target=/c,shar|ing=locked make', '--mount=type=cache,target=<path>[,source=<source>][,from=<from>][,readonly][,id=<id>][,sharing=shared|private|locked][,mode=<mode>][,uid=<uid>][,gid=<gid>] [[,sharing=shared|private|locked]]');
check('RUN --mount: secret type', 'FROM a\nRUN --mount=type=secret,i|d=x cat', '--mount=type=secret,target=<path>[,id=<id>][,mode=<mode>][,uid=<uid>][,gid=<gid>][,required][,env=<env>] [[,id=<id>]]');
check('RUN exec form', 'FROM a\nRUN ["a", |"b"]', 'RUN [--mount=<mount>] ["executable", "param", ...] [["executable", "param", ...]]');
check('ADD: a checksum flag', 'FROM a\nADD --checksum=sha256:x| http://x /', 'ADD [--chown=<user>:<group>] [--chmod=<perms>] [--checksum=<digest>] [--keep-git-dir] [--link] <src>... <dest> [--checksum=<digest>]');
check('on the keyword: none', 'FROM a\nCO|PY a b', null);
check('one-form instruction with one parameter: none', 'FROM a\nWORKDIR /a|', null);
