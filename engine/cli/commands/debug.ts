/**
 * `layerwise debug parse [--format=buildkit|json|problems] FILE|-`: shows what the parser makes of a Dockerfile.
 * `buildkit` prints BuildKit's `Node.Dump` format; `json` the whole tree; `problems` one line per problem.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { dumpBuildKit, parse } from '../../dockerfile';
import { LayerwiseError } from '../../errors';
import type { CliContext } from '../context';

export const summary = 'Developer tools: `debug parse` shows the parse tree of a Dockerfile';

async function readInput(file: string, ctx: CliContext): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(resolve(ctx.cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LayerwiseError(code === 'ENOENT' ? 'not-found' : 'io', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const sub = args[0];
  if (sub !== 'parse') {
    ctx.stderr.write('Usage:  layerwise debug parse [--format=buildkit|json|problems] FILE\n');
    return sub === undefined || sub === '--help' ? 0 : 125;
  }
  let format = 'buildkit';
  let file: string | undefined;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--format=')) format = a.slice('--format='.length);
    else if (a === '--format') format = args[++i] ?? '';
    else if (file === undefined) file = a;
    else throw new LayerwiseError('usage', `unexpected argument: ${a}`);
  }
  if (!['buildkit', 'json', 'problems'].includes(format)) throw new LayerwiseError('usage', `unknown format "${format}" (buildkit, json, problems)`);
  if (!file) throw new LayerwiseError('usage', '"debug parse" requires a Dockerfile argument (or - for stdin)');
  const df = parse(await readInput(file, ctx));
  const errors = df.problems.filter((p) => p.severity === 'error');
  if (format === 'json') {
    ctx.stdout.write(JSON.stringify({ ...df, text: undefined, lineStarts: undefined }, null, 2) + '\n');
  } else if (format === 'problems') {
    for (const p of df.problems)
      ctx.stdout.write(`${file}:${p.range.start.line + 1}:${p.range.start.character + 1}: ${p.severity}: ${p.message} [${p.code}]\n`);
  } else {
    ctx.stdout.write(dumpBuildKit(df));
    for (const p of errors) ctx.stderr.write(`${file}:${p.range.start.line + 1}: ${p.message}\n`);
  }
  return errors.length ? 1 : 0;
}
