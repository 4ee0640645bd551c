/**
 * Differential tests of failing builds: each broken Dockerfile below is built by Docker 26 (BuildKit, the shared
 * test daemon) and by our CLI from the same base image. Both must fail with exit code 1, point at the same
 * Dockerfile line (the last `Dockerfile:N` printed, or no line), and end with the same `ERROR: failed to solve: …` message — except
 * where `same: false` says why the words differ (Docker's message names its internal references, or the registry
 * it would pull from); then the failure and the line are still compared.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../helpers/peer-process';
import type { Kit } from '../helpers/build';
import type { DockerPeer } from '../helpers/docker';
import { CLI, startPeers, type Peers } from './peers';

interface Case {
  name: string;
  dockerfile: string;
  files?: Record<string, string>;
  /** false: only the failure and the line are compared (the reason says why the words differ) */
  same?: false | string;
  /** Docker prints the location on some runs and not on others (the reason says when): ours must have one */
  lineVaries?: string;
}

const B = 'FROM lwdiff-busybox\n';
const CASES: Case[] = [
  { name: 'run-exit-status', dockerfile: `${B}RUN echo before && exit 3\n` },
  { name: 'run-exec-form-missing', dockerfile: `${B}RUN ["nosuchcmd", "a b"]\n` },
  { name: 'run-shell-missing', dockerfile: `${B}RUN nosuchcmd\n` },
  { name: 'run-no-shell', dockerfile: 'FROM scratch\nRUN true\n' },
  { name: 'run-unknown-user', dockerfile: `${B}USER nosuchuser\nRUN true\n` },
  { name: 'run-unknown-group', dockerfile: `${B}USER 1000:nosuchgroup\nRUN echo "quoted"\n` },
  { name: 'unknown-instruction-upper', dockerfile: `${B}FOO bar\n` },
  { name: 'unknown-instruction-lower', dockerfile: `${B}entrypointt x\n` },
  { name: 'empty-file', dockerfile: '' },
  { name: 'comments-only', dockerfile: '# just a comment\n\n' },
  { name: 'blank-base-name', dockerfile: 'ARG X\nFROM $X\n' },
  { name: 'healthcheck-bad-duration', dockerfile: `${B}HEALTHCHECK --interval=bad CMD true\n` },
  { name: 'onbuild-from', dockerfile: `${B}ONBUILD FROM x\n` },
  { name: 'copy-one-argument', dockerfile: `${B}COPY a.txt\n`, files: { 'a.txt': 'a\n' } },
  ...['WORKDIR', 'ENV', 'STOPSIGNAL', 'SHELL', 'USER', 'VOLUME', 'LABEL', 'ARG', 'EXPOSE', 'ONBUILD', 'HEALTHCHECK', 'MAINTAINER', 'ADD', 'FROM'].map(
    (k): Case => ({ name: `bare-${k.toLowerCase()}`, dockerfile: `${B}${k}\n` }),
  ),
  { name: 'expose-not-a-port', dockerfile: `${B}EXPOSE 80 abc\n` },
  { name: 'expose-proto', dockerfile: `${B}EXPOSE 80/xyz\n` },
  { name: 'expose-too-big', dockerfile: `${B}EXPOSE 70000\n` },
  { name: 'expose-range-backwards', dockerfile: `${B}EXPOSE 8080-8070\n` },
  { name: 'expose-from-variable', dockerfile: `${B}ENV P="80 9x"\nEXPOSE $P\n` },
  { name: 'add-checksum-short', dockerfile: `${B}ADD --checksum=sha256:abc a.txt /\n`, files: { 'a.txt': 'a\n' } },
  { name: 'add-checksum-format', dockerfile: `${B}ADD --checksum=abc a.txt /\n`, files: { 'a.txt': 'a\n' } },
  { name: 'add-checksum-algorithm', dockerfile: `${B}ADD --checksum=md5:abc a.txt /\n`, files: { 'a.txt': 'a\n' } },
  {
    name: 'add-checksum-local',
    dockerfile: `${B}ADD --checksum=sha256:${'a'.repeat(64)} a.txt /\n`,
    files: { 'a.txt': 'a\n' },
  },
  { name: 'stage-self-index', dockerfile: `${B}COPY --from=0 /etc/passwd /p\n` },
  { name: 'stage-index-out-of-range', dockerfile: `FROM lwdiff-busybox AS one\nRUN true\n${B}COPY --from=2 /etc/passwd /q\n` },
  { name: 'stage-negative-index', dockerfile: `${B}COPY --from=-1 /etc/passwd /q\n` },
  {
    name: 'stage-forward-name',
    dockerfile: 'FROM lwdiff-busybox AS a\nCOPY --from=b /b.txt /a.txt\nFROM lwdiff-busybox AS b\nRUN echo b > /b.txt\nFROM lwdiff-busybox\nCOPY --from=a /a.txt /f\n',
  },
  {
    name: 'stage-forward-index',
    dockerfile: 'FROM lwdiff-busybox AS a\nCOPY --from=1 /b.txt /a.txt\nFROM lwdiff-busybox AS b\nRUN echo b > /b.txt\nFROM lwdiff-busybox\nCOPY --from=a /a.txt /f\n',
  },
  {
    name: 'stage-forward-mount',
    dockerfile: 'FROM lwdiff-busybox AS a\nRUN --mount=from=b,target=/m cp /m/b.txt /a.txt\nFROM lwdiff-busybox AS b\nRUN echo b > /b.txt\nFROM lwdiff-busybox\nCOPY --from=a /a.txt /f\n',
  },
  {
    name: 'stage-cycle',
    dockerfile: 'FROM lwdiff-busybox AS a\nCOPY --from=b /b.txt /a.txt\nFROM lwdiff-busybox AS b\nCOPY --from=a /a.txt /b.txt\nFROM lwdiff-busybox\nCOPY --from=a /a.txt /f\n',
  },
  { name: 'secret-required', dockerfile: `${B}RUN --mount=type=secret,id=nope,required=true cat /run/secrets/nope\n` },
  { name: 'copy-missing', dockerfile: `${B}COPY missing.txt .\n`, same: "Docker's message names its internal context reference" },
  { name: 'copy-from-image-missing-path', dockerfile: `${B}COPY --from=lwdiff-busybox /nonexist /y\n`, same: "Docker's message names its internal reference" },
  { name: 'from-other-platform', dockerfile: 'FROM --platform=linux/s390x lwdiff-busybox\nRUN true\n', same: 'Docker tries Docker Hub for that platform' },
  { name: 'from-missing-image', dockerfile: 'FROM nosuchimage:1\nRUN true\n', same: 'Docker tries Docker Hub, which is not reachable here' },
  // stage names match exactly as expanded (they are stored lower-cased), and so does scratch: other spellings are image
  // names, which must be lower-case
  { name: 'from-stage-name-case', dockerfile: 'FROM lwdiff-busybox AS builder\nRUN true\nFROM Builder\nRUN true\n' },
  { name: 'from-scratch-case', dockerfile: 'FROM SCRATCH\nCOPY Dockerfile /\n' },
  { name: 'from-variable-stage-case', dockerfile: 'ARG B=Builder\nFROM lwdiff-busybox AS builder\nFROM $B\n' },
  { name: 'from-invalid-reference', dockerfile: 'FROM lwdiff-busybox@@x\n' },
  { name: 'mount-unknown-type', dockerfile: `${B}RUN --mount=type=foo,target=/x true\n` },
  { name: 'mount-cache-no-target', dockerfile: `${B}RUN --mount=type=cache true\n` },
  { name: 'mount-bind-no-target', dockerfile: `${B}RUN --mount=type=bind,source=. true\n` },
  { name: 'mount-unknown-key', dockerfile: `${B}RUN --mount=type=cache,target=/c,color=red true\n` },
  { name: 'mount-bad-sharing', dockerfile: `${B}RUN --mount=type=cache,target=/c,sharing=all true\n` },
  // `..` stays inside the context: ../x is the context's x, which is not there (Docker's message names its internal reference)
  { name: 'mount-bind-outside-context', dockerfile: `${B}RUN --mount=type=bind,source=../x,target=/x true\n`, same: "Docker's message names its internal context reference" },
  { name: 'run-network-bogus', dockerfile: `${B}RUN --network=bogus true\n` },
  { name: 'run-security-bogus', dockerfile: `${B}RUN --security=bogus true\n`, same: "Docker 26's stable frontend has no --security (a labs flag): it says unknown flag; we name the modes" },
  { name: 'unknown-flag', dockerfile: `${B}COPY --foo=bar a.txt /\n`, files: { 'a.txt': 'a\n' } },
  { name: 'flag-on-wrong-instruction', dockerfile: `${B}RUN --chown=1 true\n` },
  { name: 'copy-outside-context', dockerfile: `${B}COPY ../a.txt /\n`, same: "Docker's message names its internal context reference" },
  { name: 'env-blank-name', dockerfile: `${B}ENV =x\n` },
  { name: 'arg-blank-name', dockerfile: `${B}ARG =x\n` },
  { name: 'label-blank-name', dockerfile: `${B}LABEL =x\n` },
  { name: 'healthcheck-negative-retries', dockerfile: `${B}HEALTHCHECK --retries=-1 CMD true\n` },
  { name: 'healthcheck-no-cmd', dockerfile: `${B}HEALTHCHECK --interval=5s\n` },
  { name: 'healthcheck-unknown-type', dockerfile: `${B}HEALTHCHECK FOO true\n` },
  { name: 'stopsignal-unknown', dockerfile: `${B}STOPSIGNAL FOO\n` },
  { name: 'shell-not-json', dockerfile: `${B}SHELL /bin/sh -c\n` },
  { name: 'from-as-missing-name', dockerfile: 'FROM lwdiff-busybox AS\n' },
  { name: 'from-bad-stage-name', dockerfile: 'FROM lwdiff-busybox AS 1-bad!\n' },
  { name: 'from-extra-words', dockerfile: 'FROM lwdiff-busybox AS a b\n' },
  { name: 'onbuild-onbuild', dockerfile: `${B}ONBUILD ONBUILD RUN true\n` },
  { name: 'onbuild-maintainer', dockerfile: `${B}ONBUILD MAINTAINER me\n` },
  { name: 'expand-bad-modifier', dockerfile: `${B}ENV A=\${B:?must be set}\n` },
  { name: 'expand-unterminated', dockerfile: `${B}ENV A=\${B\n` },
  { name: 'copy-heredoc-no-dest', dockerfile: `${B}COPY <<EOF\nhi\nEOF\n` },
  { name: 'stopsignal-zero', dockerfile: `${B}STOPSIGNAL 0\n` },
  { name: 'stopsignal-from-variable', dockerfile: `${B}ARG S=SIGNOPE\nSTOPSIGNAL $S\n` },
  { name: 'env-one-word', dockerfile: `${B}ENV A\n` },
  { name: 'label-word-without-equals', dockerfile: `${B}LABEL a=b c d\n` },
  { name: 'cmd-json-not-strings', dockerfile: `${B}CMD ["a", 1]\n` },
  { name: 'expand-length-modifier', dockerfile: `${B}ARG V=x\nENV K=\${#V}\n` },
  { name: 'env-unquoted-command-substitution', dockerfile: `${B}ENV G=$(echo no)\n` },
  { name: 'copy-from-empty', dockerfile: `${B}COPY --from= /a /b\n`, same: "an empty --from is the context; Docker's message names its internal reference" },
  { name: 'mount-cache-bad-uid', dockerfile: `${B}RUN --mount=type=cache,target=/c,uid=abc true\n` },
  { name: 'run-network-twice', dockerfile: `${B}RUN --network=none --network=host true\n` },
  { name: 'expose-open-range', dockerfile: `${B}EXPOSE 80-\n` },
  { name: 'env-second-word-without-equals', dockerfile: `${B}ENV A=1 B\n` },
  { name: 'label-key-only', dockerfile: `${B}LABEL "a"\n` },
  { name: 'mount-target-root', dockerfile: `${B}RUN --mount=type=tmpfs,target=/ true\n` },
  {
    name: 'add-url-to-nowhere',
    dockerfile: `${B}ADD http://127.0.0.1:1/x /x\n`,
    same: 'the connection error is worded by each HTTP client',
    lineVaries: "Docker prints no Dockerfile line when the download fails while it loads the step's cache key",
  },
];

let peers: Peers | undefined;
const results = new Map<string, { docker: Outcome; ours: Outcome }>();

interface Outcome {
  code: number;
  line: string | undefined;
  error: string | undefined;
  log: string;
}

/** The exit code, the `Dockerfile:N` line and the `ERROR: failed to solve:` line of a build's output. */
function outcome(code: number, out: string): Outcome {
  const lines = out.split('\n');
  return {
    code,
    // the last location printed (a cycle makes Docker print one block per instruction on it, ours prints the one
    // that starts it, which Docker prints last)
    line: [...lines].reverse().find((l) => /^Dockerfile:\d+$/.test(l)),
    // Docker words its prefix either way, from one run to the next, for errors found before the solve
    error: [...lines]
      .reverse()
      .find((l) => /^ERROR: failed to (solve|run Build function): /.test(l))
      ?.replace(/^ERROR: failed to (solve|run Build function): /, ''),
    log: lines.slice(-14).join('\n'),
  };
}

before(async () => {
  peers = await startPeers();
  if (peers.skip === undefined) await buildAll(peers.docker, peers.kit);
});

after(async () => {
  if (peers?.skip !== undefined) return;
  await peers?.kit.cleanup();
  await peers?.docker.stop();
});

/** Every case built by Docker (a few at a time) and by our CLI beside it; the outcomes in `results`. */
async function buildAll(dk: DockerPeer, kit: Kit): Promise<void> {
  const root = kit.root;
  await Promise.all(
    CASES.map(async (c) => {
      const dir = join(kit.dir, 'errors', c.name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'Dockerfile'), c.dockerfile);
      for (const [f, content] of Object.entries(c.files ?? {})) await writeFile(join(dir, f), content);
    }),
  );
  // Docker a few at a time, ours beside it
  const queue = [...CASES];
  const dockerOut = new Map<string, Outcome>();
  await Promise.all([
    ...Array.from({ length: 3 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const r = await dk.run(['build', '--progress=plain', join(kit.dir, 'errors', c.name)]);
        dockerOut.set(c.name, outcome(r.code, r.stderr + r.stdout));
      }
    }),
    (async () => {
      for (const c of CASES) {
        const r = await runCommand(process.execPath, [CLI, '--root', root, 'build', '--progress=plain', join(kit.dir, 'errors', c.name)]);
        results.set(c.name, { docker: undefined as unknown as Outcome, ours: outcome(r.code, r.stderr + r.stdout) });
      }
    })(),
  ]);
  for (const [name, o] of dockerOut) results.get(name)!.docker = o;
}

for (const c of CASES) {
  test(c.name, async (t) => {
    if (peers?.skip !== undefined) return t.skip(peers?.skip);
    const { docker: theirs, ours } = results.get(c.name)!;
    assert.equal(theirs.code, 1, `docker was expected to fail:\n${theirs.log}`);
    assert.equal(ours.code, 1, `ours was expected to fail with 1:\n${ours.log}`);
    if (c.lineVaries) {
      assert.ok(ours.line, `ours points at a line\n${ours.log}`);
      if (theirs.line) assert.equal(ours.line, theirs.line);
      t.diagnostic(`Docker's line not required: ${c.lineVaries}`);
    } else assert.equal(ours.line, theirs.line, `the line it points at\n--- docker\n${theirs.log}\n--- ours\n${ours.log}`);
    if (c.same === undefined) assert.equal(ours.error, theirs.error, `--- docker\n${theirs.log}\n--- ours\n${ours.log}`);
    else {
      assert.ok(ours.error, ours.log);
      t.diagnostic(`words not compared: ${c.same}`);
    }
  });
}
