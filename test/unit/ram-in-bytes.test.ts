/** RUN --mount=type=tmpfs,size=…: sizes as docker's units.RAMInBytes reads them (binary multiples). The
 *  run-mount-from-stage differential fixture checks a 1m tmpfs's size against Docker. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ramInBytes } from '../../engine/build/stage-mounts';

test('numbers, binary units in any case, with or without i/b; anything else is not a size', () => {
  const cases: [string, number][] = [['0', 0], ['512', 512], ['1k', 1024], ['1m', 1 << 20], ['64M', 64 << 20], ['1mb', 1 << 20], ['1MiB', 1 << 20], ['1.5g', 1.5 * 2 ** 30], ['2 G', 2 * 2 ** 30], ['1t', 2 ** 40]];
  for (const [text, bytes] of cases) assert.equal(ramInBytes(text), bytes, text);
  for (const bad of ['', 'm', '-1m', '1x', '1mm', 'ten']) assert.equal(ramInBytes(bad), null, bad);
});
