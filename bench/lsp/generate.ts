/** Generated Dockerfiles for the LSP benchmarks: realistic multi-stage files of a given line count. */

const BLOCKS = [
  (i: number) => [`FROM node:20-bookworm AS deps${i}`, 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci --omit=dev'],
  (i: number) => [`FROM python:3.12-slim AS py${i}`, 'ENV PIP_NO_CACHE_DIR=1', 'COPY requirements.txt /tmp/', 'RUN pip install -r /tmp/requirements.txt'],
  () => ['RUN apt-get update && \\', '    apt-get install -y --no-install-recommends curl ca-certificates git && \\', '    rm -rf /var/lib/apt/lists/*'],
  (i: number) => [`ARG VERSION_${i}=1.${i}.0`, `LABEL org.opencontainers.image.version=$VERSION_${i}`, `ENV APP_HOME=/srv/app${i} PATH=/srv/app${i}/bin:$PATH`],
  () => ['COPY --chown=app:app src/ /srv/app/src/', 'RUN set -eux; \\', '    make -C /srv/app build; \\', '    strip /srv/app/bin/* || true'],
  () => ['RUN <<EOF', 'set -e', 'echo building', 'apk add --no-cache bash=5.2.21-r0', 'EOF'],
  () => ['HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://localhost/ || exit 1', 'EXPOSE 8080/tcp', 'USER app'],
  () => ['# a comment line about the next step', 'RUN --mount=type=cache,target=/root/.cache/go-build go build -o /out/app ./cmd/app'],
];

export function generateDockerfile(lines: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', 'ARG BASE=debian:12'];
  let i = 0;
  while (out.length < lines - 3) {
    out.push(...BLOCKS[i % BLOCKS.length]!(i));
    i++;
  }
  out.push('FROM ${BASE}', 'COPY --from=deps0 /app /app', 'CMD ["node", "/app/index.js"]');
  return out.slice(0, Math.max(lines, 4)).join('\n') + '\n';
}
