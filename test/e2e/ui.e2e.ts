// UI end-to-end in a real browser: the packaged extension (.vsix) installed in code-server, driven by chromium
// through playwright-core. Opens examples/hello-app (a copy), builds it from the command palette with the real
// engine (busybox:latest preloaded into a fresh store), checks the inline annotations after the first (built)
// and second (cached) build, opens the Images tree down to a layer's files, and saves a screenshot of each step
// in test-artifacts/ui/. Skips, saying why, without code-server/chromium or when builds cannot run here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { installExtension, launchChromium, startCodeServer, vscodeUnavailableReason, workbenchUrl } from '../helpers/vscode';
import { busyboxImageTar } from '../helpers/rootfs';
import { buildUnavailableReason } from '../helpers/build';
import { ARTIFACTS, ROOT, buildAll } from './harness';

const SHOTS = path.join(ARTIFACTS, 'ui');

/** The texts VS Code shows after lines (decorations render as ::after content of spans in the view lines). */
async function inlineAnnotations(page: Page): Promise<string[]> {
  // a string: this runs in the page (the test's tsconfig has no DOM types)
  return page.evaluate<string[]>(`(() => {
    const out = [];
    for (const el of document.querySelectorAll('.monaco-editor .view-lines span')) {
      const c = getComputedStyle(el, '::after').content;
      if (!c || c === 'none' || c === 'normal' || c === '""') continue;
      try { out.push(JSON.parse(c)); } catch { out.push(c.replace(/^"|"$/g, '')); }
    }
    return out;
  })()`);
}

async function notifications(page: Page): Promise<string> {
  return (await page.locator('.notifications-toasts').allInnerTexts().catch(() => [])).join(' | ').replace(/\s+/g, ' ');
}

async function waitForAnnotations(page: Page, pred: (a: string[]) => boolean, what: string, timeoutMs = 120_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  let last: string[] = [];
  // the workbench has no event a test can subscribe to for decorations: look whenever the DOM changed
  while (Date.now() < end) {
    last = await inlineAnnotations(page);
    if (pred(last)) return last;
    await page.waitForFunction(() => true, undefined, { polling: 250, timeout: 1000 }).catch(() => undefined);
    await page.waitForTimeout(250);
  }
  throw new Error(`timed out waiting for ${what}; annotations: ${JSON.stringify(last)}; notifications: ${await notifications(page)}`);
}

async function palette(page: Page, command: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${command}`);
  // the exact command (not e.g. "… (No Cache)"): its row's label is the whole text
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${command.replace(/[()]/g, '\\$&')}$`) }) }).first();
  await row.waitFor();
  await row.click();
}

/** Accepts every Build Image question with its default (Enter), until the quick input closes. */
async function acceptDefaults(page: Page, steps: number): Promise<string[]> {
  const titles: string[] = [];
  const widget = page.locator('.quick-input-widget');
  for (let i = 0; i < steps; i++) {
    await widget.waitFor({ state: 'visible' });
    await page.locator('.quick-input-title', { hasText: `(${i + 2}/5)` }).waitFor();
    titles.push((await page.locator('.quick-input-title').innerText()).trim());
    await page.keyboard.press('Enter');
  }
  await widget.waitFor({ state: 'hidden' });
  return titles;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** A view pane of the sidebar by its title (`Build`, `Images`). */
function pane(page: Page, title: string): Locator {
  return page.locator('.pane').filter({ has: page.locator('.pane-header .title', { hasText: new RegExp(`^${title}$`, 'i') }) });
}

async function treeRow(scope: Locator, text: string): Promise<Locator> {
  const row = scope.locator('.monaco-list-row', { hasText: text }).first();
  await row.waitFor({ timeout: 60_000 });
  return row;
}

test('UI: build examples/hello-app from the palette, inline annotations, Images tree to a layer\'s files', { timeout: 600_000 }, async (t) => {
  const why = vscodeUnavailableReason() ?? (await buildUnavailableReason());
  if (why) return t.skip(why);
  const busybox = await busyboxImageTar();
  if (!busybox) return t.skip('no busybox image for the examples (busybox-static missing)');
  await buildAll();
  fs.mkdirSync(SHOTS, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-ui-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));

  // the packaged extension, as users get it
  const pkg = spawnSync('npx', ['--no-install', 'vsce', 'package', '--no-dependencies', '--skip-license', '-o', path.join(work, 'layerwise.vsix')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pkg.status, 0, `vsce package failed:\n${pkg.stdout}${pkg.stderr}`);
  const extensionsDir = path.join(work, 'extensions');
  fs.mkdirSync(extensionsDir);
  await installExtension(path.join(work, 'layerwise.vsix'), extensionsDir);

  // a store with busybox:latest, and a copy of the example
  const store = path.join(work, 'store');
  const load = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), '--root', store, 'load', '-i', busybox.path], { encoding: 'utf8' });
  assert.equal(load.status, 0, load.stderr);
  const folder = path.join(work, 'hello-app');
  fs.cpSync(path.join(ROOT, 'examples', 'hello-app'), folder, { recursive: true });

  const server = await startCodeServer({ extensionsDir, settings: { 'workbench.tips.enabled': false } });
  assert.ok(server, vscodeUnavailableReason());
  // layerwise.storeRoot is machine-scoped: in code-server (a remote window) it is read from the Machine settings
  fs.mkdirSync(path.join(server.userDataDir, 'Machine'), { recursive: true });
  fs.writeFileSync(path.join(server.userDataDir, 'Machine', 'settings.json'), JSON.stringify({ 'layerwise.storeRoot': store }));
  t.after(() => server.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  try {
    await page.goto(workbenchUrl(server, { folder }));
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await shot(page, '01-workbench');

    // open the Dockerfile: the language server's predicted status shows (the store has the base image but no
    // build of this Dockerfile: every step will be built)
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('Dockerfile');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dockerfile' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-line', { hasText: 'FROM busybox:latest AS base' }).waitFor({ timeout: 60_000 });
    const predicted = await waitForAnnotations(page, (a) => a.some((x) => x.startsWith('will rebuild: no earlier build of this Dockerfile')), 'predicted status');
    assert.ok(predicted.length > 0);
    await shot(page, '02-dockerfile-predicted');

    // first build from the palette: every question answered with its default
    await palette(page, 'Layerwise: Build Image');
    const titles = await acceptDefaults(page, 4);
    await shot(page, '03a-questions-answered');
    assert.match(titles.join('\n'), /Build context[\s\S]*|\(2\/5\)/);
    const first = await waitForAnnotations(page, (a) => a.some((x) => x.startsWith('built in')) && !a.some((x) => x.startsWith('building')), 'the first build\'s annotations');
    assert.ok(first.some((x) => /^built in \d+\.\ds · /.test(x)), JSON.stringify(first));
    await shot(page, '03-first-build');

    // second build: everything comes from the cache
    await palette(page, 'Layerwise: Build Image');
    await acceptDefaults(page, 4);
    // the steps report one by one: wait for all of them (the example has 8 or more annotated lines in view)
    const second = await waitForAnnotations(page, (a) => a.length >= 8 && a.every((x) => x.startsWith('cached') || x.startsWith('config only')), 'the second build\'s cached annotations');
    assert.ok(second.length >= 8, JSON.stringify(second));
    await shot(page, '04-second-build-cached');

    // the Layerwise views: Build (stages -> steps) and Images -> layers -> files
    await page.locator('.activitybar .action-item a[aria-label^="Layerwise"]').first().click();
    const buildPane = pane(page, 'Build');
    await treeRow(buildPane, 'RUN sh src/build.sh "$VERSION"');
    await treeRow(buildPane, 'stage deps');
    await shot(page, '05-build-view');
    await buildPane.locator('.pane-header').click(); // collapse it: room for the Images tree
    const images = pane(page, 'Images');
    await (await treeRow(images, 'hello-app:latest')).click();
    await (await treeRow(images, 'COPY src/ ./src/')).click();
    const file = await treeRow(images, 'app/src/main.sh');
    assert.match(await file.innerText(), /added/);
    await treeRow(images, 'app/src/build.sh');
    await shot(page, '06-images-layer-files');
  } catch (e) {
    await shot(page, '99-failure').catch(() => undefined); // what the screen showed when it failed
    throw e;
  }
});
