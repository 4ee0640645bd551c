/**
 * Layerwise: Open Shell in Container (`exec -it CONTAINER sh` in an integrated terminal), Show Container Logs (`logs
 * -f` in a terminal), Stop / Start / Remove Container (one CLI call each, then the Containers view refreshes).
 */
import * as vscode from 'vscode';
import { runCli } from '../cli';
import { cliTerminal } from './terminal';
import { listContainers, type ContainerItem } from '../containers';
import type { LayerwiseHost } from '../host';

/** A container from a tree item (`{ container }`), a string (name or id), or a pick. */
async function containerRef(host: LayerwiseHost, arg: unknown, title: string, want?: 'running' | 'stopped'): Promise<string | undefined> {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null) {
    const o = arg as { container?: ContainerItem; ref?: unknown };
    if (o.container) return o.container.name;
    if (typeof o.ref === 'string') return o.ref;
  }
  let items: ContainerItem[];
  try {
    items = await listContainers(host.cli());
  } catch (e) {
    void vscode.window.showErrorMessage(`Layerwise: cannot list containers: ${(e as Error).message}`);
    return undefined;
  }
  if (want) items = items.filter((c) => (c.state === 'running') === (want === 'running'));
  if (!items.length) {
    void vscode.window.showInformationMessage(`Layerwise: there is no ${want ?? ''} container`.replace('  ', ' ') + '.');
    return undefined;
  }
  const picked = await host.prompts.pick(items.map((c) => ({ label: c.name, description: `${c.status} · ${c.image}`, ref: c.name })), { title, placeHolder: 'Container' });
  return picked?.ref;
}


/** Open Shell in Container: `exec -it CONTAINER sh` (or `{ container, command: [...] }`). */
export async function containerShellCommand(host: LayerwiseHost, arg: unknown): Promise<vscode.Terminal | undefined> {
  if (!host.engineAllowed()) return undefined;
  const ref = await containerRef(host, arg, 'Layerwise: Open Shell in Container', 'running');
  if (!ref) return undefined;
  const cmd = typeof arg === 'object' && arg !== null && Array.isArray((arg as { command?: unknown }).command) ? ((arg as { command: string[] }).command) : ['sh'];
  return cliTerminal(host, `layerwise exec ${ref}`, 'vm', ['exec', '-it', ref, ...cmd]);
}

/** Show Container Logs: `logs -f CONTAINER` in a terminal (it ends when the container does). */
export async function containerLogsCommand(host: LayerwiseHost, arg: unknown): Promise<vscode.Terminal | undefined> {
  if (!host.engineAllowed()) return undefined;
  const ref = await containerRef(host, arg, 'Layerwise: Show Container Logs');
  if (!ref) return undefined;
  return cliTerminal(host, `layerwise logs ${ref}`, 'output', ['logs', '-f', ref]);
}

async function simple(host: LayerwiseHost, arg: unknown, verb: 'stop' | 'start' | 'rm', title: string, want?: 'running' | 'stopped'): Promise<string | undefined> {
  if (!host.engineAllowed()) return undefined;
  const ref = await containerRef(host, arg, title, want);
  if (!ref) return undefined;
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `${title} ${ref}` }, () => runCli(host.cli(), [verb, ref]));
  } catch (e) {
    void vscode.window.showErrorMessage(`Layerwise: ${(e as Error).message}`);
    return undefined;
  }
  host.fireContainersChanged();
  return ref;
}

export function stopContainerCommand(host: LayerwiseHost, arg: unknown): Promise<string | undefined> {
  return simple(host, arg, 'stop', 'Layerwise: Stop Container', 'running');
}

export function startContainerCommand(host: LayerwiseHost, arg: unknown): Promise<string | undefined> {
  return simple(host, arg, 'start', 'Layerwise: Start Container', 'stopped');
}

export async function removeContainerCommand(host: LayerwiseHost, arg: unknown): Promise<string | undefined> {
  const o = typeof arg === 'object' && arg !== null ? (arg as { confirm?: boolean }) : {};
  if (!host.engineAllowed()) return undefined;
  const ref = await containerRef(host, arg, 'Layerwise: Remove Container', 'stopped');
  if (!ref) return undefined;
  if (o.confirm !== false && !(await host.prompts.confirm(`Remove the container ${ref} and its changes?`, 'Remove'))) return undefined;
  return simple(host, ref, 'rm', 'Layerwise: Remove Container');
}
