/**
 * `layerwise build -` as `docker build -`: standard input is either a build context as a tar archive (plain,
 * gzip or zstd; the Dockerfile inside it, or the one `-f` names relative to it) or, when it is not an archive, the
 * Dockerfile itself with an empty context. The input is spooled to a private temp dir (never held in memory), an
 * archive is unpacked there with the layer applier's checks (nothing lands outside it: `..`, absolute paths,
 * link escapes and device files are refused), and the dir goes when the build is done. (As in a layer, entries
 * named `.wh.*` are whiteouts: such names do not reach the context.)
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { LayerwiseError } from '../errors';
import { applyLayer } from '../layers';

export interface StdinContext {
  /** the context directory */
  dir: string;
  /** the Dockerfile's text, when standard input was the Dockerfile */
  dockerfileText?: string;
  cleanup(): Promise<void>;
}

/** What the first bytes of standard input are: an archive we read, or anything else (a Dockerfile). */
export function sniffArchive(head: Buffer): 'tar' | 'gzip' | 'zstd' | 'bzip2' | 'xz' | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  return undefined;
}

export async function stdinContext(stdin: NodeJS.ReadableStream, dockerfileFlag: string | undefined): Promise<StdinContext> {
  if (dockerfileFlag === '-') throw new LayerwiseError('invalid', "invalid argument: can't use stdin for both build context and dockerfile");
  const base = await fsp.mkdtemp(join(tmpdir(), 'layerwise-stdin-'));
  const cleanup = () => fsp.rm(base, { recursive: true, force: true });
  try {
    const spool = join(base, 'stdin');
    let head = Buffer.alloc(0);
    const peek = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (head.length < 512) head = Buffer.concat([head, chunk.subarray(0, 512 - head.length)]);
        cb(null, chunk);
      },
    });
    await pipeline(stdin, peek, createWriteStream(spool, { mode: 0o600 }));
    const kind = sniffArchive(head);
    if (kind === 'bzip2' || kind === 'xz') throw new LayerwiseError('invalid', `unable to prepare context: ${kind} compressed build contexts are not supported (use a plain, gzip or zstd tar)`);
    const dir = join(base, 'context');
    await fsp.mkdir(dir, { mode: 0o700 });
    if (kind === undefined) {
      const dockerfileText = await fsp.readFile(spool, 'utf8');
      await fsp.rm(spool);
      return { dir, dockerfileText, cleanup };
    }
    try {
      await applyLayer(createReadStream(spool), dir, { xattrs: false });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new LayerwiseError(e instanceof LayerwiseError ? e.kind : 'invalid', `unable to prepare context: the build context from standard input: ${msg}`, { cause: e });
    }
    await fsp.rm(spool);
    return { dir, cleanup };
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
}
