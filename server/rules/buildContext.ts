/**
 * The build context as rules see it: the Dockerfile's folder (or `layerwise.buildContext`), its .dockerignore
 * (engine/context: `<Dockerfile>.dockerignore` wins over `<context>/.dockerignore`, as BuildKit), and the files
 * in it. Cached per (context root, Dockerfile); dropped when watched files change.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PatternMatcher, readDockerignoreFor } from '../../engine/context/dockerignore';
import type { BuildContextView } from './types';

export class BuildContextCache {
  private readonly views = new Map<string, Promise<BuildContextView | undefined>>();

  /** The context for a document URI; undefined for non-file documents or a missing context folder. */
  viewFor(uri: string, configured: string): Promise<BuildContextView | undefined> {
    if (!uri.startsWith('file:')) return Promise.resolve(undefined);
    const file = fileURLToPath(uri);
    const dir = dirname(file);
    const root = configured ? (isAbsolute(configured) ? configured : resolve(dir, configured)) : dir;
    const key = `${root}\u0000${file}`;
    let v = this.views.get(key);
    if (!v) {
      v = createContextView(root, file).catch(() => undefined);
      this.views.set(key, v);
    }
    return v;
  }

  forget(_uri: string): void {
    // views are per context root and shared; they go when files change
  }

  filesChanged(_uris: string[]): void {
    this.views.clear();
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `*`, `?`, `[...]` in one path segment -> RegExp (Go filepath.Match syntax, good enough for existence). */
function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const e = seg.indexOf(']', i + 1);
      if (e < 0) re += '\\[';
      else {
        re += '[' + seg.slice(i + 1, e).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = e;
      }
    } else if (c === '\\' && i + 1 < seg.length) re += '\\' + seg[++i];
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

export async function createContextView(root: string, dockerfile?: string): Promise<BuildContextView | undefined> {
  if (!isDir(root)) return undefined;
  const { path, file } = await readDockerignoreFor(root, dockerfile);
  const { matcher } = PatternMatcher.tryCreate(file.patterns);
  const listing = new Map<string, string[]>();
  const list = (dir: string): string[] => {
    let l = listing.get(dir);
    if (!l) {
      try {
        l = readdirSync(join(root, dir));
      } catch {
        l = [];
      }
      listing.set(dir, l);
    }
    return l;
  };
  const clean = (p: string): string => {
    const parts: string[] = [];
    for (const s of p.replace(/\\/g, '/').split('/')) {
      if (s === '' || s === '.') continue;
      if (s === '..') parts.pop();
      else parts.push(s);
    }
    return parts.join('/');
  };
  return {
    root,
    hasDockerignore: path !== undefined && !!matcher && matcher.patterns.length > 0,
    isIgnored(p: string): boolean {
      if (!matcher) return false;
      const c = clean(p);
      if (c === '') return false;
      return matcher.matchesOrParentMatches(c);
    },
    match(source: string): string[] {
      const c = clean(source);
      if (c === '') return ['.'];
      const segs = c.split('/');
      let cur: string[] = [''];
      for (const seg of segs) {
        const next: string[] = [];
        const wild = /[*?[]/.test(seg);
        for (const base of cur) {
          if (!wild) {
            if (list(base).includes(seg)) next.push(base ? `${base}/${seg}` : seg);
          } else {
            const re = segmentRegex(seg);
            for (const name of list(base)) if (re.test(name)) next.push(base ? `${base}/${name}` : name);
          }
        }
        cur = next;
        if (cur.length === 0) break;
      }
      return cur;
    },
  };
}
