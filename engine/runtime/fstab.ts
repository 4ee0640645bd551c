/**
 * The sandbox's mounts as fstab files, mounted with one `mount --all --fstab FILE` each: one process instead of
 * one per mount (a sandbox has about thirty), which matters when a build runs hundreds of RUN steps.
 * libmount applies `bind,ro` and `rbind,ro` as a bind followed by a read-only remount.
 */
import { withSourceFlags } from './mount-flags';

/** fstab escaping (libmount unmangles \ooo octal escapes) */
export function fstabEscape(s: string): string {
  return s.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

export class Fstab {
  private readonly lines: string[] = [];

  add(source: string, target: string, type: string, options: string[]): this {
    this.lines.push([fstabEscape(source), fstabEscape(target), type, options.length ? options.join(',') : 'defaults', '0', '0'].join(' '));
    return this;
  }

  /** a bind mount; when it is remounted with `options`, the source mount's locked flags are repeated */
  bind(source: string, target: string, options: string[] = []): this {
    return this.add(source, target, 'none', ['bind', ...(options.length ? withSourceFlags(source, options) : [])]);
  }

  rbind(source: string, target: string, options: string[] = []): this {
    return this.add(source, target, 'none', ['rbind', ...(options.length ? withSourceFlags(source, options) : [])]);
  }

  get empty(): boolean {
    return this.lines.length === 0;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}
