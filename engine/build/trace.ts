/** `LAYERWISE_TRACE=1`: phase timestamps on stderr (`[trace pid ms] label`), for profiling builds. */
const enabled = !!process.env.LAYERWISE_TRACE;

export function trace(label: string): void {
  if (enabled) process.stderr.write(`[trace ${process.pid} ${(performance.timeOrigin + performance.now()).toFixed(1)}] ${label}\n`);
}
