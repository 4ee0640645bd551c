/** Layerwise: Tag Image, Remove Image, Prune Images, Inspect Image — each one CLI call, then views refresh — and
 *  Run Image, in an integrated terminal. */
import * as vscode from 'vscode';
import { runCli } from '../cli';
import { cliTerminal } from './terminal';
import type { LayerwiseHost } from '../host';
import { listImages, type ImageItem } from '../images';

/** An image from a tree item (`{ image }`), a `{ ref }` object, a string, or a pick from the store. */
async function imageRef(host: LayerwiseHost, arg: unknown, title: string): Promise<string | undefined> {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null) {
    const o = arg as { image?: ImageItem; ref?: string };
    if (o.image) return o.image.ref;
    if (typeof o.ref === 'string') return o.ref;
  }
  let images: ImageItem[];
  try {
    images = await listImages(host.cli());
  } catch (e) {
    void vscode.window.showErrorMessage(`Layerwise: cannot list images: ${(e as Error).message}`);
    return undefined;
  }
  if (!images.length) {
    void vscode.window.showInformationMessage('Layerwise: there are no images in the store yet. Build one first.');
    return undefined;
  }
  const picked = await host.prompts.pick(
    images.map((i) => ({ label: i.ref, description: [i.id.slice(0, 19), i.size, i.created].filter(Boolean).join(' · '), ref: i.ref })),
    { title, placeHolder: 'Image' },
  );
  return picked?.ref;
}

async function cli(host: LayerwiseHost, args: string[]): Promise<string | undefined> {
  try {
    return await runCli(host.cli(), args);
  } catch (e) {
    void vscode.window.showErrorMessage(`Layerwise: ${(e as Error).message}`);
    return undefined;
  }
}

export async function tagImageCommand(host: LayerwiseHost, arg: unknown): Promise<string | undefined> {
  if (!host.engineAllowed()) return undefined;
  const target = typeof arg === 'object' && arg !== null && typeof (arg as { target?: unknown }).target === 'string' ? (arg as { target: string }).target : undefined;
  const source = await imageRef(host, typeof arg === 'object' && arg !== null && 'source' in arg ? (arg as { source: unknown }).source : arg, 'Layerwise: Tag Image');
  if (!source) return undefined;
  const newTag =
    target ??
    (await host.prompts.input({ title: `Layerwise: Tag ${source}`, prompt: 'New tag (name[:tag])', value: source.includes(':') && !source.startsWith('sha256:') ? source : '', validateInput: (v) => (!v.trim() || /\s/.test(v) ? 'a tag is one word' : undefined) }));
  if (!newTag) return undefined;
  if ((await cli(host, ['tag', source, newTag.trim()])) === undefined) return undefined;
  host.fireImagesChanged();
  void vscode.window.setStatusBarMessage(`Layerwise: tagged ${source} as ${newTag}`, 5000);
  return newTag.trim();
}

export async function removeImageCommand(host: LayerwiseHost, arg: unknown): Promise<boolean> {
  if (!host.engineAllowed()) return false;
  const o = typeof arg === 'object' && arg !== null ? (arg as { confirm?: boolean; force?: boolean }) : {};
  const ref = await imageRef(host, arg, 'Layerwise: Remove Image');
  if (!ref) return false;
  if (o.confirm !== false && !(await host.prompts.confirm(`Remove the image ${ref}?`, 'Remove'))) return false;
  if ((await cli(host, ['rmi', ...(o.force ? ['--force'] : []), ref])) === undefined) return false;
  host.fireImagesChanged();
  return true;
}

export async function pruneImagesCommand(host: LayerwiseHost, arg: unknown): Promise<string | undefined> {
  if (!host.engineAllowed()) return undefined;
  const o = typeof arg === 'object' && arg !== null ? (arg as { confirm?: boolean; all?: boolean }) : {};
  const what = o.all ? 'every image that no container uses' : 'dangling (untagged) images';
  if (o.confirm !== false && !(await host.prompts.confirm(`Remove ${what} and the layers only they use?`, 'Prune'))) return undefined;
  const out = await cli(host, ['image', 'prune', '--force', ...(o.all ? ['--all'] : [])]);
  if (out === undefined) return undefined;
  host.output.appendLine(`> layerwise image prune${o.all ? ' --all' : ''}`);
  host.output.append(out);
  host.fireImagesChanged();
  const last = out.trim().split('\n').pop() ?? '';
  void vscode.window.showInformationMessage(`Layerwise: pruned. ${last}`);
  return out;
}

export async function inspectImageCommand(host: LayerwiseHost, arg: unknown): Promise<vscode.TextDocument | undefined> {
  if (!host.engineAllowed()) return undefined;
  const ref = await imageRef(host, arg, 'Layerwise: Inspect Image');
  if (!ref) return undefined;
  const out = await cli(host, ['inspect', ref]);
  if (out === undefined) return undefined;
  let content = out;
  try {
    content = JSON.stringify(JSON.parse(out), null, 2);
  } catch {
    /* show it as printed */
  }
  const doc = await vscode.workspace.openTextDocument({ language: 'json', content });
  await vscode.window.showTextDocument(doc, { preview: true });
  return doc;
}

/**
 * Layerwise: Run Image — `layerwise run --rm -it IMAGE [COMMAND…]` in an integrated terminal, whose pty the
 * container's process gets (its stdin, a tty): an interactive shell for an image whose command is one. The argument
 * may carry `command` (the command and its arguments) and `flags` (more `run` flags, e.g. `-e K=V`, `-v H:C`).
 * Returns the terminal; its exit status is the command's.
 */
export async function runImageCommand(host: LayerwiseHost, arg: unknown): Promise<vscode.Terminal | undefined> {
  if (!host.engineAllowed()) return undefined;
  const ref = await imageRef(host, arg, 'Layerwise: Run Image');
  if (!ref) return undefined;
  const o = typeof arg === 'object' && arg !== null ? (arg as { command?: unknown; flags?: unknown }) : {};
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return cliTerminal(host, `layerwise run ${ref}`, 'package', ['run', '--rm', '-it', ...strings(o.flags), ref, ...strings(o.command)]);
}
