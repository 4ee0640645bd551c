/** Layer blob compression: detect by magic bytes, decompress to a plain tar stream, compress. gzip through
 *  node:zlib; zstd through node:zlib when this Node has it, else the `zstd` binary. */
import { spawn } from 'node:child_process';
import { PassThrough, Readable, type Transform } from 'node:stream';
import type * as Zlib from 'node:zlib';
import { LayerwiseError } from '../errors';
import type { Compression } from './index';

/** node:zlib, loaded on first use: most commands (a cached build, `images`) never compress anything */
let zlibModule: typeof Zlib | undefined;
function zlibLib(): typeof Zlib {
  return (zlibModule ??= require('node:zlib') as typeof Zlib);
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The compression of a blob from its first bytes (at least 4 for zstd). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  if (head.length >= 4 && ZSTD_MAGIC.every((b, i) => head[i] === b)) return 'zstd';
  return 'none';
}

type ZstdFactory = (opts?: object) => Transform;
function nodeZstd(kind: 'compress' | 'decompress'): ZstdFactory | undefined {
  const zlib = zlibLib();
  const z = zlib as unknown as Record<string, unknown>;
  const f = z[kind === 'compress' ? 'createZstdCompress' : 'createZstdDecompress'];
  return typeof f === 'function' ? (f as ZstdFactory).bind(zlib) : undefined;
}

/** Runs `zstd args` as a transform (toolProcess). */
function zstdProcess(input: NodeJS.ReadableStream, args: string[], what: string): Readable {
  return toolProcess('zstd', input, args, what, 'this Node has no zstd and the `zstd` program is not installed (apt-get install zstd)');
}

/** Runs `tool args` as a transform: input -> stdin, stdout -> returned stream (zstd here; bzip2 and xz for ADD's
 *  archives). Errors (missing binary, bad data) destroy the returned stream with a LayerwiseError; `missing` says
 *  what to install. */
export function toolProcess(tool: string, input: NodeJS.ReadableStream, args: string[], what: string, missing: string): Readable {
  const out = new PassThrough();
  const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let failed = false;
  const fail = (e: Error) => {
    if (failed) return;
    failed = true;
    out.destroy(e);
    child.kill('SIGKILL');
  };
  child.on('error', (e: NodeJS.ErrnoException) => {
    fail(
      e.code === 'ENOENT'
        ? new LayerwiseError('invalid', `cannot ${what} ${tool}: ${missing}`)
        : new LayerwiseError('io', `cannot run ${tool}: ${e.message}`),
    );
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  child.stdin.on('error', () => {
    /* EPIPE when the tool exits early: reported through the exit code */
  });
  (input as Readable).on('error', (e: Error) => fail(e));
  out.on('close', () => {
    // consumer went away: stop zstd
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  let exited: number | null | undefined;
  let stdoutEnded = false;
  const finish = () => {
    if (exited === undefined || !stdoutEnded || failed) return;
    if (exited === 0) out.end();
    else
      fail(
        new LayerwiseError(
          what === 'decompress' ? 'corrupt' : 'io',
          `${tool} ${what} failed: ${stderr.trim().split('\n').pop() || `exit ${exited}`}`,
        ),
      );
  };
  child.stdout.on('end', () => {
    stdoutEnded = true;
    finish();
  });
  child.on('close', (code) => {
    exited = code;
    stdoutEnded = true;
    finish();
  });
  return out;
}

/** Wraps a zlib transform so that its errors become LayerwiseError('corrupt'). */
function zlibStream(input: NodeJS.ReadableStream, t: Transform, what: string): Readable {
  const out = new PassThrough();
  const fail = (e: Error) => {
    out.destroy(e instanceof LayerwiseError ? e : new LayerwiseError('corrupt', `${what}: ${e.message}`, { cause: e }));
  };
  (input as Readable).on('error', (e: Error) => out.destroy(e));
  t.on('error', fail);
  out.on('close', () => t.destroy());
  input.pipe(t).pipe(out);
  return out;
}

/**
 * Detects the compression by magic bytes and returns the plain (decompressed) stream. `compression`
 * resolves once the first bytes are seen (an empty input is 'none'). Decompression errors surface as
 * LayerwiseError('corrupt') on `stream`.
 */
export function decompress(input: NodeJS.ReadableStream): { stream: Readable; compression: Promise<Compression> } {
  const out = new PassThrough();
  let resolveC!: (c: Compression) => void;
  const compression = new Promise<Compression>((res) => (resolveC = res));
  const src = input as Readable;
  let head: Buffer = Buffer.alloc(0);
  let decided = false;
  const rest = new PassThrough();

  const decide = () => {
    if (decided) return;
    decided = true;
    src.removeListener('data', onData);
    src.removeListener('end', onEnd);
    const c = detectCompression(head);
    resolveC(c);
    rest.write(head);
    src.on('error', (e: Error) => rest.destroy(e));
    src.pipe(rest);
    src.resume();
    let plain: Readable;
    if (c === 'gzip') plain = zlibStream(rest, zlibLib().createGunzip(), 'gzip data is corrupt');
    else if (c === 'zstd') {
      const f = nodeZstd('decompress');
      plain = f ? zlibStream(rest, f(), 'zstd data is corrupt') : zstdProcess(rest, ['-dc', '-q'], 'decompress');
    } else plain = rest;
    plain.on('error', (e: Error) => out.destroy(e));
    out.on('close', () => {
      if (!plain.destroyed) plain.destroy();
      if (!src.readableEnded) src.destroy?.();
    });
    plain.pipe(out);
  };
  const onData = (chunk: Buffer | string) => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    head = head.length ? Buffer.concat([head, b]) : b;
    if (head.length >= 4) {
      src.pause();
      decide();
    }
  };
  const onEnd = () => {
    decide();
    rest.end();
  };
  src.on('data', onData);
  src.on('end', onEnd);
  src.once('error', (e: Error) => {
    if (!decided) {
      decided = true;
      resolveC('none');
      out.destroy(e);
    }
  });
  return { stream: out, compression };
}

/** Compresses a (tar) stream. gzip levels 1-9 (default 6); zstd levels 1-19 (default 3). 'none' returns the
 *  input itself. */
export function compress(input: Readable, c: Compression, level?: number): Readable {
  if (c === 'none') return input;
  if (c === 'gzip') return zlibStream(input, zlibLib().createGzip({ level: level ?? 6 }), 'gzip');
  const f = nodeZstd('compress');
  if (f) {
    const zc = zlibLib().constants as unknown as Record<string, number>;
    const key = zc.ZSTD_c_compressionLevel;
    return zlibStream(input, f(key === undefined ? {} : { params: { [key]: level ?? 3 } }), 'zstd');
  }
  return zstdProcess(input, ['-c', '-q', `-${level ?? 3}`, ...(level !== undefined && level > 19 ? ['--ultra'] : [])], 'compress');
}
