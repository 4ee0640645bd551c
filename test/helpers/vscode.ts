// A real VS Code for tests: code-server (VS Code's workbench + extension host, set up by
// scripts/setup-vscode.sh) driven by Debian's chromium through playwright-core. See
// ../shared/reference/vscode-e2e.md.
//
//   const server = await startCodeServer();
//   if (!server) t.skip(vscodeUnavailableReason());
//   const r = await runExtensionTests(server, { extensionDevelopmentPath, extensionTestsPath, folder });
//   assert.equal(r.code, 0, r.log.join('\n'));
//
// Each startCodeServer() call starts its own server (own port, user-data, extensions and XDG folders under a
// temp dir), in its own session; stop() (or process exit) kills its process group, extension hosts included.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { PEERS_CACHE } from './docker';
import { freePort, runCommand, startServerProcess, tail } from './peer-process';

export const NODE24 = path.join(PEERS_CACHE, 'node24', 'bin', 'node');
export const CODE_SERVER_ENTRY = path.join(PEERS_CACHE, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.LAYERWISE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export interface CodeServerOptions {
  /** Start with workspace trust enabled (default: disabled, i.e. `--disable-workspace-trust`). */
  workspaceTrust?: boolean;
  /** Extra user settings, merged over quiet defaults (no welcome page, no AI features, no updates). */
  settings?: Record<string, unknown>;
  /** Use this extensions dir (e.g. with a .vsix installed by installExtension) instead of an empty one. */
  extensionsDir?: string;
}

export interface CodeServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The run folder: user-data/, extensions/, xdg/, code-server.log. */
  readonly dir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly logFile: string;
  /** Kills the server's process group (extension hosts included) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface ExtensionTestOptions {
  /** Absolute path of the extension under test (folder with package.json). */
  extensionDevelopmentPath: string;
  /** Absolute path of a module exporting `run(): Promise<void>` (mocha or plain); a rejection fails the run. */
  extensionTestsPath: string;
  /** Folder to open as the workspace (absolute path). */
  folder?: string;
  /** Environment of the extension host. */
  extensionEnv?: Record<string, string>;
  /** Default 180 s. */
  timeoutMs?: number;
  /** Called for each log line as it arrives. */
  onLog?: (line: string) => void;
}

export interface ExtensionTestRun {
  /** The exit code the test harness reported (0 pass, non-zero fail). */
  code: number;
  /** Everything the extension host's test run logged (console output of the tests). */
  log: string[];
}

let lastReason: string | undefined;

/** Why the VS Code peer cannot run here (setup-vscode.sh not run, chromium missing), or undefined. */
export function vscodeUnavailableReason(): string | undefined {
  return lastReason ?? staticReason();
}

function staticReason(): string | undefined {
  if (process.platform !== 'linux') return `the VS Code peer runs on Linux only (this is ${process.platform})`;
  if (!fs.existsSync(NODE24)) return `${NODE24} is missing (run scripts/setup-vscode.sh)`;
  if (!fs.existsSync(CODE_SERVER_ENTRY)) return `code-server is not installed in ${PEERS_CACHE} (run scripts/setup-vscode.sh)`;
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing (run scripts/setup-vscode.sh as root)`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci)';
  }
  return undefined;
}

function codeServerEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k.startsWith('npm_')) delete env[k];
  env.PATH = `${path.dirname(NODE24)}:${process.env.PATH ?? '/usr/bin:/bin'}`; // its launcher is `#!/usr/bin/env node`
  env.XDG_CONFIG_HOME = path.join(dir, 'xdg', 'config');
  env.XDG_DATA_HOME = path.join(dir, 'xdg', 'data');
  env.XDG_CACHE_HOME = path.join(dir, 'xdg', 'cache');
  return env;
}

/** Starts code-server and resolves once /healthz answers; undefined (see vscodeUnavailableReason()) if not set up. */
export async function startCodeServer(opts: CodeServerOptions = {}): Promise<CodeServer | undefined> {
  lastReason = staticReason();
  if (lastReason) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-code-server-'));
  const userDataDir = path.join(dir, 'user-data');
  const extensionsDir = opts.extensionsDir ?? path.join(dir, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'chat.disableAIFeatures': true,
        'update.mode': 'none',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        'telemetry.telemetryLevel': 'off',
        ...opts.settings,
      },
      null,
      2,
    ),
  );
  const port = await freePort();
  const logFile = path.join(dir, 'code-server.log');
  const args = [
    CODE_SERVER_ENTRY,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--vscode-option', 'enable-smoke-test-driver', // honours the test payload in the page URL
  ];
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'code-server',
    file: NODE24,
    args,
    env: codeServerEnv(dir),
    dir,
    logFile,
    healthUrl: `${url}/healthz`,
    timeoutMs: 60_000,
  });
  return { url, port, dir, userDataDir, extensionsDir, logFile, stop: async () => server.stop() };
}

/** Installs a .vsix into an extensions dir with code-server's CLI (offline). */
export async function installExtension(vsix: string, extensionsDir: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-code-server-install-'));
  try {
    const r = await runCommand(NODE24, [CODE_SERVER_ENTRY, '--install-extension', vsix, '--extensions-dir', extensionsDir], {
      env: codeServerEnv(dir),
      timeoutMs: 120_000,
    });
    if (r.code !== 0) throw new Error(`code-server --install-extension ${vsix} failed:\n${r.stdout}${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Launches Debian's chromium, headless, for driving the workbench. Close it when done. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The workbench URL that opens `folder` and, if given, runs extension tests (needs enable-smoke-test-driver). */
export function workbenchUrl(server: CodeServer, opts: Partial<ExtensionTestOptions> = {}): string {
  const remote = (p: string): string => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload: [string, string][] = [];
  if (opts.extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(opts.extensionDevelopmentPath)]);
  if (opts.extensionTestsPath) payload.push(['extensionTestsPath', remote(opts.extensionTestsPath)]);
  if (opts.extensionEnv) payload.push(['extensionEnvironment', JSON.stringify(opts.extensionEnv)]);
  payload.push(['skipWelcome', 'true']);
  const q = [`payload=${encodeURIComponent(JSON.stringify(payload))}`];
  if (opts.folder) q.unshift(`folder=${encodeURIComponent(opts.folder)}`);
  return `${server.url}/?${q.join('&')}`;
}

/**
 * Runs extension-host tests (the normal `require('vscode')` kind) in the server's workbench and resolves
 * with the exit code the test harness reports; rejects if it reports none within the timeout.
 */
export async function runExtensionTests(server: CodeServer, opts: ExtensionTestOptions): Promise<ExtensionTestRun> {
  const browser = await launchChromium();
  const log: string[] = [];
  try {
    const page = await browser.newPage();
    let reportExit: (code: number) => void = () => undefined;
    const exit = new Promise<number>((resolve) => {
      reportExit = resolve;
    });
    await page.exposeFunction('codeAutomationExit', (code: unknown) => reportExit(typeof code === 'number' ? code : 1));
    await page.exposeFunction('codeAutomationLog', (_type: unknown, args: unknown) => {
      const line = Array.isArray(args) ? args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') : String(args);
      log.push(line);
      opts.onLog?.(line);
    });
    await page.goto(workbenchUrl(server, opts));
    const timeoutMs = opts.timeoutMs ?? 180_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`extension tests reported no exit code within ${timeoutMs} ms; log:\n${log.join('\n')}\n${tail(server.logFile)}`)),
        timeoutMs,
      );
    });
    try {
      return { code: await Promise.race([exit, timeout]), log };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await browser.close();
  }
}
