/**
 * Layerwise: Pull Image and Push Image — `layerwise pull` / `layerwise push` with a progress notification and
 * their lines in the Layerwise output channel; the Images tree refreshes after. The registry's credentials are the
 * Docker CLI's (`docker login` or `layerwise login`).
 */
import * as vscode from 'vscode';
import { runCli, CliError } from '../cli';
import type { LayerwiseHost } from '../host';
import { listImages, type ImageItem } from '../images';

/** `name[:tag|@digest]`, one word with a name: what the input boxes accept. */
function checkReference(v: string): string | undefined {
  const s = v.trim();
  if (!s) return 'an image name, e.g. alpine:3.20 or registry.example:5000/team/app:1';
  if (/\s/.test(s)) return 'an image name is one word';
  return undefined;
}

async function withProgress(host: LayerwiseHost, title: string, args: string[]): Promise<string | undefined> {
  host.output.appendLine(`> layerwise ${args.join(' ')}`);
  try {
    const out = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: false }, () => runCli(host.cli(), args));
    host.output.append(out);
    return out;
  } catch (e) {
    const err = e as CliError;
    if (err.stderr) host.output.append(err.stderr);
    void vscode.window.showErrorMessage(`Layerwise: ${err.message}`, 'Show Log').then((a) => {
      if (a) host.output.show(true);
    });
    return undefined;
  }
}

/** Pull Image: the argument (a string or `{ ref, platform? }`) or an input box. Returns the full name pulled. */
export async function pullImageCommand(host: LayerwiseHost, arg: unknown): Promise<string | undefined> {
  if (!host.engineAllowed()) return undefined;
  const o = typeof arg === 'object' && arg !== null ? (arg as { ref?: unknown; platform?: unknown }) : {};
  const ref =
    typeof arg === 'string'
      ? arg
      : typeof o.ref === 'string'
        ? o.ref
        : await host.prompts.input({ title: 'Layerwise: Pull Image', prompt: 'Image to pull (name[:tag|@digest])', value: '', validateInput: checkReference });
  if (!ref || checkReference(ref)) return undefined;
  const platform = typeof o.platform === 'string' ? ['--platform', o.platform] : [];
  const out = await withProgress(host, `Layerwise: pulling ${ref.trim()}`, ['pull', ...platform, ref.trim()]);
  if (out === undefined) return undefined;
  host.fireImagesChanged();
  const name = out.trim().split('\n').pop() ?? ref;
  const status = /^Status: (.*)$/m.exec(out)?.[1];
  void vscode.window.setStatusBarMessage(`Layerwise: ${status ?? `pulled ${name}`}`, 5000);
  return name;
}

/**
 * Push Image: an image (tree item, `{ ref, target? }`, a string, or a pick), pushed as `target` (asked for, the
 * image's own name offered): a target other than the image's name is tagged first, as `docker tag` then `docker
 * push`. Returns `{ ref, digest }` of what the registry now has.
 */
export async function pushImageCommand(host: LayerwiseHost, arg: unknown): Promise<{ ref: string; digest: string } | undefined> {
  if (!host.engineAllowed()) return undefined;
  const o = typeof arg === 'object' && arg !== null ? (arg as { image?: ImageItem; ref?: unknown; target?: unknown }) : {};
  let source = typeof arg === 'string' ? arg : o.image?.ref ?? (typeof o.ref === 'string' ? o.ref : undefined);
  if (!source) {
    let images: ImageItem[];
    try {
      images = (await listImages(host.cli())).filter((i) => !i.ref.startsWith('sha256:') && !i.ref.includes('<none>'));
    } catch (e) {
      void vscode.window.showErrorMessage(`Layerwise: cannot list images: ${(e as Error).message}`);
      return undefined;
    }
    if (!images.length) {
      void vscode.window.showInformationMessage('Layerwise: there is no named image to push. Build or tag one first.');
      return undefined;
    }
    source = (await host.prompts.pick(images.map((i) => ({ label: i.ref, description: [i.id.slice(0, 19), i.size].filter(Boolean).join(' · '), ref: i.ref })), { title: 'Layerwise: Push Image', placeHolder: 'Image' }))?.ref;
    if (!source) return undefined;
  }
  const target =
    typeof o.target === 'string'
      ? o.target
      : await host.prompts.input({ title: `Layerwise: Push ${source}`, prompt: 'Push as (registry/name:tag)', value: source, validateInput: checkReference });
  if (!target || checkReference(target)) return undefined;
  const to = target.trim();
  if (to !== source) {
    try {
      await runCli(host.cli(), ['tag', source, to]);
    } catch (e) {
      void vscode.window.showErrorMessage(`Layerwise: ${(e as Error).message}`);
      return undefined;
    }
    host.fireImagesChanged();
  }
  const out = await withProgress(host, `Layerwise: pushing ${to}`, ['push', to]);
  if (out === undefined) return undefined;
  host.fireImagesChanged();
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1] ?? '';
  void vscode.window.setStatusBarMessage(`Layerwise: pushed ${to}${digest ? ` (${digest.slice(0, 19)})` : ''}`, 5000);
  return { ref: to, digest };
}
