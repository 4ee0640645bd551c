/**
 * Our own concise documentation for every Dockerfile instruction: what it does, its forms (used by hover and
 * signature help), an example, and the completion snippets. Data only.
 */

export interface InstructionForm {
  /** the form as a signature label: `COPY [--from=<stage>] <src>... <dest>` */
  label: string;
  /** the parameters in the label, in order, each a substring of the label */
  parameters: { label: string; doc: string }[];
  doc?: string;
}

export interface InstructionDoc {
  keyword: string;
  summary: string;
  forms: InstructionForm[];
  example: string;
  /** completion snippets in LSP snippet syntax, the first is the default */
  snippets: { label: string; body: string }[];
  /** false when the instruction may not follow ONBUILD */
  onbuild: boolean;
  deprecated?: string;
}

const p = (label: string, doc: string) => ({ label, doc });

export const INSTRUCTIONS: InstructionDoc[] = [
  {
    keyword: 'FROM',
    summary: 'Starts a new build stage on top of a base image, an earlier stage, or `scratch` (empty).',
    forms: [
      {
        label: 'FROM [--platform=<platform>] <image>[:<tag>|@<digest>] [AS <name>]',
        parameters: [
          p('--platform=<platform>', 'Pick the platform of a multi-platform image, e.g. `$BUILDPLATFORM`.'),
          p('<image>[:<tag>|@<digest>]', 'The base: an image reference, an earlier stage name, or `scratch`.'),
          p('AS <name>', 'Names this stage so that `COPY --from`, `--mount from` and later `FROM`s can use it.'),
        ],
      },
    ],
    example: 'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
    snippets: [
      { label: 'FROM image', body: 'FROM ${1:image}' },
      { label: 'FROM image AS name', body: 'FROM ${1:image} AS ${2:name}' },
    ],
    onbuild: false,
  },
  {
    keyword: 'RUN',
    summary: 'Runs a command in a new layer on top of the current image and commits the result.',
    forms: [
      {
        label: 'RUN [--mount=<mount>] [--network=<mode>] [--security=<mode>] <command>',
        parameters: [
          p('--mount=<mount>', 'Mount a cache, secret, SSH agent, tmpfs or bind for this command only.'),
          p('--network=<mode>', '`default`, `none` or `host`.'),
          p('--security=<mode>', '`sandbox` (default) or `insecure` (needs the security.insecure entitlement).'),
          p('<command>', 'A shell command run with the SHELL (default `/bin/sh -c`).'),
        ],
        doc: 'Shell form.',
      },
      {
        label: 'RUN [--mount=<mount>] ["executable", "param", ...]',
        parameters: [p('--mount=<mount>', 'Mount for this command only.'), p('["executable", "param", ...]', 'Exec form: a JSON array, run without a shell.')],
        doc: 'Exec form: no shell, so no variable expansion by a shell.',
      },
    ],
    example: 'RUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y curl',
    snippets: [
      { label: 'RUN command', body: 'RUN ${1:command}' },
      { label: 'RUN ["executable", ...]', body: 'RUN ["${1:executable}"${2:, "${3:param}"}]' },
      { label: 'RUN --mount=type=cache', body: 'RUN --mount=type=cache,target=${1:/root/.cache} ${2:command}' },
      { label: 'RUN <<EOF', body: 'RUN <<EOF\n${1:command}\nEOF' },
    ],
    onbuild: true,
  },
  {
    keyword: 'CMD',
    summary: "Sets the container's default command, or the default arguments of ENTRYPOINT. Only the last CMD counts.",
    forms: [
      { label: 'CMD ["executable", "param", ...]', parameters: [p('["executable", "param", ...]', 'Exec form (preferred): a JSON array, no shell.')] },
      { label: 'CMD ["param", ...]', parameters: [p('["param", ...]', 'Default arguments for ENTRYPOINT.')] },
      { label: 'CMD <command>', parameters: [p('<command>', 'Shell form: run by `/bin/sh -c`; signals go to the shell.')] },
    ],
    example: 'CMD ["nginx", "-g", "daemon off;"]',
    snippets: [
      { label: 'CMD ["executable", ...]', body: 'CMD ["${1:executable}"${2:, "${3:param}"}]' },
      { label: 'CMD command', body: 'CMD ${1:command}' },
    ],
    onbuild: true,
  },
  {
    keyword: 'LABEL',
    summary: 'Adds metadata key/value pairs to the image (see `docker inspect`).',
    forms: [{ label: 'LABEL <key>=<value> [<key>=<value> ...]', parameters: [p('<key>=<value>', 'One label; quote values with spaces.')] }],
    example: 'LABEL org.opencontainers.image.source="https://github.com/me/app"',
    snippets: [{ label: 'LABEL key=value', body: 'LABEL ${1:key}="${2:value}"' }],
    onbuild: true,
  },
  {
    keyword: 'MAINTAINER',
    summary: 'Deprecated: sets the author field. Use `LABEL org.opencontainers.image.authors=...` instead.',
    forms: [{ label: 'MAINTAINER <name>', parameters: [p('<name>', 'The author.')] }],
    example: 'MAINTAINER Jane Doe <jane@example.com>',
    snippets: [{ label: 'MAINTAINER name', body: 'MAINTAINER ${1:name}' }],
    onbuild: false,
    deprecated: 'Use LABEL org.opencontainers.image.authors instead.',
  },
  {
    keyword: 'EXPOSE',
    summary: 'Documents the ports the container listens on; `-P` publishes them. It does not publish by itself.',
    forms: [{ label: 'EXPOSE <port>[/<protocol>] ...', parameters: [p('<port>[/<protocol>]', 'A port or range, with `tcp` (default), `udp` or `sctp`.')] }],
    example: 'EXPOSE 80/tcp 443 53/udp',
    snippets: [{ label: 'EXPOSE port', body: 'EXPOSE ${1:80}' }],
    onbuild: true,
  },
  {
    keyword: 'ENV',
    summary: 'Sets environment variables for later instructions of the stage and for the running container.',
    forms: [
      { label: 'ENV <key>=<value> ...', parameters: [p('<key>=<value>', 'One variable; quote values with spaces.')] },
      { label: 'ENV <key> <value>', parameters: [p('<key>', 'The name.'), p('<value>', 'The rest of the line (legacy form).')], doc: 'Legacy form.' },
    ],
    example: 'ENV NODE_ENV=production PATH="/app/bin:$PATH"',
    snippets: [{ label: 'ENV key=value', body: 'ENV ${1:key}=${2:value}' }],
    onbuild: true,
  },
  {
    keyword: 'ADD',
    summary: 'Copies files, URLs or git repositories into the image; unpacks local tar archives.',
    forms: [
      {
        label: 'ADD [--chown=<user>:<group>] [--chmod=<perms>] [--checksum=<digest>] [--keep-git-dir] [--link] <src>... <dest>',
        parameters: [
          p('--chown=<user>:<group>', 'Owner of the added files.'),
          p('--chmod=<perms>', 'Mode of the added files.'),
          p('--checksum=<digest>', 'Verify a remote source against this digest.'),
          p('--keep-git-dir', 'Keep `.git` when adding a git repository.'),
          p('--link', 'Add into an independent layer so the step survives base changes.'),
          p('<src>...', 'Context paths (globs allowed), URLs or git repositories.'),
          p('<dest>', 'Destination in the image; a trailing `/` means a directory.'),
        ],
      },
      {
        label: 'ADD [--chown=<user>:<group>] ["<src>", ... "<dest>"]',
        parameters: [p('--chown=<user>:<group>', 'Owner of the added files.'), p('["<src>", ... "<dest>"]', 'JSON form, for paths with spaces.')],
      },
    ],
    example: 'ADD --checksum=sha256:24454f83… https://example.com/tool.tar.gz /opt/',
    snippets: [{ label: 'ADD src dest', body: 'ADD ${1:src} ${2:dest}' }],
    onbuild: true,
  },
  {
    keyword: 'COPY',
    summary: 'Copies files from the build context, or from another stage or image with `--from`, into the image.',
    forms: [
      {
        label: 'COPY [--from=<stage>] [--chown=<user>:<group>] [--chmod=<perms>] [--link] [--parents] [--exclude=<path>] <src>... <dest>',
        parameters: [
          p('--from=<stage>', 'Copy from a stage, an image or a named context instead of the build context.'),
          p('--chown=<user>:<group>', 'Owner of the copied files.'),
          p('--chmod=<perms>', 'Mode of the copied files.'),
          p('--link', 'Copy into an independent layer so the step survives base changes.'),
          p('--parents', 'Keep the parent directories of the sources.'),
          p('--exclude=<path>', 'Leave out paths matching this pattern.'),
          p('<src>...', 'Context paths, globs allowed.'),
          p('<dest>', 'Destination in the image; a trailing `/` means a directory.'),
        ],
      },
      {
        label: 'COPY [--from=<stage>] [--chown=<user>:<group>] ["<src>", ... "<dest>"]',
        parameters: [p('--from=<stage>', 'Copy from a stage or image.'), p('--chown=<user>:<group>', 'Owner of the copied files.'), p('["<src>", ... "<dest>"]', 'JSON form, for paths with spaces.')],
      },
      { label: 'COPY <<EOF <dest>', parameters: [p('<<EOF', 'A heredoc: the body becomes the file content.'), p('<dest>', 'The file to create.')], doc: 'Heredoc form.' },
    ],
    example: 'COPY --from=build --chown=app:app /src/out/ /app/',
    snippets: [
      { label: 'COPY src dest', body: 'COPY ${1:src} ${2:dest}' },
      { label: 'COPY --from=stage src dest', body: 'COPY --from=${1:stage} ${2:src} ${3:dest}' },
    ],
    onbuild: true,
  },
  {
    keyword: 'ENTRYPOINT',
    summary: 'Sets the executable the container runs; CMD then supplies its default arguments.',
    forms: [
      { label: 'ENTRYPOINT ["executable", "param", ...]', parameters: [p('["executable", "param", ...]', 'Exec form (preferred): receives signals and CMD arguments.')] },
      { label: 'ENTRYPOINT <command>', parameters: [p('<command>', 'Shell form: ignores CMD and runs as a child of `/bin/sh -c`.')] },
    ],
    example: 'ENTRYPOINT ["/usr/bin/tini", "--"]',
    snippets: [{ label: 'ENTRYPOINT ["executable", ...]', body: 'ENTRYPOINT ["${1:executable}"${2:, "${3:param}"}]' }],
    onbuild: true,
  },
  {
    keyword: 'VOLUME',
    summary: 'Marks paths as volumes: their content is kept outside the container layer. Later changes in the build to those paths are discarded.',
    forms: [
      { label: 'VOLUME ["<path>", ...]', parameters: [p('["<path>", ...]', 'JSON form.')] },
      { label: 'VOLUME <path> ...', parameters: [p('<path> ...', 'One or more paths.')] },
    ],
    example: 'VOLUME /var/lib/postgresql/data',
    snippets: [{ label: 'VOLUME path', body: 'VOLUME ${1:/data}' }],
    onbuild: true,
  },
  {
    keyword: 'USER',
    summary: 'Sets the user (and group) for later RUN, CMD and ENTRYPOINT.',
    forms: [{ label: 'USER <user>[:<group>]', parameters: [p('<user>[:<group>]', 'A name or numeric id, optionally with a group.')] }],
    example: 'USER 10001:10001',
    snippets: [{ label: 'USER user', body: 'USER ${1:user}' }],
    onbuild: true,
  },
  {
    keyword: 'WORKDIR',
    summary: 'Sets (and creates) the working directory for later instructions and the container. Relative paths build on the previous WORKDIR.',
    forms: [{ label: 'WORKDIR <path>', parameters: [p('<path>', 'The directory; variables are expanded.')] }],
    example: 'WORKDIR /app',
    snippets: [{ label: 'WORKDIR path', body: 'WORKDIR ${1:/app}' }],
    onbuild: true,
  },
  {
    keyword: 'ARG',
    summary: 'Declares a build argument, set with `--build-arg`. Before the first FROM it is global (usable in FROM lines); a stage must re-declare it to use it.',
    forms: [{ label: 'ARG <name>[=<default>] ...', parameters: [p('<name>[=<default>]', 'The name and an optional default value.')] }],
    example: 'ARG NODE_VERSION=20',
    snippets: [
      { label: 'ARG name', body: 'ARG ${1:name}' },
      { label: 'ARG name=default', body: 'ARG ${1:name}=${2:default}' },
    ],
    onbuild: true,
  },
  {
    keyword: 'ONBUILD',
    summary: 'Registers an instruction to run later, when another Dockerfile builds FROM this image.',
    forms: [{ label: 'ONBUILD <instruction>', parameters: [p('<instruction>', 'Any instruction except FROM, MAINTAINER and ONBUILD.')] }],
    example: 'ONBUILD COPY . /app/src',
    snippets: [{ label: 'ONBUILD instruction', body: 'ONBUILD ${1:instruction}' }],
    onbuild: false,
  },
  {
    keyword: 'STOPSIGNAL',
    summary: 'Sets the signal that stops the container (default SIGTERM).',
    forms: [{ label: 'STOPSIGNAL <signal>', parameters: [p('<signal>', 'A name like `SIGQUIT` or a number like `9`.')] }],
    example: 'STOPSIGNAL SIGQUIT',
    snippets: [{ label: 'STOPSIGNAL signal', body: 'STOPSIGNAL ${1:SIGTERM}' }],
    onbuild: true,
  },
  {
    keyword: 'HEALTHCHECK',
    summary: 'Tells the runtime how to test that the container still works, or disables an inherited check.',
    forms: [
      {
        label: 'HEALTHCHECK [--interval=<d>] [--timeout=<d>] [--start-period=<d>] [--start-interval=<d>] [--retries=<n>] CMD <command>',
        parameters: [
          p('--interval=<d>', 'Time between checks (default 30s).'),
          p('--timeout=<d>', 'A check taking longer fails (default 30s).'),
          p('--start-period=<d>', 'Start-up grace time in which failures do not count (default 0s).'),
          p('--start-interval=<d>', 'Time between checks during the start period (default 5s).'),
          p('--retries=<n>', 'Consecutive failures before unhealthy (default 3).'),
          p('CMD <command>', 'The check; exit 0 is healthy, 1 unhealthy.'),
        ],
      },
      { label: 'HEALTHCHECK NONE', parameters: [p('NONE', 'Disable any check inherited from the base image.')] },
    ],
    example: 'HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost/ || exit 1',
    snippets: [
      { label: 'HEALTHCHECK CMD command', body: 'HEALTHCHECK --interval=${1:30s} --timeout=${2:3s} CMD ${3:command}' },
      { label: 'HEALTHCHECK NONE', body: 'HEALTHCHECK NONE' },
    ],
    onbuild: true,
  },
  {
    keyword: 'SHELL',
    summary: 'Sets the shell used by the shell form of RUN, CMD and ENTRYPOINT.',
    forms: [{ label: 'SHELL ["executable", "param", ...]', parameters: [p('["executable", "param", ...]', 'JSON form only, e.g. `["/bin/bash", "-o", "pipefail", "-c"]`.')] }],
    example: 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
    snippets: [{ label: 'SHELL ["executable", ...]', body: 'SHELL ["${1:/bin/bash}", "${2:-c}"]' }],
    onbuild: true,
  },
];

export const INSTRUCTION_DOCS: ReadonlyMap<string, InstructionDoc> = new Map(INSTRUCTIONS.map((d) => [d.keyword, d]));

export interface DirectiveDoc {
  name: string;
  summary: string;
  example: string;
  values: { value: string; doc: string }[];
}

export const DIRECTIVES: DirectiveDoc[] = [
  {
    name: 'syntax',
    summary: 'Picks the Dockerfile frontend image BuildKit uses to read this file. Must come before any other line.',
    example: '# syntax=docker/dockerfile:1',
    values: [
      { value: 'docker/dockerfile:1', doc: 'The latest stable 1.x frontend.' },
      { value: 'docker/dockerfile:1-labs', doc: 'The 1.x frontend with experimental features.' },
    ],
  },
  {
    name: 'escape',
    summary: 'Sets the escape and line-continuation character: `\\` (default) or `` ` `` (handy on Windows).',
    example: '# escape=`',
    values: [
      { value: '\\', doc: 'Backslash (default).' },
      { value: '`', doc: 'Backtick.' },
    ],
  },
  {
    name: 'check',
    summary: 'Configures build checks: `skip=<rule>,<rule>|all` to silence rules, `error=true` to fail the build on warnings.',
    example: '# check=skip=JSONArgsRecommended;error=true',
    values: [
      { value: 'skip=', doc: 'Comma-separated rule names to skip, or `all`.' },
      { value: 'error=true', doc: 'Treat check warnings as build errors.' },
    ],
  },
];
