/**
 * SSH agent forwarding (engine/build/ssh.ts) with the host's real ssh-agent, ssh-add and ssh-keygen: a proxy
 * socket relays to an agent that holds a key, with the owner and mode asked for; key files get an agent of
 * their own that close() stops; bad specs and missing agents are clear errors.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseSshSpec, SshForwarder, sshToolsAvailable, startAgentProcess } from '../../engine/build/ssh';
import { LayerwiseError } from '../../engine/errors';

const tools = sshToolsAvailable() && spawnSync('sh', ['-c', 'command -v ssh-keygen'], { stdio: 'ignore' }).status === 0;
const skip = tools ? false : 'ssh-agent, ssh-add and ssh-keygen are needed (Debian: openssh-client)';

let dir = '';
let key = '';
let fingerprint = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lw-ssh-test-'));
  if (!tools) return;
  key = join(dir, 'id_ed25519');
  const gen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'layerwise-test', '-f', key], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  fingerprint = spawnSync('ssh-keygen', ['-l', '-f', key], { encoding: 'utf8' }).stdout.split(' ')[1]!;
  assert.match(fingerprint, /^SHA256:/);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** `ssh-add -l` against a socket: the fingerprints the agent behind it holds. Asynchronous: the proxy lives on
 *  this process's event loop. */
function listKeys(sock: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const c = spawn('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.stderr.on('data', (d: Buffer) => (out += d));
    c.on('close', (code) => done({ code, out }));
  });
}

test('parseSshSpec reads default, id=socket and id=key,key; rejects an empty id or path list', () => {
  assert.deepEqual(parseSshSpec('default'), { id: 'default', paths: [] });
  assert.deepEqual(parseSshSpec('gh=/run/agent.sock'), { id: 'gh', paths: ['/run/agent.sock'] });
  assert.deepEqual(parseSshSpec('k=a/id_rsa, b/id_ed25519'), { id: 'k', paths: ['a/id_rsa', 'b/id_ed25519'] });
  assert.throws(() => parseSshSpec('=x'), /the id is empty/);
  assert.throws(() => parseSshSpec('id='), /no socket or key/);
});

test('key files: an agent of our own holds them; the proxy socket relays with mode and owner; close() stops all', { skip }, async () => {
  const fw = new SshForwarder([parseSshSpec(`default=${key}`)]);
  const p = await fw.socketFor('default', { uid: 0, gid: 0, mode: 0o600 });
  try {
    const st = statSync(p.path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    if (process.getuid?.() === 0) assert.equal(st.uid, 0);
    const listed = await listKeys(p.path);
    assert.equal(listed.code, 0, listed.out);
    assert.ok(listed.out.includes(fingerprint), listed.out);
    // a second step gets a socket of its own, to the same agent
    const q = await fw.socketFor('default', { uid: 0, gid: 0, mode: 0o660 });
    assert.notEqual(q.path, p.path);
    assert.equal(statSync(q.path).mode & 0o777, 0o660);
    assert.ok((await listKeys(q.path)).out.includes(fingerprint));
    await q.close();
    assert.throws(() => statSync(q.path), /ENOENT/);
  } finally {
    await fw.close();
  }
  assert.throws(() => statSync(p.path), /ENOENT/);
});

test('an existing agent socket is forwarded as it is (id=socket, and default = $SSH_AUTH_SOCK)', { skip }, async () => {
  const sock = join(dir, 'host-agent.sock');
  const started = startAgentProcess(sock);
  assert.equal(started.status, 0, started.output);
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.output)![1]);
  try {
    const add = spawnSync('ssh-add', ['-q', key], { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: sock } });
    assert.equal(add.status, 0, add.stderr);
    for (const fw of [new SshForwarder([parseSshSpec(`gh=${sock}`)]), new SshForwarder([parseSshSpec('gh')], { SSH_AUTH_SOCK: sock })]) {
      const p = await fw.socketFor('gh', { uid: 0, gid: 0, mode: 0o600 });
      assert.ok((await listKeys(p.path)).out.includes(fingerprint));
      await fw.close();
    }
    // the host's agent is not ours to stop: it still answers
    assert.equal((await listKeys(sock)).code, 0);
  } finally {
    process.kill(pid, 'SIGTERM');
  }
});

test('missing ids, an unset SSH_AUTH_SOCK, a missing key and a passphrase-protected key are clear errors', { skip }, async () => {
  const none = new SshForwarder([]);
  await assert.rejects(none.socketFor('default', { uid: 0, gid: 0, mode: 0o600 }), (e: unknown) => e instanceof LayerwiseError && /no SSH key "default" forwarded from the client/.test(e.message));
  const unset = new SshForwarder([parseSshSpec('default')], {});
  await assert.rejects(unset.socketFor('default', { uid: 0, gid: 0, mode: 0o600 }), /SSH_AUTH_SOCK is set/);
  const missing = new SshForwarder([parseSshSpec(`x=${join(dir, 'nope')}`)]);
  await assert.rejects(missing.socketFor('x', { uid: 0, gid: 0, mode: 0o600 }), /no such socket or key file/);
  const locked = join(dir, 'locked');
  assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', locked]).status, 0);
  const fw = new SshForwarder([parseSshSpec(`x=${locked}`)]);
  try {
    await assert.rejects(fw.socketFor('x', { uid: 0, gid: 0, mode: 0o600 }), /passphrase-protected keys are not supported/);
  } finally {
    await fw.close();
  }
  assert.throws(() => new SshForwarder([parseSshSpec('a'), parseSshSpec('a=/x')]), /duplicate ssh id/);
});
