/** `LAYERWISE_TRACE=1`: phase timestamps on stderr (`[trace pid ms] label`, ms since the epoch), for profiling. */
const enabled = !!process.env.LAYERWISE_TRACE;
let first = true;

export function trace(label: string): void {
  if (!enabled) return;
  if (first) {
    first = false;
    process.stderr.write(`[trace ${process.pid} ${performance.timeOrigin.toFixed(1)}] process start\n`);
    process.once('exit', () => trace('process exit'));
  }
  process.stderr.write(`[trace ${process.pid} ${(performance.timeOrigin + performance.now()).toFixed(1)}] ${label}\n`);
}
