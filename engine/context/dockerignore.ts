/**
 * Reading `.dockerignore` files the way moby's ignorefile.ReadAll does, and finding the one that applies to a
 * Dockerfile the way BuildKit does. Matching lives in ./patternmatcher (re-exported here).
 *
 * ReadAll rules: a UTF-8 BOM is dropped; a line whose first character is `#` is a comment (an indented `#` is
 * not); lines are trimmed and blank ones dropped; a leading `!` (re-include) is split off and the rest trimmed
 * again; the pattern is `path.Clean`ed and one leading `/` removed, so `/a`, `./a` and `a/` all mean `a`.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LayerwiseError } from '../errors';
import { goCleanPath, goTrimSpace } from './gostrings';
import { PatternMatcher, patternProblem, type IgnorePattern } from './patternmatcher';

export {
  PatternMatcher,
  NO_MATCH_INFO,
  legacyMatches,
  matchesOrParentMatches,
  type IgnorePattern,
  type MatchInfo,
} from './patternmatcher';

export interface DockerignoreFile {
  patterns: IgnorePattern[];
  /**
   * problems by 0-based line. A matcher built from `patterns` refuses the same file when the problem is one moby's
   * New() reports (bad glob syntax, a bare `!`); a pattern only the regex engine rejects fails when it is first
   * evaluated, as in moby.
   */
  errors: { line: number; message: string }[];
}

/** bufio.Scanner's default maximum token size: ReadAll fails on a longer line. */
const MAX_LINE_BYTES = 64 * 1024;

export function parseDockerignore(text: string): DockerignoreFile {
  const patterns: IgnorePattern[] = [];
  const errors: { line: number; message: string }[] = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((rawLine, line) => {
    const content = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (Buffer.byteLength(content, 'utf8') > MAX_LINE_BYTES) {
      errors.push({ line, message: 'line too long (more than 64 KiB)' });
      return;
    }
    if (content.startsWith('#')) return;
    let pattern = goTrimSpace(content);
    if (pattern === '') return;
    const exclusion = pattern[0] === '!';
    if (exclusion) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goCleanPath(pattern);
      if (pattern.length > 1 && pattern[0] === '/') pattern = pattern.slice(1);
    }
    const full = (exclusion ? '!' : '') + pattern;
    // what the matcher will make of the ReadAll output: New() trims and cleans it again
    let cleaned = goCleanPath(full);
    const isExclusion = cleaned[0] === '!';
    if (isExclusion) cleaned = cleaned.slice(1);
    const problem = patternProblem(full);
    if (problem !== undefined) errors.push({ line, message: problem });
    patterns.push({ text: goTrimSpace(content), exclusion: isExclusion, line, cleaned });
  });
  return { patterns, errors };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new LayerwiseError('io', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The ignore file for a build: `<Dockerfile>.dockerignore` next to the Dockerfile (e.g. `app.Dockerfile` ->
 * `app.Dockerfile.dockerignore`) wins over `<context>/.dockerignore` (BuildKit's rule). A relative
 * dockerfilePath is taken relative to the current directory, like `docker build -f`. No file: no patterns.
 */
export async function readDockerignoreFor(
  contextDir: string,
  dockerfilePath?: string,
): Promise<{ path?: string; file: DockerignoreFile }> {
  const candidates: string[] = [];
  if (dockerfilePath !== undefined && dockerfilePath !== '') {
    const abs = resolve(dockerfilePath);
    candidates.push(join(dirname(abs), basename(abs) + '.dockerignore'));
  }
  candidates.push(join(resolve(contextDir), '.dockerignore'));
  for (const path of candidates) {
    const text = await readIfExists(path);
    if (text !== undefined) return { path, file: parseDockerignore(text) };
  }
  return { file: { patterns: [], errors: [] } };
}

/**
 * readDockerignoreFor plus the matcher, for builds: throws LayerwiseError('invalid') naming the ignore file and
 * line when a pattern is malformed (as BuildKit fails the build).
 */
export async function ignoreMatcherFor(
  contextDir: string,
  dockerfilePath?: string,
): Promise<{ path?: string; file: DockerignoreFile; matcher: PatternMatcher }> {
  const found = await readDockerignoreFor(contextDir, dockerfilePath);
  const first = found.file.errors[0];
  if (first && found.path) {
    const range = { start: { line: first.line, character: 0 }, end: { line: first.line, character: 0 } };
    throw new LayerwiseError('invalid', `invalid .dockerignore pattern: ${first.message}`, { file: found.path, range });
  }
  const matcher = new PatternMatcher(found.file.patterns);
  return found.path === undefined ? { file: found.file, matcher } : { path: found.path, file: found.file, matcher };
}
