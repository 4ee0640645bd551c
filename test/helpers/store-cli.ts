/** Run the `layerwise` CLI in-process (`main()`) against a store root, with captured streams. */
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../engine/cli/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for `save` to stdout) */
  out: Buffer;
}

export async function cli(root: string, args: string[], stdin?: Buffer | string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (c: Buffer) => o.push(c));
  err.on('data', (c: Buffer) => e.push(c));
  const input = stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(stdin)]);
  const code = await main(['--root', root, ...args], { stdout: out, stderr: err, stdin: input, env: { ...process.env, LAYERWISE_DEBUG: '', ...env }, cwd: root });
  const buf = Buffer.concat(o);
  return { code, stdout: buf.toString('utf8'), stderr: Buffer.concat(e).toString('utf8'), out: buf };
}
