/**
 * FOLLOW-UP SUITE: the same decorations and trees with the REAL engine (dist/cli.js), once `layerwise build`
 * exists. It skips (saying why) while the CLI has no `build` command. Builds test/e2e/fixtures/sample/
 * Dockerfile.scratch (FROM scratch + two COPYs: no base image needed) into a fresh store, twice: built, then
 * cached.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, workspaceDir } from './util';
import { busyboxImageTar } from '../../helpers/rootfs';
import { startRegistry } from '../../helpers/registry';

describe('Layerwise with the real engine (follow-up: needs `layerwise build`)', function () {
  this.timeout(120_000);
  const saved: Record<string, string | undefined> = {};
  let cli = '';
  let root = '';

  before(function () {
    const ext = vscode.extensions.getExtension('layerwise.layerwise')!;
    cli = path.join(ext.extensionPath, 'dist', 'cli.js');
    const help = spawnSync(process.execPath, [cli, 'build', '--help'], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    if (/unknown command/.test(help.stderr ?? '') || help.status === 125) {
      console.log(`  SKIPPED: ${cli} has no "build" command yet (${(help.stderr ?? '').trim()})`);
      this.skip();
    }
    for (const k of ['LAYERWISE_CLI', 'LAYERWISE_ROOT']) saved[k] = process.env[k];
    delete process.env.LAYERWISE_CLI; // the extension's own dist/cli.js
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-e2e-store-'));
    process.env.LAYERWISE_ROOT = root;
  });

  after(function () {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('decorations after a real build: built, then cached; the trees show it', async function () {
    const lw = await api();
    const dockerfile = path.join(workspaceDir(), 'Dockerfile.scratch');
    const uri = vscode.Uri.file(dockerfile);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const deco = await lw.decorations();
    const first = (await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile, context: workspaceDir(), tag: 'scratch:e2e', buildArgs: {}, target: '' })) as { ok: boolean; record: { end?: { error?: { message: string } } } };
    assert.ok(first.ok, `first build: ${first.record.end?.error?.message}`);
    const built = deco.decorationsFor(uri);
    assert.deepEqual(built.filter((d) => d.line > 0).map((d) => `${d.line}:${d.kind}`), ['1:built', '2:built']);
    assert.match(built.find((d) => d.line === 1)!.text, /^built in \d+\.\ds · \d/);
    const second = (await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile, context: workspaceDir(), tag: 'scratch:e2e', buildArgs: {}, target: '' })) as { ok: boolean };
    assert.ok(second.ok);
    assert.deepEqual(deco.decorationsFor(uri).filter((d) => d.line > 0).map((d) => `${d.line}:${d.kind}`), ['1:cached', '2:cached']);
    // a context file changes: its COPY misses the cache, and the hover says which file
    fs.writeFileSync(path.join(workspaceDir(), 'hello.txt'), 'hello again\n');
    const third = (await vscode.commands.executeCommand('layerwise.buildImage', { dockerfile, context: workspaceDir(), tag: 'scratch:e2e', buildArgs: {}, target: '' })) as { ok: boolean };
    assert.ok(third.ok);
    const after = new Map(deco.decorationsFor(uri).map((d) => [d.line, d]));
    assert.equal(after.get(1)!.kind, 'built');
    assert.match(after.get(1)!.hover, /cache miss: .*hello\.txt/);
    const images = await (await lw.imagesTree()).render(3);
    assert.match(images, /scratch:e2e/);
    assert.match(images, /hello\.txt — added/);
    assert.match(images, /extra\.txt — added/);
  });

  it('Run Image: the container runs in an integrated terminal with a tty, and the terminal ends with its exit status', async function () {
    const busybox = await busyboxImageTar();
    if (!busybox) {
      console.log('  SKIPPED: no busybox image (Debian package busybox-static)');
      this.skip();
    }
    const load = spawnSync(process.execPath, [cli, '--root', root, 'load', '-i', busybox!.path], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    assert.equal(load.status, 0, load.stderr);
    const closed = new Promise<vscode.Terminal>((resolve) => {
      const d = vscode.window.onDidCloseTerminal((t) => {
        if (!t.name.startsWith('layerwise run')) return;
        d.dispose();
        resolve(t);
      });
    });
    // stdin and stdout are a tty in the container, -e reaches it: the exit status says so
    const terminal = (await vscode.commands.executeCommand('layerwise.runImage', {
      ref: 'busybox:latest',
      flags: ['-e', 'CODE=7'],
      command: ['sh', '-c', 'test -t 0 && test -t 1 && exit "$CODE"; exit 9'],
    })) as vscode.Terminal;
    assert.ok(terminal, 'a terminal');
    assert.equal(terminal.name, 'layerwise run busybox:latest');
    const t = await closed;
    assert.equal(t.exitStatus?.code, 7);
  });

  it('Containers view: a detached container listed running; a shell in a terminal; stop and start; one that ends on its own; remove', async function () {
    const busybox = await busyboxImageTar();
    if (!busybox) this.skip();
    const e = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
    const lwCli = (...args: string[]) => spawnSync(process.execPath, [cli, '--root', root, ...args], { encoding: 'utf8', env: e });
    assert.equal(lwCli('load', '-i', busybox!.path).status, 0);
    const lw = await api();
    const tree = await lw.containersTree();
    /** resolves once the view (re-read at each of its change events) matches `re` */
    const shows = async (re: RegExp, what: string): Promise<string> => {
      const now = await tree.render();
      if (re.test(now)) return now;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          sub.dispose();
          void tree.render().then((t) => reject(new Error(`timed out waiting for ${what}; the view shows:\n${t}`)));
        }, 30_000);
        const sub = tree.onDidChangeTreeData(() => {
          void tree.render().then((t) => {
            if (!re.test(t)) return;
            clearTimeout(timer);
            sub.dispose();
            resolve(t);
          });
        });
      });
    };
    const run = lwCli('run', '-d', '--name', 'e2e-svc', 'busybox:latest', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done');
    assert.equal(run.status, 0, run.stderr);
    tree.refresh();
    await shows(/^e2e-svc — Up .* · busybox:latest$/m, 'the running container');

    // a shell in the container, in a terminal with a tty: its exit status is the terminal's
    const closed = new Promise<vscode.Terminal>((resolve) => {
      const d = vscode.window.onDidCloseTerminal((t) => {
        if (!t.name.startsWith('layerwise exec')) return;
        d.dispose();
        resolve(t);
      });
    });
    const term = (await vscode.commands.executeCommand('layerwise.containerShell', { ref: 'e2e-svc', command: ['sh', '-c', 'test -t 0 && exit 5; exit 9'] })) as vscode.Terminal;
    assert.equal(term.name, 'layerwise exec e2e-svc');
    assert.equal((await closed).exitStatus?.code, 5);

    assert.equal(await vscode.commands.executeCommand('layerwise.stopContainer', 'e2e-svc'), 'e2e-svc');
    await shows(/^e2e-svc — Exited \(0\) .* · busybox:latest$/m, 'the stopped container');
    assert.equal(await vscode.commands.executeCommand('layerwise.startContainer', { ref: 'e2e-svc' }), 'e2e-svc');
    await shows(/^e2e-svc — Up /m, 'the container started again');

    // a container that ends by itself: the view follows its state file, no command involved
    assert.equal(lwCli('run', '-d', '--name', 'e2e-brief', 'busybox:latest', 'sh', '-c', 'sleep 1; exit 3').status, 0);
    await shows(/^e2e-brief — Up /m, 'the brief container running');
    await shows(/^e2e-brief — Exited \(3\) /m, 'the brief container ended');

    assert.equal(await vscode.commands.executeCommand('layerwise.stopContainer', 'e2e-svc'), 'e2e-svc');
    assert.equal(await vscode.commands.executeCommand('layerwise.removeContainer', { ref: 'e2e-svc', confirm: false }), 'e2e-svc');
    assert.equal(await vscode.commands.executeCommand('layerwise.removeContainer', { ref: 'e2e-brief', confirm: false }), 'e2e-brief');
    const after = await tree.render();
    assert.doesNotMatch(after, /e2e-/);
  });

  it('Push Image (tagged for a registry on the way) and Pull Image into an empty store, with a real registry', async function () {
    const registry = await startRegistry();
    if (!registry) {
      console.log('  SKIPPED: no docker-registry (Debian package docker-registry)');
      this.skip();
    }
    try {
      const busybox = await busyboxImageTar();
      if (!busybox) this.skip();
      const e = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
      assert.equal(spawnSync(process.execPath, [cli, '--root', root, 'load', '-i', busybox!.path], { encoding: 'utf8', env: e }).status, 0);
      const lw = await api();
      const target = `${registry!.url}/e2e/busybox:1`;
      const pushed = (await vscode.commands.executeCommand('layerwise.pushImage', { ref: 'busybox:latest', target })) as { ref: string; digest: string } | undefined;
      assert.ok(pushed, 'pushed');
      assert.equal(pushed.ref, target);
      assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
      const images = await (await lw.imagesTree()).render(1);
      assert.match(images, new RegExp(`^${target.replace(/[.]/g, '\\.')} — `, 'm'));
      // the registry has it under the tag
      const res = await fetch(`http://${registry!.url}/v2/e2e/busybox/manifests/1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(res.headers.get('docker-content-digest'), pushed.digest);

      // an empty store pulls it back (the palette's input box answered)
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'layerwise-e2e-pull-'));
      process.env.LAYERWISE_ROOT = empty;
      try {
        lw.host.prompts = { ...lw.host.prompts, input: async () => target };
        const name = await vscode.commands.executeCommand('layerwise.pullImage');
        assert.equal(name, target);
        const ins = spawnSync(process.execPath, [cli, '--root', empty, 'inspect', target], { encoding: 'utf8', env: e });
        assert.equal(ins.status, 0, ins.stderr);
        assert.deepEqual((JSON.parse(ins.stdout) as { RepoDigests: string[] }[])[0]!.RepoDigests, [`${registry!.url}/e2e/busybox@${pushed.digest}`]);
        // a name the registry does not have: an error message, nothing returned
        const missing = await vscode.commands.executeCommand('layerwise.pullImage', `${registry!.url}/e2e/none:1`);
        assert.equal(missing, undefined);
      } finally {
        process.env.LAYERWISE_ROOT = root;
        fs.rmSync(empty, { recursive: true, force: true });
      }
    } finally {
      await registry!.stop();
    }
  });
});
