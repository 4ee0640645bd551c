/** A realistic multi-stage Dockerfile of about `lines` lines: directives, ARGs, continuations, heredocs, flags. */
export function generateDockerfile(lines: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', '# check=skip=JSONArgsRecommended', 'ARG BASE=debian:bookworm-slim', 'ARG VERSION=1.0'];
  let stage = 0;
  while (out.length < lines) {
    out.push('', `# stage ${stage}`, `FROM --platform=$BUILDPLATFORM \${BASE} AS stage${stage}`, 'ARG VERSION', `ENV APP_HOME=/app/${stage} PATH=/app/bin:$PATH`);
    out.push(
      'RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\',
      '    apt-get update && \\',
      '    # a comment inside the continuation',
      '    apt-get install -y --no-install-recommends curl ca-certificates git && \\',
      '    rm -rf /var/lib/apt/lists/*',
      'WORKDIR $APP_HOME',
      'COPY --chown=1000:1000 --chmod=644 package.json package-lock.json ./',
      `COPY --from=stage${Math.max(0, stage - 1)} /app /app`,
      'RUN <<EOF',
      'set -e',
      'echo "building ${VERSION}"',
      'npm ci --omit=dev',
      'EOF',
      'LABEL org.opencontainers.image.version="$VERSION" maintainer="team@example.com"',
      'EXPOSE 8080/tcp 9090/udp',
      'HEALTHCHECK --interval=30s --timeout=3s CMD ["curl", "-f", "http://localhost:8080/"]',
      'USER 1000:1000',
      'CMD ["node", "server.js"]',
    );
    stage++;
  }
  return out.slice(0, lines).join('\n') + '\n';
}
