/**
 * `layerwise login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]` and `layerwise logout [SERVER]`, as the
 * Docker CLI's: the credentials are checked against the registry, then kept in the Docker config (or its credential
 * helper), where `docker` finds them too. SERVER defaults to Docker Hub; a scheme or path in it is ignored.
 */
import { LayerwiseError } from '../../errors';
import { authKey } from '../../registry/auth';
import { checkLogin, dockerConfigPath, removeCredentials, saveCredentials } from '../../registry/login';
import type { CliContext } from '../context';
import { parseFlags, usageError, showHelp } from './image-cli';

export const summary = 'Log in to a registry';

/** `https://reg.example:5000/v1/` -> `reg.example:5000`; Docker Hub's names -> `docker.io`. */
export function serverDomain(server: string | undefined): string {
  if (!server) return 'docker.io';
  const host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  if (!host) throw new LayerwiseError('usage', `invalid server address: ${server}`);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}

/** A line typed at the terminal; with `hidden`, not echoed (a password). */
function prompt(ctx: CliContext, question: string, hidden: boolean): Promise<string> {
  const input = ctx.stdin as NodeJS.ReadStream;
  ctx.stderr.write(question);
  return new Promise((resolve, reject) => {
    let line = '';
    const raw = hidden && typeof input.setRawMode === 'function';
    if (raw) input.setRawMode(true);
    const done = (v: string | Error) => {
      input.off('data', onData);
      if (raw) input.setRawMode(false);
      input.pause();
      if (hidden) ctx.stderr.write('\n');
      if (v instanceof Error) reject(v);
      else resolve(v);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(line);
        if (ch === '\u0003') return done(new LayerwiseError('usage', 'login cancelled', { exitCode: 130 }));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, { username: { type: 'string', short: 'u' }, password: { type: 'string', short: 'p' }, 'password-stdin': { type: 'bool' } }, 'login');
  if (f.help) return showHelp(ctx, 'login [OPTIONS] [SERVER]', 'Log in to a registry.\nIf no server is specified, the default is Docker Hub.', f);
  if (f.args.length > 1) throw usageError('"login" requires at most 1 argument.', 'login');
  const domain = serverDomain(f.args[0]);
  let username = f.strings.get('username');
  let password = f.strings.get('password');
  if (f.bools.has('password-stdin')) {
    if (password !== undefined) throw new LayerwiseError('usage', '--password and --password-stdin are mutually exclusive');
    if (username === undefined) throw new LayerwiseError('usage', 'Must provide --username with --password-stdin');
    password = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  const tty = (ctx.stdin as { isTTY?: boolean }).isTTY === true;
  if (username === undefined || password === undefined) {
    if (!tty) throw new LayerwiseError('usage', 'Cannot perform an interactive login from a non TTY device', { exitCode: 1 });
    if (username === undefined) username = (await prompt(ctx, 'Username: ', false)).trim();
    if (password === undefined) password = await prompt(ctx, 'Password: ', true);
  }
  if (!username) throw new LayerwiseError('usage', 'Username is required', { exitCode: 1 });
  if (!password) throw new LayerwiseError('usage', 'Password is required', { exitCode: 1 });
  await checkLogin(domain, { username, password }, ctx.env);
  const where = await saveCredentials(domain, { username, password }, ctx.env);
  if (where === dockerConfigPath(ctx.env)) {
    ctx.stderr.write(`WARNING! Your password will be stored unencrypted in ${where}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credential-stores\n\n`);
  }
  ctx.stdout.write('Login Succeeded\n');
  return 0;
}

/** `logout [SERVER]`. */
export async function logout(args: string[], ctx: CliContext): Promise<number> {
  const f = parseFlags(args, {}, 'logout');
  if (f.help) return showHelp(ctx, 'logout [SERVER]', 'Log out from a registry.\nIf no server is specified, the default is Docker Hub.', f);
  if (f.args.length > 1) throw usageError('"logout" requires at most 1 argument.', 'logout');
  const domain = serverDomain(f.args[0]);
  const key = authKey(domain);
  if (!(await removeCredentials(domain, ctx.env))) {
    ctx.stdout.write(`Not logged in to ${key}\n`);
    return 0;
  }
  ctx.stdout.write(`Removing login credentials for ${key}\n`);
  return 0;
}
