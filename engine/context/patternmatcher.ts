/**
 * `.dockerignore` pattern matching with moby/patternmatcher's semantics (the matcher BuildKit and the Docker CLI
 * use for build contexts). Written from its documented behaviour and test tables; see
 * ../shared/conformance/dockerignore for the cases this must reproduce.
 *
 * A pattern is trimmed and `path.Clean`ed, a leading `!` makes it an exclusion (re-include), and it must pass Go's
 * `filepath.Match` syntax check. It then matches in one of four ways: exact string, prefix (`dir/**`), suffix
 * (`**` + literal), or a regular expression built like moby builds it (`*` = `[^/]*`, `?` = `[^/]`, `**` = any
 * number of directories, `\x` escapes, `[...]` passed to the regex engine). A regex that RE2 rejects is an error
 * at match time, as in moby.
 */
import { LayerwiseError } from '../errors';
import { BAD_PATTERN, isValidGoGlob } from './globsyntax';
import { goCleanPath, goDir, goTrimSpace } from './gostrings';
import { compileRe2, Re2SyntaxError } from './re2';

/** One pattern of a `.dockerignore` file. */
export interface IgnorePattern {
  /** the line as written, trimmed */
  text: string;
  /** `!pattern`: re-includes what earlier patterns excluded */
  exclusion: boolean;
  /** 0-based line in the ignore file (the index in the list when built from strings) */
  line: number;
  /** the pattern as the matcher uses it: cleaned, without the `!` */
  cleaned: string;
}

/** What a directory's match left for its children (moby's MatchInfo): which patterns matched the directory. */
export interface MatchInfo {
  readonly parentMatched: readonly boolean[];
}

/** The MatchInfo of "no parent information" (the walk root). */
export const NO_MATCH_INFO: MatchInfo = Object.freeze({ parentMatched: Object.freeze([]) as readonly boolean[] });

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface CompiledPattern {
  readonly source: IgnorePattern;
  readonly cleaned: string;
  readonly exclusion: boolean;
  readonly dirs: number;
  readonly type: MatchType;
  readonly regexp?: RegExp;
  /** set when the regex engine rejects the translated pattern: every match attempt fails with it */
  readonly compileError?: string;
}

/**
 * The characters moby escapes before handing the pattern to the regex engine. Its source lists `.+()|{}$`, but
 * the lookup is an 8-byte bitmap indexed by `c % 8` and bit `c / 8`, and for `{`, `|` and `}` (code >= 64) that
 * bit falls off the byte: they reach RE2 unescaped and act as alternation and repetition. Kept for fidelity.
 */
const REGEX_ESCAPED = new Set(['.', '+', '(', ')', '$']);

/** Builds moby's regex source for a cleaned pattern and decides the match type. */
export function translatePattern(pattern: string): { type: MatchType; regexSource?: string } {
  let reg = '^';
  let type: MatchType = 'exact';
  const cps = Array.from(pattern);
  let k = 0;
  for (let i = 0; k < cps.length; i++) {
    const ch = cps[k++]!;
    if (ch === '*') {
      if (cps[k] === '*') {
        k++;
        if (cps[k] === '/') k++; // treat "**/" like "**"
        if (k >= cps.length) {
          // trailing "**" matches everything below (gitignore-like)
          if (type === 'exact') type = 'prefix';
          else {
            reg += '.*';
            type = 'regexp';
          }
        } else {
          reg += '(.*/)?';
          type = 'regexp';
        }
        if (i === 0) type = 'suffix';
      } else {
        reg += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      reg += '[^/]';
      type = 'regexp';
    } else if (REGEX_ESCAPED.has(ch)) {
      reg += '\\' + ch;
    } else if (ch === '\\') {
      if (k < cps.length) {
        reg += '\\' + cps[k++]!;
        type = 'regexp';
      } else {
        reg += '\\';
      }
    } else if (ch === '[' || ch === ']') {
      reg += ch;
      type = 'regexp';
    } else {
      reg += ch;
    }
  }
  return type === 'regexp' ? { type, regexSource: reg + '$' } : { type };
}

/** moby's New() for one pattern string: trim, clean, `!`, syntax check. Returns null for a blank pattern. */
function preparePattern(raw: string): { cleaned: string; exclusion: boolean } | { error: string } | null {
  let p = goTrimSpace(raw);
  if (p === '') return null;
  p = goCleanPath(p);
  let exclusion = false;
  if (p[0] === '!') {
    if (p.length === 1) return { error: 'illegal exclusion pattern: "!"' };
    exclusion = true;
    p = p.slice(1);
  }
  if (!isValidGoGlob(p)) return { error: BAD_PATTERN };
  return { cleaned: p, exclusion };
}

function compilePattern(source: IgnorePattern, cleaned: string, exclusion: boolean): CompiledPattern {
  const { type, regexSource } = translatePattern(cleaned);
  const base = { source, cleaned, exclusion, dirs: cleaned.split('/').length, type };
  if (regexSource === undefined) return base;
  try {
    return { ...base, regexp: compileRe2(regexSource) };
  } catch (e) {
    return { ...base, compileError: e instanceof Re2SyntaxError ? e.message : String(e) };
  }
}

function badPattern(p: CompiledPattern): LayerwiseError {
  return new LayerwiseError('invalid', `invalid .dockerignore pattern "${p.source.text}": ${BAD_PATTERN} (${p.compileError})`);
}

/** Matches one pattern against a slash path; throws for a pattern the regex engine rejected. */
function matchOne(p: CompiledPattern, path: string): boolean {
  switch (p.type) {
    case 'exact':
      return path === p.cleaned;
    case 'prefix':
      return path.startsWith(p.cleaned.slice(0, -2));
    case 'suffix': {
      const suffix = p.cleaned.slice(2);
      if (path.endsWith(suffix)) return true;
      // "**/foo" matches "foo"
      return suffix[0] === '/' && path === suffix.slice(1);
    }
    case 'regexp':
      if (!p.regexp) throw badPattern(p);
      return p.regexp.test(path);
  }
}

/** Like matchOne, but a bad pattern counts as "no match" (moby ignores errors when checking parent dirs). */
function matchQuiet(p: CompiledPattern, path: string): boolean {
  return p.type === 'regexp' && !p.regexp ? false : matchOne(p, path);
}

/** Whether a pattern (or one of the path's parent directories) matches, as MatchesOrParentMatches checks it. */
function matchSelfOrParents(p: CompiledPattern, file: string, parentPath: string, parentDirs: string[]): boolean {
  if (matchOne(p, file)) return true;
  if (parentPath === '.') return false;
  for (let i = 0; i < parentDirs.length; i++) {
    if (matchQuiet(p, parentDirs.slice(0, i + 1).join('/'))) return true;
  }
  return false;
}

export class PatternMatcher {
  /** true when any pattern is an exclusion (`!pattern`) */
  readonly exclusions: boolean;
  /** the patterns in file order (blank ones dropped) */
  readonly patterns: readonly IgnorePattern[];
  private readonly compiled: CompiledPattern[];

  /** Throws LayerwiseError('invalid', …) for a malformed pattern, as moby's New() returns an error. */
  constructor(patterns: readonly string[] | readonly IgnorePattern[]) {
    const compiled: CompiledPattern[] = [];
    patterns.forEach((entry: string | IgnorePattern, index: number) => {
      const raw = typeof entry === 'string' ? entry : (entry.exclusion ? '!' : '') + entry.cleaned;
      const prepared = preparePattern(raw);
      if (prepared === null) return;
      const text = typeof entry === 'string' ? goTrimSpace(entry) : entry.text;
      const line = typeof entry === 'string' ? index : entry.line;
      if ('error' in prepared) {
        throw new LayerwiseError('invalid', `invalid .dockerignore pattern "${text}" (line ${line + 1}): ${prepared.error}`);
      }
      const source: IgnorePattern = { text, exclusion: prepared.exclusion, line, cleaned: prepared.cleaned };
      compiled.push(compilePattern(source, prepared.cleaned, prepared.exclusion));
    });
    this.compiled = compiled;
    this.patterns = compiled.map((c) => c.source);
    this.exclusions = compiled.some((c) => c.exclusion);
  }

  static tryCreate(patterns: readonly string[] | readonly IgnorePattern[]): { matcher?: PatternMatcher; error?: string } {
    try {
      return { matcher: new PatternMatcher(patterns) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  /**
   * moby's deprecated Matches: like matchesOrParentMatches, but only the one parent directory at the pattern's
   * depth is checked. Kept for the conformance cases that use it; the walk never uses it.
   */
  matches(relPath: string): boolean {
    let matched = false;
    const parentPath = goDir(relPath);
    const parentDirs = parentPath.split('/');
    for (const p of this.compiled) {
      if (p.exclusion !== matched) continue;
      let match = matchOne(p, relPath);
      if (!match && parentPath !== '.' && p.dirs <= parentDirs.length) {
        match = matchQuiet(p, parentDirs.slice(0, p.dirs).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /** True when relPath (slash-separated, relative to the context) is excluded: it or a parent matches. */
  matchesOrParentMatches(relPath: string): boolean {
    return this.evaluate(relPath).matched;
  }

  /**
   * The same decision as matchesOrParentMatches, for walks: pass the MatchInfo returned for the parent directory
   * (NO_MATCH_INFO at the top) and keep the returned info for the children of a directory.
   */
  matchesUsingParentResults(relPath: string, parent: MatchInfo): { excluded: boolean; info: MatchInfo } {
    const parentMatched = parent.parentMatched;
    if (parentMatched.length !== 0 && parentMatched.length !== this.compiled.length) {
      throw new LayerwiseError('internal', 'wrong number of values in parentMatched');
    }
    const haveParent = parentMatched.length !== 0;
    let parentPath: string | undefined;
    let parentDirs: string[] | undefined;
    let matched = false;
    const info: boolean[] = new Array<boolean>(this.compiled.length).fill(false);
    this.compiled.forEach((p, i) => {
      let match = haveParent ? parentMatched[i]! : false;
      if (!match) {
        if (p.exclusion !== matched) return;
        match = matchOne(p, relPath);
        if (!match && !haveParent) {
          parentPath ??= goDir(relPath);
          if (parentPath !== '.') {
            parentDirs ??= parentPath.split('/');
            for (let j = 0; j < parentDirs.length && !match; j++) match = matchQuiet(p, parentDirs.slice(0, j + 1).join('/'));
          }
        }
      }
      info[i] = match;
      if (match) matched = !p.exclusion;
    });
    return { excluded: matched, info: { parentMatched: info } };
  }

  /** The pattern that decided relPath's fate (the last one that matched and flipped it), if any. */
  decidingPattern(relPath: string): IgnorePattern | undefined {
    const { decidedBy } = this.evaluate(relPath);
    return decidedBy === undefined ? undefined : this.compiled[decidedBy]!.source;
  }

  /**
   * Whether something below the excluded directory `dir` could be re-included by an exclusion pattern — BuildKit
   * (fsutil) walks into an excluded directory only then. Conservative: any exclusion pattern with wildcards
   * (other than a trailing `/*` or `/**`) means yes.
   */
  couldReincludeBelow(dir: string): boolean {
    if (!this.exclusions) return false;
    const dirSlash = dir + '/';
    for (const p of this.compiled) {
      if (!p.exclusion) continue;
      const stem = withoutTrailingGlob(p.cleaned);
      if (/[*[\]?^\\]/.test(stem)) return true;
      if ((stem + '/').startsWith(dirSlash)) return true;
    }
    return false;
  }

  /** Whether an include-pattern matcher could match something below `dir` (fsutil's include optimisation). */
  couldIncludeBelow(dir: string): boolean {
    const dirSlash = dir + '/';
    for (const p of this.compiled) {
      if (p.exclusion) continue;
      const stem = withoutTrailingGlob(p.cleaned);
      if (/[*[\]?^\\]/.test(stem)) return true;
      if ((stem + '/').startsWith(dirSlash)) return true;
    }
    return false;
  }

  private evaluate(relPath: string): { matched: boolean; decidedBy?: number } {
    let matched = false;
    let decidedBy: number | undefined;
    const parentPath = goDir(relPath);
    const parentDirs = parentPath.split('/');
    this.compiled.forEach((p, i) => {
      if (p.exclusion !== matched) return;
      if (matchSelfOrParents(p, relPath, parentPath, parentDirs)) {
        matched = !p.exclusion;
        decidedBy = i;
      }
    });
    return decidedBy === undefined ? { matched } : { matched, decidedBy };
  }
}

function withoutTrailingGlob(pattern: string): string {
  if (pattern.endsWith('/**')) pattern = pattern.slice(0, -3);
  if (pattern.endsWith('/*')) pattern = pattern.slice(0, -2);
  return pattern;
}

/**
 * moby's deprecated package-level Matches(file, patterns): build a matcher (throws on a bad pattern), clean the
 * path, never match ".", then the single-parent check of PatternMatcher#matches.
 */
export function legacyMatches(file: string, patterns: readonly string[]): boolean {
  const pm = new PatternMatcher(patterns);
  const cleaned = goCleanPath(file);
  if (cleaned === '.') return false;
  return pm.matches(cleaned);
}

/** moby's package-level MatchesOrParentMatches(file, patterns). */
export function matchesOrParentMatches(file: string, patterns: readonly string[]): boolean {
  const pm = new PatternMatcher(patterns);
  const cleaned = goCleanPath(file);
  if (cleaned === '.') return false;
  return pm.matchesOrParentMatches(cleaned);
}

/**
 * The problem with one pattern string as moby would report it (New() rejecting it, or the regex engine rejecting
 * it when the pattern is first used), or undefined when it is fine. For diagnostics.
 */
export function patternProblem(raw: string): string | undefined {
  const prepared = preparePattern(raw);
  if (prepared === null) return undefined;
  if ('error' in prepared) return prepared.error;
  const { regexSource } = translatePattern(prepared.cleaned);
  if (regexSource === undefined) return undefined;
  try {
    compileRe2(regexSource);
    return undefined;
  } catch (e) {
    return `${BAD_PATTERN}: ${e instanceof Error ? e.message : String(e)}`;
  }
}
