/** An integrated terminal running the Layerwise CLI (Run Image, Open Shell in Container, Show Container Logs). */
import * as vscode from 'vscode';
import { launchEnv } from '../../engine/cli/launch-env';
import { cliArgs } from '../cli';
import type { LayerwiseHost } from '../host';

export function cliTerminal(host: LayerwiseHost, name: string, icon: string, args: string[]): vscode.Terminal {
  const launched = launchEnv(process.env);
  const terminal = vscode.window.createTerminal({
    name,
    iconPath: new vscode.ThemeIcon(icon),
    shellPath: process.execPath,
    shellArgs: cliArgs(host.cli(), args),
    ...(vscode.workspace.workspaceFolders?.[0] ? { cwd: vscode.workspace.workspaceFolders[0].uri } : {}),
    // Electron runs as node, as launchEnv has it (no NODE_EXTRA_CA_CERTS at start-up). The terminal starts from the
    // window's environment, not this process's: the store is the one the other commands use (LAYERWISE_ROOT /
    // XDG_DATA_HOME as this extension host has them)
    env: {
      ELECTRON_RUN_AS_NODE: '1',
      NODE_EXTRA_CA_CERTS: null,
      ...Object.fromEntries(['LAYERWISE_ROOT', 'XDG_DATA_HOME', 'LAYERWISE_EXTRA_CA_CERTS'].flatMap((k) => (launched[k] ? [[k, launched[k]!]] : []))),
    },
  });
  terminal.show();
  return terminal;
}
