/**
 * How commands ask the user things. The extension API exposes `host.prompts` so that extension-host tests can
 * answer without a person; the defaults are VS Code's quick picks and input boxes.
 */
import * as vscode from 'vscode';

export interface Prompts {
  pick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions): Thenable<T | undefined>;
  input(options: vscode.InputBoxOptions): Thenable<string | undefined>;
  /** a modal yes/no; resolves true for yes */
  confirm(message: string, action: string): Thenable<boolean>;
  openFolder(options: vscode.OpenDialogOptions): Thenable<vscode.Uri[] | undefined>;
}

export const defaultPrompts: Prompts = {
  pick: (items, options) => vscode.window.showQuickPick(items, options),
  input: (options) => vscode.window.showInputBox(options),
  confirm: async (message, action) => (await vscode.window.showWarningMessage(message, { modal: true }, action)) === action,
  openFolder: (options) => vscode.window.showOpenDialog(options),
};
